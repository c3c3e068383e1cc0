//! Validation: from the raw TOML values to a [`Manifest`], collecting every
//! problem with its byte offset.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::raw::{RawManifest, RawPolicy, RawSize, RawTenant};
use super::{
    line_column, parse_size, EngineKind, Manifest, MemoryKind, Policy, PolicyRule, RightsSpec,
    RunMode, DEFAULT_FRAME_BUDGET, HOST, MAX_FRAME_BUDGET, PAGE_SIZE,
};

mod limits;
mod sharing;
mod tenants;

const RIGHTS: &[(&str, RightsSpec)] = &[
    ("none", RightsSpec::None),
    ("r", RightsSpec::Read),
    ("rw", RightsSpec::ReadWrite),
];

/// Validates `raw`; on failure, the first problem in the file as (byte
/// offset, message).
pub(super) fn check(
    raw: RawManifest,
    text: &str,
    base_dir: PathBuf,
) -> Result<Manifest, (usize, String)> {
    let mut checker = Checker {
        text,
        base_dir,
        errors: Vec::new(),
    };
    let manifest = checker.manifest(raw);
    match checker.errors.into_iter().min_by_key(|(offset, _)| *offset) {
        Some(error) => Err(error),
        None => Ok(manifest),
    }
}

struct Checker<'a> {
    text: &'a str,
    base_dir: PathBuf,
    /// (byte offset, message), in the order found.
    errors: Vec<(usize, String)>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        self.errors.push((span.start, message));
    }

    /// "line:column" of a byte offset, for messages that point at a second
    /// place.
    fn position(&self, offset: usize) -> String {
        let (line, column) = line_column(self.text, offset);
        format!("{line}:{column}")
    }

    /// The manifest; meaningful only if no error was recorded.
    fn manifest(&mut self, raw: RawManifest) -> Manifest {
        let frame_budget = match &raw.frame_budget {
            None => Some(DEFAULT_FRAME_BUDGET),
            Some(value) => self.frame_budget(value),
        };
        let host_heap = raw
            .host_heap
            .as_ref()
            .and_then(|v| self.page_multiple("host_heap", v));
        let engine = raw
            .engine
            .as_ref()
            .map_or(Some(EngineKind::default()), |v| {
                if waven_runtime::ENCLAVE_PROFILE && v.get_ref() == "jit" {
                    let message = "engine \"jit\" is not available: the enclave profile generates \
                               no code at run time; use \"interp\", or \"compiled\" with \
                               precompiled artifacts"
                        .to_owned();
                    self.error(v.span(), message);
                    return None;
                }
                self.choice(
                    "engine",
                    v,
                    &[
                        ("interp", EngineKind::Interp),
                        ("jit", EngineKind::Compiled),
                        ("compiled", EngineKind::Compiled),
                    ],
                )
            });
        let memory = raw.memory.as_ref().map_or(Some(MemoryKind::Virtual), |v| {
            if waven_runtime::ENCLAVE_PROFILE && v.get_ref() == "plain" {
                let message = "the enclave profile has no \"plain\" memory backend: its memory \
                               would lie outside the frame pool"
                    .to_owned();
                self.error(v.span(), message);
                return None;
            }
            let options = [
                ("virtual", MemoryKind::Virtual),
                ("plain", MemoryKind::Plain),
            ];
            self.choice("memory backend", v, &options)
        });
        let run = raw.run.as_ref().map_or(Some(RunMode::Parallel), |v| {
            let options = [
                ("parallel", RunMode::Parallel),
                ("pipeline", RunMode::Pipeline),
            ];
            self.choice("run mode", v, &options)
        });

        if raw.tenant.is_empty() {
            self.error(0..0, "the manifest declares no [[tenant]]".to_owned());
        }
        // Every declared name counts as known, valid or not, so that one bad
        // name is reported once, not again at every use.
        let tenant_names: HashSet<String> = raw
            .tenant
            .iter()
            .map(|t| t.get_ref().name.get_ref().clone())
            .collect();
        let tenants = self.tenants(&raw.tenant, engine);
        let regions = self.regions(&raw.region, &tenant_names, frame_budget);
        let policy = self.policy(raw.policy.as_ref(), &tenant_names);
        let grants = self.grants(&raw, &tenant_names, &policy);
        let order = match &raw.order {
            Some(order) => self.order(order, &raw.tenant, &tenant_names),
            None => raw
                .tenant
                .iter()
                .map(|t| t.get_ref().name.get_ref().clone())
                .collect(),
        };

        Manifest {
            frame_budget: frame_budget.unwrap_or(DEFAULT_FRAME_BUDGET),
            host_heap,
            engine: engine.unwrap_or_default(),
            memory: memory.unwrap_or(MemoryKind::Virtual),
            run: run.unwrap_or(RunMode::Parallel),
            order,
            tenants,
            regions,
            grants,
            policy,
            base_dir: self.base_dir.clone(),
        }
    }

    fn frame_budget(&mut self, value: &Spanned<RawSize>) -> Option<u64> {
        self.page_multiple("frame_budget", value)
    }

    /// A size that must be a positive multiple of the page size, at most
    /// [`MAX_FRAME_BUDGET`] and addressable on this host.
    fn page_multiple(&mut self, what: &str, value: &Spanned<RawSize>) -> Option<u64> {
        let bytes = self.size(what, value)?;
        if bytes == 0 {
            self.error(value.span(), format!("{what} must be greater than 0"));
            return None;
        }
        if bytes > MAX_FRAME_BUDGET {
            let message = format!(
                "{what} {bytes} is more than the limit of {MAX_FRAME_BUDGET} bytes (64 GiB)"
            );
            self.error(value.span(), message);
            return None;
        }
        if usize::try_from(bytes).is_err() {
            let message = format!("{what} {bytes} is more than this host can address");
            self.error(value.span(), message);
            return None;
        }
        if bytes % PAGE_SIZE != 0 {
            let message =
                format!("{what} {bytes} is not a multiple of {PAGE_SIZE} (the page size)");
            self.error(value.span(), message);
            return None;
        }
        Some(bytes)
    }

    /// A size in bytes; `what` names it in messages.
    fn size(&mut self, what: &str, value: &Spanned<RawSize>) -> Option<u64> {
        let result = match value.get_ref() {
            RawSize::Integer(n) => {
                u64::try_from(*n).map_err(|_| format!("{what} must not be negative, got {n}"))
            }
            RawSize::Text(text) => parse_size(text),
        };
        result
            .map_err(|message| self.error(value.span(), message))
            .ok()
    }

    /// One of a fixed set of strings.
    fn choice<T: Copy>(
        &mut self,
        what: &str,
        value: &Spanned<String>,
        options: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, found)) = options.iter().find(|(name, _)| name == value.get_ref()) {
            return Some(*found);
        }
        let names: Vec<String> = options
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        let expected = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        };
        let message = format!("unknown {what} `{}`: expected {expected}", value.get_ref());
        self.error(value.span(), message);
        None
    }

    /// Checks the syntax of a tenant or region name.
    fn name(&mut self, what: &str, value: &Spanned<String>) -> bool {
        let name = value.get_ref();
        let well_formed = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !well_formed {
            let message = format!(
                "invalid {what} name `{name}`: expected 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`"
            );
            self.error(value.span(), message);
            return false;
        }
        if what == "tenant" && name == HOST {
            let message = format!("`{HOST}` stands for the host and cannot name a tenant");
            self.error(value.span(), message);
            return false;
        }
        true
    }

    /// Records a duplicate if `value` was seen before; remembers it otherwise.
    fn unique(
        &mut self,
        seen: &mut HashMap<String, usize>,
        value: &Spanned<String>,
        describe: impl FnOnce(&str) -> String,
    ) -> bool {
        if let Some(&first) = seen.get(value.get_ref()) {
            let message = format!(
                "{} (first at {})",
                describe(value.get_ref()),
                self.position(first)
            );
            self.error(value.span(), message);
            return false;
        }
        seen.insert(value.get_ref().clone(), value.span().start);
        true
    }

    /// An existing file, `what` in messages; its absolute path and length.
    fn tenant_ref(&mut self, value: &Spanned<String>, tenant_names: &HashSet<String>) -> bool {
        let name = value.get_ref();
        if tenant_names.contains(name) {
            return true;
        }
        let message = if name == HOST {
            format!("`{HOST}` is not a tenant: the host needs no grant")
        } else {
            format!("unknown tenant `{name}`")
        };
        self.error(value.span(), message);
        false
    }

    fn policy(&mut self, raw: Option<&RawPolicy>, tenant_names: &HashSet<String>) -> Policy {
        let Some(raw) = raw else {
            return Policy::default();
        };
        // Deny unless the deployment says otherwise (DESIGN.md section 5).
        let default_allow = raw.default.as_ref().is_some_and(|value| {
            let options = [("allow", true), ("deny", false)];
            // A bad value is reported here; allowing keeps it from also
            // failing every grant.
            self.choice("policy default", value, &options)
                .unwrap_or(true)
        });
        let mut rules = Vec::new();
        for rule in &raw.rule {
            let rule = rule.get_ref();
            let from = rule.from.get_ref();
            if from != HOST && !tenant_names.contains(from) {
                let message =
                    format!("unknown tenant `{from}`: expected \"{HOST}\" or a tenant name");
                self.error(rule.from.span(), message);
            }
            if rule.to.get_ref().is_empty() {
                self.error(
                    rule.to.span(),
                    "`to` must list at least one tenant".to_owned(),
                );
            }
            for to in rule.to.get_ref() {
                self.tenant_ref(to, tenant_names);
            }
            rules.push(PolicyRule {
                from: from.clone(),
                to: rule
                    .to
                    .get_ref()
                    .iter()
                    .map(|t| t.get_ref().clone())
                    .collect(),
                allow: rule.allow,
            });
        }
        Policy {
            default_allow,
            rules,
        }
    }

    fn order(
        &mut self,
        order: &Spanned<Vec<Spanned<String>>>,
        tenants: &[Spanned<RawTenant>],
        tenant_names: &HashSet<String>,
    ) -> Vec<String> {
        let mut seen = HashMap::new();
        for name in order.get_ref() {
            if self.tenant_ref(name, tenant_names) {
                self.unique(&mut seen, name, |name| {
                    format!("tenant `{name}` is listed twice in order")
                });
            }
        }
        let missing = tenants
            .iter()
            .map(|t| t.get_ref().name.get_ref())
            .find(|name| !seen.contains_key(name.as_str()));
        if let Some(name) = missing {
            let message = format!(
                "order does not list tenant `{name}`: it must list every tenant exactly once"
            );
            self.error(order.span(), message);
        }
        order
            .get_ref()
            .iter()
            .map(|n| n.get_ref().clone())
            .collect()
    }
}

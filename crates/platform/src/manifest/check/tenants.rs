//! The checks of `[[tenant]]` tables and of the files they name.

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::sharing::parse_measurement;
use super::Checker;
use crate::manifest::raw::RawTenant;
use crate::manifest::{EngineKind, TenantSpec};

impl Checker<'_> {
    pub(super) fn file(&mut self, what: &str, value: &Spanned<String>) -> Option<(PathBuf, u64)> {
        let path = self.base_dir.join(value.get_ref());
        let shown = value.get_ref();
        let problem = match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => return Some((path, metadata.len())),
            Ok(_) => format!("{what} `{shown}` is not a file ({})", path.display()),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                format!("{what} `{shown}` does not exist ({})", path.display())
            }
            Err(error) => format!(
                "cannot access {what} `{shown}` ({}): {error}",
                path.display()
            ),
        };
        self.error(value.span(), problem);
        None
    }

    /// An existing directory: its absolute path.
    fn directory(&mut self, host: &str, span: Range<usize>) -> Option<PathBuf> {
        let path = self.base_dir.join(host);
        let problem = match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_dir() => return Some(path),
            Ok(_) => format!("`{host}` is not a directory ({})", path.display()),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                format!("directory `{host}` does not exist ({})", path.display())
            }
            Err(error) => format!(
                "cannot access directory `{host}` ({}): {error}",
                path.display()
            ),
        };
        self.error(span, problem);
        None
    }

    /// The tenants; `engine` is the manifest's (`None` if it is wrong),
    /// which a precompiled artifact needs to be the compiled one.
    pub(super) fn tenants(
        &mut self,
        raw: &[Spanned<RawTenant>],
        engine: Option<EngineKind>,
    ) -> Vec<TenantSpec> {
        let mut seen = HashMap::new();
        let mut tenants = Vec::new();
        for tenant in raw {
            let tenant = tenant.get_ref();
            let mut ok = self.name("tenant", &tenant.name);
            ok &= self.unique(&mut seen, &tenant.name, |name| {
                format!("duplicate tenant name `{name}`")
            });
            if let Some(spec) = self.tenant(tenant, engine) {
                if ok {
                    tenants.push(spec);
                }
            }
        }
        tenants
    }

    /// A tenant's fields other than its name.
    fn tenant(&mut self, raw: &RawTenant, engine: Option<EngineKind>) -> Option<TenantSpec> {
        let mut ok = true;
        let extension = Path::new(raw.module.get_ref())
            .extension()
            .and_then(|e| e.to_str());
        let module = if matches!(extension, Some("wasm" | "wat" | "cwasm")) {
            self.file("module", &raw.module).map(|(path, _)| path)
        } else {
            let message = format!(
                "module `{}` must be a .wasm or .wat file or a .cwasm artifact",
                raw.module.get_ref()
            );
            self.error(raw.module.span(), message);
            None
        };
        let artifact = module.as_deref().is_some_and(is_artifact);
        if let Some(module) = &module {
            ok &= self.module_engine(&raw.module, module, artifact, engine);
        }
        let artifact_sha256 = match &raw.artifact_sha256 {
            None => None,
            Some(value) => {
                let parsed = parse_measurement(value.get_ref())
                    .or_else(|| parse_measurement(&format!("sha256:{}", value.get_ref())));
                if parsed.is_none() {
                    let message = format!(
                        "invalid artifact_sha256 `{}`: expected 64 hexadecimal digits",
                        value.get_ref()
                    );
                    self.error(value.span(), message);
                    ok = false;
                } else if module.is_some() && !artifact {
                    let message = format!(
                        "artifact_sha256 is for precompiled artifacts, but module `{}` is \
                         not one (a .cwasm file made by `waven compile`)",
                        raw.module.get_ref()
                    );
                    self.error(value.span(), message);
                    ok = false;
                }
                parsed
            }
        };
        if let Some(entry) = &raw.entry {
            if entry.get_ref().is_empty() {
                self.error(entry.span(), "entry must not be empty".to_owned());
                ok = false;
            }
        }
        for arg in &raw.args {
            if arg.get_ref().contains('\0') {
                self.error(arg.span(), "arguments must not contain NUL".to_owned());
                ok = false;
            }
        }
        let mut env = Vec::new();
        for (key, value) in &raw.env {
            let name = key.get_ref();
            let problem = if name.is_empty() {
                Some((
                    key.span(),
                    "environment variable names must not be empty".to_owned(),
                ))
            } else if name.contains('=') {
                let message = format!("environment variable name `{name}` must not contain `=`");
                Some((key.span(), message))
            } else if name.contains('\0') {
                Some((
                    key.span(),
                    "environment variables must not contain NUL".to_owned(),
                ))
            } else if value.get_ref().contains('\0') {
                Some((
                    value.span(),
                    "environment variables must not contain NUL".to_owned(),
                ))
            } else {
                None
            };
            match problem {
                Some((span, message)) => {
                    self.error(span, message);
                    ok = false;
                }
                None => env.push((name.clone(), value.get_ref().clone())),
            }
        }
        env.sort();
        let mut dirs = Vec::new();
        let mut guests = HashMap::new();
        for dir in &raw.dirs {
            let text = dir.get_ref();
            let (host, guest) = text.split_once("::").unwrap_or((text, text));
            if host.is_empty() || guest.is_empty() {
                let message = format!("invalid directory `{text}`: expected HOST or HOST::GUEST");
                self.error(dir.span(), message);
                ok = false;
                continue;
            }
            let guest_value = Spanned::new(dir.span(), guest.to_owned());
            ok &= self.unique(&mut guests, &guest_value, |guest| {
                format!("guest directory `{guest}` is preopened twice")
            });
            match self.directory(host, dir.span()) {
                Some(path) => dirs.push((path, guest.to_owned())),
                None => ok = false,
            }
        }
        let fuel = match &raw.fuel {
            None => None,
            Some(fuel) if *fuel.get_ref() > 0 => u64::try_from(*fuel.get_ref()).ok(),
            Some(fuel) => {
                let message = format!("fuel must be greater than 0, got {}", fuel.get_ref());
                self.error(fuel.span(), message);
                ok = false;
                None
            }
        };
        let limits = self.limits(raw.limits.as_ref());
        let module = module?;
        let limits = limits?;
        ok.then(|| TenantSpec {
            name: raw.name.get_ref().clone(),
            module,
            artifact_sha256,
            entry: raw.entry.as_ref().map(|e| e.get_ref().clone()),
            args: raw.args.iter().map(|a| a.get_ref().clone()).collect(),
            env,
            dirs,
            fuel,
            limits,
        })
    }

    /// Whether the module suits the engine: an artifact runs only on the
    /// compiled engine, and in the enclave profile, which has no compiler,
    /// the compiled engine runs only artifacts. Errors point at `module`.
    fn module_engine(
        &mut self,
        value: &Spanned<String>,
        path: &Path,
        artifact: bool,
        engine: Option<EngineKind>,
    ) -> bool {
        let message = match (engine, artifact) {
            (Some(EngineKind::Interp), true) => format!(
                "module `{}` is a precompiled artifact, which runs on the compiled engine \
                 only: set engine = \"compiled\" (or \"jit\")",
                value.get_ref()
            ),
            (Some(EngineKind::Compiled), false) if waven_runtime::ENCLAVE_PROFILE => format!(
                "module `{}` is not a precompiled artifact: the enclave profile has no \
                 compiler, so engine = \"compiled\" runs only .cwasm artifacts made by \
                 `waven compile` ({})",
                value.get_ref(),
                path.display()
            ),
            _ => return true,
        };
        self.error(value.span(), message);
        false
    }
}

/// Whether the file at `path` starts with the artifact magic (a file that
/// cannot be read is not one; loading it reports why).
fn is_artifact(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| waven_runtime::Module::is_artifact(&magic))
}

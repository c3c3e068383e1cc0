//! The manifest of a multi-tenant deployment: a TOML file, parsed into typed
//! specs and validated completely before anything runs.
//!
//! Every problem, from a TOML syntax error to a grant that the policy forbids,
//! is reported as a [`ManifestError`] that names the manifest's line and
//! column (both 1-based; the column counts characters, not bytes). The
//! position is that of the offending value (for a string, its opening quote),
//! key or `[[table]]` header. When a manifest has several problems, the one
//! that comes first in the file is reported. Problems that concern the file
//! as a whole (it cannot be read, it is larger than [`MAX_MANIFEST_BYTES`],
//! it declares no tenant) are reported at 1:1. Before the TOML parser sees
//! the text, its size, its number of items ([`MAX_MANIFEST_ITEMS`]) and
//! the nesting of its arrays and inline tables ([`MAX_NESTING`]) are
//! checked, so that no manifest can exhaust the enclave profile's small
//! bootstrap heap or the parser's stack.
//!
//! # Schema
//!
//! ```toml
//! # Bytes of guest memory (the frame pool): an integer, or a string with a
//! # KiB, MiB or GiB suffix. A positive multiple of 4096, at most "64GiB".
//! # Default "1GiB".
//! frame_budget = "256MiB"
//! # Bytes of host heap for the enclave profile (translation tables,
//! # interpreter stacks, modules), reserved at start-up together with the
//! # frame pool. Same syntax as frame_budget. Only the enclave build uses
//! # it. At most "64GiB". Default: 64MiB plus 16MiB per tenant.
//! host_heap = "160MiB"
//! # The execution engine: "jit" (compiled code: modules are compiled at
//! # start-up, or loaded from precompiled .cwasm artifacts; the default)
//! # or "interp" (the interpreter); "compiled" is a synonym of "jit". The
//! # enclave profile has no compiler: there "jit" is refused, "compiled"
//! # runs precompiled artifacts only, and the default is "interp".
//! engine = "interp"
//! # The memory backend: "virtual" (the software MMU, the default) or "plain".
//! memory = "virtual"
//! # "parallel" (all tenants at once, on threads; the default) or "pipeline"
//! # (one after another).
//! run = "pipeline"
//! # The order in which tenants are started (pipeline: run). Optional; if
//! # given, it must list every tenant exactly once. Default: the order of the
//! # [[tenant]] tables.
//! order = ["provider", "analyst"]
//!
//! [[tenant]]
//! name = "provider"             # unique; 1 to 64 of [A-Za-z0-9_-]; not "host"
//! module = "provider.wasm"      # a .wasm or .wat file, or a .cwasm artifact
//!                               # (`waven compile`, recognized by its
//!                               # magic; needs engine = "jit"/"compiled");
//!                               # must exist
//! # optional, artifacts only: the SHA-256 the file must have (64
//! # hexadecimal digits, optionally after "sha256:"), checked before the
//! # artifact is parsed
//! artifact_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
//! entry = "_start"              # optional: the export to call (default: the
//!                               # WASI command entry `_start`)
//! args = ["--rows", "1000"]     # optional
//! env = { MODE = "fast" }       # optional; keys non-empty, without `=`
//! dirs = ["data::/data", "out"] # optional: HOST[::GUEST] preopened
//!                               # directories; GUEST defaults to HOST as
//!                               # written; HOST must be a directory
//! fuel = 1000000                # optional: an integer > 0
//!
//! # Optional: what the tenant may make the host keep (see TenantLimits;
//! # every key optional, the defaults in brackets). Beyond a limit the
//! # guest's call fails with ENOMEM, for that tenant alone.
//! [tenant.limits]
//! grants = 1024                 # grants its regions carry, in total [1024]
//! handles = 1024                # open region handles per instance [1024]
//! regions = 256                 # regions it owns [256]
//! waiters = 64                  # threads blocked in `wait` at once [64]
//! wasi_fds = 1024               # open WASI file descriptors [1024]
//! table_elements = 1000000      # elements of all its tables [1000000]
//! memory = "64MiB"              # memory quota, a size as frame_budget
//!                               # [none: the frame budget]
//! timeout = "30s"               # wall-clock deadline: an integer with
//!                               # ms, s, m or h [none]
//!
//! [[tenant]]
//! name = "analyst"
//! module = "analyst.wat"
//!
//! [[region]]
//! name = "dataset"              # unique; same rule as tenant names
//! owner = "host"                # "host" or a tenant name: the namespace
//!                               # guests open it in ("host/dataset", or
//!                               # "dataset" for the owning tenant)
//! size = "64MiB"                # > 0, a multiple of 4096, at most 4GiB
//! contents = "data.bin"         # optional: a file copied in at start; must
//!                               # exist and fit in `size`
//! max_rights = "r"              # "none" | "r" | "rw": the most any grant gives
//!
//! [[grant]]
//! region = "dataset"            # must name a [[region]]
//! grantee = "analyst"           # must name a tenant other than the owner
//! rights = "r"                  # at most the region's max_rights
//!                               # ("none" < "r" < "rw")
//! # optional: the grant holds only for a grantee whose module has exactly
//! # this SHA-256 (the platform checks it when it loads the module)
//! measurement = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
//!
//! [policy]
//! default = "allow"             # "deny" (the default) | "allow": may a tenant
//!                               # grant to another when no rule says; a
//!                               # deployment that wants open sharing says so
//! [[policy.rule]]
//! from = "host"                 # a tenant name or "host"
//! to = ["analyst"]              # at least one tenant name
//! allow = true
//! ```
//!
//! Relative paths (`module`, `contents`, the HOST part of `dirs`) are resolved
//! against the manifest's directory; absolute paths are taken as they are.
//! Resolved paths are absolute but not canonicalized (symbolic links and `..`
//! are kept).
//!
//! Checks, beyond the types and the rules above: unknown keys anywhere are
//! errors; duplicate tenant and region names, duplicate guest paths within a
//! tenant, and duplicate grants of one region to one grantee are errors; every
//! tenant or region name used (`owner`, `grant`, `order`, `policy.rule`) must
//! be declared; the regions together must fit in `frame_budget`; every grant
//! must be allowed by the policy for the pair (owner, grantee), where the
//! owner of a host-owned region is `"host"` (see [`Policy::allows`]).
//!
//! A grant's `measurement` is only checked for its format here: comparing it
//! with the grantee's module is the platform's job when it loads the module.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//! use waven_platform::manifest::Manifest;
//!
//! match Manifest::load(Path::new("deploy/waven.toml")) {
//!     Ok(manifest) => println!("{} tenants", manifest.tenants.len()),
//!     Err(error) => eprintln!("{error}"), // deploy/waven.toml:12:8: ...
//! }
//! ```

mod check;
mod input;
mod raw;

use std::path::{Path, PathBuf};

use crate::limits::TenantLimits;

/// The page size of guest memory: region sizes and the frame budget are
/// multiples of it.
pub const PAGE_SIZE: u64 = 4096;

/// The largest region: a full 32-bit linear memory (4 GiB).
pub const MAX_REGION_SIZE: u64 = 1 << 32;

/// The frame budget when the manifest gives none (1 GiB).
pub const DEFAULT_FRAME_BUDGET: u64 = 1 << 30;

/// The largest `frame_budget` and `host_heap` (64 GiB): far beyond an SGX
/// enclave's memory, well within what the frame pool can describe (2^32
/// frames) and a 64-bit host can address. On a host whose addresses are
/// narrower, a size must also fit its `usize`.
pub const MAX_FRAME_BUDGET: u64 = 64 << 30;

/// The largest manifest file (256 KiB; a deployment of a hundred tenants
/// takes a few KiB), checked before it is read in full: the enclave
/// profile parses it on a bootstrap heap of 8 MiB, where parsing takes
/// several times the text's size.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 10;

/// The deepest nesting of arrays and inline tables (a `[[table]]` header
/// counts two), checked before the TOML parser, which recurses per level,
/// sees the text.
pub const MAX_NESTING: usize = 32;

/// The most items a manifest may have: keys, values and tables, counted
/// as every `=`, `,`, `[` and `{` outside strings and comments, before
/// the TOML parser sees the text. With [`MAX_MANIFEST_BYTES`], this bounds
/// what parsing allocates (a few MiB at most: the enclave profile parses
/// on a bootstrap heap of 8 MiB). A tenant takes about a dozen items.
pub const MAX_MANIFEST_ITEMS: usize = 10_000;

/// The host heap of a manifest without `host_heap`: this much, plus
/// [`HOST_HEAP_PER_TENANT`] per tenant.
pub const DEFAULT_HOST_HEAP_BASE: u64 = 64 << 20;

/// The host heap added per tenant by default: an interpreter stack (8 MiB)
/// plus room for translation tables and the module.
pub const HOST_HEAP_PER_TENANT: u64 = 16 << 20;

/// The name that stands for the host in `owner` and `policy.rule.from`; no
/// tenant may have it.
pub const HOST: &str = "host";

/// The value of [`ManifestError::path`] for [`Manifest::parse`], which has
/// no file name.
pub const UNNAMED: &str = "<manifest>";

/// A validated deployment manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Bytes of guest memory available to all tenants and regions: a
    /// positive multiple of [`PAGE_SIZE`].
    pub frame_budget: u64,
    /// Bytes of host heap the enclave profile reserves at start-up, if the
    /// manifest says; see [`Manifest::host_heap_bytes`].
    pub host_heap: Option<u64>,
    /// The execution engine.
    pub engine: EngineKind,
    /// The memory backend.
    pub memory: MemoryKind,
    /// How the tenants run.
    pub run: RunMode,
    /// Every tenant name exactly once: the order in which tenants start (in
    /// [`RunMode::Pipeline`], the order in which they run).
    pub order: Vec<String>,
    /// The tenants, in the order of the manifest's `[[tenant]]` tables.
    pub tenants: Vec<TenantSpec>,
    /// The regions created at start, in manifest order.
    pub regions: Vec<RegionSpec>,
    /// The grants made at start, in manifest order.
    pub grants: Vec<GrantSpec>,
    /// Which tenant may grant to which.
    pub policy: Policy,
    /// The absolute directory that relative paths were resolved against.
    pub base_dir: PathBuf,
}

/// One tenant: a module and how to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSpec {
    /// The unique name: 1 to 64 characters of `[A-Za-z0-9_-]`, not `"host"`.
    pub name: String,
    /// The module (`.wasm`, `.wat` or a precompiled `.cwasm` artifact),
    /// an absolute path to an existing file.
    pub module: PathBuf,
    /// If set, the SHA-256 the artifact file must have: checked when the
    /// module is loaded, before anything of it is parsed. Only for
    /// artifacts.
    pub artifact_sha256: Option<[u8; 32]>,
    /// The export to call; `None`: the WASI command entry `_start`.
    pub entry: Option<String>,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Environment variables, sorted by name.
    pub env: Vec<(String, String)>,
    /// Preopened directories: (absolute host directory, guest path).
    pub dirs: Vec<(PathBuf, String)>,
    /// The fuel limit, if any (always greater than 0).
    pub fuel: Option<u64>,
    /// The tenant's limits (`[tenant.limits]`; the defaults for keys it
    /// does not give).
    pub limits: TenantLimits,
}

/// One shared memory region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSpec {
    /// The unique name (same rule as tenant names).
    pub name: String,
    /// Who owns it.
    pub owner: Owner,
    /// Bytes: a positive multiple of [`PAGE_SIZE`], at most
    /// [`MAX_REGION_SIZE`].
    pub size: u64,
    /// A file (absolute path) copied to the start of the region before
    /// anything runs; it is at most `size` bytes long.
    pub contents: Option<PathBuf>,
    /// The most that any grant of this region may give.
    pub max_rights: RightsSpec,
}

/// One grant: a tenant may open and map a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpec {
    /// The region's name.
    pub region: String,
    /// The grantee's tenant name.
    pub grantee: String,
    /// The rights granted, at most the region's `max_rights`.
    pub rights: RightsSpec,
    /// If set, the grant holds only for a grantee whose module has exactly
    /// this SHA-256.
    pub measurement: Option<[u8; 32]>,
}

/// Who owns a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The host (written `"host"`).
    Host,
    /// The tenant of that name.
    Tenant(String),
}

impl Owner {
    /// The name the policy knows this owner by: [`HOST`] or the tenant's.
    pub fn name(&self) -> &str {
        match self {
            Owner::Host => HOST,
            Owner::Tenant(name) => name,
        }
    }
}

/// Access rights as the manifest writes them, ordered
/// `None < Read < ReadWrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RightsSpec {
    /// `"none"`: no access.
    None,
    /// `"r"`: read.
    Read,
    /// `"rw"`: read and write.
    ReadWrite,
}

impl RightsSpec {
    /// The rights bits of the memory model: 0, 1 (`R`) or 3 (`RW`).
    pub fn bits(self) -> u32 {
        match self {
            RightsSpec::None => 0,
            RightsSpec::Read => 1,
            RightsSpec::ReadWrite => 3,
        }
    }

    /// The manifest's spelling: `"none"`, `"r"` or `"rw"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RightsSpec::None => "none",
            RightsSpec::Read => "r",
            RightsSpec::ReadWrite => "rw",
        }
    }

    /// Parses the manifest's spelling.
    pub fn from_name(name: &str) -> Option<RightsSpec> {
        match name {
            "none" => Some(RightsSpec::None),
            "r" => Some(RightsSpec::Read),
            "rw" => Some(RightsSpec::ReadWrite),
            _ => None,
        }
    }
}

/// The execution engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// `"interp"`: the interpreter.
    Interp,
    /// `"jit"` or `"compiled"`: the compiled engine.
    Compiled,
}

impl Default for EngineKind {
    /// The engine of a manifest without `engine`: the runtime's default
    /// (compiled code where the build has a compiler, else, in the enclave
    /// profile, the interpreter).
    fn default() -> EngineKind {
        waven_runtime::EngineKind::default().into()
    }
}

impl From<waven_runtime::EngineKind> for EngineKind {
    fn from(kind: waven_runtime::EngineKind) -> EngineKind {
        match kind {
            waven_runtime::EngineKind::Interpreter => EngineKind::Interp,
            waven_runtime::EngineKind::Compiled => EngineKind::Compiled,
        }
    }
}

impl From<EngineKind> for waven_runtime::EngineKind {
    fn from(kind: EngineKind) -> waven_runtime::EngineKind {
        match kind {
            EngineKind::Interp => waven_runtime::EngineKind::Interpreter,
            EngineKind::Compiled => waven_runtime::EngineKind::Compiled,
        }
    }
}

/// The memory backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// `"virtual"`: the software MMU (pages, sharing, rights).
    Virtual,
    /// `"plain"`: a contiguous, bounds-checked linear memory.
    Plain,
}

/// How the tenants run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunMode {
    /// `"parallel"`: all tenants at once, each on its own thread.
    Parallel,
    /// `"pipeline"`: one after another, in [`Manifest::order`].
    Pipeline,
}

/// Which tenant may grant a region to which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The answer when no rule matches.
    pub default_allow: bool,
    /// The rules, in manifest order.
    pub rules: Vec<PolicyRule>,
}

impl Default for Policy {
    /// Everything denied, no rules: sharing is what a deployment allows.
    fn default() -> Policy {
        Policy {
            default_allow: false,
            rules: Vec::new(),
        }
    }
}

impl Policy {
    /// May `from` (a tenant name, or [`HOST`] for host-owned regions) grant a
    /// region to tenant `to`? A rule matches when its `from` is `from` and
    /// its `to` lists `to`; the **last** matching rule decides, so later
    /// rules refine earlier ones. With no matching rule, `default_allow`.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|rule| rule.from == from && rule.to.iter().any(|t| t == to))
            .map_or(self.default_allow, |rule| rule.allow)
    }
}

/// One rule of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    /// The granting side: a tenant name or [`HOST`].
    pub from: String,
    /// The tenants the rule is about.
    pub to: Vec<String>,
    /// Whether `from` may grant to them.
    pub allow: bool,
}

/// A problem in a manifest, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ManifestError {
    /// The manifest's path as given to [`Manifest::load`], or [`UNNAMED`].
    pub path: String,
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ManifestError {
    /// An error at byte `offset` of `text`.
    fn at(path: &str, text: &str, offset: usize, message: String) -> ManifestError {
        let (line, column) = line_column(text, offset);
        ManifestError {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
/// An offset past the end, or inside a character, is moved back to a
/// character boundary.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl Manifest {
    /// The host heap the enclave profile reserves: `host_heap` if given,
    /// else [`DEFAULT_HOST_HEAP_BASE`] plus [`HOST_HEAP_PER_TENANT`] per
    /// tenant.
    pub fn host_heap_bytes(&self) -> u64 {
        self.host_heap
            .unwrap_or(DEFAULT_HOST_HEAP_BASE + HOST_HEAP_PER_TENANT * self.tenants.len() as u64)
    }

    /// Parses and validates a manifest. Relative paths are resolved against
    /// `base_dir` (itself made absolute against the current directory), and
    /// the files and directories named must exist. Errors carry the path
    /// [`UNNAMED`]. A text longer than [`MAX_MANIFEST_BYTES`], with more
    /// than [`MAX_MANIFEST_ITEMS`] items or nested deeper than
    /// [`MAX_NESTING`] is refused before it is parsed.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Manifest, ManifestError> {
        Manifest::parse_named(text, base_dir, UNNAMED)
    }

    /// Reads, parses and validates the manifest at `path`; relative paths in
    /// it are resolved against its directory. Errors carry `path` as given.
    /// A file larger than [`MAX_MANIFEST_BYTES`] is refused before it is
    /// read.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let name = path.display().to_string();
        let bytes = input::read_bounded(path)
            .map_err(|message| ManifestError::at(&name, "", 0, message))?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = error.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&error.as_bytes()[..valid]);
            ManifestError::at(
                &name,
                &prefix,
                valid,
                "the manifest is not valid UTF-8".to_owned(),
            )
        })?;
        let base_dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Manifest::parse_named(&text, base_dir, &name)
    }

    fn parse_named(text: &str, base_dir: &Path, name: &str) -> Result<Manifest, ManifestError> {
        let base_dir = std::path::absolute(base_dir).map_err(|error| {
            ManifestError::at(
                name,
                text,
                0,
                format!(
                    "cannot resolve base directory {}: {error}",
                    base_dir.display()
                ),
            )
        })?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            let message = input::too_large(text.len() as u64);
            return Err(ManifestError::at(name, text, 0, message));
        }
        input::check_structure(text)
            .map_err(|(offset, message)| ManifestError::at(name, text, offset, message))?;
        let raw: raw::RawManifest = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            let message = error.message().trim().replace('\n', "; ");
            ManifestError::at(name, text, offset, message)
        })?;
        check::check(raw, text, base_dir)
            .map_err(|(offset, message)| ManifestError::at(name, text, offset, message))
    }
}

/// Parses a size in bytes: a decimal integer, optionally followed (with or
/// without spaces) by `KiB`, `MiB` or `GiB` (powers of 1024), for example
/// `"4096"`, `"64KiB"` or `"1 GiB"`. The message of an error does not repeat
/// the input's position.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || {
        format!("invalid size `{text}`: expected a number of bytes, optionally followed by KiB, MiB or GiB")
    };
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, suffix) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(invalid());
    }
    let unit: u64 = match suffix.trim_start() {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(invalid()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("size `{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size(" 1 GiB "), Ok(1 << 30));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_size("18446744073709551616"),
            Err("size `18446744073709551616` is too large".to_owned())
        );
        assert_eq!(
            parse_size("17179869184GiB"),
            Err("size `17179869184GiB` is too large".to_owned())
        );
        for bad in ["", "MiB", "1.5GiB", "1MB", "-1", "1 KiB x", "0x10", "1kib"] {
            assert_eq!(
                parse_size(bad),
                Err(format!(
                    "invalid size `{bad}`: expected a number of bytes, optionally followed by KiB, MiB or GiB"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn positions() {
        let text = "ab\ncé\n\nx";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 2), (1, 3));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 6), (2, 3));
        assert_eq!(line_column(text, 5), (2, 2)); // inside `é`
        assert_eq!(line_column(text, 7), (3, 1));
        assert_eq!(line_column(text, 8), (4, 1));
        assert_eq!(line_column(text, 100), (4, 2));
    }

    #[test]
    fn rights_order_and_bits() {
        assert!(RightsSpec::None < RightsSpec::Read);
        assert!(RightsSpec::Read < RightsSpec::ReadWrite);
        assert_eq!(RightsSpec::None.bits(), 0);
        assert_eq!(RightsSpec::Read.bits(), 1);
        assert_eq!(RightsSpec::ReadWrite.bits(), 3);
        for rights in [RightsSpec::None, RightsSpec::Read, RightsSpec::ReadWrite] {
            assert_eq!(RightsSpec::from_name(rights.as_str()), Some(rights));
        }
        assert_eq!(RightsSpec::from_name("w"), None);
    }

    #[test]
    fn policy_last_matching_rule_wins() {
        let rule = |from: &str, to: &[&str], allow| PolicyRule {
            from: from.to_owned(),
            to: to.iter().map(|t| (*t).to_owned()).collect(),
            allow,
        };
        let policy = Policy {
            default_allow: false,
            rules: vec![
                rule("a", &["b", "c"], true),
                rule("a", &["c"], false),
                rule(HOST, &["a"], true),
            ],
        };
        assert!(policy.allows("a", "b"));
        assert!(!policy.allows("a", "c"));
        assert!(!policy.allows("b", "a"));
        assert!(policy.allows(HOST, "a"));
        assert!(!policy.allows(HOST, "b"));
        assert!(!Policy::default().allows("x", "y"));
    }
}

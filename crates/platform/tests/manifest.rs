//! The deployment manifest: a full valid manifest, the defaults, and one test
//! per kind of error, each checking the exact line:column and message.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use waven_platform::manifest::{
    EngineKind, GrantSpec, Manifest, ManifestError, MemoryKind, Owner, Policy, PolicyRule,
    RegionSpec, RightsSpec, RunMode, TenantSpec, UNNAMED,
};
use waven_platform::TenantLimits;

/// A directory under the system's temporary directory with the files that
/// manifests refer to, removed when dropped.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("waven-manifest-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("data")).unwrap();
        fs::create_dir_all(dir.join("out")).unwrap();
        fs::create_dir_all(dir.join("dir.wasm")).unwrap();
        fs::write(dir.join("provider.wasm"), b"\0asm\x01\0\0\0").unwrap();
        fs::write(dir.join("analyst.wat"), "(module)").unwrap();
        fs::write(dir.join("module.txt"), "(module)").unwrap();
        fs::write(dir.join("data.bin"), vec![7u8; 5000]).unwrap();
        fs::write(dir.join("notes.txt"), "not a directory").unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn parse(&self, text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, &self.dir)
    }

    /// Parses `text`, which must fail at `position` ("line:column") with
    /// `message`.
    #[track_caller]
    fn fails(&self, text: &str, position: &str, message: &str) {
        let error = self
            .parse(text)
            .expect_err("the manifest should be rejected");
        assert_eq!(error.path, UNNAMED);
        assert_eq!(
            format!("{}:{}: {}", error.line, error.column, error.message),
            format!("{position}: {message}"),
            "\n--- manifest ---\n{text}"
        );
        assert_eq!(
            error.to_string(),
            format!("{UNNAMED}:{position}: {message}")
        );
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Two tenants, lines 1 to 7; what tests append starts on line 8.
const TENANTS: &str = r#"[[tenant]]
name = "provider"
module = "provider.wasm"

[[tenant]]
name = "analyst"
module = "analyst.wat"
"#;

fn with_tenants(rest: &str) -> String {
    format!("{TENANTS}{rest}")
}

const HASH: &str = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

#[test]
fn full_manifest() {
    let fx = Fixture::new("full");
    // The enclave profile has no plain backend (a test below checks that).
    let memory = if waven_runtime::ENCLAVE_PROFILE {
        "virtual"
    } else {
        "plain"
    };
    let text = format!(
        r#"# A data marketplace.
frame_budget = "256MiB"
host_heap = "96MiB"
engine = "interp"
memory = "{memory}"
run = "pipeline"
order = ["analyst", "provider"]

[[tenant]]
name = "provider"
module = "provider.wasm"
entry = "main"
args = ["--rows", "1000"]
env = {{ MODE = "fast", B = "2", A = "1" }}
dirs = ["data::/data", "out"]
fuel = 1000000

[tenant.limits]
grants = 8
handles = 16
regions = 2
waiters = 1
wasi_fds = 32
table_elements = 5000
memory = "16MiB"
timeout = "1500ms"

[[tenant]]
name = "analyst"
module = "{}"

[[region]]
name = "dataset"
owner = "host"
size = "64MiB"
contents = "data.bin"
max_rights = "r"

[[region]]
name = "scratch"
owner = "provider"
size = 8192
max_rights = "rw"

[[grant]]
region = "dataset"
grantee = "analyst"
rights = "r"
measurement = "sha256:{HASH}"

[[grant]]
region = "scratch"
grantee = "analyst"
rights = "rw"

[policy]
default = "deny"

[[policy.rule]]
from = "host"
to = ["analyst", "provider"]
allow = true

[[policy.rule]]
from = "provider"
to = ["analyst"]
allow = true
"#,
        fx.path("analyst.wat").display()
    );
    let manifest = fx.parse(&text).unwrap();
    let mut measurement = [0u8; 32];
    for (i, byte) in measurement.iter_mut().enumerate() {
        *byte = u8::try_from(i % 16).unwrap() * 0x11;
    }
    let expected = Manifest {
        frame_budget: 256 << 20,
        host_heap: Some(96 << 20),
        engine: EngineKind::Interp,
        memory: if waven_runtime::ENCLAVE_PROFILE {
            MemoryKind::Virtual
        } else {
            MemoryKind::Plain
        },
        run: RunMode::Pipeline,
        order: vec!["analyst".into(), "provider".into()],
        tenants: vec![
            TenantSpec {
                name: "provider".into(),
                module: fx.path("provider.wasm"),
                artifact_sha256: None,
                entry: Some("main".into()),
                args: vec!["--rows".into(), "1000".into()],
                env: vec![
                    ("A".into(), "1".into()),
                    ("B".into(), "2".into()),
                    ("MODE".into(), "fast".into()),
                ],
                dirs: vec![
                    (fx.path("data"), "/data".into()),
                    (fx.path("out"), "out".into()),
                ],
                fuel: Some(1_000_000),
                limits: TenantLimits {
                    grants: 8,
                    handles: 16,
                    regions: 2,
                    waiters: 1,
                    wasi_fds: 32,
                    table_elements: 5000,
                    memory: Some(16 << 20),
                    timeout: Some(Duration::from_millis(1500)),
                },
            },
            TenantSpec {
                name: "analyst".into(),
                module: fx.path("analyst.wat"),
                artifact_sha256: None,
                entry: None,
                args: vec![],
                env: vec![],
                dirs: vec![],
                fuel: None,
                limits: TenantLimits::default(),
            },
        ],
        regions: vec![
            RegionSpec {
                name: "dataset".into(),
                owner: Owner::Host,
                size: 64 << 20,
                contents: Some(fx.path("data.bin")),
                max_rights: RightsSpec::Read,
            },
            RegionSpec {
                name: "scratch".into(),
                owner: Owner::Tenant("provider".into()),
                size: 8192,
                contents: None,
                max_rights: RightsSpec::ReadWrite,
            },
        ],
        grants: vec![
            GrantSpec {
                region: "dataset".into(),
                grantee: "analyst".into(),
                rights: RightsSpec::Read,
                measurement: Some(measurement),
            },
            GrantSpec {
                region: "scratch".into(),
                grantee: "analyst".into(),
                rights: RightsSpec::ReadWrite,
                measurement: None,
            },
        ],
        policy: Policy {
            default_allow: false,
            rules: vec![
                PolicyRule {
                    from: "host".into(),
                    to: vec!["analyst".into(), "provider".into()],
                    allow: true,
                },
                PolicyRule {
                    from: "provider".into(),
                    to: vec!["analyst".into()],
                    allow: true,
                },
            ],
        },
        base_dir: fx.dir.clone(),
    };
    assert_eq!(manifest, expected);
    assert_eq!(manifest.regions[1].owner.name(), "provider");
    assert!(!manifest.policy.allows("analyst", "provider"));
}

#[test]
fn defaults() {
    let fx = Fixture::new("defaults");
    let manifest = fx.parse(TENANTS).unwrap();
    assert_eq!(manifest.frame_budget, 1 << 30);
    // Compiled code where the build has a compiler (not in the enclave
    // profile).
    let engine = if waven_runtime::COMPILER_AVAILABLE {
        EngineKind::Compiled
    } else {
        EngineKind::Interp
    };
    assert_eq!(manifest.engine, engine);
    assert_eq!(manifest.memory, MemoryKind::Virtual);
    assert_eq!(manifest.run, RunMode::Parallel);
    assert_eq!(manifest.order, ["provider", "analyst"]);
    assert_eq!(manifest.policy, Policy::default());
    assert!(
        !manifest.policy.allows("provider", "analyst"),
        "sharing is denied unless the manifest allows it"
    );
    assert!(manifest
        .tenants
        .iter()
        .all(|t| t.limits == TenantLimits::default()));
    assert!(manifest.regions.is_empty() && manifest.grants.is_empty());
    // No host_heap: 64 MiB plus 16 MiB for each of the two tenants.
    assert_eq!(manifest.host_heap, None);
    assert_eq!(manifest.host_heap_bytes(), 96 << 20);
    // An integer size, and the whole budget used by one region.
    let text = format!(
        "frame_budget = 8192\n{}",
        with_tenants("[[region]]\nname = \"r\"\nowner = \"analyst\"\nsize = \"8KiB\"\nmax_rights = \"none\"\n")
    );
    let manifest = fx.parse(&text).unwrap();
    assert_eq!(manifest.frame_budget, 8192);
    assert_eq!(manifest.regions[0].size, 8192);
}

#[test]
fn load_resolves_against_the_manifest_directory() {
    let fx = Fixture::new("load");
    let path = fx.path("waven.toml");
    fs::write(&path, TENANTS).unwrap();
    let manifest = Manifest::load(&path).unwrap();
    assert_eq!(manifest.base_dir, fx.dir);
    assert_eq!(manifest.tenants[0].module, fx.path("provider.wasm"));

    fs::write(&path, format!("{TENANTS}fuel = 0\n")).unwrap();
    let error = Manifest::load(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{}:8:8: fuel must be greater than 0, got 0", path.display())
    );

    // A manifest elsewhere: paths are relative to its own directory.
    fs::create_dir_all(fx.path("sub")).unwrap();
    let nested = fx.path("sub/waven.toml");
    fs::write(&nested, TENANTS).unwrap();
    let error = Manifest::load(&nested).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3:10: module `provider.wasm` does not exist ({})",
            nested.display(),
            fx.path("sub").join("provider.wasm").display()
        )
    );
}

#[test]
fn load_errors_about_the_file() {
    let fx = Fixture::new("load-errors");
    let missing = fx.path("missing.toml");
    let error = Manifest::load(&missing).unwrap_err();
    assert_eq!((error.line, error.column), (1, 1));
    assert!(
        error.message.starts_with("cannot read manifest: "),
        "{error}"
    );
    assert_eq!(error.path, missing.display().to_string());

    let path = fx.path("latin1.toml");
    fs::write(&path, b"# ok\n# caf\xe9\n").unwrap();
    let error = Manifest::load(&path).unwrap_err();
    assert_eq!(
        (error.line, error.column, error.message.as_str()),
        (2, 6, "the manifest is not valid UTF-8")
    );
}

#[test]
fn toml_syntax_errors() {
    let fx = Fixture::new("syntax");
    fx.fails(
        "frame_budget = \n",
        "1:16",
        "string values must be quoted, expected literal string",
    );
    fx.fails(
        &with_tenants("[[tenant]]\nname = \"x\"\nname = \"y\"\n"),
        "10:1",
        "duplicate key",
    );
}

#[test]
fn unknown_fields() {
    let fx = Fixture::new("unknown-fields");
    fx.fails(
        &format!("frame_bugdet = 4096\n{TENANTS}"),
        "1:1",
        "unknown field `frame_bugdet`, expected one of `frame_budget`, `host_heap`, `engine`, `memory`, `run`, `order`, `tenant`, `region`, `grant`, `policy`",
    );
    fx.fails(
        &with_tenants("entrypoint = \"main\"\n"),
        "8:1",
        "unknown field `entrypoint`, expected one of `name`, `module`, `artifact_sha256`, `entry`, `args`, `env`, `dirs`, `fuel`, `limits`",
    );
    fx.fails(
        &with_tenants("[[region]]\nname = \"r\"\nowner = \"host\"\nsize = 4096\nmax_rights = \"r\"\nrights = \"r\"\n"),
        "13:1",
        "unknown field `rights`, expected one of `name`, `owner`, `size`, `contents`, `max_rights`",
    );
    fx.fails(
        &with_tenants(
            "[[grant]]\nregion = \"r\"\ngrantee = \"analyst\"\nrights = \"r\"\nhash = \"x\"\n",
        ),
        "12:1",
        "unknown field `hash`, expected one of `region`, `grantee`, `rights`, `measurement`",
    );
    fx.fails(
        &with_tenants("[policy]\ndefault = \"deny\"\nrules = []\n"),
        "10:1",
        "unknown field `rules`, expected `default` or `rule`",
    );
    fx.fails(
        &with_tenants(
            "[[policy.rule]]\nfrom = \"host\"\nto = [\"analyst\"]\nallow = true\ndeny = false\n",
        ),
        "12:1",
        "unknown field `deny`, expected one of `from`, `to`, `allow`",
    );
}

#[test]
fn wrong_types_and_missing_fields() {
    let fx = Fixture::new("types");
    fx.fails(
        &with_tenants("fuel = \"3\"\n"),
        "8:8",
        "invalid type: string \"3\", expected i64",
    );
    fx.fails(
        &with_tenants("args = \"a b\"\n"),
        "8:8",
        "invalid type: string \"a b\", expected a sequence",
    );
    fx.fails(
        &with_tenants("[[region]]\nname = \"r\"\nowner = \"host\"\nsize = true\nmax_rights = \"r\"\n"),
        "11:8",
        "invalid type: boolean `true`, expected a size: an integer number of bytes or a string such as \"64MiB\"",
    );
    fx.fails(
        &with_tenants("\n[[tenant]]\nname = \"third\"\n"),
        "9:1",
        "missing field `module`",
    );
}

#[test]
fn duplicate_names() {
    let fx = Fixture::new("duplicates");
    fx.fails(
        &with_tenants("\n[[tenant]]\nname = \"provider\"\nmodule = \"provider.wasm\"\n"),
        "10:8",
        "duplicate tenant name `provider` (first at 2:8)",
    );
    let region = "[[region]]\nname = \"r\"\nowner = \"host\"\nsize = 4096\nmax_rights = \"r\"\n";
    fx.fails(
        &with_tenants(&format!("{region}{region}")),
        "14:8",
        "duplicate region name `r` (first at 9:8)",
    );
}

#[test]
fn invalid_names() {
    let fx = Fixture::new("names");
    fx.fails(
        "[[tenant]]\nname = \"a b\"\nmodule = \"provider.wasm\"\n",
        "2:8",
        "invalid tenant name `a b`: expected 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`",
    );
    fx.fails(
        &format!(
            "[[tenant]]\nname = \"{}\"\nmodule = \"provider.wasm\"\n",
            "x".repeat(65)
        ),
        "2:8",
        &format!(
            "invalid tenant name `{}`: expected 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`",
            "x".repeat(65)
        ),
    );
    fx.fails(
        "[[tenant]]\nname = \"host\"\nmodule = \"provider.wasm\"\n",
        "2:8",
        "`host` stands for the host and cannot name a tenant",
    );
    fx.fails(
        &with_tenants(
            "[[region]]\nname = \"\"\nowner = \"host\"\nsize = 4096\nmax_rights = \"r\"\n",
        ),
        "9:8",
        "invalid region name ``: expected 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`",
    );
}

#[test]
fn unknown_references() {
    let fx = Fixture::new("references");
    let region =
        "[[region]]\nname = \"r\"\nowner = \"provider\"\nsize = 4096\nmax_rights = \"rw\"\n";
    fx.fails(
        &with_tenants(
            "[[region]]\nname = \"r\"\nowner = \"nobody\"\nsize = 4096\nmax_rights = \"r\"\n",
        ),
        "10:9",
        "unknown owner `nobody`: expected \"host\" or a tenant name",
    );
    fx.fails(
        &with_tenants(&format!(
            "{region}[[grant]]\nregion = \"q\"\ngrantee = \"analyst\"\nrights = \"r\"\n"
        )),
        "14:10",
        "unknown region `q`",
    );
    fx.fails(
        &with_tenants(&format!(
            "{region}[[grant]]\nregion = \"r\"\ngrantee = \"analyts\"\nrights = \"r\"\n"
        )),
        "15:11",
        "unknown tenant `analyts`",
    );
    fx.fails(
        &with_tenants(&format!(
            "{region}[[grant]]\nregion = \"r\"\ngrantee = \"host\"\nrights = \"r\"\n"
        )),
        "15:11",
        "`host` is not a tenant: the host needs no grant",
    );
    fx.fails(
        &format!("order = [\"provider\", \"nobody\", \"analyst\"]\n{TENANTS}"),
        "1:22",
        "unknown tenant `nobody`",
    );
    fx.fails(
        &with_tenants("[[policy.rule]]\nfrom = \"nobody\"\nto = [\"analyst\"]\nallow = true\n"),
        "9:8",
        "unknown tenant `nobody`: expected \"host\" or a tenant name",
    );
    fx.fails(
        &with_tenants(
            "[[policy.rule]]\nfrom = \"host\"\nto = [\"analyst\", \"x\"]\nallow = true\n",
        ),
        "10:18",
        "unknown tenant `x`",
    );
    fx.fails(
        &with_tenants("[[policy.rule]]\nfrom = \"host\"\nto = []\nallow = true\n"),
        "10:6",
        "`to` must list at least one tenant",
    );
}

#[test]
fn bad_sizes() {
    let fx = Fixture::new("sizes");
    let region = |size: &str| {
        with_tenants(&format!(
            "[[region]]\nname = \"r\"\nowner = \"host\"\nsize = {size}\nmax_rights = \"r\"\n"
        ))
    };
    fx.fails(
        &region("5000"),
        "11:8",
        "region size 5000 is not a multiple of 4096 (the page size)",
    );
    fx.fails(
        &region("\"1KiB\""),
        "11:8",
        "region size 1024 is not a multiple of 4096 (the page size)",
    );
    fx.fails(&region("0"), "11:8", "region size must be greater than 0");
    fx.fails(
        &region("\"5GiB\""),
        "11:8",
        "region size 5368709120 is larger than 4GiB",
    );
    fx.fails(
        &region("-4096"),
        "11:8",
        "region size must not be negative, got -4096",
    );
    fx.fails(
        &region("\"64MB\""),
        "11:8",
        "invalid size `64MB`: expected a number of bytes, optionally followed by KiB, MiB or GiB",
    );
    // 4GiB exactly is the largest region (and needs a budget as large).
    let text = format!("frame_budget = \"4GiB\"\n{}", region("\"4GiB\""));
    assert_eq!(fx.parse(&text).unwrap().regions[0].size, 1 << 32);

    fx.fails(
        &format!("frame_budget = \"1000\"\n{TENANTS}"),
        "1:16",
        "frame_budget 1000 is not a multiple of 4096 (the page size)",
    );
    fx.fails(
        &format!("frame_budget = 0\n{TENANTS}"),
        "1:16",
        "frame_budget must be greater than 0",
    );
    fx.fails(
        &format!("frame_budget = \"lots\"\n{TENANTS}"),
        "1:16",
        "invalid size `lots`: expected a number of bytes, optionally followed by KiB, MiB or GiB",
    );
}

#[test]
fn host_heap_is_a_positive_multiple_of_the_page_size() {
    let fx = Fixture::new("host_heap");
    let manifest = fx
        .parse(&format!("host_heap = \"1GiB\"\n{TENANTS}"))
        .unwrap();
    assert_eq!(manifest.host_heap_bytes(), 1 << 30);
    fx.fails(
        &format!("host_heap = 5000\n{TENANTS}"),
        "1:13",
        "host_heap 5000 is not a multiple of 4096 (the page size)",
    );
    fx.fails(
        &format!("host_heap = 0\n{TENANTS}"),
        "1:13",
        "host_heap must be greater than 0",
    );
}

#[test]
fn the_enclave_profile_refuses_plain_memory_and_other_engines() {
    let fx = Fixture::new("enclave");
    let plain = format!("memory = \"plain\"\n{TENANTS}");
    let jit = format!("engine = \"jit\"\n{TENANTS}");
    if waven_runtime::ENCLAVE_PROFILE {
        fx.fails(
            &plain,
            "1:10",
            "the enclave profile has no \"plain\" memory backend: its memory would lie outside the frame pool",
        );
        fx.fails(
            &jit,
            "1:10",
            "engine \"jit\" is not available: the enclave profile generates no code at run time; use \"interp\", or \"compiled\" with precompiled artifacts",
        );
    } else {
        assert_eq!(fx.parse(&plain).unwrap().memory, MemoryKind::Plain);
        assert_eq!(fx.parse(&jit).unwrap().engine, EngineKind::Compiled);
    }
}

#[test]
fn regions_must_fit_in_the_frame_budget() {
    let fx = Fixture::new("budget");
    let text = format!(
        "frame_budget = \"16KiB\"\n{}",
        with_tenants(
            "[[region]]\nname = \"a\"\nowner = \"host\"\nsize = \"8KiB\"\nmax_rights = \"r\"\n\
             [[region]]\nname = \"b\"\nowner = \"host\"\nsize = \"12KiB\"\nmax_rights = \"r\"\n"
        )
    );
    fx.fails(
        &text,
        "17:8",
        "the regions up to here need 20480 bytes, more than frame_budget (16384 bytes)",
    );
}

#[test]
fn missing_files_and_directories() {
    let fx = Fixture::new("files");
    let tenant = |field: &str| {
        with_tenants(&format!(
            "\n[[tenant]]\nname = \"third\"\nmodule = \"provider.wasm\"\n{field}\n"
        ))
    };
    fx.fails(
        "[[tenant]]\nname = \"a\"\nmodule = \"missing.wasm\"\n",
        "3:10",
        &format!(
            "module `missing.wasm` does not exist ({})",
            fx.path("missing.wasm").display()
        ),
    );
    fx.fails(
        "[[tenant]]\nname = \"a\"\nmodule = \"module.txt\"\n",
        "3:10",
        "module `module.txt` must be a .wasm or .wat file or a .cwasm artifact",
    );
    fx.fails(
        "[[tenant]]\nname = \"a\"\nmodule = \"dir.wasm\"\n",
        "3:10",
        &format!(
            "module `dir.wasm` is not a file ({})",
            fx.path("dir.wasm").display()
        ),
    );
    fx.fails(
        &tenant("dirs = [\"data\", \"nowhere::/x\"]"),
        "12:17",
        &format!(
            "directory `nowhere` does not exist ({})",
            fx.path("nowhere").display()
        ),
    );
    fx.fails(
        &tenant("dirs = [\"notes.txt::/notes\"]"),
        "12:9",
        &format!(
            "`notes.txt` is not a directory ({})",
            fx.path("notes.txt").display()
        ),
    );
    fx.fails(
        &tenant("dirs = [\"::/data\"]"),
        "12:9",
        "invalid directory `::/data`: expected HOST or HOST::GUEST",
    );
    fx.fails(
        &tenant("dirs = [\"data::/d\", \"out::/d\"]"),
        "12:21",
        "guest directory `/d` is preopened twice (first at 12:9)",
    );
    let region = |contents: &str, size: &str| {
        with_tenants(&format!(
            "[[region]]\nname = \"r\"\nowner = \"host\"\nsize = {size}\ncontents = \"{contents}\"\nmax_rights = \"r\"\n"
        ))
    };
    fx.fails(
        &region("nothing.bin", "4096"),
        "12:12",
        &format!(
            "contents file `nothing.bin` does not exist ({})",
            fx.path("nothing.bin").display()
        ),
    );
    fx.fails(
        &region("data", "4096"),
        "12:12",
        &format!(
            "contents file `data` is not a file ({})",
            fx.path("data").display()
        ),
    );
    fx.fails(
        &region("data.bin", "4096"),
        "12:12",
        "contents file `data.bin` is 5000 bytes, larger than the region (4096 bytes)",
    );
    assert!(fx.parse(&region("data.bin", "8192")).is_ok());
}

#[test]
fn tenant_fields() {
    let fx = Fixture::new("tenant-fields");
    fx.fails(
        &with_tenants("fuel = 0\n"),
        "8:8",
        "fuel must be greater than 0, got 0",
    );
    fx.fails(
        &with_tenants("fuel = -5\n"),
        "8:8",
        "fuel must be greater than 0, got -5",
    );
    fx.fails(
        &with_tenants("entry = \"\"\n"),
        "8:9",
        "entry must not be empty",
    );
    fx.fails(
        &with_tenants("env = { OK = \"1\", \"A=B\" = \"x\" }\n"),
        "8:19",
        "environment variable name `A=B` must not contain `=`",
    );
    fx.fails(
        &with_tenants("args = [\"a\", \"b\\u0000\"]\n"),
        "8:14",
        "arguments must not contain NUL",
    );
}

#[test]
fn grants_above_max_rights_and_bad_rights() {
    let fx = Fixture::new("rights");
    let text = |max: &str, rights: &str| {
        with_tenants(&format!(
            "[[region]]\nname = \"r\"\nowner = \"host\"\nsize = 4096\nmax_rights = \"{max}\"\n\
             [[grant]]\nregion = \"r\"\ngrantee = \"analyst\"\nrights = \"{rights}\"\n\
             [policy]\ndefault = \"allow\"\n"
        ))
    };
    fx.fails(
        &text("r", "rw"),
        "16:10",
        "rights \"rw\" exceed the max_rights \"r\" of region `r`",
    );
    fx.fails(
        &text("none", "r"),
        "16:10",
        "rights \"r\" exceed the max_rights \"none\" of region `r`",
    );
    fx.fails(
        &text("rw", "w"),
        "16:10",
        "unknown rights `w`: expected \"none\", \"r\" or \"rw\"",
    );
    fx.fails(
        &text("write", "r"),
        "12:14",
        "unknown rights `write`: expected \"none\", \"r\" or \"rw\"",
    );
    for (max, rights) in [("rw", "rw"), ("rw", "r"), ("r", "none"), ("none", "none")] {
        let manifest = fx.parse(&text(max, rights)).unwrap();
        assert_eq!(manifest.grants[0].rights.as_str(), rights);
    }
}

#[test]
fn grants_to_the_owner_and_twice() {
    let fx = Fixture::new("grant-shape");
    let region =
        "[[region]]\nname = \"r\"\nowner = \"provider\"\nsize = 4096\nmax_rights = \"rw\"\n";
    let grant =
        |who: &str| format!("[[grant]]\nregion = \"r\"\ngrantee = \"{who}\"\nrights = \"r\"\n");
    fx.fails(
        &with_tenants(&format!("{region}{}", grant("provider"))),
        "15:11",
        "tenant `provider` owns region `r`: it needs no grant",
    );
    fx.fails(
        &with_tenants(&format!(
            "{region}{}{}[policy]\ndefault = \"allow\"\n",
            grant("analyst"),
            grant("analyst")
        )),
        "19:11",
        "region `r` is granted to `analyst` twice (first at 15:11)",
    );
}

#[test]
fn policy_forbidden_grants() {
    let fx = Fixture::new("policy");
    let manifest = |owner: &str, policy: &str| {
        with_tenants(&format!(
            "[[region]]\nname = \"r\"\nowner = \"{owner}\"\nsize = 4096\nmax_rights = \"rw\"\n\
             [[grant]]\nregion = \"r\"\ngrantee = \"analyst\"\nrights = \"r\"\n{policy}"
        ))
    };
    let deny = "[policy]\ndefault = \"deny\"\n";
    fx.fails(
        &manifest("provider", deny),
        "15:11",
        "the policy forbids `provider` to grant to `analyst` (region `r`)",
    );
    // Host-owned regions are granted by "host".
    fx.fails(
        &manifest("host", deny),
        "15:11",
        "the policy forbids `host` to grant to `analyst` (region `r`)",
    );
    let allow_provider = "[[policy.rule]]\nfrom = \"provider\"\nto = [\"analyst\"]\nallow = true\n";
    assert!(fx
        .parse(&manifest("provider", &format!("{deny}{allow_provider}")))
        .is_ok());
    fx.fails(
        &manifest("host", &format!("{deny}{allow_provider}")),
        "15:11",
        "the policy forbids `host` to grant to `analyst` (region `r`)",
    );
    // The last matching rule wins.
    let forbid_provider =
        "[[policy.rule]]\nfrom = \"provider\"\nto = [\"provider\", \"analyst\"]\nallow = false\n";
    fx.fails(
        &manifest("provider", &format!("{allow_provider}{forbid_provider}")),
        "15:11",
        "the policy forbids `provider` to grant to `analyst` (region `r`)",
    );
    assert!(fx
        .parse(&manifest(
            "provider",
            &format!("{forbid_provider}{allow_provider}")
        ))
        .is_ok());
    fx.fails(
        &manifest("provider", "[policy]\ndefault = \"maybe\"\n"),
        "18:11",
        "unknown policy default `maybe`: expected \"allow\" or \"deny\"",
    );
}

#[test]
fn measurement_format() {
    let fx = Fixture::new("measurement");
    let text = |measurement: &str| {
        with_tenants(&format!(
            "[[region]]\nname = \"r\"\nowner = \"host\"\nsize = 4096\nmax_rights = \"r\"\n\
             [[grant]]\nregion = \"r\"\ngrantee = \"analyst\"\nrights = \"r\"\nmeasurement = \"{measurement}\"\n\
             [policy]\ndefault = \"allow\"\n"
        ))
    };
    for bad in [
        HASH.to_owned(),
        format!("sha256:{}", &HASH[1..]),
        format!("sha256:{}x", &HASH[1..]),
        format!("sha1:{HASH}"),
    ] {
        fx.fails(
            &text(&bad),
            "17:15",
            &format!("invalid measurement `{bad}`: expected \"sha256:\" followed by 64 hexadecimal digits"),
        );
    }
    let manifest = fx.parse(&text(&format!("sha256:{HASH}"))).unwrap();
    let digest = manifest.grants[0].measurement.unwrap();
    assert_eq!(digest[0], 0x00);
    assert_eq!(digest[31], 0xff);
}

#[test]
fn pipeline_order_is_a_permutation() {
    let fx = Fixture::new("order");
    fx.fails(
        &format!("run = \"pipeline\"\norder = [\"provider\"]\n{TENANTS}"),
        "2:9",
        "order does not list tenant `analyst`: it must list every tenant exactly once",
    );
    fx.fails(
        &format!("order = [\"provider\", \"analyst\", \"provider\"]\n{TENANTS}"),
        "1:33",
        "tenant `provider` is listed twice in order (first at 1:10)",
    );
    let manifest = fx
        .parse(&format!(
            "run = \"pipeline\"\norder = [\"analyst\", \"provider\"]\n{TENANTS}"
        ))
        .unwrap();
    assert_eq!(manifest.order, ["analyst", "provider"]);
}

#[test]
fn unknown_choices() {
    let fx = Fixture::new("choices");
    fx.fails(
        &format!("engine = \"fast\"\n{TENANTS}"),
        "1:10",
        "unknown engine `fast`: expected \"interp\", \"jit\" or \"compiled\"",
    );
    fx.fails(
        &format!("memory = \"paged\"\n{TENANTS}"),
        "1:10",
        "unknown memory backend `paged`: expected \"virtual\" or \"plain\"",
    );
    fx.fails(
        &format!("run = \"serial\"\n{TENANTS}"),
        "1:7",
        "unknown run mode `serial`: expected \"parallel\" or \"pipeline\"",
    );
}

#[test]
fn no_tenants() {
    let fx = Fixture::new("no-tenants");
    fx.fails(
        "frame_budget = \"1GiB\"\n",
        "1:1",
        "the manifest declares no [[tenant]]",
    );
}

#[test]
fn the_first_error_in_the_file_is_reported() {
    let fx = Fixture::new("first");
    // The region comes before the tenants in the file; both are wrong.
    let text = format!(
        "[[region]]\nname = \"r\"\nowner = \"host\"\nsize = 100\nmax_rights = \"r\"\n\n{}",
        with_tenants("fuel = 0\n")
    );
    fx.fails(
        &text,
        "4:8",
        "region size 100 is not a multiple of 4096 (the page size)",
    );
    // A badly named tenant is reported once, not at each use.
    let text = "[[tenant]]\nname = \"a b\"\nmodule = \"provider.wasm\"\n\
                [[region]]\nname = \"r\"\nowner = \"a b\"\nsize = 4096\nmax_rights = \"r\"\n";
    fx.fails(
        text,
        "2:8",
        "invalid tenant name `a b`: expected 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`",
    );
}

#[test]
fn absolute_paths_are_kept() {
    let fx = Fixture::new("absolute");
    let other = Fixture::new("absolute-other");
    let text = format!(
        "[[tenant]]\nname = \"a\"\nmodule = \"{}\"\ndirs = [\"{}::/d\"]\n",
        other.path("provider.wasm").display(),
        other.path("data").display()
    );
    let manifest = fx.parse(&text).unwrap();
    assert_eq!(manifest.tenants[0].module, other.path("provider.wasm"));
    assert_eq!(
        manifest.tenants[0].dirs,
        [(other.path("data"), "/d".to_owned())]
    );
    let _: &Path = &manifest.base_dir;
}

#[test]
fn tenant_limits() {
    let fx = Fixture::new("limits");
    // The provider's limits table starts on line 8, its key on line 9.
    let text = |line: &str| {
        format!(
            "[[tenant]]\nname = \"analyst\"\nmodule = \"analyst.wat\"\n\n\
             [[tenant]]\nname = \"provider\"\nmodule = \"provider.wasm\"\n\
             [tenant.limits]\n{line}\n"
        )
    };
    let manifest = fx.parse(&text("handles = 0")).unwrap();
    assert_eq!(manifest.tenants[0].limits, TenantLimits::default());
    let limits = manifest.tenants[1].limits;
    assert_eq!(
        limits,
        TenantLimits {
            handles: 0,
            ..TenantLimits::default()
        }
    );
    for (line, timeout) in [
        ("timeout = \"2m\"", 120_000),
        ("timeout = \"30s\"", 30_000),
        ("timeout = \"500ms\"", 500),
    ] {
        let limits = fx.parse(&text(line)).unwrap().tenants[1].limits;
        assert_eq!(limits.timeout, Some(Duration::from_millis(timeout)));
    }
    let inline = "[[tenant]]\nname = \"p\"\nmodule = \"provider.wasm\"\nlimits = { grants = 3, memory = \"1MiB\" }\n";
    let limits = fx.parse(inline).unwrap().tenants[0].limits;
    assert_eq!((limits.grants, limits.memory), (3, Some(1 << 20)));

    fx.fails(
        &text("grants = -1"),
        "9:10",
        "grants must not be negative, got -1",
    );
    fx.fails(
        &text("waiters = \"many\""),
        "9:11",
        "invalid type: string \"many\", expected i64",
    );
    fx.fails(
        &text("memory = \"1000\""),
        "9:10",
        "memory 1000 is not a multiple of 4096 (the page size)",
    );
    fx.fails(
        &text("memory = \"lots\""),
        "9:10",
        "invalid size `lots`: expected a number of bytes, optionally followed by KiB, MiB or GiB",
    );
    fx.fails(
        &text("timeout = \"30\""),
        "9:11",
        "invalid duration `30`: expected a whole number followed by ms, s, m or h (\"30s\")",
    );
    fx.fails(
        &text("timeout = \"0s\""),
        "9:11",
        "timeout must be greater than 0",
    );
    fx.fails(
        &text("files = 3"),
        "9:1",
        "unknown field `files`, expected one of `grants`, `handles`, `regions`, `waiters`, `wasi_fds`, `table_elements`, `memory`, `timeout`",
    );
}

#[test]
fn sharing_is_denied_unless_the_manifest_allows_it() {
    let fx = Fixture::new("deny-default");
    let grant =
        "[[region]]\nname = \"r\"\nowner = \"provider\"\nsize = 4096\nmax_rights = \"rw\"\n\
                 [[grant]]\nregion = \"r\"\ngrantee = \"analyst\"\nrights = \"r\"\n";
    fx.fails(
        &with_tenants(grant),
        "15:11",
        "the policy forbids `provider` to grant to `analyst` (region `r`)",
    );
    let open = fx
        .parse(&with_tenants(&format!(
            "{grant}[policy]\ndefault = \"allow\"\n"
        )))
        .unwrap();
    assert!(open.policy.allows("analyst", "provider"));
}

/// A tenant whose module is a precompiled artifact (recognized by its
/// magic; the checker reads nothing more of it).
const ARTIFACT_TENANT: &str = r#"[[tenant]]
name = "compiled"
module = "m.cwasm"
"#;

#[test]
fn artifacts_need_the_compiled_engine() {
    let fx = Fixture::new("artifact-engine");
    fs::write(fx.path("m.cwasm"), b"\0wavencw\x01\0\0\0rest").unwrap();
    // Named .wasm, an artifact all the same: the magic decides.
    fs::write(fx.path("renamed.wasm"), b"\0wavencw\x01\0\0\0rest").unwrap();
    let message = "module `m.cwasm` is a precompiled artifact, which runs on the compiled \
                   engine only: set engine = \"compiled\" (or \"jit\")";
    fx.fails(
        &format!("engine = \"interp\"\n{ARTIFACT_TENANT}"),
        "4:10",
        message,
    );
    let renamed = "[[tenant]]\nname = \"t\"\nmodule = \"renamed.wasm\"\n";
    if waven_runtime::COMPILER_AVAILABLE {
        // Without `engine`, the default is the compiled engine.
        assert_eq!(
            fx.parse(ARTIFACT_TENANT).unwrap().engine,
            EngineKind::Compiled
        );
        assert_eq!(fx.parse(renamed).unwrap().engine, EngineKind::Compiled);
    } else {
        // The enclave profile's default is the interpreter.
        fx.fails(ARTIFACT_TENANT, "3:10", message);
        fx.fails(
            renamed,
            "3:10",
            "module `renamed.wasm` is a precompiled artifact, which runs on the compiled \
             engine only: set engine = \"compiled\" (or \"jit\")",
        );
    }
    let manifest = fx
        .parse(&format!("engine = \"compiled\"\n{ARTIFACT_TENANT}"))
        .unwrap();
    assert_eq!(manifest.engine, EngineKind::Compiled);
    assert_eq!(manifest.tenants[0].module, fx.path("m.cwasm"));
    assert_eq!(manifest.tenants[0].artifact_sha256, None);
    fx.fails(
        "engine = \"compiled\"\n[[tenant]]\nname = \"t\"\nmodule = \"m.cwasm.gz\"\n",
        "4:10",
        "module `m.cwasm.gz` must be a .wasm or .wat file or a .cwasm artifact",
    );
}

#[test]
fn artifact_sha256_pins_an_artifact() {
    let fx = Fixture::new("artifact-sha256");
    fs::write(fx.path("m.cwasm"), b"\0wavencw\x01\0\0\0rest").unwrap();
    let hex = "00ff10Ab".repeat(8);
    let manifest = fx
        .parse(&format!(
            "engine = \"compiled\"\n{ARTIFACT_TENANT}artifact_sha256 = \"{hex}\"\n"
        ))
        .unwrap();
    let pinned = manifest.tenants[0].artifact_sha256.unwrap();
    assert_eq!(&pinned[..4], &[0x00, 0xff, 0x10, 0xab]);
    // The grants' spelling is accepted too.
    let manifest = fx
        .parse(&format!(
            "engine = \"compiled\"\n{ARTIFACT_TENANT}artifact_sha256 = \"sha256:{hex}\"\n"
        ))
        .unwrap();
    assert_eq!(manifest.tenants[0].artifact_sha256, Some(pinned));
    fx.fails(
        &format!(
            "engine = \"compiled\"\n{ARTIFACT_TENANT}artifact_sha256 = \"{}\"\n",
            &hex[1..]
        ),
        "5:19",
        &format!(
            "invalid artifact_sha256 `{}`: expected 64 hexadecimal digits",
            &hex[1..]
        ),
    );
    fx.fails(
        &format!(
            "[[tenant]]\nname = \"t\"\nmodule = \"provider.wasm\"\nartifact_sha256 = \"{hex}\"\n"
        ),
        "4:19",
        "artifact_sha256 is for precompiled artifacts, but module `provider.wasm` is not one \
         (a .cwasm file made by `waven compile`)",
    );
}

#[test]
fn the_enclave_profile_runs_compiled_code_from_artifacts_only() {
    let fx = Fixture::new("enclave-artifacts");
    fs::write(fx.path("m.cwasm"), b"\0wavencw\x01\0\0\0rest").unwrap();
    let wasm_tenant =
        "engine = \"compiled\"\n[[tenant]]\nname = \"t\"\nmodule = \"provider.wasm\"\n";
    assert!(fx
        .parse(&format!("engine = \"compiled\"\n{ARTIFACT_TENANT}"))
        .is_ok());
    if waven_runtime::ENCLAVE_PROFILE {
        let error = fx.parse(wasm_tenant).unwrap_err();
        assert_eq!((error.line, error.column), (4, 10));
        assert!(
            error.message.starts_with(
                "module `provider.wasm` is not a precompiled artifact: the enclave profile has \
                 no compiler, so engine = \"compiled\" runs only .cwasm artifacts made by \
                 `waven compile`"
            ),
            "{error}"
        );
    } else {
        assert!(fx.parse(wasm_tenant).is_ok());
    }
}

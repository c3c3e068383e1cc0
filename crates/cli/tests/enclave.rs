//! The enclave profile (`--features enclave`) as an operator runs it: no
//! memory is mapped, unmapped or protected while guests run and share
//! memory (checked with `strace`, also for compiled code loaded from
//! precompiled artifacts), reservations that cannot be made stop
//! waven before anything runs, and what an enclave cannot have (plain
//! memory, run-time code generation, memory beyond the budget) is refused.
#![cfg(feature = "enclave")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The system calls of strace's `%memory` class that change a mapping or
/// the heap break.
const MAPPING_CALLS: [&str; 7] = [
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "brk",
    "pkey_mprotect",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn waven() -> Command {
    Command::new(env!("CARGO_BIN_EXE_waven"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-enclave-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What strace saw of one `waven platform --mark-phases` run.
struct Trace {
    output: Output,
    /// Memory system calls before `start-up complete`.
    before: Vec<String>,
    /// Memory system calls between the two markers.
    during: Vec<String>,
    /// Other lines (writes) between the markers.
    writes_during: usize,
}

fn trace_platform(manifest: &Path, log: &Path) -> Trace {
    let output = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%memory,write", "-o"])
        .arg(log)
        .arg(env!("CARGO_BIN_EXE_waven"))
        .args(["platform", "--mark-phases"])
        .arg(manifest)
        .output()
        .expect("strace runs (apt-get install strace)");
    let log = std::fs::read_to_string(log).unwrap();
    let (mut before, mut during, mut writes_during) = (Vec::new(), Vec::new(), 0);
    let mut phase = 0;
    for line in log.lines() {
        if line.contains("start-up complete") {
            phase = 1;
            continue;
        }
        if line.contains("guests finished") {
            phase = 2;
            continue;
        }
        let call = line.split_whitespace().nth(1).unwrap_or("");
        let is_mapping = MAPPING_CALLS
            .iter()
            .any(|name| call.starts_with(&format!("{name}(")));
        match (phase, is_mapping) {
            (0, true) => before.push(line.to_owned()),
            (1, true) => during.push(line.to_owned()),
            (1, false) => writes_during += 1,
            _ => {}
        }
    }
    assert_eq!(phase, 2, "both markers in the strace log:\n{log}");
    Trace {
        output,
        before,
        during,
        writes_during,
    }
}

fn assert_quiet(trace: &Trace, what: &str) {
    assert!(
        trace.output.status.success(),
        "{what}: waven failed:\n{}{}",
        text(&trace.output.stdout),
        text(&trace.output.stderr)
    );
    // strace saw memory calls at all (the reservations at start-up), and
    // the guests did run between the markers (their output lines).
    assert!(
        !trace.before.is_empty(),
        "{what}: no memory call traced at all"
    );
    assert!(
        trace.writes_during > 0,
        "{what}: no guest output between the markers"
    );
    assert!(
        trace.during.is_empty(),
        "{what}: memory system calls while guests ran:\n{}",
        trace.during.join("\n")
    );
}

#[test]
fn guests_run_and_share_without_memory_system_calls() {
    let dir = scratch("strace");
    // The marketplace: data lent read-only to analysts, results shared
    // back, an attacker refused; tenants one after another.
    let marketplace = trace_platform(
        &root().join("examples/marketplace.toml"),
        &dir.join("marketplace.log"),
    );
    assert_quiet(&marketplace, "marketplace (pipeline)");
    let stdout = text(&marketplace.output.stdout);
    assert!(stdout.contains("[consumer]"), "{stdout}");

    // Four tenants at once on threads: a producer sharing a page with a
    // consumer, and two players passing a ball through a shared page
    // with wait/notify.
    let manifest = dir.join("parallel.toml");
    std::fs::write(
        &manifest,
        r#"frame_budget = "64MiB"
run = "parallel"

[[tenant]]
name = "producer"
module = "BUILD/producer.wasm"
args = ["consumer"]

[[tenant]]
name = "consumer"
module = "BUILD/consumer.wasm"

[[tenant]]
name = "ping"
module = "BUILD/pingpong.wasm"
args = ["ping", "50"]

[[tenant]]
name = "pong"
module = "BUILD/pingpong.wasm"
args = ["pong", "50"]

# Sharing is denied unless allowed.
[[policy.rule]]
from = "producer"
to = ["consumer"]
allow = true

[[policy.rule]]
from = "ping"
to = ["pong"]
allow = true
"#
        .replace("BUILD", root().join("examples/build").to_str().unwrap()),
    )
    .unwrap();
    let parallel = trace_platform(&manifest, &dir.join("parallel.log"));
    assert_quiet(&parallel, "producer/consumer and ping/pong (parallel)");
    let stdout = text(&parallel.output.stdout);
    assert!(
        stdout.contains("[consumer]") && stdout.contains("[pong]"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The environment variable naming the directory of precompiled artifacts
/// of `examples/build/*.wasm` (`producer.cwasm`, ...). The enclave binary
/// has no compiler, so they are compiled by a non-enclave waven beforehand;
/// `.ci/run` does it.
const ARTIFACTS: &str = "WAVEN_ENCLAVE_ARTIFACTS";

/// The directory of precompiled artifacts; fails (never skips) without it.
fn artifacts() -> PathBuf {
    let help = format!(
        "the enclave tests of compiled code need precompiled artifacts, made by a \
         non-enclave waven (the enclave binary has no compiler): build one (cargo build -p \
         waven-cli), run `waven compile examples/build/NAME.wasm -o DIR/NAME.cwasm` for \
         producer, consumer and pingpong, and set {ARTIFACTS}=DIR (as .ci/run does)"
    );
    let dir =
        std::env::var_os(ARTIFACTS).unwrap_or_else(|| panic!("{ARTIFACTS} is not set: {help}"));
    let dir = PathBuf::from(dir);
    for name in ["producer", "consumer", "pingpong"] {
        let path = dir.join(format!("{name}.cwasm"));
        assert!(path.is_file(), "{} is missing: {help}", path.display());
    }
    dir
}

#[test]
fn compiled_code_from_artifacts_runs_without_memory_system_calls() {
    let dir = scratch("strace-compiled");
    let artifacts = artifacts();
    // The parallel workload of the test above, every tenant compiled:
    // the artifacts are checked, loaded and made executable at start-up,
    // before the marker; while the guests run, nothing is mapped.
    let manifest = dir.join("compiled.toml");
    std::fs::write(
        &manifest,
        r#"frame_budget = "64MiB"
run = "parallel"
engine = "compiled"

[[tenant]]
name = "producer"
module = "ARTIFACTS/producer.cwasm"
args = ["consumer"]

[[tenant]]
name = "consumer"
module = "ARTIFACTS/consumer.cwasm"

[[tenant]]
name = "ping"
module = "ARTIFACTS/pingpong.cwasm"
args = ["ping", "50"]

[[tenant]]
name = "pong"
module = "ARTIFACTS/pingpong.cwasm"
args = ["pong", "50"]

[[policy.rule]]
from = "producer"
to = ["consumer"]
allow = true

[[policy.rule]]
from = "ping"
to = ["pong"]
allow = true
"#
        .replace("ARTIFACTS", artifacts.to_str().unwrap()),
    )
    .unwrap();
    let compiled = trace_platform(&manifest, &dir.join("compiled.log"));
    assert_quiet(&compiled, "compiled producer/consumer and ping/pong");
    let stdout = text(&compiled.output.stdout);
    assert!(
        stdout.contains("[consumer]") && stdout.contains("[pong] pong: 50 rounds played"),
        "{stdout}"
    );
    // Making code executable is a start-up matter: strace saw it before
    // the marker (the enclave's loader does the same with its EDMM or
    // preallocated executable pages).
    assert!(
        compiled
            .before
            .iter()
            .any(|call| call.contains("PROT_EXEC")),
        "no executable mapping at start-up:\n{}",
        compiled.before.join("\n")
    );

    // `waven run` of an artifact: `--engine jit` runs it here too.
    let out = waven()
        .args(["run", "--engine", "jit"])
        .arg(artifacts.join("producer.cwasm"))
        .arg("nobody")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("producer: page_size()"),
        "{stdout}{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_wat(dir: &Path, wat: &str, flags: &[&str], invoke: Option<&str>) -> Output {
    let module = dir.join("m.wat");
    std::fs::write(&module, wat).unwrap();
    let mut command = waven();
    command.arg("run").args(flags);
    if let Some(name) = invoke {
        command.args(["--invoke", name]);
    }
    command.arg(&module).output().unwrap()
}

const EMPTY: &str = r#"(module (memory 1) (func (export "_start")))"#;

#[test]
fn reservations_that_fail_stop_waven_before_anything_runs() {
    let dir = scratch("reserve");
    let out = run_wat(&dir, EMPTY, &["--host-heap", "1099511627776000"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot reserve the host heap of"),
        "{stderr}"
    );

    let out = run_wat(&dir, EMPTY, &["--host-heap", "4096"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("too small"),
        "{}",
        text(&out.stderr)
    );

    let out = run_wat(&dir, EMPTY, &["--frame-budget", "1099511627776000"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot create the engine"),
        "{stderr}"
    );

    let out = run_wat(&dir, EMPTY, &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn plain_memory_and_code_generation_are_refused() {
    let dir = scratch("refused");
    let out = run_wat(&dir, EMPTY, &["--memory", "plain"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the enclave profile allows only virtual memory"),
        "{stderr}"
    );

    // The compiled engine runs only precompiled artifacts here: the
    // enclave binary has no compiler.
    let out = run_wat(&dir, EMPTY, &["--engine", "jit"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("this build has no compiler (feature `jit`); load a precompiled artifact"),
        "{stderr}"
    );
}

#[test]
fn memory_cannot_grow_beyond_the_frame_budget() {
    let dir = scratch("grow");
    // 4 MiB of frames = 64 Wasm pages. The memory declares no maximum and
    // is not capped at the budget: the pool refuses to promise frames it
    // does not have. The module's initial memory, kept as the
    // copy-on-write image, holds no frame and so promises none: growing a
    // 1-page memory by 63 works, by one more fails (memory.grow returns
    // -1), and the guest goes on.
    let wat = r#"(module (memory 1)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    let module = dir.join("grow.wat");
    std::fs::write(&module, wat).unwrap();
    let grow = |pages: &str| {
        let out = waven()
            .args(["run", "--frame-budget", "4194304", "--invoke", "grow"])
            .arg(&module)
            .arg(pages)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    assert_eq!(grow("63"), "1");
    assert_eq!(grow("64"), "-1");
}

#[test]
fn an_exhausted_host_heap_fails_the_guest_not_the_process() {
    let dir = scratch("heap");
    // 3 million table entries (24 MB) would not fit in a 16 MiB host heap,
    // and are beyond the store's limit of table elements anyway:
    // table.grow returns -1, and a module that declares such a table is
    // refused when it is instantiated; waven itself goes on and exits.
    let grow = r#"(module (table 0 funcref)
        (func (export "grow") (result i32) (table.grow (ref.null func) (i32.const 3000000))))"#;
    let out = run_wat(&dir, grow, &["--host-heap", "16777216"], Some("grow"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "-1");

    let declared = r#"(module (table 3000000 funcref) (func (export "_start")))"#;
    let out = run_wat(&dir, declared, &["--host-heap", "16777216"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("store limit exceeded: the store would hold 3000000 table elements"),
        "{stderr}"
    );

    // A memory that may grow to 4 GiB needs no translation tables for its
    // maximum (they grow with its pages: a 32 KiB directory and 8 KiB
    // leaves), so it runs in the same 16 MiB heap; flat tables of 16 bytes
    // per page of the maximum (8 MiB each) did not fit.
    let flags = ["--host-heap", "16777216", "--frame-budget", "4294967296"];
    let out = run_wat(&dir, EMPTY, &flags, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Grants one region to a million made-up names, then opens it a million
/// times; returns (the grant loop's last result, grants made, the open
/// loop's last result, handles opened).
const HOARDER: &str = r#"(module
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (memory 2)
  (data (i32.const 0x100) "bait")
  (func (export "hoard") (result i32 i32 i32 i32)
    (local $h i32) (local $i i32) (local $k i32) (local $r i32) (local $grant_r i32) (local $grants i32)
    (local.set $h (call $share (i32.const 0x1000) (i32.const 0x1000) (i32.const 0x100) (i32.const 4) (i32.const 3)))
    ;; Names: "g" and 7 letters a-p from the counter's bits.
    (i32.store8 (i32.const 0x300) (i32.const 0x67))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 1000000)))
        (local.set $k (i32.const 0))
        (loop $letter
          (i32.store8 (i32.add (i32.const 0x301) (local.get $k))
            (i32.add (i32.const 0x61)
              (i32.and (i32.shr_u (local.get $i) (i32.mul (local.get $k) (i32.const 4)))
                       (i32.const 15))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $letter (i32.lt_u (local.get $k) (i32.const 7))))
        (local.set $r (call $grant (local.get $h) (i32.const 0x300) (i32.const 8) (i32.const 1)))
        (br_if $done (i32.lt_s (local.get $r) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $grant_r (local.get $r))
    (local.set $grants (local.get $i))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 1000000)))
        (local.set $r (call $open (i32.const 0x100) (i32.const 4)))
        (br_if $done (i32.lt_s (local.get $r) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $grant_r) (local.get $grants) (local.get $r) (local.get $i)))"#;

#[test]
fn a_tenant_hoarding_registry_entries_gets_enomem_and_the_process_survives() {
    // Without per-tenant limits, a million grants (and a million handles)
    // outgrow this host heap and abort the enclave with every tenant in it.
    let dir = scratch("hoard");
    std::fs::write(dir.join("hoarder.wat"), HOARDER).unwrap();
    std::fs::write(
        dir.join("worker.wat"),
        r#"(module (memory 1) (func (export "work") (result i32) (i32.const 7)))"#,
    )
    .unwrap();
    let manifest = dir.join("waven.toml");
    std::fs::write(
        &manifest,
        r#"frame_budget = "16MiB"
host_heap = "48MiB"
run = "parallel"

[[tenant]]
name = "hoarder"
module = "hoarder.wat"
entry = "hoard"

[[tenant]]
name = "worker"
module = "worker.wat"
entry = "work"

# Open sharing, as in the attack: the limits must hold on their own.
[policy]
default = "allow"
"#,
    )
    .unwrap();
    let out = waven()
        .args(["platform", "--json"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let tenant = |name: &str| {
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    // ENOMEM (48) after the default limits: 1024 grants, and 1024 handles
    // of which the share took one.
    assert_eq!(
        tenant("hoarder")["results"],
        serde_json::json!(["-48", "1024", "-48", "1023"]),
        "{stdout}"
    );
    assert_eq!(tenant("worker")["results"], serde_json::json!(["7"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn oversized_and_deeply_nested_manifests_are_refused_not_aborted() {
    // The manifest is parsed on the 8 MiB bootstrap heap: each of these
    // aborted the process before its limit was checked up front.
    let dir = scratch("manifest-bounds");
    std::fs::write(dir.join("m.wat"), EMPTY).unwrap();
    let tenant = "[[tenant]]\nname = \"a\"\nmodule = \"m.wat\"\n";
    let platform = |name: &str, manifest: &str| {
        let path = dir.join(name);
        std::fs::write(&path, manifest).unwrap();
        let out = waven().arg("platform").arg(&path).output().unwrap();
        (out.status.code(), text(&out.stderr))
    };

    let large = format!("{tenant}#{}\n", "x".repeat(5 << 20));
    let (status, stderr) = platform("large.toml", &large);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("large.toml:1:1: the manifest has 5242921 bytes or more, more than the limit of 262144 bytes (256 KiB)"),
        "{stderr}"
    );

    let deep = format!("{tenant}args = {}", "[".repeat(100_000));
    let (status, stderr) = platform("deep.toml", &deep);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "deep.toml:4:40: arrays and inline tables nest deeper than the limit of 32 levels"
        ),
        "{stderr}"
    );

    // Three bytes a value, 128 KiB of them: refused for its items.
    let dense = format!("{tenant}args = [{}]\n", "\"\",".repeat(43_000));
    let (status, stderr) = platform("dense.toml", &dense);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("the manifest has more than 10000 items"),
        "{stderr}"
    );

    // The worst case within the limits (almost 10,000 items and a string
    // filling the rest of 256 KiB) parses and runs.
    let items = "\"\",".repeat(9_990);
    let fill = "x".repeat((256 << 10) - tenant.len() - items.len() - 16);
    let worst = format!("{tenant}args = [{items}\"{fill}\"]\n");
    assert!(worst.len() <= 256 << 10);
    let (status, stderr) = platform("worst.toml", &worst);
    assert_eq!(status, Some(0), "{stderr}");
}

//! Precompiled artifacts through the command line: `waven compile` and
//! `waven run` of a `.cwasm`, and every way a damaged or foreign artifact
//! must fail: a clear one-line error, non-zero status, no guest code run,
//! no panic.
//!
//! The tampering tests need no compiler: a module with no functions and no
//! types compiles to empty code, so its artifact can be written here with
//! `waven_environ::artifact`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use waven_environ::artifact::{Artifact, FORMAT_VERSION, MAGIC};
use waven_environ::code::{CodegenSettings, CompiledCode, MemoryLowering};
use waven_environ::vm::SlowPathStub;

fn waven() -> Command {
    Command::new(env!("CARGO_BIN_EXE_waven"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-artifact-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

const VIRTUAL: CodegenSettings = CodegenSettings {
    memory: MemoryLowering::Virtual,
    fuel: false,
};

/// A valid artifact of `(module (memory 1))`, made without a compiler.
fn empty_artifact() -> Artifact {
    let wasm = wat::parse_str("(module (memory 1))").unwrap();
    Artifact::for_host(wasm, stubs_only(), VIRTUAL, VERSION)
}

/// The code of a module without functions or types: the slow-path stubs
/// alone (one `ret` byte each; nothing calls them).
fn stubs_only() -> CompiledCode {
    let stubs = SlowPathStub::COUNT;
    CompiledCode {
        text: vec![0xc3; stubs as usize],
        funcs: (0..stubs).map(|i| i..i + 1).collect(),
        ..CompiledCode::default()
    }
}

/// Runs `waven run ARGS... FILE`.
fn run(file: &Path, args: &[&str]) -> Output {
    waven().arg("run").args(args).arg(file).output().unwrap()
}

/// Asserts that a run failed as a load must: status 1, one line on
/// stderr that starts with `error: ` and contains `expect`, nothing on
/// stdout, no panic.
#[track_caller]
fn assert_refused(output: &Output, expect: &str, what: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what}: status {:?}, stderr {stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(output.stdout.is_empty(), "{what}: {}", text(&output.stdout));
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
    assert!(
        stderr.contains(expect),
        "{what}: expected {expect:?} in {stderr}"
    );
}

#[test]
fn a_valid_artifact_runs() {
    let dir = scratch("valid");
    let path = dir.join("empty.cwasm");
    std::fs::write(&path, empty_artifact().to_bytes()).unwrap();
    // No --engine: an artifact means the compiled engine.
    let output = run(&path, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(&path, &["--engine", "jit"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn an_artifact_does_not_run_on_the_interpreter() {
    let dir = scratch("interp");
    let path = dir.join("empty.cwasm");
    std::fs::write(&path, empty_artifact().to_bytes()).unwrap();
    let output = run(&path, &["--engine", "interp"]);
    assert_refused(
        &output,
        "is a precompiled artifact, which runs on the compiled engine only",
        "--engine interp",
    );
}

#[test]
#[cfg(not(feature = "enclave"))]
fn settings_must_match_the_flags() {
    let dir = scratch("settings");
    let wasm = wat::parse_str("(module (memory 1))").unwrap();
    let plain = CodegenSettings {
        memory: MemoryLowering::Plain,
        fuel: true,
    };
    let path = dir.join("plain.cwasm");
    let artifact = Artifact::for_host(wasm, stubs_only(), plain, VERSION);
    std::fs::write(&path, artifact.to_bytes()).unwrap();
    assert_refused(
        &run(&path, &[]),
        "it was compiled for --memory plain with a fuel limit (--fuel N)",
        "settings",
    );
    let output = run(&path, &["--memory", "plain", "--fuel", "1000"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let path = dir.join("virtual.cwasm");
    std::fs::write(&path, empty_artifact().to_bytes()).unwrap();
    assert_refused(
        &run(&path, &["--fuel", "10"]),
        "it was compiled for --memory virtual without --fuel",
        "fuel",
    );
}

/// A change made to an artifact before it is written.
type Change = fn(&mut Artifact);

#[test]
fn wrong_version_target_or_cpu_features_are_refused() {
    let dir = scratch("foreign");
    let path = dir.join("foreign.cwasm");
    let cases: [(&str, Change, &str); 4] = [
        (
            "waven version",
            |a| a.header.waven_version = "0.0.0-other".into(),
            "the artifact was compiled by waven 0.0.0-other",
        ),
        (
            "target",
            |a| a.header.target = "riscv64-none".into(),
            "the artifact was compiled for riscv64-none, but this host is",
        ),
        (
            "CPU feature",
            |a| a.header.cpu_features.push("quantum".into()),
            "uses the CPU feature \"quantum\", which this host does not have",
        ),
        (
            "format version",
            |a| a.header.format_version = FORMAT_VERSION + 1,
            "unsupported artifact format version",
        ),
    ];
    for (what, change, expect) in cases {
        let mut artifact = empty_artifact();
        change(&mut artifact);
        std::fs::write(&path, artifact.to_bytes()).unwrap();
        assert_refused(&run(&path, &[]), expect, what);
    }
}

/// A guest that would print if any of its code ran: the tampering tests'
/// proof that nothing ran is that stdout stays empty (and `waven run`
/// never prints on a load error).
#[test]
fn every_flipped_byte_is_refused() {
    let dir = scratch("flip");
    let bytes = empty_artifact().to_bytes();
    let path = dir.join("flipped.cwasm");
    // Every byte of this small artifact (a few hundred bytes: the header
    // and the module are all of it).
    assert!(bytes.len() < 2048, "{} bytes", bytes.len());
    for position in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0x01;
        std::fs::write(&path, &flipped).unwrap();
        let output = run(&path, &["--engine", "jit"]);
        let what = format!("byte {position} flipped");
        // The magic's bytes make it no artifact: then it is read as a
        // module (or text), which fails to parse.
        if position < MAGIC.len() {
            assert_eq!(output.status.code(), Some(1), "{what}");
            assert!(!text(&output.stderr).contains("panicked"), "{what}");
            assert!(output.stdout.is_empty(), "{what}");
        } else {
            assert_refused(&output, "cannot load", &what);
        }
    }
}

#[test]
fn a_large_artifact_flipped_and_truncated_is_refused() {
    let dir = scratch("large");
    // A module of 40 KiB (a data segment), so that truncation at 4 KiB
    // steps cuts it in many places.
    let data = "x".repeat(40 << 10);
    let wasm = wat::parse_str(format!(
        "(module (memory 1) (data (i32.const 0) \"{data}\"))"
    ))
    .unwrap();
    let bytes = Artifact::for_host(wasm, stubs_only(), VIRTUAL, VERSION).to_bytes();
    let path = dir.join("large.cwasm");
    std::fs::write(&path, &bytes).unwrap();
    let output = run(&path, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // A few hundred positions spread over the file.
    let step = bytes.len() / 300;
    for position in (MAGIC.len()..bytes.len()).step_by(step) {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0x80;
        std::fs::write(&path, &flipped).unwrap();
        assert_refused(
            &run(&path, &[]),
            "cannot load",
            &format!("byte {position} flipped"),
        );
    }
    // Every 4 KiB step, and every header boundary (just past the magic,
    // the format version, the strings and the settings).
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(4096).collect();
    cuts.extend([
        8,
        12,
        20,
        40,
        60,
        80,
        100,
        bytes.len() - 32,
        bytes.len() - 1,
    ]);
    for cut in cuts {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let output = run(&path, &[]);
        let what = format!("truncated to {cut} bytes");
        if cut < MAGIC.len() {
            // Too short to carry the magic: read as a module, which fails.
            assert_eq!(output.status.code(), Some(1), "{what}");
            assert!(!text(&output.stderr).contains("panicked"), "{what}");
        } else {
            assert_refused(&output, "cannot load", &what);
        }
    }
}

#[test]
fn compile_reports_bad_input_clearly() {
    let dir = scratch("compile-errors");
    let output = waven()
        .args(["compile"])
        .arg(dir.join("missing.wasm"))
        .output()
        .unwrap();
    assert_refused(&output, "missing.wasm", "missing module");

    let bad = dir.join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32)))").unwrap();
    let output = waven().arg("compile").arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if waven_runtime::COMPILER_AVAILABLE {
        assert!(stderr.contains("cannot compile"), "{stderr}");
    } else {
        assert!(stderr.contains("this build has no compiler"), "{stderr}");
    }
}

/// Compiles and runs an artifact end to end: needs the compiler.
#[test]
#[cfg(not(feature = "enclave"))]
fn compile_then_run() {
    if !waven_runtime::COMPILER_AVAILABLE {
        // The compiled engine is wired in with the `jit` feature; until
        // then `waven compile` says so.
        let dir = scratch("no-compiler");
        let wat = dir.join("m.wat");
        std::fs::write(&wat, "(module)").unwrap();
        let output = waven().arg("compile").arg(&wat).output().unwrap();
        assert_refused(&output, "this build has no compiler", "compile");
        return;
    }
    let dir = scratch("compile");
    let wat = dir.join("hello.wat");
    std::fs::write(&wat, HELLO).unwrap();
    let output = waven().arg("compile").arg(&wat).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let cwasm = dir.join("hello.cwasm");
    let bytes = std::fs::read(&cwasm).unwrap();
    let sha256: String = waven_platform::run::measure(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(&cwasm.display().to_string()), "{stdout}");
    assert!(stdout.contains(&sha256), "{stdout}");

    let output = run(&cwasm, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello from compiled code\n");
    // Real code, relocations and all, tampered with: never runs (it
    // would print), never panics.
    let damaged = dir.join("damaged.cwasm");
    let step = (bytes.len() / 200).max(1);
    for position in (MAGIC.len()..bytes.len()).step_by(step) {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0x04;
        std::fs::write(&damaged, &flipped).unwrap();
        assert_refused(
            &run(&damaged, &[]),
            "cannot load",
            &format!("compiled artifact, byte {position} flipped"),
        );
    }
    for cut in (MAGIC.len()..bytes.len())
        .step_by(4096)
        .chain([bytes.len() - 1])
    {
        std::fs::write(&damaged, &bytes[..cut]).unwrap();
        assert_refused(
            &run(&damaged, &[]),
            "cannot load",
            &format!("compiled artifact truncated to {cut} bytes"),
        );
    }
    // With --invoke, and fuel compiled in and given.
    let fueled = dir.join("fuel.cwasm");
    let output = waven()
        .args(["compile", "--fuel", "-o"])
        .arg(&fueled)
        .arg(&wat)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(&fueled, &["--fuel", "1000000", "--invoke", "add"]);
    let output_args = waven()
        .args(["run", "--fuel", "1000000", "--invoke", "add"])
        .arg(&fueled)
        .args(["2", "40"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "add takes parameters");
    assert!(
        output_args.status.success(),
        "{}",
        text(&output_args.stderr)
    );
    assert_eq!(text(&output_args.stdout), "42\n");
    // A module that does not validate.
    let bad = dir.join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32)))").unwrap();
    let output = waven().arg("compile").arg(&bad).output().unwrap();
    assert_refused(&output, "cannot compile", "invalid module");
    // An output that cannot be written.
    let output = waven()
        .args(["compile", "-o"])
        .arg(dir.join("no/such/dir/x.cwasm"))
        .arg(&wat)
        .output()
        .unwrap();
    assert_refused(&output, "cannot write", "unwritable output");
}

/// Prints a line with WASI `fd_write`, and exports `add`.
#[cfg(not(feature = "enclave"))]
const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from compiled code\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 25))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
"#;

/// Runs `waven platform --json MANIFEST` after writing `text` to it.
fn platform(dir: &Path, toml: &str) -> Output {
    let manifest = dir.join("waven.toml");
    std::fs::write(&manifest, toml).unwrap();
    waven()
        .args(["platform", "--json"])
        .arg(&manifest)
        .output()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    waven_platform::run::measure(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_manifest_loads_an_artifact_measured_as_its_source_module() {
    let dir = scratch("manifest");
    let artifact = empty_artifact();
    let bytes = artifact.to_bytes();
    std::fs::write(dir.join("empty.cwasm"), &bytes).unwrap();
    let toml = format!(
        "engine = \"compiled\"\n[[tenant]]\nname = \"t\"\nmodule = \"empty.cwasm\"\n\
         artifact_sha256 = \"{}\"\n",
        hex(&bytes)
    );
    let output = platform(&dir, &toml);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", text(&output.stdout)));
    let tenant = &report["tenants"][0];
    // The measurement is the source module's, not the artifact's: a grant
    // written for the .wasm holds for its artifact.
    assert_eq!(
        tenant["measurement"],
        format!("sha256:{}", hex(&artifact.module)),
        "{report}"
    );
    // Loaded: the module has no `_start`, which is the only complaint.
    let outcome = tenant["outcome"].to_string();
    assert!(!outcome.contains("cannot load"), "{report}");
}

#[test]
fn a_pinned_artifact_must_have_its_sha256() {
    let dir = scratch("manifest-pin");
    let bytes = empty_artifact().to_bytes();
    std::fs::write(dir.join("empty.cwasm"), &bytes).unwrap();
    let pinned = "ab".repeat(32);
    let toml = format!(
        "engine = \"compiled\"\n[[tenant]]\nname = \"pinned\"\nmodule = \"empty.cwasm\"\n\
         artifact_sha256 = \"{pinned}\"\n"
    );
    let output = platform(&dir, &toml);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(!text(&output.stderr).contains("panicked"));
    let expected = format!(
        "the artifact's SHA-256 is {}, but the manifest's artifact_sha256 is {pinned}",
        hex(&bytes)
    );
    assert!(stdout.contains(&expected), "{stdout}");
    // The report's row of the tenant says it.
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["tenants"][0]["name"], "pinned");
    assert_eq!(report["tenants"][0]["outcome"]["status"], "failed");
}

#[test]
fn a_damaged_artifact_fails_its_tenant_alone() {
    let dir = scratch("manifest-damaged");
    let mut bytes = empty_artifact().to_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(dir.join("damaged.cwasm"), &bytes).unwrap();
    let toml = "engine = \"compiled\"\n[[tenant]]\nname = \"d\"\nmodule = \"damaged.cwasm\"\n";
    let output = platform(&dir, toml);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(!text(&output.stderr).contains("panicked"));
    assert!(
        stdout.contains("artifact integrity check failed"),
        "{stdout}"
    );
}

#[test]
fn an_artifact_tenant_needs_the_compiled_engine() {
    let dir = scratch("manifest-interp");
    std::fs::write(dir.join("empty.cwasm"), empty_artifact().to_bytes()).unwrap();
    let toml = "engine = \"interp\"\n[[tenant]]\nname = \"t\"\nmodule = \"empty.cwasm\"\n";
    let output = platform(&dir, toml);
    let manifest = dir.join("waven.toml");
    assert_refused(
        &output,
        &format!(
            "{}:4:10: module `empty.cwasm` is a precompiled artifact, which runs on the \
             compiled engine only: set engine = \"compiled\" (or \"jit\")",
            manifest.display()
        ),
        "engine = \"interp\"",
    );
}

#[test]
fn inspect_shows_what_an_artifact_was_compiled_for() {
    let dir = scratch("inspect");
    let artifact = empty_artifact();
    let bytes = artifact.to_bytes();
    let path = dir.join("empty.cwasm");
    std::fs::write(&path, &bytes).unwrap();
    let output = waven().arg("inspect").arg(&path).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    // The measurement is the source module's; the file's SHA-256 is what
    // a manifest pins.
    assert!(
        stdout.contains(&format!("sha256:{}", hex(&artifact.module))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "precompiled artifact: {} bytes, artifact_sha256 {}",
            bytes.len(),
            hex(&bytes)
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("compiled by waven {VERSION} for ")),
        "{stdout}"
    );
    assert!(stdout.contains("memory virtual, fuel off"), "{stdout}");
    // A damaged one is refused on one line.
    let mut damaged = bytes.clone();
    damaged[20] ^= 1;
    std::fs::write(&path, &damaged).unwrap();
    let output = waven().arg("inspect").arg(&path).output().unwrap();
    assert_refused(
        &output,
        "artifact integrity check failed",
        "inspect damaged",
    );
}

/// The marketplace with every tenant compiled ahead of time: the
/// manifest's grants are bound to the `.wasm` modules' measurements, and
/// hold for their artifacts (the analysts read the data set, the consumer
/// gets their results), exactly as on the interpreter.
#[test]
#[cfg(not(feature = "enclave"))]
fn grants_bound_to_a_module_hold_for_its_artifact() {
    if !waven_runtime::COMPILER_AVAILABLE {
        return; // compile_then_run checks the error of a build without compiler
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = scratch("marketplace");
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    std::fs::create_dir_all(dir.join("demos/build")).unwrap();
    let manifest = std::fs::read_to_string(root.join("examples/marketplace.toml")).unwrap();
    assert!(manifest.contains("measurement = \"sha256:"), "{manifest}");
    for entry in std::fs::read_dir(root.join("demos/build")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("marketplace-") || path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let output = waven()
            .arg("compile")
            .arg(&path)
            .arg("-o")
            .arg(dir.join(format!("demos/build/{name}.cwasm")))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let compiled = format!(
        "engine = \"compiled\"\n{}",
        manifest.replace(".wasm\"", ".cwasm\"")
    );
    std::fs::write(dir.join("examples/marketplace.toml"), compiled).unwrap();
    let run_manifest = |path: &Path| {
        waven()
            .args(["platform", "--json"])
            .arg(path)
            .output()
            .unwrap()
    };
    let on_artifacts = run_manifest(&dir.join("examples/marketplace.toml"));
    let on_interpreter = run_manifest(&root.join("examples/marketplace.toml"));
    assert!(
        on_artifacts.status.success(),
        "{}{}",
        text(&on_artifacts.stdout),
        text(&on_artifacts.stderr)
    );
    // The tenants' lines (on stderr with --json) are the same.
    let consumer = |output: &Output| -> Vec<String> {
        text(&output.stderr)
            .lines()
            .filter(|line| line.starts_with("[consumer]"))
            .map(str::to_owned)
            .collect()
    };
    assert!(!consumer(&on_artifacts).is_empty());
    let tenants = text(&on_artifacts.stderr);
    assert!(
        tenants.contains("[hist] hist: mapped \"provider/dataset\" read-only"),
        "{tenants}"
    );
    assert_eq!(consumer(&on_artifacts), consumer(&on_interpreter));
    let report: serde_json::Value = serde_json::from_slice(&on_artifacts.stdout).unwrap();
    let dataset = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|region| region["name"] == "dataset")
        .unwrap()
        .to_string();
    for analyst in ["hist", "stats", "topk"] {
        assert!(dataset.contains(analyst), "{dataset}");
    }
}

//! `waven demo faas` and `examples/faas.toml` as a user runs them, at small
//! sizes: the chain's result checked against this file's own computation
//! of it, every attempt of a finished stage to change what it handed on
//! refused, the copy-on-write part, bad arguments, and guests loaded from a
//! directory with `--guests`. (`scripts/check-guest-builds.sh` checks that
//! the committed `demos/build/faas-*.wasm` are what `demos/faas/*.c` build
//! to.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `waven` with `args`, a demo on this run's engine (see
/// `waven_test_support::waven_args`).
fn waven(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(args))
        .output()
        .expect("waven runs")
}

/// The suite runs on the interpreter, then again on compiled code.
#[test]
fn the_suite_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("the_suite_passes_on_the_compiled_engine");
}

/// A fresh directory for `test`.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-demo-faas-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the chain must print for `size` bytes of state from the default
/// seed: (records, total value, checksum), computed here independently of
/// the CLI (same definitions as `demos/faas/*.c`).
fn expected(size: u64) -> (u64, u64, u64) {
    const RATE: [u32; 16] = [
        1024, 1126, 870, 2048, 512, 1331, 1500, 999, 1800, 640, 1200, 3000, 768, 1024, 2500, 100,
    ];
    let mut state: u64 = 0x5eed_faa5;
    let (mut total, mut hash) = (0u64, 0xcbf2_9ce4_8422_2325u64);
    for id in 0..size / 16 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let word = z ^ (z >> 31);
        let (kind, amount, tag) = (
            (word & 15) as usize,
            (word >> 4) as u32 & 0xf_ffff,
            (word >> 32) as u32,
        );
        let value = (amount * RATE[kind]) >> 10;
        let mix = tag.wrapping_mul(0x9e37_79b1) ^ id as u32;
        total += u64::from(value);
        hash = (hash ^ (u64::from(value) << 32 | u64::from(mix))).wrapping_mul(0x100_0000_01b3);
    }
    (size / 16, total, hash)
}

/// Runs the demo and checks everything it must show.
fn check_demo(extra: &[&str], size: &str, bytes: u64) {
    let mut args = vec![
        "demo", "faas", "--size", size, "--starts", "5", "--rounds", "1",
    ];
    args.extend_from_slice(extra);
    let out = waven(&args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let (records, total, checksum) = expected(bytes);
    let result = format!(
        "result: {records} records, total value {total}, checksum {checksum:016x}, top kind"
    );
    assert!(stdout.contains(&result), "want {result:?} in:\n{stdout}");
    for mode in ["zero-copy", "copy     "] {
        let line = format!("  {mode}  aggregate's summary matches the host's computation\n");
        assert!(stdout.contains(&line), "want {line:?} in:\n{stdout}");
    }
    for stage_state in ["parse: protect(state-1", "transform: protect(state-2"] {
        let line = format!("{stage_state}, RW) after the hand-off = -2 (EACCES)");
        assert!(stdout.contains(&line), "want {line:?} in:\n{stdout}");
    }
    for state in ["state-1", "state-2"] {
        let line = format!("map({state}, ANYWHERE, RW) again = -2 (EACCES)");
        assert!(stdout.contains(&line), "want {line:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout
            .matches("the store trapped: memory fault: write at 0x")
            .count(),
        2,
        "{stdout}"
    );
    assert!(
        stdout.contains("state-1: parse r, transform r\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("state-2: aggregate r, transform r\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("read the same before and after"),
        "{stdout}"
    );
    assert!(stdout.contains("speedup of zero-copy: "), "{stdout}");
    // Zero-copy needs fewer frames: "... zero-copy N (..), copy M (..): ...".
    let frames_line = stdout
        .lines()
        .find(|l| l.starts_with("frames used (pool peak): "))
        .unwrap_or_default();
    let words: Vec<&str> = frames_line.split_whitespace().collect();
    let after = |label: &str| -> u64 {
        words
            .iter()
            .position(|w| *w == label)
            .and_then(|i| words.get(i + 1))
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no frame count after {label:?} in {frames_line:?}"))
    };
    assert!(after("zero-copy") < after("copy"), "{frames_line}");
    assert!(
        stdout.contains("copy-on-write start-up: 5 starts each"),
        "{stdout}"
    );
    assert!(stdout.contains("maximum 4 MiB"), "{stdout}");
    assert!(
        stdout.contains("every instance priced its item right"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn the_demo_checks_its_chain_and_refuses_finished_stages() {
    check_demo(&[], "256KiB", 256 << 10);
    check_demo(&[], "4096", 4096);
}

#[test]
fn bad_arguments_are_refused_before_anything_runs() {
    for (args, message) in [
        (&["--size", "4097"][..], "multiple of 4096"),
        (&["--size", "2GiB"][..], "from 4KiB to 1GiB"),
        (&["--size", "32TB"][..], "unknown unit"),
        (&["--size", "lots"][..], "not a size"),
        (&["--starts", "0"][..], "--starts"),
        (&["--rounds", "x"][..], "--rounds"),
    ] {
        let mut all = vec!["demo", "faas"];
        all.extend_from_slice(args);
        let out = waven(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let missing = scratch("missing").join("nowhere");
    let out = waven(&["demo", "faas", "--guests", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read the guest"),
        "{}",
        text(&out.stderr)
    );
}

/// `examples/faas.toml` with its regions resized to `size` and its modules
/// taken from `guests`, written to a scratch directory.
fn manifest(test: &str, size: &str, guests: &Path) -> PathBuf {
    let original = std::fs::read_to_string(root().join("examples/faas.toml")).unwrap();
    assert_eq!(original.matches("size = \"32MiB\"").count(), 2);
    assert_eq!(original.matches("\"../demos/build/").count(), 3);
    let changed = original
        .replace("size = \"32MiB\"", &format!("size = \"{size}\""))
        .replace("\"../demos/build/", &format!("\"{}/", guests.display()));
    let path = scratch(test).join("faas.toml");
    std::fs::write(&path, changed).unwrap();
    path
}

/// Runs a manifest with `--json` and checks the chain's result.
fn check_manifest(path: &Path, bytes: u64) {
    let out = waven(&["platform", "--json", path.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["success"], true);
    assert_eq!(report["run"], "pipeline");
    let names: Vec<&str> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["parse", "transform", "aggregate"]);
    let (records, total, checksum) = expected(bytes);
    let line = format!(
        "[aggregate] aggregate: {records} records, total value {total}, checksum {checksum:016x}\n"
    );
    assert!(stderr.contains(&line), "want {line:?} in:\n{stderr}");
    assert!(stderr.contains("out of order 0, bad kinds 0"), "{stderr}");
    let regions = report["regions"].as_array().unwrap();
    let grants = |name: &str| -> Vec<(String, String)> {
        let region = regions.iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(region["size"], bytes);
        region["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["grantee"].as_str().unwrap().to_owned(),
                    g["rights"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let grant = |who: &str, rights: &str| (who.to_owned(), rights.to_owned());
    assert_eq!(
        grants("state-1"),
        [grant("parse", "rw"), grant("transform", "r")]
    );
    assert_eq!(
        grants("state-2"),
        [grant("aggregate", "r"), grant("transform", "rw")]
    );
}

#[test]
fn the_manifest_runs_the_chain_and_can_be_resized() {
    check_manifest(&root().join("examples/faas.toml"), 32 << 20);
    let committed = root().join("demos/build");
    check_manifest(&manifest("manifest", "128KiB", &committed), 128 << 10);
}

/// `--guests DIR` and the manifest run guests from any directory (here a
/// copy of the committed ones).
#[test]
fn guests_from_a_directory_pass_the_demo_and_the_manifest() {
    let dir = scratch("guests");
    for name in ["parse", "transform", "aggregate", "price"] {
        let file = format!("faas-{name}.wasm");
        std::fs::copy(root().join("demos/build").join(&file), dir.join(&file)).unwrap();
    }
    check_demo(&["--guests", dir.to_str().unwrap()], "64KiB", 64 << 10);
    check_manifest(&manifest("dir-manifest", "64KiB", &dir), 64 << 10);
}

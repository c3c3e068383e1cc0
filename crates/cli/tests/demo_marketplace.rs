//! `waven demo marketplace` and `examples/marketplace.toml` as a user runs
//! them, on a 4 MiB data set: the analysts' results equal the host's own
//! computation in both runs (sharing and copying), every attempt of the
//! malicious analyst is blocked with the expected error, copying uses four
//! times the frames; the manifest gives the same results as the demo, also
//! with modules loaded from a directory. (`scripts/check-guest-builds.sh`
//! checks that the committed modules are what `demos/build-marketplace.sh`
//! builds from the C sources.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The data set size of the tests: big enough for every analysis to mean
/// something, small enough for a debug build.
const SIZE: &str = "4MiB";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for `test`.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-marketplace-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn demo_json(extra: &[&str]) -> Value {
    let mut args = vec!["demo", "marketplace", "--size", SIZE, "--json"];
    args.extend_from_slice(extra);
    let out = waven(&args);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    assert!(
        out.status.success(),
        "the demo failed: {:#}\nstderr:\n{}",
        doc["problems"],
        text(&out.stderr)
    );
    doc
}

/// What each of mallory's attempts must end with, in order; `DATASET`
/// stands for the data set's full name (`host/dataset` in the demo,
/// `provider/dataset` in the manifest: names are scoped by owner).
const EXPECTED_ATTEMPTS: [(&str, &str, &str); 10] = [
    (
        "change the data set",
        "map(\"DATASET\", ANYWHERE, RW)",
        "EACCES",
    ),
    ("change the data set", "protect(", "EACCES"),
    ("change the data set", "discard(", "EPERM"),
    (
        "pass the data set on",
        "grant(\"DATASET\", \"accomplice\", R)",
        "EPERM",
    ),
    (
        "read another analyst's results",
        "open(\"hist/hist-result\")",
        "EACCES",
    ),
    (
        "read another analyst's results",
        "open(\"stats/stats-result\")",
        "EACCES",
    ),
    (
        "read another analyst's results",
        "open(\"topk/topk-result\")",
        "EACCES",
    ),
    ("smuggle data out", "fd_write(stdout, ", "EFAULT"),
    ("smuggle data out", "fd_write(stdout, ", "EFAULT"),
    (
        "change the data set",
        "store 0 to ",
        "trap: memory fault: write at ",
    ),
];

/// Checks a demo's JSON document: results verified, mallory blocked
/// everywhere, the comparison's numbers plausible.
fn check_demo(doc: &Value) {
    assert_eq!(doc["success"], true, "{doc:#}");
    assert_eq!(doc["size"], 4 << 20);
    let records = 4u64 << 20 >> 4;
    assert_eq!(doc["records"], records);

    // The results: the demo compared them with its own computation; check
    // that they also make sense on their own.
    let results = &doc["results"];
    let counts = results["histogram"]["counts"].as_array().unwrap();
    assert_eq!(counts.len(), 16);
    let total: u64 = counts.iter().map(|c| c.as_u64().unwrap()).sum();
    assert_eq!(total, records);
    let stats = results["stats"].as_array().unwrap();
    assert_eq!(stats.len(), 4);
    let quantity = &stats[1];
    assert_eq!(quantity["column"], "quantity");
    assert_eq!(quantity["min"], 1);
    assert_eq!(quantity["max"], 20);
    let mean = quantity["mean"].as_f64().unwrap();
    assert!((mean - 10.5).abs() < 0.1, "mean quantity {mean}");
    let top = results["topk"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    let revenues: Vec<f64> = top.iter().map(|e| e["revenue"].as_f64().unwrap()).collect();
    assert!(revenues.windows(2).all(|w| w[0] >= w[1]), "{revenues:?}");

    for mode in ["sharing", "copying"] {
        let run = &doc[mode];
        assert_eq!(run["verified"], true, "{mode}: {run:#}");
        for tenant in run["tenants"].as_array().unwrap() {
            let expected = if tenant["name"] == "mallory" {
                "trap: memory fault"
            } else {
                "exit 0"
            };
            assert!(
                tenant["outcome"].as_str().unwrap().starts_with(expected),
                "{mode}: {tenant}"
            );
        }
        assert_eq!(run["analysts"].as_array().unwrap().len(), 3);
    }

    let mallory = &doc["mallory"];
    assert_eq!(mallory["all_blocked"], true, "{mallory:#}");
    assert_eq!(mallory["dataset_unchanged"], true);
    assert_eq!(mallory["results_unmapped"], true);
    assert_eq!(mallory["nothing_smuggled"], true);
    let attempts = mallory["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), EXPECTED_ATTEMPTS.len(), "{mallory:#}");
    for (attempt, (goal, call, result)) in attempts.iter().zip(EXPECTED_ATTEMPTS) {
        assert_eq!(attempt["blocked"], true, "{attempt}");
        assert_eq!(attempt["goal"], goal, "{attempt}");
        let call = call.replace("DATASET", "host/dataset");
        assert!(
            attempt["call"].as_str().unwrap().starts_with(&call),
            "{attempt}"
        );
        assert!(
            attempt["result"].as_str().unwrap().starts_with(result),
            "{attempt}"
        );
    }

    // One data set against four (the provider's and three copies).
    let sharing_frames = doc["sharing"]["data_frames"].as_u64().unwrap();
    assert_eq!(sharing_frames, (4 << 20) / 4096);
    assert_eq!(doc["copying"]["data_frames"], 4 * sharing_frames);
    let peak_ratio = doc["comparison"]["peak_frames_ratio"].as_f64().unwrap();
    assert!(peak_ratio > 3.0, "peak frames ratio {peak_ratio}");
    for mode in ["sharing", "copying"] {
        let peak = doc[mode]["peak_frames"].as_u64().unwrap();
        let data = doc[mode]["data_frames"].as_u64().unwrap();
        assert!(peak >= data, "{mode}: peak {peak} < data {data}");
    }
}

#[test]
fn demo_verifies_the_results_and_blocks_every_attempt() {
    check_demo(&demo_json(&[]));
}

#[test]
fn demo_text_report() {
    let out = waven(&["demo", "marketplace", "--size", SIZE]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert_eq!(stdout.matches("\nverified: ").count(), 2, "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("blocked: "))
            .count(),
        10,
        "{stdout}"
    );
    assert!(!stdout.contains("NOT BLOCKED"), "{stdout}");
    assert!(stdout.contains("10 of 10 attempts blocked"), "{stdout}");
    assert!(
        stdout.contains("[consumer] top 10 sales by revenue"),
        "{stdout}"
    );
    for row in [
        "hand the data set to 3 analysts",
        "frames holding the data set",
        "peak frames in use",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row:?}:\n{stdout}"));
        assert!(line.ends_with('x'), "{line}");
    }
    assert!(stdout.contains("frames holding the data set      1024 (4.0 MiB)  4096 (16.0 MiB)"));
    assert!(stdout.ends_with(
        "marketplace: results verified in both runs; 10 of 10 attempts of mallory blocked\n"
    ));
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    for size in [
        "1000",
        "4097",
        "32KiB",
        "2GiB",
        "lots",
        "99999999999999999999",
    ] {
        let out = waven(&["demo", "marketplace", "--size", size]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "--size {size} was accepted");
        assert!(stderr.contains("size"), "--size {size}: {stderr}");
        assert!(!stderr.contains("panicked"), "--size {size}: {stderr}");
    }
    let out = waven(&[
        "demo",
        "marketplace",
        "--size",
        SIZE,
        "--modules",
        "/nonexistent/dir",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/dir/marketplace-"));
}

/// `examples/marketplace.toml` with the data set resized to `size` and
/// the modules taken from `modules` (absolute paths), in a scratch
/// directory; `keep_measurements`: whether the grants stay bound.
fn manifest_copy(test: &str, size: &str, modules: &Path, keep_measurements: bool) -> PathBuf {
    let original = std::fs::read_to_string(root().join("examples/marketplace.toml")).unwrap();
    let mut changed = String::new();
    for line in original.lines() {
        let line = if line.starts_with("size = ") {
            format!("size = \"{size}\"")
        } else if let Some(file) = line
            .strip_prefix("module = \"../demos/build/")
            .and_then(|rest| rest.strip_suffix('"'))
        {
            format!("module = \"{}\"", modules.join(file).display())
        } else if line.starts_with("measurement = ") && !keep_measurements {
            continue;
        } else {
            line.to_owned()
        };
        changed.push_str(&line);
        changed.push('\n');
    }
    assert!(changed.contains(&format!("size = \"{size}\"")));
    let path = scratch(test).join("marketplace.toml");
    std::fs::write(&path, changed).unwrap();
    path
}

/// The lines a tenant printed, from `waven platform`'s or the demo's text
/// output.
fn lines_of(stdout: &str, tenant: &str) -> Vec<String> {
    let prefix = format!("[{tenant}] ");
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn manifest_gives_the_demos_results() {
    let manifest = manifest_copy("manifest", SIZE, &root().join("demos/build"), true);
    let out = waven(&["platform", manifest.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    let mallory = lines_of(&stdout, "mallory");
    let attempts: Vec<&String> = mallory
        .iter()
        .filter(|l| l.starts_with("attempt: "))
        .collect();
    assert_eq!(attempts.len(), 9, "{stdout}");
    for (attempt, (goal, call, result)) in attempts.iter().zip(EXPECTED_ATTEMPTS) {
        let call = call.replace("DATASET", "provider/dataset");
        assert!(
            attempt.starts_with(&format!("attempt: {goal}: {call}")),
            "{attempt}"
        );
        assert!(attempt.ends_with(&format!(" -> {result}")), "{attempt}");
    }
    assert!(mallory.contains(&"mallory: every attempt was refused".to_owned()));

    // The provider tenant generates the same data set as the demo's host,
    // so the consumer prints the same results, which the demo verified.
    let demo = waven(&["demo", "marketplace", "--size", SIZE]);
    assert!(demo.status.success());
    let from_demo = lines_of(&text(&demo.stdout), "consumer");
    let from_manifest = lines_of(&stdout, "consumer");
    assert!(from_manifest.len() > 30, "{stdout}");
    assert_eq!(from_manifest, from_demo);
}

#[test]
fn manifest_measurements_are_the_committed_modules() {
    let manifest = std::fs::read_to_string(root().join("examples/marketplace.toml")).unwrap();
    let mut grantee = None;
    let mut checked = 0;
    for line in manifest.lines() {
        if let Some(name) = line.strip_prefix("grantee = ") {
            grantee = Some(name.trim_matches('"').to_owned());
        }
        if let Some(measurement) = line.strip_prefix("measurement = ") {
            let name = grantee.take().expect("a grantee before its measurement");
            let module = root().join(format!("demos/build/marketplace-{name}.wasm"));
            let out = waven(&["inspect", module.to_str().unwrap()]);
            let first = text(&out.stdout).lines().next().unwrap_or("").to_owned();
            assert!(
                first.ends_with(measurement.trim_matches('"')),
                "examples/marketplace.toml: the measurement of {name} is not that of {}: {first}",
                module.display()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

/// `--modules DIR` and the manifest run modules from any directory (here a
/// copy of the committed ones).
#[test]
fn modules_from_a_directory_pass_the_demo() {
    let dir = scratch("modules");
    for entry in std::fs::read_dir(root().join("demos/build")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("marketplace-") {
            std::fs::copy(&path, dir.join(name)).unwrap();
        }
    }
    check_demo(&demo_json(&["--modules", dir.to_str().unwrap()]));
    let manifest = manifest_copy("dir-manifest", SIZE, &dir, true);
    let out = waven(&["platform", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

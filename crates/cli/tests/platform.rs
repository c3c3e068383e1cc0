//! `waven platform` and `waven inspect` as a user runs them: the guest SDK's
//! C examples (committed in `examples/build/`, built by `guest/build.sh`)
//! sharing memory under a manifest, the attacker refused
//! everywhere, the JSON report, memory maps, faults, fuel, pipelines,
//! measurement-bound grants, and manifest errors reported with their
//! position before anything runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guest(name: &str) -> String {
    let path = root().join(format!("examples/build/{name}.wasm"));
    path.display().to_string()
}

fn wat_example(name: &str) -> String {
    root()
        .join(format!("guest/examples/{name}.wat"))
        .display()
        .to_string()
}

/// A fresh directory for `test`.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-platform-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `manifest` as `waven.toml` in a fresh directory for `test`.
fn manifest(test: &str, manifest: &str) -> PathBuf {
    let path = scratch(test).join("waven.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

fn waven(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(args))
        .output()
        .expect("waven runs")
}

fn platform(path: &Path, flags: &[&str]) -> Output {
    let path = path.display().to_string();
    let mut args = vec!["platform"];
    args.extend_from_slice(flags);
    args.push(&path);
    waven(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn tenant<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tenant {name} in {report:#}"))
}

fn sharing(consumer_args: &str) -> String {
    format!(
        r#"frame_budget = "64MiB"
run = "parallel"

[[tenant]]
name = "producer"
module = "{}"
args = ["consumer"]

[[tenant]]
name = "consumer"
module = "{}"
args = [{consumer_args}]

[policy]
default = "deny"

[[policy.rule]]
from = "producer"
to = ["consumer"]
allow = true
"#,
        guest("producer"),
        guest("consumer")
    )
}

const MESSAGE: &str = "hello consumer, this page is lent to you read-only";

#[test]
fn the_consumer_reads_what_the_producer_shared() {
    let out = platform(&manifest("sharing", &sharing("")), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("[consumer] consumer: message: \"{MESSAGE}\"\n")),
        "{stdout}"
    );
    assert!(stdout.contains("[consumer] consumer: 1024 numbers, checksum "));
    assert!(stdout.contains("(matches)\n"), "{stdout}");
    assert!(stdout.contains("[producer] producer: done\n"), "{stdout}");
    // Every output line of a tenant is whole and prefixed.
    let summary = stdout.find("\ntenant ").expect("a summary");
    for line in stdout[..summary].lines() {
        assert!(
            line.starts_with("[producer] producer: ") || line.starts_with("[consumer] consumer: "),
            "{line:?}"
        );
    }
    let summary = &stdout[summary..];
    assert!(summary.contains("\nproducer  "), "{summary}");
    assert!(summary
        .lines()
        .any(|l| l.starts_with("consumer ") && l.ends_with("exit 0")));
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("greeting ") && l.ends_with("r    consumer (r)")),
        "{summary}"
    );
}

#[test]
fn every_attempt_of_the_attacker_is_refused() {
    let dir = scratch("attack");
    std::fs::write(dir.join("secret.txt"), "for the producer only").unwrap();
    let toml = format!(
        r#"[[tenant]]
name = "producer"
module = "{}"
args = ["attacker"]

[[tenant]]
name = "attacker"
module = "{}"

[[region]]
name = "secret"
owner = "host"
size = "4KiB"
contents = "secret.txt"
max_rights = "r"

[[grant]]
region = "secret"
grantee = "producer"
rights = "r"

# Open sharing: the attacker is refused by the ABI, not the policy.
[policy]
default = "allow"
"#,
        guest("producer"),
        guest("attacker")
    );
    let path = dir.join("waven.toml");
    std::fs::write(&path, toml).unwrap();
    let out = platform(&path, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let attempts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("[attacker] attacker: ") && l.contains(" = -"))
        .filter(|l| !l.contains("setup:"))
        .collect();
    assert_eq!(attempts.len(), 9, "{stdout}");
    for attempt in &attempts {
        assert!(attempt.ends_with("refused, as expected"), "{attempt}");
    }
    assert!(!stdout.contains("ALLOWED"), "{stdout}");
    assert!(stdout.contains("[attacker] attacker: greeting still intact: yes\n"));
    assert!(stdout.contains("[attacker] attacker: every attempt was refused\n"));
    assert!(
        stdout.contains("secret    4 KiB  host (manifest)   r    producer (r)"),
        "{stdout}"
    );
}

#[test]
fn json_report_is_one_document_on_stdout() {
    let out = platform(&manifest("json", &sharing("")), &["--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["success"], true);
    assert_eq!(report["run"], "parallel");
    assert_eq!(report["memory"], "virtual");
    let names: Vec<&str> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["producer", "consumer"]);
    for name in names {
        let t = tenant(&report, name);
        assert_eq!(t["outcome"]["status"], "exited", "{t:#}");
        assert_eq!(t["outcome"]["code"], 0);
        assert_eq!(t["entry"], "_start");
        assert!(t["measurement"].as_str().unwrap().starts_with("sha256:"));
        assert!(t["resident_pages"].as_u64().unwrap() > 0);
        assert!(t.get("memory_map").is_none());
    }
    let regions = report["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0]["name"], "greeting");
    assert_eq!(regions[0]["size"], 8192);
    assert_eq!(regions[0]["owner"], "producer");
    assert_eq!(regions[0]["origin"], "guest");
    assert_eq!(regions[0]["max_rights"], "r");
    assert_eq!(
        regions[0]["grants"],
        serde_json::json!([{"grantee": "consumer", "rights": "r"}])
    );
    let pool = &report["pool"];
    assert_eq!(pool["page_size"], 4096);
    assert_eq!(pool["budget_frames"], 64 * 256);
    // The region's two frames outlive its owner.
    assert_eq!(pool["in_use"], 2);
    assert!(pool["peak"].as_u64().unwrap() > 2);
    // The tenants' lines went to stderr, still prefixed.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("[consumer] consumer: message: \"{MESSAGE}\"")),
        "{stderr}"
    );
}

#[test]
fn a_write_to_a_lent_page_is_reported_as_a_memory_fault() {
    let out = platform(
        &manifest("fault", &sharing("\"--attack-write\"")),
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["success"], false);
    assert_eq!(tenant(&report, "producer")["outcome"]["code"], 0);
    let outcome = &tenant(&report, "consumer")["outcome"];
    assert_eq!(outcome["status"], "trapped", "{outcome:#}");
    assert_eq!(outcome["kind"], "memory_fault");
    assert_eq!(outcome["access"], "write");
    assert_eq!(outcome["reason"], "denied");
    // The store to g->msg[0], 12 bytes into the mapping the consumer printed.
    let stderr = text(&out.stderr);
    let mapped = stderr
        .lines()
        .find_map(|l| l.strip_prefix("[consumer] consumer: map(0, ANYWHERE, R) = 0x"))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("no map line in {stderr}"));
    assert_eq!(outcome["address"], mapped + 12);
    assert!(outcome["message"]
        .as_str()
        .unwrap()
        .starts_with("memory fault: write at 0x"));
    assert!(!stderr.contains("FAIL"), "{stderr}");
}

#[test]
fn maps_show_the_shared_run() {
    let out = platform(&manifest("maps", &sharing("")), &["--maps"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for name in ["producer", "consumer"] {
        let header = format!("\nmemory map of {name} at exit:\n");
        let start = stdout.find(&header).unwrap_or_else(|| panic!("{stdout}")) + header.len();
        let map: Vec<&str> = stdout[start..]
            .lines()
            .take_while(|l| l.starts_with("  0x"))
            .collect();
        let shared: Vec<&&str> = map.iter().filter(|l| l.contains(" shared(")).collect();
        assert_eq!(shared.len(), 1, "{name}: {map:#?}");
        // Two pages, read-only for both (the producer protected its own).
        assert!(shared[0].contains(" r "), "{}", shared[0]);
        assert!(shared[0].ends_with(" greeting"), "{}", shared[0]);
        let range = shared[0].trim().split(' ').next().unwrap();
        let (start, end) = range.split_once('-').unwrap();
        let parse = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        assert_eq!(parse(end) - parse(start), 8192, "{range}");
    }
    // With --json, the maps are in the report.
    let out = platform(&manifest("maps-json", &sharing("")), &["--json", "--maps"]);
    let report = json(&out);
    let map = tenant(&report, "consumer")["memory_map"]
        .as_array()
        .unwrap();
    let shared: Vec<&Value> = map.iter().filter(|r| r["kind"] == "shared").collect();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0]["region"], "greeting");
    assert_eq!(shared[0]["rights"], "r");
}

#[test]
fn the_policy_holds_for_grants_guests_make() {
    // No rule lets the producer lend to the consumer: its grant is refused
    // (EPERM), and the consumer never gets the region.
    let toml = sharing("").replace(
        "[[policy.rule]]\nfrom = \"producer\"\nto = [\"consumer\"]\nallow = true\n",
        "",
    );
    let out = platform(&manifest("policy", &toml), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("[producer] producer: grant(0, \"consumer\", R)")
            && stderr.contains("= -63 (EPERM)"),
        "{stderr}"
    );
    let report = json(&out);
    assert_eq!(tenant(&report, "producer")["outcome"]["code"], 1);
    assert_eq!(tenant(&report, "consumer")["outcome"]["code"], 1);
    assert_eq!(report["regions"][0]["grants"], serde_json::json!([]));
}

/// The SHA-256 that `waven inspect` prints for a module.
fn measurement_of(module: &str) -> String {
    let out = waven(&["inspect", module]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap();
    first
        .split(", ")
        .last()
        .filter(|m| m.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned()
}

/// A host region "answer" holding 42, granted to map.wat's "reader" bound
/// to `measurement`.
fn bound_grant(measurement: &str) -> String {
    format!(
        r#"[[tenant]]
name = "reader"
module = "{}"
entry = "run"

[[region]]
name = "answer"
owner = "host"
size = 4096
contents = "answer.bin"
max_rights = "r"

[[grant]]
region = "answer"
grantee = "reader"
rights = "r"
measurement = "{measurement}"

[policy]
default = "allow"
"#,
        wat_example("map")
    )
}

#[test]
fn a_grant_bound_to_a_measurement_holds_only_for_that_code() {
    let good = measurement_of(&wat_example("map"));
    let wrong = format!("sha256:{}", "0".repeat(64));
    for (test, measurement, result) in [("bound-good", &good, "42"), ("bound-wrong", &wrong, "-2")]
    {
        let path = manifest(test, &bound_grant(measurement));
        std::fs::write(path.with_file_name("answer.bin"), 42u32.to_le_bytes()).unwrap();
        let out = platform(&path, &["--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report = json(&out);
        let reader = tenant(&report, "reader");
        assert_eq!(reader["measurement"], good.as_str());
        assert_eq!(reader["entry"], "run");
        assert_eq!(reader["results"], serde_json::json!([result]), "{test}");
    }
}

/// A pipeline manifest in `dir`: tenants (name, extra WAT in `_start`
/// after it prints "NAME ran", fuel) declared in reverse, run in `order`.
fn pipeline(dir: &Path, tenants: &[(&str, &str, Option<u64>)], order: &[&str]) -> PathBuf {
    let mut toml = format!("run = \"pipeline\"\norder = {order:?}\n");
    for (name, body, fuel) in tenants.iter().rev() {
        let wat = format!(
            r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 16) "{name} ran\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const {len}))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    {body}))"#,
            len = name.len() + 5
        );
        let module = dir.join(format!("{name}.wat"));
        std::fs::write(&module, wat).unwrap();
        toml.push_str(&format!(
            "\n[[tenant]]\nname = \"{name}\"\nmodule = \"{}\"\n",
            module.display()
        ));
        if let Some(fuel) = fuel {
            toml.push_str(&format!("fuel = {fuel}\n"));
        }
    }
    let path = dir.join("waven.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[test]
fn a_pipeline_runs_in_order_and_stops_at_a_failure() {
    let tenants = [
        ("first", "", None),
        ("spin", "(loop (br 0))", Some(1_000_000)),
        ("fails", "(call $exit (i32.const 3))", None),
        ("never", "", None),
    ];
    // Fuel ends the spinning tenant, which stops the pipeline.
    let path = pipeline(
        &scratch("pipeline-fuel"),
        &tenants,
        &["first", "spin", "fails", "never"],
    );
    let out = platform(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["run"], "pipeline");
    let statuses: Vec<(&str, &str)> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["outcome"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("first", "exited"),
            ("spin", "trapped"),
            ("fails", "skipped"),
            ("never", "skipped")
        ]
    );
    let spin = tenant(&report, "spin");
    assert_eq!(spin["outcome"]["kind"], "out_of_fuel");
    assert!(spin["fuel_used"].as_u64().unwrap() >= 1_000_000);
    assert_eq!(tenant(&report, "first")["fuel_used"], Value::Null);
    assert_eq!(text(&out.stderr), "[first] first ran\n[spin] spin ran\n");

    // In another order, the exit with status 3 stops it.
    let path = pipeline(
        &scratch("pipeline-exit"),
        &tenants,
        &["first", "fails", "never", "spin"],
    );
    let out = platform(&path, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("[first] first ran\n[fails] fails ran\n\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("fails ") && l.ends_with("exit 3")),
        "{stdout}"
    );
    for skipped in ["never", "spin"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(skipped) && l.ends_with("skipped")),
            "{stdout}"
        );
    }
}

/// The 1-based line and column of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {text}"));
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[test]
fn manifest_errors_are_reported_with_their_position_before_anything_runs() {
    let valid = format!(
        r#"[[tenant]]
name = "producer"
module = "{}"
args = ["consumer"]

[[region]]
name = "data"
owner = "host"
size = "8KiB"
max_rights = "r"

[[grant]]
region = "data"
grantee = "producer"
rights = "r"

[policy]
default = "allow"
"#,
        guest("producer")
    );
    // The valid manifest runs.
    let out = platform(&manifest("valid", &valid), &[]);
    assert!(text(&out.stdout).contains("[producer] producer: done"));

    let missing = scratch("missing-module").join("missing.wasm");
    let cases = [
        (
            "unknown-grantee",
            valid.replace("grantee = \"producer\"", "grantee = \"mallory\""),
            "\"mallory\"",
            "unknown tenant `mallory`".to_owned(),
        ),
        (
            "above-max",
            valid.replace("\nrights = \"r\"", "\nrights = \"rw\""),
            "\"rw\"",
            "rights \"rw\" exceed the max_rights \"r\" of region `data`".to_owned(),
        ),
        (
            "bad-size",
            valid.replace("size = \"8KiB\"", "size = 5000"),
            "5000",
            "region size 5000 is not a multiple of 4096 (the page size)".to_owned(),
        ),
        (
            "missing-module",
            valid.replace(&guest("producer"), "missing.wasm"),
            "\"missing.wasm\"",
            format!(
                "module `missing.wasm` does not exist ({})",
                missing.display()
            ),
        ),
    ];
    for (test, toml, needle, message) in cases {
        let path = missing.with_file_name("waven.toml");
        let path = if test == "missing-module" {
            std::fs::write(&path, &toml).unwrap();
            path
        } else {
            manifest(test, &toml)
        };
        let out = platform(&path, &[]);
        let (line, column) = position(&toml, needle);
        assert_eq!(out.status.code(), Some(1), "{test}");
        assert_eq!(
            text(&out.stderr),
            format!("error: {}:{line}:{column}: {message}\n", path.display()),
            "{test}"
        );
        assert_eq!(text(&out.stdout), "", "{test}: nothing may run");
    }
    // One position spelled out: the grantee's value, line 14, column 11.
    let toml = valid.replace("grantee = \"producer\"", "grantee = \"mallory\"");
    let path = manifest("spelled-out", &toml);
    let stderr = text(&platform(&path, &[]).stderr);
    assert!(
        stderr.starts_with(&format!("error: {}:14:11: ", path.display())),
        "{stderr}"
    );
}

#[test]
fn inspect_lists_the_waven_functions_a_module_uses() {
    let out = waven(&["inspect", &guest("producer")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with(&format!("module {}: ", guest("producer"))),
        "{stdout}"
    );
    for import in [
        "waven::page_size",
        "waven::share",
        "waven::grant",
        "waven::protect",
    ] {
        assert!(
            stdout.contains(&format!("  func    {import}\n")),
            "{import}: {stdout}"
        );
    }
    assert!(stdout.contains("  func    wasi_snapshot_preview1::fd_write\n"));
    assert!(stdout.contains("  func    _start\n"), "{stdout}");
    assert!(stdout.contains("  memory  memory\n"), "{stdout}");
    assert!(
        stdout.contains("\nmemories (1):\n  memory 0: initial "),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\nwaven ABI: 5 of 14 functions imported: page_size, protect, share, grant, region_size\n"
        ),
        "{stdout}"
    );
    // A module without the ABI says so; a missing file is an error.
    let out = waven(&["inspect", &wat_example("map")]);
    assert!(text(&out.stdout).contains("waven ABI: 3 of 14 functions imported: open, map, close\n"));
    let out = waven(&["inspect", "/surely/missing.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: cannot read /surely/missing.wasm"));
}

#[test]
fn the_shipped_examples_run() {
    // examples/*.toml as shipped, with the committed examples/build/.
    let dir = root().join("examples");
    let out = platform(&dir.join("sharing.toml"), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains(&format!("[consumer] consumer: message: \"{MESSAGE}\"\n")));
    let out = platform(&dir.join("attack.toml"), &["--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(tenant(&report, "attacker")["outcome"]["code"], 0);
    assert!(text(&out.stderr).contains("[attacker] attacker: every attempt was refused\n"));
    let out = platform(&dir.join("pingpong.toml"), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("[ping] ping: 5 rounds played\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[pong] pong: 5 rounds played\n"),
        "{stdout}"
    );
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

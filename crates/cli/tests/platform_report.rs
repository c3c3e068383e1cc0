//! `waven platform` with tenants that fail or try to spoof the report:
//! one tenant's failure (its module, its instantiation, its start function,
//! a store limit) fails that tenant alone, and what guests print or name
//! reaches the operator's terminal with its control characters escaped.
//! Tenants whose module files hold the same bytes share one compiled
//! module, which the report counts, and still each have their own memory.
//! The guests are small WAT modules written by each test (no C toolchain).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A fresh directory for `test`.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-report-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes each file, then the manifest `waven.toml`, in `dir`.
fn deployment(dir: &Path, files: &[(&str, &str)], manifest: &str) -> PathBuf {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let path = dir.join("waven.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

fn platform(path: &Path, flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(&["platform"]))
        .args(flags)
        .arg(path)
        .output()
        .expect("waven runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn tenant<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tenant {name} in {report}"))
}

/// A module that writes `data` (WAT string syntax) to stdout from its
/// start function if `in_start`, else from `_start`, and then runs `then`.
fn printer(data: &str, in_start: bool, then: &str) -> String {
    let len = wat_len(data);
    let body = format!(
        "(i32.store (i32.const 0) (i32.const 64))
         (i32.store (i32.const 4) (i32.const {len}))
         (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
         {then}"
    );
    let (start, entry) = if in_start {
        (format!("(start $init) (func $init {body})"), String::new())
    } else {
        (String::new(), body)
    };
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{data}")
  {start}
  (func (export "_start") {entry}))"#
    )
}

/// The bytes of a WAT string without its quotes (`\xx` hex escapes, `\n`,
/// `\t`, `\r`, `\\`, `\"` and `\'`).
fn wat_len(data: &str) -> usize {
    let mut bytes = data.bytes();
    let mut len = 0;
    while let Some(b) = bytes.next() {
        if b == b'\\' {
            if let Some(c) = bytes.next() {
                if c.is_ascii_hexdigit() {
                    bytes.next();
                }
            }
        }
        len += 1;
    }
    len
}

fn tenant_table(name: &str, module: &str) -> String {
    format!("[[tenant]]\nname = \"{name}\"\nmodule = \"{module}\"\n\n")
}

#[test]
fn a_failing_tenant_fails_alone() {
    let dir = scratch("failing");
    let tables = "(table 10000000 funcref)".repeat(12);
    let files = [
        ("good.wat", printer("good ran\\n", false, "")),
        ("trap.wat", printer("about to trap", true, "unreachable")),
        ("garbage.wat", "this is not a module".to_owned()),
        (
            "link.wat",
            "(module (import \"nowhere\" \"f\" (func)) (func (export \"_start\")))".to_owned(),
        ),
        (
            "tables.wat",
            format!("(module {tables} (func (export \"_start\")))"),
        ),
        (
            "noentry.wat",
            "(module (func (export \"main\")))".to_owned(),
        ),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let mut manifest = String::from("frame_budget = \"16MiB\"\n\n");
    for (name, module) in [
        ("trap", "trap.wat"),
        ("garbage", "garbage.wat"),
        ("good", "good.wat"),
        ("link", "link.wat"),
        ("tables", "tables.wat"),
        ("noentry", "noentry.wat"),
    ] {
        manifest.push_str(&tenant_table(name, module));
    }
    // A grant to a tenant that never runs does not stop the others.
    manifest.push_str(
        "[[region]]\nname = \"data\"\nowner = \"host\"\nsize = 4096\nmax_rights = \"r\"\n\n\
         [[grant]]\nregion = \"data\"\ngrantee = \"garbage\"\nrights = \"r\"\n\n\
         [policy]\ndefault = \"allow\"\n",
    );
    let path = deployment(&dir, &files, &manifest);

    let out = platform(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[good] good ran\n"), "{stderr}");
    // What the start function printed before it trapped is not lost.
    assert!(stderr.contains("[trap] about to trap\n"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["success"], false);
    assert_eq!(
        tenant(&report, "good")["outcome"],
        serde_json::json!({"status": "exited", "code": 0})
    );
    let failure = |name: &str| {
        let outcome = &tenant(&report, name)["outcome"];
        assert_eq!(outcome["status"], "failed", "{name}: {outcome}");
        outcome["error"].as_str().unwrap().to_owned()
    };
    let trap = failure("trap");
    assert!(
        trap.starts_with("cannot instantiate: trap: unreachable"),
        "{trap}"
    );
    let garbage = failure("garbage");
    assert!(garbage.starts_with("module "), "{garbage}");
    assert!(
        garbage.contains("garbage.wat:1:1") && !garbage.contains('\n'),
        "{garbage}"
    );
    let link = failure("link");
    assert!(link.contains("nowhere"), "{link}");
    let tables = failure("tables");
    assert!(
        tables.contains("store limit exceeded")
            && tables.contains("120000000 table elements")
            && tables.contains("1000000"),
        "{tables}"
    );
    let noentry = failure("noentry");
    assert_eq!(noentry, "the module exports no function `_start`");
    // The failed tenants' measurements are there when the file was read.
    let measurement = tenant(&report, "garbage")["measurement"].as_str().unwrap();
    assert!(measurement.starts_with("sha256:"), "{measurement}");
    // The grant to the tenant that never ran was not made.
    let region = &report["regions"][0];
    assert_eq!(region["name"], "data");
    assert_eq!(region["grants"], serde_json::json!([]));

    // The text summary has one failed row per failed tenant, with why.
    let out = platform(&path, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("[good] good ran\n"), "{stdout}");
    for name in ["trap", "garbage", "link", "tables", "noentry"] {
        let row = stdout
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"));
        assert!(row.contains("failed: "), "{row}");
    }
    let good = stdout.lines().find(|l| l.starts_with("good ")).unwrap();
    assert!(good.ends_with("exit 0"), "{good}");
}

#[test]
fn in_a_pipeline_a_failed_tenant_stops_those_after_it() {
    let dir = scratch("pipeline");
    let first = printer("first\\n", false, "");
    let files = [
        ("first.wat", first.as_str()),
        (
            "broken.wat",
            "(module (func (export \"_start\") unreachable",
        ),
        ("last.wat", first.as_str()),
    ];
    let mut manifest = String::from("run = \"pipeline\"\nframe_budget = \"16MiB\"\n\n");
    for name in ["first", "broken", "last"] {
        manifest.push_str(&tenant_table(name, &format!("{name}.wat")));
    }
    let path = deployment(&dir, &files, &manifest);
    let out = platform(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tenant(&report, "first")["outcome"]["status"], "exited");
    assert_eq!(tenant(&report, "broken")["outcome"]["status"], "failed");
    assert_eq!(tenant(&report, "last")["outcome"]["status"], "skipped");
}

/// A module that prints the 8 bytes its data segment put at 64
/// (`initial\n`), overwrites them with `written\n` and prints them again.
const REWRITER: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "initial\n")
  (data (i32.const 128) "written\n")
  (func $print
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "_start")
    (call $print)
    (memory.copy (i32.const 64) (i32.const 128) (i32.const 8))
    (call $print)))"#;

/// The summary's line of modules compiled for tenants.
fn modules_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("modules: "))
        .unwrap_or_else(|| panic!("no modules line in\n{stdout}"))
}

#[test]
fn tenants_with_the_same_module_bytes_share_one_module_but_not_memory() {
    let dir = scratch("shared-module");
    // `first` and `second` name two files with the same bytes; `other` has
    // a module of its own.
    std::fs::create_dir_all(dir.join("copy")).unwrap();
    let other = printer("other ran\\n", false, "");
    let files = [
        ("rewriter.wat", REWRITER),
        ("copy/rewriter.wat", REWRITER),
        ("other.wat", other.as_str()),
    ];
    // A pipeline: `first` has written its page before `second` reads its own.
    let mut manifest = String::from("run = \"pipeline\"\nframe_budget = \"16MiB\"\n\n");
    for (name, module) in [
        ("first", "rewriter.wat"),
        ("second", "copy/rewriter.wat"),
        ("other", "other.wat"),
    ] {
        manifest.push_str(&tenant_table(name, module));
    }
    let path = deployment(&dir, &files, &manifest);

    let out = platform(&path, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "[first] initial\n[first] written\n\
             [second] initial\n[second] written\n\
             [other] other ran\n\n"
        ),
        "{stdout}"
    );
    assert_eq!(
        modules_line(&stdout),
        "modules: 2 compiled for 3 tenants (one per distinct file SHA-256)"
    );

    let out = platform(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["modules"],
        serde_json::json!({"compiled": 2, "tenants": 3})
    );
    for name in ["first", "second", "other"] {
        assert_eq!(
            tenant(&report, name)["outcome"],
            serde_json::json!({"status": "exited", "code": 0}),
            "{name}"
        );
    }
    let first = &tenant(&report, "first")["measurement"];
    assert_eq!(first, &tenant(&report, "second")["measurement"]);
    assert_ne!(first, &tenant(&report, "other")["measurement"]);
}

#[test]
fn every_tenant_of_a_broken_module_fails_with_its_own_path() {
    let dir = scratch("shared-broken");
    std::fs::create_dir_all(dir.join("copy")).unwrap();
    let good = printer("good ran\\n", false, "");
    let broken = "(module (func (export \"_start\")";
    let files = [
        ("broken.wat", broken),
        ("copy/broken.wat", broken),
        ("good.wat", good.as_str()),
    ];
    let mut manifest = String::from("frame_budget = \"16MiB\"\n\n");
    for (name, module) in [
        ("one", "broken.wat"),
        ("two", "copy/broken.wat"),
        ("good", "good.wat"),
    ] {
        manifest.push_str(&tenant_table(name, module));
    }
    let path = deployment(&dir, &files, &manifest);

    let out = platform(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["modules"],
        serde_json::json!({"compiled": 1, "tenants": 1})
    );
    assert_eq!(tenant(&report, "good")["outcome"]["code"], 0);
    for (name, file) in [("one", "broken.wat"), ("two", "copy/broken.wat")] {
        let outcome = &tenant(&report, name)["outcome"];
        assert_eq!(outcome["status"], "failed", "{name}: {outcome}");
        let error = outcome["error"].as_str().unwrap();
        let at = dir.join(file).display().to_string();
        assert!(error.contains(&format!("(at {at}:")), "{name}: {error}");
    }

    let out = platform(&path, &[]);
    assert_eq!(
        modules_line(&text(&out.stdout)),
        "modules: 1 compiled for 1 tenant (one per distinct file SHA-256)"
    );
}

/// A fake summary row, as a guest would forge it.
const FAKE_ROW: &str = "victim  0.1 ms  64 KiB  1 pages  exit 0";

#[test]
fn guest_output_cannot_rewrite_the_terminal() {
    let dir = scratch("output");
    // A carriage return, a clear-screen sequence, a bidi override, C1 and
    // DEL, bytes that are not UTF-8, then a newline and a fake row.
    let data =
        format!("progress 10%\\rdone\\1b[2J\\e2\\80\\aeevil\\c2\\9b\\7f\\ff\\n{FAKE_ROW}\\n");
    let module = printer(&data, false, "");
    let manifest = tenant_table("spoofer", "spoofer.wat");
    let path = deployment(&dir, &[("spoofer.wat", &module)], &manifest);
    for flags in [&[][..], &["--json"][..]] {
        let out = platform(&path, flags);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let lines = if flags.is_empty() {
            text(&out.stdout)
        } else {
            text(&out.stderr)
        };
        assert!(
            lines.contains("[spoofer] progress 10%\\rdone\\x1b[2J\\u{202e}evil\\u{9b}\\x7f\\xff\n"),
            "{lines}"
        );
        // The fake row is the guest's own line, prefixed with its name.
        assert!(
            lines.contains(&format!("[spoofer] {FAKE_ROW}\n")),
            "{lines}"
        );
        assert!(!lines.lines().any(|l| l.starts_with("victim")), "{lines}");
        for raw in ['\r', '\x1b', '\u{202e}', '\u{9b}', '\x7f'] {
            assert!(
                !lines.contains(raw),
                "{raw:?} reached the terminal: {lines:?}"
            );
        }
    }
}

#[test]
fn names_and_messages_in_the_summary_are_escaped() {
    let dir = scratch("names");
    // The guest shares a page as a region whose name carries a newline and
    // a fake row. If the platform refuses such a name (an errno), there is
    // nothing to show, which is fine too.
    let name = format!("data\\n{FAKE_ROW}");
    let len = wat_len(&name);
    let module = format!(
        r#"(module
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "{name}")
  (func (export "_start")
    (i32.store (i32.const 65536) (i32.const 1))
    (drop (call $share (i32.const 65536) (i32.const 4096) (i32.const 64) (i32.const {len})
      (i32.const 1)))))"#
    );
    let manifest = tenant_table("sharer", "sharer.wat");
    let path = deployment(&dir, &[("sharer.wat", &module)], &manifest);

    let out = platform(&path, &["--json", "--maps"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let exact = format!("data\n{FAKE_ROW}");
    let shared = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == exact.as_str());

    let out = platform(&path, &["--maps"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.lines().any(|l| l.starts_with("victim")),
        "a fake row reached the summary:\n{stdout}"
    );
    if shared {
        // The JSON has the name exactly; the summary shows it escaped, in
        // the regions table and in the memory map.
        let escaped = format!("data\\n{FAKE_ROW}");
        let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(&escaped)).collect();
        assert_eq!(rows.len(), 2, "{stdout}");
        assert!(rows[0].starts_with(&escaped), "{stdout}");
        assert!(rows[1].starts_with("  "), "{stdout}");
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

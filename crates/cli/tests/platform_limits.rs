//! `waven platform` enforcing a tenant's limits from the manifest's
//! `[tenant.limits]` table: the wall-clock `timeout` stops a tight loop and
//! a blocked host call (`wait`, `poll_oneoff`) alike, so the next tenant of
//! a pipeline runs and a parallel run reports; the `memory` quota makes
//! `memory.grow` fail instead of a later store; `wasi_fds` and
//! `table_elements` bound what a guest can make the host hold.
//! The guests are small WAT modules written by each test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-limits-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the modules and the manifest, runs `waven platform --json`, and
/// returns the output, the parsed report and how long the run took.
fn run(test: &str, modules: &[(&str, &str)], manifest: &str) -> (Output, Value, Duration) {
    let dir = scratch(test);
    for (name, text) in modules {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let path = dir.join("waven.toml");
    std::fs::write(&path, manifest).unwrap();
    let started = Instant::now();
    let out = platform(&path);
    let took = started.elapsed();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    (out, report, took)
}

fn platform(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(&["platform", "--json"]))
        .arg(path)
        .output()
        .expect("waven runs")
}

fn tenant<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tenant {name} in {report}"))
}

fn tenant_table(name: &str, module: &str, entry: &str, limits: &str) -> String {
    format!(
        "[[tenant]]\nname = \"{name}\"\nmodule = \"{module}\"\nentry = \"{entry}\"\n\
         [tenant.limits]\n{limits}\n\n"
    )
}

/// Spins, waits on a futex forever, or polls a clock for ever.
const STUCK: &str = r#"(module
  (import "waven" "wait" (func $wait (param i32 i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "spin") (loop $l (br $l)))
  (func (export "block") (result i32)
    (call $wait (i32.const 0) (i32.const 0) (i64.const -1)))
  (func (export "sleep") (result i32)
    ;; One clock subscription: relative, timeout u64::MAX.
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const -1))
    (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512))))"#;

const QUICK: &str = r#"(module (func (export "work") (result i32) (i32.const 7)))"#;

#[test]
fn a_timeout_stops_loops_and_blocked_calls_and_ends_the_pipeline() {
    // Each stuck tenant is the first stage of a pipeline of its own run:
    // it ends at its deadline, and the pipeline ends with it (later stages
    // are skipped, as after any failed stage) instead of hanging.
    for entry in ["spin", "block", "sleep"] {
        let mut manifest = String::from("frame_budget = \"16MiB\"\nrun = \"pipeline\"\n\n");
        manifest.push_str(&tenant_table(
            entry,
            "stuck.wat",
            entry,
            "timeout = \"300ms\"",
        ));
        manifest.push_str(&tenant_table("after", "quick.wat", "work", ""));
        let (_, report, took) = run(
            &format!("timeout-{entry}"),
            &[("stuck.wat", STUCK), ("quick.wat", QUICK)],
            &manifest,
        );
        let t = tenant(&report, entry);
        assert_eq!(t["outcome"]["status"], "trapped", "{t}");
        assert_eq!(t["outcome"]["kind"], "interrupted", "{t}");
        assert_eq!(tenant(&report, "after")["outcome"]["status"], "skipped");
        assert!(took < Duration::from_secs(10), "{entry} took {took:?}");
    }
}

#[test]
fn a_timeout_ends_a_parallel_run_with_its_report() {
    let mut manifest = String::from("frame_budget = \"16MiB\"\nrun = \"parallel\"\n\n");
    for entry in ["spin", "block", "sleep"] {
        manifest.push_str(&tenant_table(
            entry,
            "stuck.wat",
            entry,
            "timeout = \"200ms\"",
        ));
    }
    manifest.push_str(&tenant_table("work", "quick.wat", "work", ""));
    let (_, report, took) = run(
        "timeout-parallel",
        &[("stuck.wat", STUCK), ("quick.wat", QUICK)],
        &manifest,
    );
    for entry in ["spin", "block", "sleep"] {
        assert_eq!(tenant(&report, entry)["outcome"]["kind"], "interrupted");
    }
    assert_eq!(tenant(&report, "work")["results"], serde_json::json!(["7"]));
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// Grows its memory one Wasm page at a time and writes every new 4 KiB
/// page, until `memory.grow` fails; returns the pages it grew by. `hold`
/// does the same, then keeps its memory for three seconds (long enough
/// for both tenants of a parallel run to hold theirs at once, even on a
/// loaded machine).
const GROWER: &str = r#"(module
  (import "waven" "wait" (func $wait (param i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (func (export "hold") (result i32)
    (call $grow)
    (drop (call $wait (i32.const 0) (i32.const 0) (i64.const 3000000000))))
  (func $grow (export "grow") (result i32)
    (local $grown i32) (local $addr i32) (local $end i32)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $grown (i32.add (local.get $grown) (i32.const 1)))
        (local.set $addr (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536)))
        (local.set $end (i32.add (local.get $addr) (i32.const 65536)))
        (loop $touch
          (i32.store (local.get $addr) (i32.const 1))
          (local.set $addr (i32.add (local.get $addr) (i32.const 4096)))
          (br_if $touch (i32.lt_u (local.get $addr) (local.get $end))))
        (br $more)))
    (local.get $grown)))"#;

#[test]
fn a_quota_makes_grow_fail_and_a_hog_cannot_make_a_victim_fault() {
    // 64 Wasm pages of frames. The hog has no quota and takes everything
    // left; the victim's quota is 8 Wasm pages. Both keep their memory for
    // a while after growing. Whatever the order, every store
    // succeeds: the victim grows to its quota or until the pool is
    // promised away, and memory.grow tells it so.
    let mut manifest = String::from("frame_budget = \"4MiB\"\nrun = \"parallel\"\n\n");
    manifest.push_str(&tenant_table("hog", "grower.wat", "hold", ""));
    manifest.push_str(&tenant_table(
        "victim",
        "grower.wat",
        "hold",
        "memory = \"512KiB\"",
    ));
    let (out, report, _) = run("quota", &[("grower.wat", GROWER)], &manifest);
    assert!(out.status.success(), "{report}");
    let grown = |name: &str| -> u64 {
        let t = tenant(&report, name);
        assert_eq!(t["outcome"]["status"], "exited", "{t}");
        t["results"][0].as_str().unwrap().parse().unwrap()
    };
    let (hog, victim) = (grown("hog"), grown("victim"));
    assert!(
        victim <= 7,
        "the victim's quota is 8 pages with 1 initial: {victim}"
    );
    // Nothing is left unpromised: both started with one page. (Each
    // module's initialized memory, kept for copy-on-write instantiation,
    // holds no frame here: it promises none.)
    assert_eq!(hog + victim + 2, 64, "hog {hog}, victim {victim}");
}

#[test]
fn a_memory_quota_too_small_for_the_initial_memory_fails_that_tenant_alone() {
    let mut manifest = String::from("frame_budget = \"16MiB\"\n\n");
    manifest.push_str(&tenant_table(
        "big",
        "grower.wat",
        "grow",
        "memory = \"32KiB\"",
    ));
    manifest.push_str(&tenant_table("work", "quick.wat", "work", ""));
    let (_, report, _) = run(
        "quota-initial",
        &[("grower.wat", GROWER), ("quick.wat", QUICK)],
        &manifest,
    );
    let big = tenant(&report, "big");
    assert_eq!(big["outcome"]["status"], "failed", "{big}");
    assert!(
        big["outcome"]["error"].as_str().unwrap().contains("quota"),
        "{big}"
    );
    assert_eq!(tenant(&report, "work")["results"], serde_json::json!(["7"]));
}

/// Opens "." as a directory until `path_open` fails; returns
/// (descriptors opened, the failing errno).
const OPENER: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ".")
  (func (export "open") (result i32 i32)
    (local $n i32) (local $r i32)
    (block $done
      (loop $more
        (local.set $r (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 1)
          (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16)))
        (br_if $done (local.get $r))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $n) (i32.const 100000)))))
    (local.get $n) (local.get $r)))"#;

/// Declares a table of 5,000 elements.
const TABLED: &str =
    r#"(module (table 5000 funcref) (func (export "work") (result i32) (i32.const 7)))"#;

#[test]
fn wasi_descriptors_and_table_elements_are_bounded_by_the_manifest() {
    let dir = scratch("fds-data");
    let mut manifest = String::from("frame_budget = \"16MiB\"\n\n");
    manifest.push_str(&format!(
        "[[tenant]]\nname = \"opener\"\nmodule = \"opener.wat\"\nentry = \"open\"\n\
         dirs = [\"{}::.\"]\n[tenant.limits]\nwasi_fds = 10\n\n",
        dir.display()
    ));
    manifest.push_str(&tenant_table(
        "tabled",
        "tabled.wat",
        "work",
        "table_elements = 4000",
    ));
    manifest.push_str(&tenant_table(
        "roomy",
        "tabled.wat",
        "work",
        "table_elements = 6000",
    ));
    let (_, report, _) = run(
        "fds",
        &[("opener.wat", OPENER), ("tabled.wat", TABLED)],
        &manifest,
    );
    // stdin, stdout, stderr and the preopen take 4 of the 10; EMFILE is 33.
    assert_eq!(
        tenant(&report, "opener")["results"],
        serde_json::json!(["6", "33"])
    );
    assert_eq!(tenant(&report, "tabled")["outcome"]["status"], "failed");
    assert_eq!(
        tenant(&report, "roomy")["results"],
        serde_json::json!(["7"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

//! `waven run` as a user runs it: flags, `--invoke`, traps, exit statuses
//! and clear errors for bad input. (C programs: `tests/c_programs.rs`.)

use std::path::PathBuf;
use std::process::{Command, Output};

/// Both memory backends, or only virtual memory in the enclave profile.
const BACKENDS: &[&str] = if cfg!(feature = "enclave") {
    &["virtual"]
} else {
    &["virtual", "plain"]
};

fn waven(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(args))
        .output()
        .expect("waven runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `contents` to a fresh file in a per-test temporary directory.
fn temp_file(test: &str, name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

const MATH: &str = r#"
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (param i64 f64) (result i64 f64) (local.get 0) (local.get 1))
  (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "divide") (param i32) (result i32) (call $inner (local.get 0)))
  (func (export "spin") (loop (br 0)))
  (memory 1)
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
"#;

#[test]
fn help_documents_every_flag() {
    let out = waven(&["run", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for flag in [
        "--engine",
        "--memory",
        "--dir",
        "--env",
        "--invoke",
        "--fuel",
        "--max-memory",
        "--frame-budget",
        "--argv0",
        "-W <KEY[=VALUE]>",
        "-S <KEY[=VALUE]>",
        "unknown-imports-trap",
        "inherit-env",
        "waven=y|n",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn invoke_prints_results_one_per_line() {
    let module = temp_file("invoke", "math.wat", MATH.as_bytes());
    let module = module.to_str().unwrap();
    for &memory in BACKENDS {
        let out = waven(&[
            "run", "--memory", memory, "--invoke", "add", module, "40", "2",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "42\n");
    }
    let out = waven(&["run", "--invoke", "pair", module, "-7", "2.5"]);
    assert_eq!(text(&out.stdout), "-7\n2.5\n");
}

#[test]
fn a_trap_prints_its_kind_and_backtrace_and_exits_134() {
    let module = temp_file("trap", "math.wat", MATH.as_bytes());
    let out = waven(&["run", "--invoke", "divide", module.to_str().unwrap(), "0"]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: trap: integer divide by zero\n"),
        "{stderr}"
    );
    assert!(stderr.contains("0: inner"), "{stderr}");
    let out = waven(&["run", "--invoke", "peek", module.to_str().unwrap(), "65535"]);
    assert!(text(&out.stderr).contains("out of bounds memory access"));
}

#[test]
fn fuel_stops_a_runaway_guest() {
    let module = temp_file("fuel", "math.wat", MATH.as_bytes());
    let out = waven(&[
        "run",
        "--fuel",
        "100000",
        "--invoke",
        "spin",
        module.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(134));
    assert!(text(&out.stderr).contains("all fuel consumed"));
}

#[test]
fn the_exit_status_is_the_guests_proc_exit_code() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start") (call $exit (i32.const 7))))"#;
    let module = temp_file("exit", "exit.wat", wat.as_bytes());
    let out = waven(&["run", module.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
}

#[test]
fn guest_output_reaches_stdout() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write"
          (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hi from wasm\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 13))
          (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let module = temp_file("stdout", "hello.wat", wat.as_bytes());
    for &memory in BACKENDS {
        let out = waven(&["run", "--memory", memory, module.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "hi from wasm\n");
    }
}

#[test]
fn bad_input_is_one_clear_line_and_a_non_zero_exit() {
    let missing = waven(&["run", "/nonexistent/module.wasm"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).starts_with("error: cannot read /nonexistent/module.wasm"));

    let bad = temp_file("bad", "bad.wasm", b"\0asm\x01\0\0\0\x01\xff");
    let out = waven(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("invalid module") && stderr.contains("offset"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let module = temp_file("badargs", "math.wat", MATH.as_bytes());
    let module = module.to_str().unwrap();
    let out = waven(&["run", "--invoke", "add", module, "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("takes 2 arguments"));
    let out = waven(&["run", "--invoke", "nope", module]);
    assert!(text(&out.stderr).contains("no function \"nope\""));
    let out = waven(&["run", "--memory", "paged", module]);
    assert_eq!(out.status.code(), Some(2), "clap rejects unknown values");
    let out = waven(&["run", "--env", "=VALUE", module]);
    assert!(text(&out.stderr).contains("expected NAME or NAME=VALUE"));
    let out = waven(&["run", "--dir", "/nonexistent-dir", module]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn max_memory_limits_the_guests_memory() {
    let module = temp_file("maxmem", "math.wat", MATH.as_bytes());
    let out = waven(&[
        "run",
        "--max-memory",
        "1000",
        "--invoke",
        "add",
        module.to_str().unwrap(),
        "1",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("exceeds the limit"),
        "{}",
        text(&out.stderr)
    );
    let out = waven(&[
        "run",
        "--max-memory",
        "65536",
        "--invoke",
        "add",
        module.to_str().unwrap(),
        "1",
        "2",
    ]);
    assert!(out.status.success());
}

/// A program that never ends on its own: a loop, or `poll_oneoff` on a
/// clock with the longest timeout.
const ENDLESS: &str = r#"
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (func (export "spin") (loop (br 0)))
  (func (export "sleep") (result i32)
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const -1))
    (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512))))
"#;

#[test]
fn a_timeout_stops_a_loop_and_a_blocked_call() {
    let path = temp_file("timeout", "endless.wat", ENDLESS.as_bytes());
    let path = path.to_str().unwrap();
    for backend in BACKENDS {
        for func in ["spin", "sleep"] {
            let started = std::time::Instant::now();
            let out = waven(&[
                "run",
                "--memory",
                backend,
                "-W",
                "timeout=200ms",
                "--invoke",
                func,
                path,
            ]);
            let took = started.elapsed();
            assert_eq!(out.status.code(), Some(134), "{func} [{backend}]");
            let stderr = text(&out.stderr);
            assert!(stderr.contains("trap: interrupted"), "{func}: {stderr}");
            assert!(took >= std::time::Duration::from_millis(190), "{took:?}");
            assert!(took < std::time::Duration::from_secs(10), "{took:?}");
        }
    }
    let out = waven(&["run", "-W", "timeout=soon", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("-W timeout"),
        "{}",
        text(&out.stderr)
    );
    let out = waven(&["run", "-W", "colour=blue", path]);
    assert!(
        text(&out.stderr).contains("unknown option"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

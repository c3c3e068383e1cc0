//! `waven run` with wasmtime's command-line conventions, through the real
//! binary: guest arguments after the module, `waven FILE.wasm`, `-W`/`-S`
//! option groups, `--env NAME`, `--argv0`, reactors, null references,
//! `--version`, and the `waven` guest ABI of a one-tenant platform.

use std::path::PathBuf;
use std::process::{Command, Output};

fn waven_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(args))
        .envs(env.iter().copied())
        .output()
        .expect("waven runs")
}

fn waven(args: &[&str]) -> Output {
    waven_with(args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// stdout of a run that must succeed.
fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Writes `contents` to a fresh file in a per-test temporary directory.
fn temp_file(test: &str, name: &str, contents: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("waven-run-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A program that prints its arguments (`_start`) or its environment
/// (`--invoke env`), one per line.
const PRINTER: &str = r#"
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; Prints the $count strings whose pointers are at 64, each with a newline.
  (func $print (param $count i32) (local $i i32) (local $p i32) (local $len i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $p (i32.load (i32.add (i32.const 64) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $len (i32.const 0))
      (block $end (loop $scan
        (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))
        (local.set $len (i32.add (local.get $len) (i32.const 1)))
        (br $scan)))
      (i32.store8 (i32.add (local.get $p) (local.get $len)) (i32.const 10))
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 1)))
      (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "_start")
    (drop (call $args_sizes (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 64) (i32.const 4096)))
    (call $print (i32.load (i32.const 0))))
  (func (export "env")
    (drop (call $env_sizes (i32.const 0) (i32.const 4)))
    (drop (call $env_get (i32.const 64) (i32.const 4096)))
    (call $print (i32.load (i32.const 0)))))
"#;

#[test]
fn everything_after_the_module_reaches_the_guest_unchanged() {
    let module = temp_file("args", "printer.wat", PRINTER.as_bytes());
    let out = waven(&[
        "run", &module, "--help", "--", "--env", "X=1", "--dir", "/", "-W", "fuel=1",
    ]);
    assert_eq!(
        stdout(&out),
        "printer.wat\n--help\n--\n--env\nX=1\n--dir\n/\n-W\nfuel=1\n"
    );
    // Options go before the module, also after `--`.
    let out = waven(&["run", "--argv0", "tool", "--", &module, "-x"]);
    assert_eq!(stdout(&out), "tool\n-x\n");
    let out = waven(&["run", "--argv0=tool", &module]);
    assert_eq!(stdout(&out), "tool\n");
}

#[test]
fn a_module_file_as_the_command_means_run() {
    let wat = temp_file("shorthand", "printer.wat", PRINTER.as_bytes());
    let wasm = wat::parse_str(PRINTER).unwrap();
    let wasm = temp_file("shorthand", "printer.wasm", &wasm);
    assert_eq!(
        stdout(&waven(&[&wat, "a", "--help"])),
        "printer.wat\na\n--help\n"
    );
    assert_eq!(stdout(&waven(&[&wasm, "b"])), "printer.wasm\nb\n");
    // Run options may come first, as with wasmtime.
    let out = waven(&["--argv0", "p", "-W", "fuel=1000000", &wasm, "c"]);
    assert_eq!(stdout(&out), "p\nc\n");
    // Anything else is still an unknown subcommand.
    let out = waven(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unrecognized subcommand"));
}

#[test]
fn the_environment_follows_wasmtimes_rules() {
    let module = temp_file("env", "printer.wat", PRINTER.as_bytes());
    let host = [
        ("WAVEN_TEST_FROM_HOST", "host value"),
        ("WAVEN_TEST_OTHER", "other"),
    ];
    let run = |flags: &[&str]| {
        let mut args = flags.to_vec();
        args.extend(["--invoke", "env", &module]);
        stdout(&waven_with(&args, &host))
    };
    // NAME alone passes the host's value; unset, it is skipped.
    let env = run(&[
        "--env",
        "A=1",
        "--env",
        "WAVEN_TEST_FROM_HOST",
        "--env",
        "WAVEN_TEST_UNSET_ANYWHERE",
        "--env",
        "A=2",
    ]);
    assert_eq!(env, "A=2\nWAVEN_TEST_FROM_HOST=host value\n");
    // -S inherit-env: all of the host's, with --env on top.
    let env = run(&["-S", "inherit-env=y", "--env", "WAVEN_TEST_OTHER=mine"]);
    let lines: Vec<&str> = env.lines().collect();
    assert!(lines.contains(&"WAVEN_TEST_FROM_HOST=host value"), "{env}");
    assert!(lines.contains(&"WAVEN_TEST_OTHER=mine"), "{env}");
    assert!(!lines.contains(&"WAVEN_TEST_OTHER=other"), "{env}");
    assert_eq!(run(&["-S", "inherit-env=no"]), "");

    let out = waven(&["run", "--env", "=x", &module]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expected NAME or NAME=VALUE"));
}

#[test]
fn an_unknown_or_malformed_option_is_one_line_naming_the_known_keys() {
    let module = temp_file("keys", "printer.wat", PRINTER.as_bytes());
    for (flag, value, message) in [
        (
            "-W",
            "cache=y",
            "error: -W cache: unknown option (known: timeout, fuel, max-memory-size, \
             unknown-imports-trap)\n",
        ),
        (
            "-S",
            "tcplisten=127.0.0.1:80",
            "error: -S tcplisten: unknown option (known: inherit-env, waven)\n",
        ),
        (
            "-S",
            "inherit-env=maybe",
            "error: -S inherit-env: \"maybe\" is not y, yes, true, n, no or false\n",
        ),
        ("-W", "fuel", "error: -W fuel: expected fuel=VALUE\n"),
    ] {
        let out = waven(&["run", flag, value, &module]);
        assert_eq!(out.status.code(), Some(1), "{flag} {value}");
        assert_eq!(text(&out.stderr), message);
    }
}

#[test]
fn unknown_imports_can_trap_when_called_instead() {
    let wat = r#"(module
        (import "env" "missing" (func $missing (result i32)))
        (func (export "fine") (result i32) (i32.const 7))
        (func (export "calls") (result i32) (call $missing)))"#;
    let module = temp_file("unknown", "imports.wat", wat.as_bytes());
    let out = waven(&["run", "--invoke", "fine", &module]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown import: env::missing"),
        "{}",
        text(&out.stderr)
    );
    for yes in ["unknown-imports-trap=y", "unknown-imports-trap"] {
        let out = waven(&["run", "-W", yes, "--invoke", "fine", &module]);
        assert_eq!(stdout(&out), "7\n");
    }
    let out = waven(&[
        "run",
        "-W",
        "unknown-imports-trap=true",
        "--invoke",
        "calls",
        &module,
    ]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: trap: host error: unknown import env::missing was called\n"),
        "{stderr}"
    );
    let out = waven(&[
        "run",
        "-W",
        "unknown-imports-trap=n",
        "--invoke",
        "fine",
        &module,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// A module using the `waven` ABI on its own memory.
const PAGES: &str = r#"
(module
  (import "waven" "page_size" (func $page_size (result i32)))
  (import "waven" "protect" (func $protect (param i32 i32 i32) (result i32)))
  (import "waven" "map_anon" (func $map_anon (param i32 i32 i32) (result i32)))
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (memory (export "memory") 3)
  (data (i32.const 0) "other/data" "mine" "other")
  (func (export "page_size") (result i32) (call $page_size))
  (func (export "protect") (result i32)
    (call $protect (i32.const 4096) (i32.const 4096) (i32.const 1)))
  ;; Reading stays allowed; the store traps.
  (func (export "protect_then_store") (result i32)
    (drop (call $protect (i32.const 4096) (i32.const 4096) (i32.const 1)))
    (drop (i32.load (i32.const 4096)))
    (i32.store (i32.const 4096) (i32.const 1))
    (i32.const 0))
  ;; map_anon's result, the value before and after: a fresh zero page.
  (func (export "anon") (result i32 i32 i32) (local $r i32) (local $before i32)
    (i32.store (i32.const 8192) (i32.const 7))
    (local.set $before (i32.load (i32.const 8192)))
    (local.set $r (call $map_anon (i32.const 8192) (i32.const 4096) (i32.const 3)))
    (local.get $r) (local.get $before) (i32.load (i32.const 8192)))
  ;; Another tenant's region; sharing its own and granting it to no one.
  (func (export "sharing") (result i32 i32 i32 i32)
    (call $open (i32.const 0) (i32.const 10))
    (call $share (i32.const 4096) (i32.const 4096) (i32.const 10) (i32.const 4) (i32.const 3))
    (call $open (i32.const 10) (i32.const 4))
    (call $grant (i32.const 0) (i32.const 14) (i32.const 5) (i32.const 1))))
"#;

#[test]
fn the_waven_abi_acts_on_the_modules_own_memory() {
    let module = temp_file("abi", "pages.wat", PAGES.as_bytes());
    let invoke = |func: &str, extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend(["--invoke", func, &module]);
        waven(&args)
    };
    assert_eq!(stdout(&invoke("page_size", &[])), "4096\n");
    assert_eq!(stdout(&invoke("anon", &[])), "0\n7\n0\n");

    let out = invoke("protect_then_store", &[]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: trap: memory fault: write at 0x1000"),
        "{stderr}"
    );

    // ENOENT (44) for another tenant's region; its own region shares and
    // opens (handles 0 and 1); the deny policy refuses a grant (EPERM 63).
    let out = stdout(&invoke("sharing", &[]));
    let results: Vec<&str> = out.lines().collect();
    assert_eq!(results[..3], ["-44", "0", "1"], "{out}");
    assert_eq!(results[3], "-63", "{out}");

    if !cfg!(feature = "enclave") {
        let out = invoke("protect", &["--memory", "plain"]);
        assert_eq!(stdout(&out), "-52\n", "ENOSYS on plain memory");
    }

    let out = invoke("page_size", &["-S", "waven=n"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown import: waven::page_size"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_reactor_is_initialized_before_invoke_and_alone() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write"
          (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "initialized\n")
        (global $value (mut i32) (i32.const 0))
        (func (export "_initialize")
          (global.set $value (i32.const 42))
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 12))
          (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
        (func (export "get") (result i32) (global.get $value)))"#;
    let module = temp_file("reactor", "reactor.wat", wat.as_bytes());
    let out = waven(&["run", "--invoke", "get", &module]);
    assert_eq!(stdout(&out), "initialized\n42\n");
    let out = waven(&["run", &module]);
    assert_eq!(stdout(&out), "initialized\n");

    // No _start, no _initialize: it instantiates and exits 0.
    let plain = temp_file("reactor", "empty.wat", b"(module (memory 1))");
    assert_eq!(stdout(&waven(&["run", &plain])), "");
}

#[test]
fn null_references_print_as_wasmtime_prints_them() {
    let wat = r#"(module
        (func (export "func") (result funcref) (ref.null func))
        (func (export "extern") (result externref) (ref.null extern)))"#;
    let module = temp_file("null", "null.wat", wat.as_bytes());
    let out = waven(&["run", "--invoke", "func", &module]);
    assert_eq!(stdout(&out), "<null funcref>\n");
    let out = waven(&["run", "--invoke", "extern", &module]);
    assert_eq!(stdout(&out), "<null externref>\n");
}

#[test]
fn version_names_the_commit_and_its_date() {
    let out = stdout(&waven(&["--version"]));
    let prefix = format!("waven {} (", env!("CARGO_PKG_VERSION"));
    let rest = out
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{out:?}"));
    let rest = rest
        .strip_suffix(")\n")
        .unwrap_or_else(|| panic!("{out:?}"));
    let (commit, date) = rest.split_once(' ').unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{out:?}"
    );
    let is_date = date.len() == 10 && date.chars().filter(|&c| c == '-').count() == 2;
    assert!(date == "unknown" || is_date, "{out:?}");
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

//! Arguments and environment: sizes, pointer arrays and strings, read
//! back by the host and echoed by a guest program.

mod common;

use std::sync::{Arc, Mutex};

use common::{Guest, BACKENDS};
use waven_wasi::{Output, WasiCtxBuilder};

/// Reads the NUL-terminated string at `addr`.
fn c_string(guest: &Guest, addr: u64) -> String {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let byte = guest.read(at, 1)[0];
        if byte == 0 {
            return String::from_utf8(out).unwrap();
        }
        out.push(byte);
        at += 1;
    }
}

#[test]
fn args_and_env_round_trip() {
    for &backend in BACKENDS {
        let ctx = WasiCtxBuilder::new()
            .args(["prog.wasm", "first", "", "ünïcode"])
            .env("HOME", "/home/guest")
            .env("EMPTY", "")
            .build();
        let mut guest = Guest::wrapper(backend, ctx);

        assert_eq!(guest.call("args_sizes_get", &[0x10, 0x14]), 0);
        assert_eq!(guest.u32_at(0x10), 4);
        let argv_size = "prog.wasm".len() + "first".len() + "ünïcode".len() + 4;
        assert_eq!(guest.u32_at(0x14) as usize, argv_size);
        assert_eq!(guest.call("args_get", &[0x200, 0x300]), 0);
        let args: Vec<String> = (0..4)
            .map(|i| c_string(&guest, u64::from(guest.u32_at(0x200 + 4 * i))))
            .collect();
        assert_eq!(args, ["prog.wasm", "first", "", "ünïcode"]);
        // The strings are packed in order in the buffer.
        assert_eq!(guest.u32_at(0x200), 0x300);
        assert_eq!(
            guest.read(0x300, argv_size),
            b"prog.wasm\0first\0\0\xc3\xbcn\xc3\xafcode\0"
        );

        assert_eq!(guest.call("environ_sizes_get", &[0x10, 0x14]), 0);
        assert_eq!(guest.u32_at(0x10), 2);
        let env_size = "HOME=/home/guest".len() + "EMPTY=".len() + 2;
        assert_eq!(guest.u32_at(0x14) as usize, env_size);
        assert_eq!(guest.call("environ_get", &[0x400, 0x500]), 0);
        let env: Vec<String> = (0..2)
            .map(|i| c_string(&guest, u64::from(guest.u32_at(0x400 + 4 * i))))
            .collect();
        assert_eq!(env, ["HOME=/home/guest", "EMPTY="]);
    }
}

#[test]
fn no_args_and_no_env_are_empty() {
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        guest.write(0x10, &[0xff; 8]);
        assert_eq!(guest.call("args_sizes_get", &[0x10, 0x14]), 0);
        assert_eq!((guest.u32_at(0x10), guest.u32_at(0x14)), (0, 0));
        assert_eq!(guest.call("args_get", &[0x200, 0x300]), 0);
        assert_eq!(guest.call("environ_sizes_get", &[0x10, 0x14]), 0);
        assert_eq!((guest.u32_at(0x10), guest.u32_at(0x14)), (0, 0));
    }
}

/// A guest program: prints each argument after argv[0], then each
/// environment entry, one per line.
const ECHO: &str = r#"
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x50) "\n")
  ;; 0x00 count, 0x04 buffer size, 0x40 iovec, 0x48 nwritten,
  ;; 0x100 pointer array, 0x800 strings

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func $print (param $p i32) (param $len i32) (result i32)
    (i32.store (i32.const 0x40) (local.get $p))
    (i32.store (i32.const 0x44) (local.get $len))
    (call $fd_write (i32.const 1) (i32.const 0x40) (i32.const 1) (i32.const 0x48)))

  ;; Prints entries $first.. of the pointer array at 0x100 (count at 0x00).
  (func $print_all (param $first i32) (result i32)
    (local $i i32) (local $p i32) (local $err i32)
    (local.set $i (local.get $first))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 0))))
        (local.set $p (i32.load (i32.add (i32.const 0x100) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $err (call $print (local.get $p) (call $strlen (local.get $p))))
        (br_if $done (local.get $err))
        (local.set $err (call $print (i32.const 0x50) (i32.const 1)))
        (br_if $done (local.get $err))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $err))

  (func (export "_start") (result i32)
    (local $err i32)
    (local.set $err (call $args_sizes (i32.const 0) (i32.const 4)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $err (call $args_get (i32.const 0x100) (i32.const 0x800)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $err (call $print_all (i32.const 1)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $err (call $env_sizes (i32.const 0) (i32.const 4)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $err (call $env_get (i32.const 0x100) (i32.const 0x800)))
    (if (local.get $err) (then (return (local.get $err))))
    (call $print_all (i32.const 0))))
"#;

#[test]
fn a_guest_echoes_its_arguments_and_environment() {
    for &backend in BACKENDS {
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let ctx = WasiCtxBuilder::new()
            .args(["echo", "hello", "world"])
            .env("A", "1")
            .stdout(Output::Capture(stdout.clone()))
            .build();
        let mut guest = Guest::from_wat(backend, ECHO, ctx);
        let result = guest.try_call("_start", &[]).unwrap();
        assert_eq!(result, [waven_runtime::Val::I32(0)]);
        assert_eq!(&*stdout.lock().unwrap(), b"hello\nworld\nA=1\n");
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

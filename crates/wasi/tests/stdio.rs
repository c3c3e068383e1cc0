//! Standard streams: a guest's output captured by the host, stdin from
//! bytes, and the stream descriptors' attributes.

mod common;

use std::sync::{Arc, Mutex};

use common::{Guest, BACKENDS};
use waven_runtime::Val;
use waven_wasi::{errno, Input, Output, WasiCtxBuilder};

const HELLO: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "hello, ")
  (data (i32.const 15) "world\n")
  (func (export "_start") (result i32)
    ;; Two iovecs gathered into one write.
    (i32.store (i32.const 0x100) (i32.const 8))
    (i32.store (i32.const 0x104) (i32.const 7))
    (i32.store (i32.const 0x108) (i32.const 15))
    (i32.store (i32.const 0x10c) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0x100) (i32.const 2) (i32.const 0x200)))
    (drop (call $fd_write (i32.const 2) (i32.const 0x108) (i32.const 1) (i32.const 0x204)))
    (i32.load (i32.const 0x200))))
"#;

fn captured() -> (Output, Arc<Mutex<Vec<u8>>>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    (Output::Capture(buffer.clone()), buffer)
}

#[test]
fn fd_write_reaches_the_captured_stdout_and_stderr() {
    for &backend in BACKENDS {
        let (out, stdout) = captured();
        let (err, stderr) = captured();
        let ctx = WasiCtxBuilder::new().stdout(out).stderr(err).build();
        let mut guest = Guest::from_wat(backend, HELLO, ctx);
        assert_eq!(guest.try_call("_start", &[]).unwrap(), [Val::I32(13)]);
        assert_eq!(&*stdout.lock().unwrap(), b"hello, world\n");
        assert_eq!(&*stderr.lock().unwrap(), b"world\n");
    }
}

#[test]
fn discarded_output_is_accepted() {
    let ctx = WasiCtxBuilder::new()
        .stdout(Output::Discard)
        .stderr(Output::Discard)
        .build();
    let mut guest = Guest::from_wat(waven_runtime::MemoryBackend::Virtual, HELLO, ctx);
    assert_eq!(guest.try_call("_start", &[]).unwrap(), [Val::I32(13)]);
}

#[test]
fn stdin_bytes_are_read_in_pieces_then_end() {
    for &backend in BACKENDS {
        let ctx = WasiCtxBuilder::new()
            .stdin(Input::Bytes(b"abcdefgh".to_vec()))
            .build();
        let mut guest = Guest::wrapper(backend, ctx);
        // Two buffers of 3 bytes: a scattered read.
        guest.iovecs(0x40, &[(0x1000, 3), (0x2000, 3)]);
        assert_eq!(guest.call("fd_read", &[0, 0x40, 2, 0x50]), 0);
        assert_eq!(guest.u32_at(0x50), 6);
        assert_eq!(guest.read(0x1000, 3), b"abc");
        assert_eq!(guest.read(0x2000, 3), b"def");
        assert_eq!(guest.call("fd_read", &[0, 0x40, 2, 0x50]), 0);
        assert_eq!(guest.u32_at(0x50), 2);
        assert_eq!(guest.read(0x1000, 3), b"ghc");
        assert_eq!(guest.call("fd_read", &[0, 0x40, 2, 0x50]), 0);
        assert_eq!(guest.u32_at(0x50), 0);
    }
}

#[test]
fn the_default_stdin_is_empty() {
    let mut guest = Guest::plain(waven_runtime::MemoryBackend::Virtual);
    guest.iovecs(0x40, &[(0x1000, 16)]);
    guest.write(0x50, &[0xff; 4]);
    assert_eq!(guest.call("fd_read", &[0, 0x40, 1, 0x50]), 0);
    assert_eq!(guest.u32_at(0x50), 0);
}

#[test]
fn streams_are_not_seekable_and_have_stream_rights() {
    for &backend in BACKENDS {
        let (out, _) = captured();
        let mut guest = Guest::wrapper(backend, WasiCtxBuilder::new().stdout(out).build());
        assert_eq!(
            guest.call("fd_seek", &[1, 0, 0, 0x40]),
            i32::from(errno::SPIPE)
        );
        assert_eq!(guest.call("fd_tell", &[0, 0x40]), i32::from(errno::SPIPE));
        assert_eq!(guest.call("fd_fdstat_get", &[1, 0x40]), 0);
        let rights = guest.u64_at(0x48);
        assert_ne!(rights & (1 << 6), 0, "stdout may be written");
        assert_eq!(rights & (1 << 1), 0, "stdout may not be read");
        assert_eq!(
            rights & (1 << 2),
            0,
            "stdout may not seek (isatty checks this)"
        );
        // Reading stdout or writing stdin lacks the right.
        guest.iovecs(0x60, &[(0x1000, 4)]);
        assert_eq!(
            guest.call("fd_read", &[1, 0x60, 1, 0x70]),
            i32::from(errno::NOTCAPABLE)
        );
        assert_eq!(
            guest.call("fd_write", &[0, 0x60, 1, 0x70]),
            i32::from(errno::NOTCAPABLE)
        );
        assert_eq!(
            guest.call("fd_write", &[99, 0x60, 1, 0x70]),
            i32::from(errno::BADF)
        );
        assert_eq!(guest.call("fd_filestat_get", &[1, 0x100]), 0);
        assert_eq!(guest.call("fd_sync", &[1]), 0);
        // Closing a stream makes it unknown.
        assert_eq!(guest.call("fd_close", &[1]), 0);
        assert_eq!(
            guest.call("fd_write", &[1, 0x60, 1, 0x70]),
            i32::from(errno::BADF)
        );
    }
}

#[test]
fn a_guest_without_memory_gets_fault_for_buffers() {
    let wat = r#"
    (module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
      (func (export "write") (result i32)
        (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (func (export "yield") (result i32) (call $yield)))
    "#;
    let engine = common::engine(waven_runtime::MemoryBackend::Virtual);
    let module = waven_runtime::Module::new(&engine, &wat::parse_str(wat).unwrap()).unwrap();
    let mut linker = waven_runtime::Linker::new();
    waven_wasi::add_to_linker(&mut linker, |ctx: &mut waven_wasi::WasiCtx| ctx).unwrap();
    let mut store = waven_runtime::Store::new(&engine, WasiCtxBuilder::new().build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    for (name, expected) in [("write", errno::FAULT), ("yield", errno::SUCCESS)] {
        let func = instance.get_func(&store, name).unwrap();
        let mut out = [Val::I32(-1)];
        func.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out, [Val::I32(i32::from(expected))], "{name}");
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

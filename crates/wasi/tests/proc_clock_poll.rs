//! Process exit, functions waven cannot carry out, clocks, randomness and
//! `poll_oneoff`.

mod common;

use std::time::{Duration, Instant};

use common::{Guest, BACKENDS};
use waven_runtime::{Error, MemoryBackend, Trap, TrapKind, Val};
use waven_wasi::{errno, Input, WasiCtxBuilder};

#[test]
fn proc_exit_traps_with_the_exit_status() {
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        for code in [0, 7, -1] {
            let error = guest.try_call("proc_exit", &[Val::I32(code)]).unwrap_err();
            assert!(
                matches!(
                    &error,
                    Error::Trap(Trap { kind: TrapKind::Exit(status), .. }) if *status == code
                ),
                "{error:?}"
            );
        }
    }
}

#[test]
fn a_guest_exits_from_its_start_function() {
    let wat = r#"
    (module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 42)) unreachable))
    "#;
    let mut guest = Guest::from_wat(MemoryBackend::Virtual, wat, WasiCtxBuilder::new().build());
    let error = guest.try_call("_start", &[]).unwrap_err();
    assert!(matches!(
        error,
        Error::Trap(Trap {
            kind: TrapKind::Exit(42),
            ..
        })
    ));
}

#[test]
fn sockets_and_signals_fail_as_in_wasmtime() {
    const SOCKETS: [&str; 4] = ["sock_accept", "sock_recv", "sock_send", "sock_shutdown"];
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        for name in SOCKETS {
            let (_, sig) = common::SIGNATURES.iter().find(|(n, _)| *n == name).unwrap();
            // An open descriptor is never a socket; a closed one is BADF.
            let mut args = vec![0i64; sig.len()];
            assert_eq!(guest.call(name, &args), i32::from(errno::NOTSOCK), "{name}");
            args[0] = 77;
            assert_eq!(guest.call(name, &args), i32::from(errno::BADF), "{name}");
        }
        assert_eq!(guest.call("proc_raise", &[6]), i32::from(errno::NOTSUP));
        assert_eq!(guest.call("sched_yield", &[]), 0);
    }
}

#[test]
fn clocks_tell_the_time() {
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        assert_eq!(guest.call("clock_time_get", &[1, 0, 0x10]), 0);
        let first = guest.u64_at(0x10);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(guest.call("clock_time_get", &[1, 1000, 0x10]), 0);
        assert!(
            guest.u64_at(0x10) >= first + 5_000_000,
            "monotonic advances"
        );
        assert_eq!(guest.call("clock_time_get", &[0, 0, 0x10]), 0);
        let realtime = guest.u64_at(0x10);
        let host = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        assert!(
            host.abs_diff(realtime) < 5_000_000_000,
            "realtime is the host's"
        );
        for clock in 0..4 {
            assert_eq!(guest.call("clock_res_get", &[clock, 0x20]), 0);
            assert!(guest.u64_at(0x20) > 0);
            assert_eq!(guest.call("clock_time_get", &[clock, 0, 0x20]), 0);
        }
        assert_eq!(
            guest.call("clock_time_get", &[9, 0, 0x10]),
            i32::from(errno::INVAL)
        );
        assert_eq!(
            guest.call("clock_res_get", &[-1, 0x10]),
            i32::from(errno::INVAL)
        );
    }
}

/// Writes a clock subscription at `at`.
fn clock_sub(guest: &mut Guest, at: u64, userdata: u64, clock: u32, timeout: u64, flags: u16) {
    let mut sub = [0u8; 48];
    sub[0..8].copy_from_slice(&userdata.to_le_bytes());
    sub[8] = 0;
    sub[16..20].copy_from_slice(&clock.to_le_bytes());
    sub[24..32].copy_from_slice(&timeout.to_le_bytes());
    sub[40..42].copy_from_slice(&flags.to_le_bytes());
    guest.write(at, &sub);
}

/// Writes an fd subscription at `at`.
fn fd_sub(guest: &mut Guest, at: u64, userdata: u64, ty: u8, fd: u32) {
    let mut sub = [0u8; 48];
    sub[0..8].copy_from_slice(&userdata.to_le_bytes());
    sub[8] = ty;
    sub[16..20].copy_from_slice(&fd.to_le_bytes());
    guest.write(at, &sub);
}

/// The events written at 0x2000: (userdata, error, type).
fn events(guest: &Guest, count: u32) -> Vec<(u64, u16, u8)> {
    (0..u64::from(count))
        .map(|i| {
            let event = guest.read(0x2000 + 32 * i, 32);
            (
                u64::from_le_bytes(event[0..8].try_into().unwrap()),
                u16::from_le_bytes(event[8..10].try_into().unwrap()),
                event[10],
            )
        })
        .collect()
}

#[test]
fn poll_oneoff_sleeps_until_the_earliest_clock() {
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        clock_sub(&mut guest, 0x1000, 11, 1, 20_000_000, 0);
        clock_sub(&mut guest, 0x1030, 22, 1, 10_000_000_000, 0);
        let start = Instant::now();
        assert_eq!(guest.call("poll_oneoff", &[0x1000, 0x2000, 2, 0x3000]), 0);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        assert_eq!(guest.u32_at(0x3000), 1);
        assert_eq!(events(&guest, 1), [(11, 0, 0)]);

        // An absolute deadline on the monotonic clock, already past.
        clock_sub(&mut guest, 0x1000, 33, 1, 1, 1);
        assert_eq!(guest.call("poll_oneoff", &[0x1000, 0x2000, 1, 0x3000]), 0);
        assert_eq!(events(&guest, guest.u32_at(0x3000)), [(33, 0, 0)]);
        // An unknown clock is reported in its event.
        clock_sub(&mut guest, 0x1000, 44, 17, 0, 0);
        assert_eq!(guest.call("poll_oneoff", &[0x1000, 0x2000, 1, 0x3000]), 0);
        assert_eq!(events(&guest, 1), [(44, errno::INVAL, 0)]);
        // No subscriptions, or too many, are invalid.
        assert_eq!(guest.call("poll_oneoff", &[0x1000, 0x2000, 0, 0x3000]), 28);
        assert_eq!(
            guest.call("poll_oneoff", &[0x1000, 0x2000, 1 << 20, 0x3000]),
            28
        );
    }
}

#[test]
fn poll_oneoff_reports_ready_streams_at_once() {
    for &backend in BACKENDS {
        let ctx = WasiCtxBuilder::new()
            .stdin(Input::Bytes(b"abc".to_vec()))
            .build();
        let mut guest = Guest::wrapper(backend, ctx);
        clock_sub(&mut guest, 0x1000, 1, 1, 60_000_000_000, 0);
        fd_sub(&mut guest, 0x1030, 2, 1, 0);
        fd_sub(&mut guest, 0x1060, 3, 2, 1);
        fd_sub(&mut guest, 0x1090, 4, 1, 77);
        let start = Instant::now();
        assert_eq!(guest.call("poll_oneoff", &[0x1000, 0x2000, 4, 0x3000]), 0);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(guest.u32_at(0x3000), 3);
        assert_eq!(
            events(&guest, 3),
            [(2, 0, 1), (3, 0, 2), (4, errno::BADF, 1)]
        );
        assert_eq!(guest.u64_at(0x2000 + 16), 3, "three bytes ready on stdin");
        // The output buffer must be writable for every subscription.
        assert_eq!(
            guest.call("poll_oneoff", &[0x1030, 0x1ffff, 1, 0x3000]),
            i32::from(errno::FAULT)
        );
    }
}

/// Calls `poll_oneoff` on one clock subscription at 0x1000 that never
/// fires (`u64::MAX` ns ahead): the trap it ends in and how long it took.
fn poll_forever(guest: &mut Guest) -> (Error, Duration) {
    clock_sub(guest, 0x1000, 5, 1, u64::MAX, 0);
    let args = [0x1000, 0x2000, 1, 0x3000].map(Val::I32);
    let start = Instant::now();
    let error = guest.try_call("poll_oneoff", &args).unwrap_err();
    (error, start.elapsed())
}

fn is_interrupted(error: &Error) -> bool {
    matches!(
        error,
        Error::Trap(Trap {
            kind: TrapKind::Interrupted,
            ..
        })
    )
}

#[test]
fn poll_oneoff_ends_at_the_store_deadline() {
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        let handle = guest.store.interrupt_handle().clone();
        handle.set_deadline(Instant::now() + Duration::from_millis(200));
        let (error, waited) = poll_forever(&mut guest);
        assert!(is_interrupted(&error), "{error:?}");
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert!(waited < Duration::from_secs(1), "{waited:?}");
        // No event was written: the call did not return.
        assert_eq!(guest.u32_at(0x3000), 0);
    }
}

#[test]
fn poll_oneoff_ends_when_the_host_interrupts() {
    let mut guest = Guest::plain(MemoryBackend::Virtual);
    let handle = guest.store.interrupt_handle().clone();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    let (error, waited) = poll_forever(&mut guest);
    interrupter.join().unwrap();
    assert!(is_interrupted(&error), "{error:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

//! The embedding API, used as a host would: host functions, traps, fuel,
//! memory faults of the software MMU, and clear errors for bad input.

use waven_mmu::{Access, FaultReason, Rights};
use waven_runtime::{
    Config, Engine, Error, Extern, Func, FuncType, Linker, MemoryBackend, Module, Store, Trap,
    TrapKind, Val, ValType, ENCLAVE_PROFILE,
};

/// Both memory backends, or only virtual memory in the enclave profile.
const BACKENDS: &[MemoryBackend] = if ENCLAVE_PROFILE {
    &[MemoryBackend::Virtual]
} else {
    &[MemoryBackend::Virtual, MemoryBackend::Plain]
};

fn engine(memory: MemoryBackend, fuel: bool) -> Engine {
    test_support::engine(Config {
        memory,
        fuel,
        frame_budget: 64 << 20,
        ..Config::default()
    })
}

// The engine selection and rerun of `waven-test-support`, included by
// path: that crate depends on this one, so the runtime's own suites
// cannot depend on it.
#[path = "../../test-support/src/lib.rs"]
#[allow(dead_code)]
mod test_support;

#[test]
fn the_suite_passes_on_the_compiled_engine() {
    test_support::rerun_on_the_compiled_engine("the_suite_passes_on_the_compiled_engine");
}

fn module(engine: &Engine, wat: &str) -> Module {
    Module::new(engine, &wat::parse_str(wat).unwrap()).unwrap()
}

fn call(
    store: &mut Store<impl Sized>,
    func: Func,
    args: &[Val],
    results: usize,
) -> Result<Vec<Val>, Error> {
    let mut out = vec![Val::I32(0); results];
    func.call(store, args, &mut out)?;
    Ok(out)
}

const COUNTER: &str = r#"
(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (data (i32.const 16) "hello")
  (func (export "greet") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $log (i32.const 16) (i32.const 5))
    (global.get $calls)))
"#;

#[test]
fn host_functions_read_guest_memory_through_the_caller() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(&engine, COUNTER);
        let mut store = Store::new(&engine, Vec::<String>::new());
        let mut linker = Linker::<Vec<String>>::new();
        let ty = FuncType::new([ValType::I32, ValType::I32], []);
        linker
            .func_new("host", "log", ty, |mut caller, args, _| {
                let (Val::I32(ptr), Val::I32(len)) = (args[0], args[1]) else {
                    unreachable!("typed by the signature")
                };
                let memory = caller.memory().expect("the caller has a memory");
                let mut buf = vec![0; len as usize];
                memory.read(caller.store(), ptr as u64, &mut buf)?;
                caller
                    .data_mut()
                    .push(String::from_utf8_lossy(&buf).into_owned());
                Ok(())
            })
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let greet = instance.get_func(&store, "greet").unwrap();
        assert_eq!(call(&mut store, greet, &[], 1).unwrap(), [Val::I32(1)]);
        assert_eq!(call(&mut store, greet, &[], 1).unwrap(), [Val::I32(2)]);
        assert_eq!(store.data(), &["hello", "hello"]);
        let calls = instance.get_global(&store, "calls").unwrap();
        assert_eq!(calls.get(&store), Val::I32(2));
        calls.set(&mut store, Val::I32(40)).unwrap();
        assert_eq!(call(&mut store, greet, &[], 1).unwrap(), [Val::I32(41)]);
    }
}

#[test]
fn a_host_trap_stops_the_guest_and_reaches_the_caller() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(&engine, COUNTER);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new();
    let ty = FuncType::new([ValType::I32, ValType::I32], []);
    linker
        .func_new("host", "log", ty, |_, _, _| {
            Err(Trap::from(TrapKind::Host("refused".into())))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let greet = instance.get_func(&store, "greet").unwrap();
    let error = call(&mut store, greet, &[], 1).unwrap_err();
    assert_eq!(error.to_string(), "trap: host error: refused");
}

#[test]
fn fuel_stops_a_runaway_guest() {
    let engine = engine(MemoryBackend::Virtual, true);
    let module = module(&engine, r#"(module (func (export "spin") (loop (br 0))))"#);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let spin = instance.get_func(&store, "spin").unwrap();
    store.set_fuel(1_000_000);
    let error = call(&mut store, spin, &[], 0).unwrap_err();
    assert!(matches!(
        error,
        Error::Trap(Trap {
            kind: TrapKind::OutOfFuel,
            ..
        })
    ));
    assert!(store.fuel() < 10, "fuel left: {}", store.fuel());
}

#[test]
fn fuel_counts_work_done() {
    let engine = engine(MemoryBackend::Virtual, true);
    let module = module(
        &engine,
        r#"(module (func (export "count") (param i32) (result i32)
            (local i32)
            (loop
              (local.set 1 (i32.add (local.get 1) (i32.const 1)))
              (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))
            (local.get 1)))"#,
    );
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let count = instance.get_func(&store, "count").unwrap();
    store.set_fuel(u64::MAX);
    call(&mut store, count, &[Val::I32(10)], 1).unwrap();
    let small = u64::MAX - store.fuel();
    store.set_fuel(u64::MAX);
    call(&mut store, count, &[Val::I32(1000)], 1).unwrap();
    let large = u64::MAX - store.fuel();
    assert!(
        large > 50 * small,
        "fuel grows with the work: {small} vs {large}"
    );
}

#[test]
fn deep_recursion_traps_instead_of_overflowing_the_host_stack() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(&engine, r#"(module (func $f (export "f") (call $f)))"#);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let f = instance.get_func(&store, "f").unwrap();
    let error = call(&mut store, f, &[], 0).unwrap_err();
    assert!(matches!(
        error,
        Error::Trap(Trap {
            kind: TrapKind::CallStackExhausted,
            ..
        })
    ));
    // The store is still usable afterwards.
    assert!(call(&mut store, f, &[], 0).is_err());
}

#[test]
fn deep_recursion_below_the_limit_keeps_every_frame() {
    // 9,000 nested calls with a few locals each: the interpreter's value
    // stack starts at 64 KiB and grows (copying the frames) several times
    // on the way down; every frame's values survive the moves.
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(
        &engine,
        r#"(module (func $sum (export "sum") (param i64) (result i64)
             (local i64 i64 i64)
             (local.set 1 (i64.mul (local.get 0) (i64.const 3)))
             (local.set 2 (i64.add (local.get 1) (i64.const 7)))
             (if (result i64) (i64.eqz (local.get 0))
               (then (i64.const 0))
               (else
                 (local.set 3 (call $sum (i64.sub (local.get 0) (i64.const 1))))
                 ;; the locals set before the call are still there
                 (i64.add (local.get 3)
                   (i64.sub (local.get 2) (i64.add (local.get 1) (i64.const 6))))))))"#,
    );
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let sum = instance.get_func(&store, "sum").unwrap();
    for n in [10i64, 9000, 100] {
        let result = call(&mut store, sum, &[Val::I64(n)], 1).unwrap();
        assert_eq!(result, [Val::I64(n)], "n = {n}");
    }
}

/// A host thread with a small stack: the recursion still ends with the
/// trap (compiled code moves to a stack segment of its own when the
/// thread has too little left for its budget), never with an overflow.
#[test]
fn deep_recursion_traps_on_a_thread_with_a_small_stack() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(
        &engine,
        r#"(module (func $f (export "f") (param i64) (result i64)
             (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (local.get 0))))"#,
    );
    let trap = std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(move || {
            let mut store = Store::new(&engine, ());
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            let f = instance.get_func(&store, "f").unwrap();
            call(&mut store, f, &[Val::I64(0)], 1).unwrap_err()
        })
        .unwrap()
        .join()
        .expect("the thread ends without overflowing its stack");
    assert!(
        matches!(
            trap,
            Error::Trap(Trap {
                kind: TrapKind::CallStackExhausted,
                ..
            })
        ),
        "{trap}"
    );
}

/// A load through a page that reads as zeros, a store to the same page
/// (its first write gives it a frame of its own), then a load of what was
/// stored: the second load must not reuse the first one's translation
/// (same index operand, same page), which pointed at the shared zero page.
#[test]
fn a_load_after_a_first_write_sees_the_written_value() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(
            &engine,
            r#"(module (memory 4)
                 (func (export "rw") (param i32) (result i32)
                   (drop (i32.load (local.get 0)))
                   (i32.store offset=4 (i32.add (local.get 0) (i32.const 0)) (i32.const 7))
                   (i32.add (i32.load offset=4 (local.get 0)) (i32.load (local.get 0)))))"#,
        );
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let rw = instance.get_func(&store, "rw").unwrap();
        for page in 0..4 {
            let result = call(&mut store, rw, &[Val::I32(page * 4096 + 100)], 1).unwrap();
            assert_eq!(result, [Val::I32(7)], "{backend:?}, page {page}");
        }
    }
}

/// Accesses through `p` (offset 6, then 0), `p - 4` and `p - 12` (offset
/// 8): the later ones may reuse the first one's translation when they lie
/// in its page. Read
/// around a page boundary and at unaligned addresses, each sum matches
/// the bytes the host wrote; and when `p - 16` wraps below zero, the
/// access with offset 100 lies beyond 4 GiB and traps, although `p + 100
/// - 16` would lie in the first access's page.
#[test]
fn accesses_relative_to_one_pointer_read_their_own_bytes() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(
            &engine,
            r#"(module (memory (export "memory") 2)
                 (func (export "sum") (param i32) (result i64)
                   (i64.add
                     (i64.add (i64.add (i64.load16_u offset=6 (local.get 0))
                                       (i64.load32_u (local.get 0)))
                              (i64.shl (i64.load32_u (i32.add (local.get 0) (i32.const -4)))
                                       (i64.const 16)))
                     (i64.shl (i64.load32_u offset=8 (i32.add (local.get 0) (i32.const -12)))
                              (i64.const 32))))
                 (func (export "wrap") (param i32) (result i32)
                   (i32.add (i32.load offset=100 (local.get 0))
                            (i32.load offset=100 (i32.add (local.get 0) (i32.const -16))))))"#,
        );
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        let bytes: Vec<u8> = (0..8192u32).map(|i| (i * 7 + i / 251) as u8).collect();
        memory.write(&mut store, 0, &bytes).unwrap();
        let word = |at: u32| {
            let at = at as usize;
            u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()))
        };
        let sum = instance.get_func(&store, "sum").unwrap();
        for p in (4096 - 24..4096 + 24).chain([16, 4093, 8184]) {
            let half = u64::from(u16::from_le_bytes([
                bytes[p as usize + 6],
                bytes[p as usize + 7],
            ]));
            let expected = (half + word(p))
                .wrapping_add(word(p - 4) << 16)
                .wrapping_add(word(p - 4) << 32);
            let got = call(&mut store, sum, &[Val::I32(p as i32)], 1).unwrap();
            assert_eq!(got, [Val::I64(expected as i64)], "{backend:?}, p = {p}");
        }
        let wrap = instance.get_func(&store, "wrap").unwrap();
        let error = call(&mut store, wrap, &[Val::I32(8)], 1).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Trap(Trap {
                    kind: TrapKind::MemoryOutOfBounds,
                    ..
                })
            ),
            "{backend:?}: {error}"
        );
    }
}

/// Loads that a store through the same pointer follows (`p[0] += 1`, and
/// a copy from `p` to `p + 8192`): on compiled code they look up the write
/// table so that the store can reuse the translation, and a page without a
/// write entry sends them to the slow path. Counting up on a page that
/// reads as zeros, on a written page, and copying out of a read-only page
/// all read what is there.
#[test]
fn a_load_that_a_store_through_the_same_pointer_follows_reads_any_readable_page() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(
            &engine,
            r#"(module (memory (export "memory") 4)
                 (func (export "inc") (param i32) (result i32)
                   (i32.store (local.get 0) (i32.add (i32.load (local.get 0)) (i32.const 1)))
                   (i32.load (local.get 0)))
                 (func (export "copy") (param i32)
                   (i32.store offset=8192 (local.get 0) (i32.load (local.get 0)))))"#,
        );
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let inc = instance.get_func(&store, "inc").unwrap();
        for expected in 1..=3 {
            let got = call(&mut store, inc, &[Val::I32(4096 + 12)], 1).unwrap();
            assert_eq!(got, [Val::I32(expected)], "{backend:?}");
        }
        let memory = instance.get_memory(&store, "memory").unwrap();
        memory.write(&mut store, 40, &77u32.to_le_bytes()).unwrap();
        if let Some(space) = memory.address_space(&store) {
            space.protect(0, 4096, Rights::Read).unwrap();
        }
        let copy = instance.get_func(&store, "copy").unwrap();
        call(&mut store, copy, &[Val::I32(40)], 0).unwrap();
        let mut copied = [0u8; 4];
        memory.read(&store, 8192 + 40, &mut copied).unwrap();
        assert_eq!(u32::from_le_bytes(copied), 77, "{backend:?}");
    }
}

/// Accesses in loops: compiled code keeps each one's translation from one
/// pass to the next while the address stays in its page. Walks forward and
/// backward over three pages of different bytes, at an unaligned start so
/// that some words cross a page boundary, read what the host wrote.
#[test]
fn loop_accesses_read_every_page_they_step_into() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(
            &engine,
            r#"(module (memory (export "memory") 4)
                 (func (export "forward") (param $p i32) (param $end i32) (result i64)
                   (local $sum i64)
                   (loop $next
                     (local.set $sum (i64.add (local.get $sum)
                                              (i64.load32_u (local.get $p))))
                     (local.set $p (i32.add (local.get $p) (i32.const 4)))
                     (br_if $next (i32.lt_u (local.get $p) (local.get $end))))
                   (local.get $sum))
                 (func (export "backward") (param $p i32) (param $end i32) (result i64)
                   (local $sum i64)
                   (loop $next
                     (local.set $sum (i64.add (i64.mul (local.get $sum) (i64.const 3))
                                              (i64.load8_u offset=2 (local.get $p))))
                     (local.set $p (i32.sub (local.get $p) (i32.const 3)))
                     (br_if $next (i32.gt_u (local.get $p) (local.get $end))))
                   (local.get $sum)))"#,
        );
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        let bytes: Vec<u8> = (0..3 * 4096u32)
            .map(|i| (i / 4096 * 50 + i % 251) as u8)
            .collect();
        memory.write(&mut store, 4096, &bytes).unwrap();
        let byte = |at: u32| u64::from(bytes[at as usize - 4096]);
        let forward = instance.get_func(&store, "forward").unwrap();
        for start in [4096, 4098, 4099] {
            let end = 4 * 4096 - 8;
            let mut expected = 0u64;
            let mut p = start;
            while p < end {
                expected += (0..4).map(|i| byte(p + i) << (8 * i)).sum::<u64>();
                p += 4;
            }
            let got = call(
                &mut store,
                forward,
                &[Val::I32(start as i32), Val::I32(end as i32)],
                1,
            )
            .unwrap();
            assert_eq!(
                got,
                [Val::I64(expected as i64)],
                "{backend:?}, from {start}"
            );
        }
        let backward = instance.get_func(&store, "backward").unwrap();
        let (start, end) = (4 * 4096 - 3, 4096);
        let mut expected = 0u64;
        let mut p = start;
        loop {
            expected = expected.wrapping_mul(3).wrapping_add(byte(p + 2));
            p -= 3;
            if p <= end {
                break;
            }
        }
        let got = call(
            &mut store,
            backward,
            &[Val::I32(start as i32), Val::I32(end as i32)],
            1,
        )
        .unwrap();
        assert_eq!(got, [Val::I64(expected as i64)], "{backend:?}");
    }
}

/// A loop reading a copy-on-write page of the module's image while it
/// writes the page: the first write gives the instance its own copy, and
/// every later read sees it (a translation kept from an earlier pass would
/// still point at the image's frame). `chain` writes through another local
/// in the same loop (`a[i + 1] = a[i] + 1`), `outer` through a call
/// between passes of an inner loop.
#[test]
fn loops_see_their_own_writes_to_copy_on_write_pages() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(
            &engine,
            r#"(module (memory (export "memory") 2)
                 (data (i32.const 0) "\05\00\00\00\01\00\00\00\02\00\00\00\03\00\00\00")
                 (data (i32.const 4096) "\05")
                 (func (export "chain") (param $a i32) (param $n i32) (result i32)
                   (local $b i32) (local $i i32)
                   (local.set $b (local.get $a))
                   (loop $next
                     (i32.store offset=4 (i32.add (local.get $b) (local.get $i))
                       (i32.add (i32.load (i32.add (local.get $a) (local.get $i)))
                                (i32.const 1)))
                     (local.set $i (i32.add (local.get $i) (i32.const 4)))
                     (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
                   (i32.load (i32.add (local.get $a) (local.get $n))))
                 (func $bump (param $at i32)
                   (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 10))))
                 (func (export "outer") (param $rounds i32) (result i32)
                   (local $sum i32) (local $j i32)
                   (loop $round
                     (local.set $j (i32.const 0))
                     (loop $word
                       (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $j))))
                       (local.set $j (i32.add (local.get $j) (i32.const 4)))
                       (br_if $word (i32.lt_u (local.get $j) (i32.const 16))))
                     (call $bump (i32.const 0))
                     (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1)))
                     (br_if $round (local.get $rounds)))
                   (local.get $sum)))"#,
        );
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let chain = instance.get_func(&store, "chain").unwrap();
        let got = call(&mut store, chain, &[Val::I32(4096), Val::I32(400)], 1).unwrap();
        assert_eq!(got, [Val::I32(5 + 100)], "{backend:?}");
        // Rounds read 5 + 10k, 1, 2 and 3.
        let outer = instance.get_func(&store, "outer").unwrap();
        let got = call(&mut store, outer, &[Val::I32(4)], 1).unwrap();
        let expected: i32 = (0..4).map(|k| 5 + 10 * k + 1 + 2 + 3).sum();
        assert_eq!(got, [Val::I32(expected)], "{backend:?}");
    }
}

const STORE_AT: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
"#;

#[test]
fn a_store_to_a_read_only_page_traps_with_the_address_access_and_reason() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(&engine, STORE_AT);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let (store_fn, load_fn) = (
        instance.get_func(&store, "store").unwrap(),
        instance.get_func(&store, "load").unwrap(),
    );
    call(&mut store, store_fn, &[Val::I32(0x2000), Val::I32(7)], 0).unwrap();
    let space = instance
        .get_memory(&store, "memory")
        .unwrap()
        .address_space(&store)
        .expect("virtual memory");
    space.protect(0x2000, 0x1000, Rights::Read).unwrap();
    let error = call(&mut store, store_fn, &[Val::I32(0x2ffe), Val::I32(9)], 0).unwrap_err();
    let Error::Trap(Trap {
        kind: TrapKind::MemoryFault(fault),
        ..
    }) = error
    else {
        panic!("expected a memory fault, got {error:?}");
    };
    assert_eq!(
        (fault.addr, fault.access, fault.reason),
        (0x2ffe, Access::Write, FaultReason::Denied)
    );
    assert_eq!(
        call(&mut store, load_fn, &[Val::I32(0x2000)], 1).unwrap(),
        [Val::I32(7)]
    );
    space.unmap(0x2000, 0x1000).unwrap();
    let error = call(&mut store, load_fn, &[Val::I32(0x2000)], 1).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("read at 0x2000: page not mapped"),
        "{error}"
    );
    // Out of bounds stays the spec's trap.
    let error = call(&mut store, load_fn, &[Val::I32(0x10000)], 1).unwrap_err();
    assert_eq!(error.to_string(), "trap: out of bounds memory access");
}

#[test]
fn plain_memory_has_no_address_space() {
    if ENCLAVE_PROFILE {
        return; // no plain backend (tests/enclave.rs checks it is refused)
    }
    let engine = engine(MemoryBackend::Plain, false);
    let module = module(&engine, STORE_AT);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert!(memory.address_space(&store).is_none());
    memory.write(&mut store, 8, &[1, 2, 3, 4]).unwrap();
    let load = instance.get_func(&store, "load").unwrap();
    assert_eq!(
        call(&mut store, load, &[Val::I32(8)], 1).unwrap(),
        [Val::I32(0x0403_0201)]
    );
}

#[test]
fn malformed_and_invalid_modules_are_errors_with_offsets() {
    let engine = engine(MemoryBackend::Virtual, false);
    let error = Module::new(&engine, b"\0asm\x02\0\0\0").unwrap_err();
    assert!(matches!(error, Error::InvalidModule { .. }), "{error}");
    let invalid = wat::parse_str(r#"(module (func (result i32) (i64.const 1)))"#).unwrap();
    let Error::InvalidModule { message, offset } = Module::new(&engine, &invalid).unwrap_err()
    else {
        panic!("expected an invalid module");
    };
    assert!(message.contains("type mismatch"), "{message}");
    assert!(offset > 8 && offset < invalid.len(), "offset {offset}");
    // Every prefix is rejected cleanly (or, cut at a section boundary
    // before the function section, is a valid smaller module): no panic.
    let valid = wat::parse_str(STORE_AT).unwrap();
    let accepted = (0..valid.len())
        .filter(|&cut| Module::new(&engine, &valid[..cut]).is_ok())
        .count();
    assert!(accepted < 5, "{accepted} prefixes accepted");
}

#[test]
fn calls_with_wrong_arguments_and_missing_imports_are_errors() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(&engine, STORE_AT);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let load = instance.get_func(&store, "load").unwrap();
    assert!(matches!(
        call(&mut store, load, &[Val::I64(0)], 1),
        Err(Error::TypeMismatch(_))
    ));
    assert!(matches!(
        call(&mut store, load, &[], 1),
        Err(Error::TypeMismatch(_))
    ));
    let importer = self::module(&engine, COUNTER);
    let error = Linker::new()
        .instantiate(&mut store, &importer)
        .unwrap_err();
    assert!(matches!(error, Error::Link { .. }), "{error}");
    let mut linker = Linker::new();
    let wrong = Func::new(&mut store, FuncType::new([], []), |_, _, _| Ok(()));
    linker.define("host", "log", Extern::Func(wrong)).unwrap();
    assert!(matches!(
        linker.instantiate(&mut store, &importer),
        Err(Error::Link { .. })
    ));
}

#[test]
fn memory_discard_zeroes_pages_on_both_backends() {
    for &backend in BACKENDS {
        let engine = engine(backend, false);
        let module = module(
            &engine,
            r#"(module (memory (export "memory") 1)
                 (func (export "discard") (param i32 i32) (memory.discard (local.get 0) (local.get 1))))"#,
        );
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        memory.write(&mut store, 0x1000, &[9; 0x2000]).unwrap();
        let discard = instance.get_func(&store, "discard").unwrap();
        call(
            &mut store,
            discard,
            &[Val::I32(0x1000), Val::I32(0x1000)],
            0,
        )
        .unwrap();
        let mut buf = [0xffu8; 2];
        memory.read(&store, 0x1fff, &mut buf).unwrap();
        assert_eq!(buf, [0, 9], "{backend:?}");
        assert!(call(&mut store, discard, &[Val::I32(0x10), Val::I32(0x1000)], 0).is_err());
    }
}

#[test]
fn modules_and_stores_can_move_between_threads() {
    fn send_sync<X: Send + Sync>() {}
    fn send<X: Send>() {}
    send_sync::<Module>();
    send_sync::<Engine>();
    send::<Store<Vec<u8>>>();
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(&engine, STORE_AT);
    let handle = std::thread::spawn(move || {
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let load = instance.get_func(&store, "load").unwrap();
        call(&mut store, load, &[Val::I32(0)], 1).unwrap()
    });
    assert_eq!(handle.join().unwrap(), [Val::I32(0)]);
}

#[test]
fn exported_tables_can_be_read_written_and_grown_by_the_host() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(
        &engine,
        r#"(module
             (table (export "table") 2 4 funcref)
             (type $t (func (result i32)))
             (func $seven (export "seven") (result i32) (i32.const 7))
             (func (export "call") (param i32) (result i32)
               (call_indirect (type $t) (local.get 0))))"#,
    );
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let table = instance.get_table(&store, "table").unwrap();
    let seven = instance.get_func(&store, "seven").unwrap();
    let call_fn = instance.get_func(&store, "call").unwrap();
    assert_eq!(table.get(&store, 1), Some(Val::FuncRef(None)));
    assert!(call(&mut store, call_fn, &[Val::I32(1)], 1).is_err());
    table.set(&mut store, 1, Val::FuncRef(Some(seven))).unwrap();
    assert_eq!(
        call(&mut store, call_fn, &[Val::I32(1)], 1).unwrap(),
        [Val::I32(7)]
    );
    assert!(matches!(
        table.set(&mut store, 1, Val::I32(0)),
        Err(Error::TypeMismatch(_))
    ));
    assert!(table.set(&mut store, 9, Val::FuncRef(None)).is_err());
    assert_eq!(
        table
            .grow(&mut store, 2, Val::FuncRef(Some(seven)))
            .unwrap(),
        2
    );
    assert!(
        table.grow(&mut store, 1, Val::FuncRef(None)).is_err(),
        "maximum is 4"
    );
    assert_eq!(
        call(&mut store, call_fn, &[Val::I32(3)], 1).unwrap(),
        [Val::I32(7)]
    );
}

#[test]
fn traps_carry_a_backtrace_with_function_names() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = module(
        &engine,
        r#"(module
             (func $inner (unreachable))
             (func $middle (call $inner))
             (func (export "outer") (call $middle)))"#,
    );
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let outer = instance.get_func(&store, "outer").unwrap();
    let Err(Error::Trap(trap)) = call(&mut store, outer, &[], 0) else {
        panic!("expected a trap");
    };
    assert_eq!(trap.kind, TrapKind::Unreachable);
    assert_eq!(trap.backtrace, ["inner", "middle", "outer"]);
}

/// A module with 1 MiB of initialized data.
fn data_heavy_module(engine: &Engine) -> Module {
    let data: String = (0..16)
        .map(|i| {
            format!(
                "(data (i32.const {}) \"{}\")",
                i * 65536,
                "\\2a".repeat(65536)
            )
        })
        .collect();
    module(
        engine,
        &format!(
            r#"(module (memory (export "memory") 17) {data}
                 (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
                 (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#
        ),
    )
}

#[test]
fn instances_start_from_a_copy_on_write_image_of_the_initialized_memory() {
    let engine = engine(MemoryBackend::Virtual, false);
    let module = data_heavy_module(&engine);
    let mut store = Store::new(&engine, ());
    let first = Linker::new().instantiate(&mut store, &module).unwrap();
    let after_first = engine.frame_pool().stats().in_use;
    let second = Linker::new().instantiate(&mut store, &module).unwrap();
    let after_second = engine.frame_pool().stats().in_use;
    assert!(
        after_first >= 256,
        "the first instance wrote 1 MiB: {after_first} frames"
    );
    assert_eq!(
        after_second, after_first,
        "the second instance shares every frame"
    );
    let (store1, load2) = (
        first.get_func(&store, "store").unwrap(),
        second.get_func(&store, "load").unwrap(),
    );
    assert_eq!(
        call(&mut store, load2, &[Val::I32(70_000)], 1).unwrap(),
        [Val::I32(42)]
    );
    call(&mut store, store1, &[Val::I32(70_000), Val::I32(7)], 0).unwrap();
    assert_eq!(
        call(&mut store, load2, &[Val::I32(70_000)], 1).unwrap(),
        [Val::I32(42)]
    );
    assert_eq!(
        engine.frame_pool().stats().in_use,
        after_second + 1,
        "one page copied"
    );
    let space = second
        .get_memory(&store, "memory")
        .unwrap()
        .address_space(&store)
        .unwrap();
    assert_eq!(
        space.page_info(70_000).unwrap().kind,
        waven_mmu::PageKind::CopyOnWrite
    );
}

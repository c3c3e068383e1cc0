//! Attacks on the registry's shared state rather than on pages: a tenant
//! that makes the host keep more and more (grants to made-up names, open
//! handles, regions, waiters), that squats another's region name, or that
//! wakes another tenant through memory they do not share. Each must fail
//! for the attacker alone, with an errno, and leave the others untouched.
//!
//! Guests are WAT modules that pass the ABI's pointers straight through;
//! the test writes names into the guest's memory with the host API.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use waven_platform::registry::Platform;
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, Linker, Module, Store, Val};

use common::AbiGuest as Guest;

const EACCES: i32 = -2;
const EINVAL: i32 = -28;
const ENOENT: i32 = -44;
const ENOMEM: i32 = -48;
const R: i32 = 1;
const RW: i32 = 3;

/// Where names are written in a guest's memory.
const NAME_AT: i32 = 0x100;
const OTHER_NAME_AT: i32 = 0x400;

const GUEST: &str = r#"(module
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "revoke" (func $revoke (param i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (import "waven" "close" (func $close (param i32) (result i32)))
  (import "waven" "wait" (func $wait (param i32 i32 i64) (result i32)))
  (import "waven" "notify" (func $notify (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  ;; A data segment: with copy-on-write instantiation, every instance of
  ;; this module starts with page 3 backed by the same frame.
  (data (i32.const 0x3000) "\00\00\00\00cow")
  (func (export "share") (param i32 i32 i32 i32 i32) (result i32)
    (call $share (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "grant") (param i32 i32 i32 i32) (result i32)
    (call $grant (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "revoke") (param i32 i32 i32) (result i32)
    (call $revoke (local.get 0) (local.get 1) (local.get 2)))
  (func (export "open") (param i32 i32) (result i32) (call $open (local.get 0) (local.get 1)))
  (func (export "map") (param i32 i32 i32) (result i32)
    (call $map (local.get 0) (local.get 1) (local.get 2)))
  (func (export "close") (param i32) (result i32) (call $close (local.get 0)))
  (func (export "wait") (param i32 i32 i64) (result i32)
    (call $wait (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32) (call $notify (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  ;; Grants the region `h` R to `n` made-up names ("g" and 7 letters from
  ;; the counter's bits); returns the first error, or n. The counter of
  ;; grants made is left at 0x200.
  (func (export "grant_many") (param $h i32) (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $r i32)
    (i32.store8 (i32.const 0x300) (i32.const 0x67))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $k (i32.const 0))
        (loop $letter
          (i32.store8
            (i32.add (i32.const 0x301) (local.get $k))
            (i32.add (i32.const 0x61)
              (i32.and (i32.shr_u (local.get $i) (i32.mul (local.get $k) (i32.const 4)))
                       (i32.const 15))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $letter (i32.lt_u (local.get $k) (i32.const 7))))
        (local.set $r (call $grant (local.get $h) (i32.const 0x300) (i32.const 8) (i32.const 1)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (local.get $r))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (i32.store (i32.const 0x200) (local.get $i))
        (br $next)))
    (local.get $n))
  ;; Opens the region named at (p, l) `n` times; returns the first error,
  ;; or n. The count of handles opened is left at 0x200.
  (func (export "open_many") (param $p i32) (param $l i32) (param $n i32) (result i32)
    (local $i i32) (local $r i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $r (call $open (local.get $p) (local.get $l)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (local.get $r))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (i32.store (i32.const 0x200) (local.get $i))
        (br $next)))
    (local.get $n)))"#;

impl Guest {
    /// Instance `name` of `tenant`, with `limits`.
    fn new(
        engine: &Engine,
        platform: &Platform,
        module: &Module,
        name: &str,
        tenant: &str,
        limits: TenantLimits,
    ) -> Guest {
        Guest::instantiate(engine, platform, module, name, tenant, limits)
    }

    fn call(&mut self, func: &str, args: &[Val]) -> i32 {
        let results = self
            .call_export(func, args)
            .unwrap_or_else(|e| panic!("{}: {func}: {e}", self.name));
        match results[..] {
            [Val::I32(v)] => v,
            [] => 0,
            ref other => panic!("{func} returned {other:?}"),
        }
    }

    fn i32(&mut self, func: &str, args: &[i32]) -> i32 {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        self.call(func, &args)
    }

    /// Writes `text` at `at` in the guest's memory; its (pointer, length).
    fn put(&self, at: i32, text: &str) -> (i32, i32) {
        self.space.write_bytes(at as u64, text.as_bytes()).unwrap();
        (at, text.len() as i32)
    }

    fn share(&mut self, addr: i32, name: &str, max: i32) -> i32 {
        let (p, l) = self.put(NAME_AT, name);
        self.i32("share", &[addr, 0x1000, p, l, max])
    }

    fn grant(&mut self, handle: i32, who: &str, rights: i32) -> i32 {
        let (p, l) = self.put(OTHER_NAME_AT, who);
        self.i32("grant", &[handle, p, l, rights])
    }

    fn revoke(&mut self, handle: i32, who: &str) -> i32 {
        let (p, l) = self.put(OTHER_NAME_AT, who);
        self.i32("revoke", &[handle, p, l])
    }

    fn open(&mut self, name: &str) -> i32 {
        let (p, l) = self.put(NAME_AT, name);
        self.i32("open", &[p, l])
    }

    fn wait(&mut self, addr: i32, timeout: Duration) -> i32 {
        let nanos = i64::try_from(timeout.as_nanos()).unwrap();
        self.call("wait", &[Val::I32(addr), Val::I32(0), Val::I64(nanos)])
    }
}

struct World {
    engine: Engine,
    platform: Platform,
    module: Module,
}

impl World {
    fn new(policy: bool) -> World {
        let engine = common::engine(Config {
            frame_budget: 64 << 20,
            ..Config::default()
        });
        let platform = Platform::new(engine.frame_pool(), Box::new(move |_, _| policy));
        let module = Module::new(&engine, &wat::parse_str(GUEST).unwrap()).unwrap();
        World {
            engine,
            platform,
            module,
        }
    }

    fn guest(&self, name: &str, limits: TenantLimits) -> Guest {
        Guest::new(
            &self.engine,
            &self.platform,
            &self.module,
            name,
            name,
            limits,
        )
    }

    fn grants_of(&self, path: &str) -> usize {
        self.platform
            .regions()
            .iter()
            .find(|r| r.path() == path)
            .map_or(0, |r| r.grants.len())
    }
}

#[test]
fn granting_to_made_up_names_stops_at_the_tenants_limit() {
    // The policy allows everything, as in the review's attack.
    let w = World::new(true);
    let limits = TenantLimits {
        grants: 100,
        ..TenantLimits::default()
    };
    let mut attacker = w.guest("attacker", limits);
    let mut other = w.guest("other", TenantLimits::default());
    let mut friend = w.guest("friend", TenantLimits::default());
    let h = attacker.share(0x1000, "bait", RW);
    assert!(h >= 0);
    assert_eq!(attacker.i32("grant_many", &[h, 1_000_000]), ENOMEM);
    assert_eq!(attacker.i32("load", &[0x200]), 100, "exactly the limit");
    assert_eq!(w.grants_of("attacker/bait"), 100);
    // Per owner, not per region: a second region has no room either.
    let h2 = attacker.share(0x2000, "bait2", RW);
    assert_eq!(attacker.grant(h2, "friend", R), ENOMEM);
    // Replacing an existing grant is no new grant; revoking frees one.
    assert_eq!(attacker.grant(h, "gaaaaaaa", R), 0);
    assert_eq!(attacker.revoke(h, "gaaaaaaa"), 0);
    assert_eq!(attacker.grant(h2, "friend", R), 0);
    assert_eq!(attacker.grant(h2, "stranger", R), ENOMEM);
    // Another tenant is not affected.
    let g = other.share(0x1000, "data", RW);
    assert_eq!(other.grant(g, "friend", R), 0);
    let f = friend.open("other/data");
    assert!(f >= 0);
    assert_eq!(friend.i32("map", &[f, 0x8000, R]), 0x8000);
    assert!(friend.open("attacker/bait2") >= 0);
}

#[test]
fn opening_in_a_loop_stops_at_the_handle_limit_and_handles_are_reused() {
    let w = World::new(false);
    let limits = TenantLimits {
        handles: 5000,
        ..TenantLimits::default()
    };
    let mut attacker = w.guest("attacker", limits);
    assert!(attacker.share(0x1000, "mine", RW) >= 0);
    let (p, l) = attacker.put(NAME_AT, "mine");
    let started = Instant::now();
    assert_eq!(attacker.i32("open_many", &[p, l, 1_000_000]), ENOMEM);
    // The share's handle and 4999 opens.
    assert_eq!(attacker.i32("load", &[0x200]), 4999);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "handle allocation is not O(1): {:?}",
        started.elapsed()
    );
    assert_eq!(attacker.store.data().open_handles(), 5000);
    // A closed handle's number is given out again, before any new one.
    assert_eq!(attacker.i32("close", &[1234]), 0);
    assert_eq!(attacker.open("mine"), 1234);
    assert_eq!(attacker.open("mine"), ENOMEM);
    // Failing for lack of a handle, share makes no region.
    assert_eq!(attacker.share(0x2000, "late", RW), ENOMEM);
    assert!(w.platform.region("attacker/late").is_none());
}

#[test]
fn sharing_stops_at_the_region_limit() {
    let w = World::new(false);
    let limits = TenantLimits {
        regions: 2,
        ..TenantLimits::default()
    };
    let mut attacker = w.guest("attacker", limits);
    let mut other = w.guest("other", TenantLimits::default());
    assert!(attacker.share(0x1000, "a", RW) >= 0);
    assert!(attacker.share(0x2000, "b", RW) >= 0);
    assert_eq!(attacker.share(0x3000, "c", RW), ENOMEM);
    assert!(w.platform.region("attacker/c").is_none());
    assert_eq!(
        attacker.space.page_info(0x3000).unwrap().kind,
        waven_mmu::PageKind::CopyOnWrite,
        "the refused share left the page alone"
    );
    assert!(other.share(0x1000, "a", RW) >= 0);
}

#[test]
fn waiters_are_bounded_per_tenant() {
    let w = World::new(true);
    let limits = TenantLimits {
        waiters: 1,
        ..TenantLimits::default()
    };
    // Two instances of one tenant: one waiter between them.
    let mut first = Guest::new(&w.engine, &w.platform, &w.module, "t-1", "t", limits);
    let mut second = Guest::new(&w.engine, &w.platform, &w.module, "t-2", "t", limits);
    let mut other = w.guest("other", TenantLimits::default());
    let h = first.share(0x1000, "ball", RW);
    assert_eq!(first.grant(h, "other", RW), 0);
    let o = other.open("t-1/ball");
    assert_eq!(other.i32("map", &[o, 0x8000, RW]), 0x8000);
    // The sleeper may be refused while one of `second`'s short waits holds
    // the tenant's one slot: it tries again until it is queued.
    let sleeper = std::thread::spawn(move || loop {
        let outcome = first.wait(0x1000, Duration::from_secs(30));
        if outcome != ENOMEM {
            return outcome;
        }
    });
    // Once the sleeper is queued, the tenant's next waiter is refused (a
    // short wait that gets in times out with 2). Between tries the slot is
    // left free for the sleeper.
    let started = Instant::now();
    let mut refused = false;
    while !refused && started.elapsed() < Duration::from_secs(20) {
        refused = second.wait(0x2000, Duration::from_millis(1)) == ENOMEM;
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(refused, "the tenant's second waiter was not refused");
    // Another tenant waits as usual.
    assert_eq!(other.wait(0x2000, Duration::from_millis(1)), 2);
    // The sleeper is woken through the shared page, and its slot is free.
    let mut woken = 0;
    while woken == 0 && started.elapsed() < Duration::from_secs(20) {
        woken = other.i32("notify", &[0x8000, 1]);
    }
    assert_eq!(woken, 1);
    assert_eq!(sleeper.join().unwrap(), 0, "woken, not timed out");
    assert_eq!(second.wait(0x2000, Duration::from_millis(1)), 2);
}

#[test]
fn a_tenant_cannot_wake_another_through_memory_they_do_not_share() {
    // The policy denies all sharing: nothing is shared at all.
    let w = World::new(false);
    let mut victim = w.guest("victim", TenantLimits::default());
    let mut attacker = w.guest("attacker", TenantLimits::default());
    // 0x1000: an untouched zero page; 0x3000: a copy-on-write page whose
    // frame the two instances of the module have in common.
    for addr in [0x1000, 0x3000] {
        let waiting = Arc::new(AtomicBool::new(false));
        let flag = waiting.clone();
        let sleeper = std::thread::spawn(move || {
            flag.store(true, Ordering::SeqCst);
            let outcome = victim.wait(addr, Duration::from_millis(500));
            (victim, outcome)
        });
        while !waiting.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let mut woken = 0;
        while !sleeper.is_finished() {
            woken += attacker.i32("notify", &[addr, 1]);
            std::thread::sleep(Duration::from_millis(1));
        }
        let (back, outcome) = sleeper.join().unwrap();
        victim = back;
        assert_eq!(
            (woken, outcome),
            (0, 2),
            "at {addr:#x}: woken by a stranger"
        );
    }
}

#[test]
fn a_squatter_cannot_take_the_producers_region_name() {
    let w = World::new(false);
    let platform = Platform::new(
        w.engine.frame_pool(),
        Box::new(|from, to| from == "producer" && to == "consumer"),
    );
    let guest = |name| {
        Guest::new(
            &w.engine,
            &platform,
            &w.module,
            name,
            name,
            TenantLimits::default(),
        )
    };
    let mut forger = guest("forger");
    let mut producer = guest("producer");
    let mut consumer = guest("consumer");
    // The forger, granted nothing, takes the name first.
    forger.i32("store", &[0x1000, 666]);
    assert!(forger.share(0x1000, "greeting", R) >= 0);
    // It cannot pose as the producer.
    assert_eq!(forger.share(0x2000, "producer/greeting", R), EINVAL);
    assert_eq!(forger.share(0x2000, "host/greeting", R), EINVAL);
    // The producer's share succeeds anyway.
    producer.i32("store", &[0x1000, 1234]);
    let h = producer.share(0x1000, "greeting", R);
    assert!(h >= 0, "producer's share: {h}");
    assert_eq!(producer.grant(h, "consumer", R), 0);
    // The consumer asks for the producer's region by its owner and reads
    // the producer's data.
    let c = consumer.open("producer/greeting");
    assert!(c >= 0);
    assert_eq!(consumer.i32("map", &[c, 0x8000, R]), 0x8000);
    assert_eq!(consumer.i32("load", &[0x8000]), 1234);
    // The forger's region, never granted: EACCES; a bare name is the
    // consumer's own (it has none).
    assert_eq!(consumer.open("forger/greeting"), EACCES);
    assert_eq!(consumer.open("greeting"), ENOENT);
    // The forger cannot grant it to the consumer either: policy.
    let f = forger.open("greeting");
    assert_eq!(forger.grant(f, "consumer", R), -63);
    // Malformed names.
    for bad in ["a/b/c", "/greeting", "producer/", "/"] {
        assert_eq!(consumer.open(bad), EINVAL, "{bad}");
    }
    assert_eq!(
        platform.region_size("producer/greeting"),
        Ok(4096),
        "the host names it the same way"
    );
    assert!(platform.region("greeting").is_none(), "no host region");
}

/// Spins until stopped.
const SPINNER: &str = r#"(module (memory 1) (func (export "spin") (loop $l (br $l))))"#;

#[test]
fn the_host_stops_a_tenant_blocked_in_wait_or_running() {
    let w = World::new(false);
    let mut sleeper = w.guest("sleeper", TenantLimits::default());
    let spin_module = Module::new(&w.engine, &wat::parse_str(SPINNER).unwrap()).unwrap();
    w.platform
        .add_instance("spinner", "spinner", [0; 32], TenantLimits::default())
        .unwrap();
    let mut spinner_store = Store::new(&w.engine, ());
    let spinner = Linker::new()
        .instantiate(&mut spinner_store, &spin_module)
        .unwrap();
    for (name, handle) in [
        ("sleeper", sleeper.store.interrupt_handle().clone()),
        ("spinner", spinner_store.interrupt_handle().clone()),
    ] {
        w.platform.attach_interrupt(name, handle).unwrap();
    }
    let blocked = std::thread::spawn(move || {
        let f = sleeper.instance.get_func(&sleeper.store, "wait").unwrap();
        let mut results = [Val::I32(0)];
        let args = [Val::I32(0x1000), Val::I32(0), Val::I64(-1)];
        f.call(&mut sleeper.store, &args, &mut results)
    });
    let running = std::thread::spawn(move || {
        let f = spinner.get_func(&spinner_store, "spin").unwrap();
        f.call(&mut spinner_store, &[], &mut [])
    });
    std::thread::sleep(Duration::from_millis(100));
    let stopped = Instant::now();
    w.platform.stop("sleeper").unwrap();
    w.platform.stop_all();
    for outcome in [blocked.join().unwrap(), running.join().unwrap()] {
        match outcome {
            Err(waven_runtime::Error::Trap(trap)) => {
                assert_eq!(trap.kind, waven_runtime::TrapKind::Interrupted)
            }
            other => panic!("not interrupted: {other:?}"),
        }
    }
    assert!(stopped.elapsed() < Duration::from_secs(5));
    assert_eq!(w.platform.stop("nobody"), Err(waven_mmu::Errno::ENOENT));
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    common::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

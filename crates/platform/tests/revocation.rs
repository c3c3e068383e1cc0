//! Revocation is final (DESIGN.md section 2), through the guest ABI with
//! guests running in the engine on their own threads: when the owner's
//! `revoke` returns, no store of the revoked grantee lands afterwards and
//! no load of it reads what the owner writes afterwards, even for accesses
//! whose translation began before the call.
//!
//! Forty grantees on a two-core machine: at any moment most of them are
//! preempted at some point of their loop, some between the translation and
//! the access. Before shootdowns existed these tests failed in every run
//! (the outside review saw 3 to 8 of 40 markers overwritten).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use waven_platform::registry::Platform;
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, Error, Module, TrapKind, Val};

use common::AbiGuest as Guest;

const GRANTEES: usize = 40;
const RW: i32 = 3;
/// Where the owner shares its page and grantees map it.
const SHARED_AT: i32 = 0x10000;
const MARKER: i32 = 0x4d41_524b;

/// Owner and grantees run this module. Names are written by the host at
/// `0x100` before calls.
const GUEST: &str = r#"
(module
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "revoke" (func $revoke (param i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "share") (param i32 i32 i32 i32 i32) (result i32)
    (call $share (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "grant") (param i32 i32 i32 i32) (result i32)
    (call $grant (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "revoke") (param i32 i32 i32) (result i32)
    (call $revoke (local.get 0) (local.get 1) (local.get 2)))
  (func (export "open") (param i32 i32) (result i32)
    (call $open (local.get 0) (local.get 1)))
  (func (export "map") (param i32 i32 i32) (result i32)
    (call $map (local.get 0) (local.get 1) (local.get 2)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  ;; Stores `value` at `addr` until a store traps.
  (func (export "hammer") (param $addr i32) (param $value i32)
    (loop $again
      (i32.store (local.get $addr) (local.get $value))
      (br $again)))
  ;; Loads `addr` until a load traps; returns 1 if it ever reads `marker`.
  (func (export "watch") (param $addr i32) (param $marker i32) (result i32)
    (loop $again
      (if (i32.eq (i32.load (local.get $addr)) (local.get $marker))
        (then (return (i32.const 1))))
      (br $again))
    (i32.const 0))
)
"#;

impl Guest {
    fn new(engine: &Engine, platform: &Platform, name: &str, module: &Module) -> Guest {
        Guest::instantiate(
            engine,
            platform,
            module,
            name,
            name,
            TenantLimits::default(),
        )
    }

    fn call(&mut self, func: &str, args: &[i32]) -> Result<Vec<Val>, Error> {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        self.call_export(func, &args)
    }

    fn i32(&mut self, func: &str, args: &[i32]) -> i32 {
        match self.call(func, args).unwrap()[..] {
            [Val::I32(v)] => v,
            ref other => panic!("{func} returned {other:?}"),
        }
    }

    /// Writes `text` at 0x100 and returns (pointer, length).
    fn name(&mut self, text: &str) -> (i32, i32) {
        let memory = self.instance.memory(&self.store).unwrap();
        memory
            .write(&mut self.store, 0x100, text.as_bytes())
            .unwrap();
        (0x100, text.len() as i32)
    }
}

/// The owner shares one page with every grantee (RW); each grantee runs
/// `access(guest, slot, marker)` on its own thread until it traps. The
/// owner revokes each grantee in turn and, once `revoke` returned, stores
/// the grantee's marker into its slot. 300 ms later every marker must be
/// intact; `access` returns whether the grantee saw its marker.
fn race(access: fn(&mut Guest, i32, i32) -> Result<Vec<Val>, Error>) {
    let engine = common::engine(Config {
        frame_budget: 64 << 20,
        ..Config::default()
    });
    let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
    let module = Module::new(&engine, &wat::parse_str(GUEST).unwrap()).unwrap();
    let mut owner = Guest::new(&engine, &platform, "owner", &module);
    let (p, l) = owner.name("slots");
    let handle = owner.i32("share", &[SHARED_AT, 4096, p, l, RW]);
    assert!(handle >= 0, "share: {handle}");
    let names: Vec<String> = (0..GRANTEES).map(|i| format!("grantee{i}")).collect();
    let mut grantees = Vec::new();
    for name in &names {
        let (p, l) = owner.name(name);
        assert_eq!(owner.i32("grant", &[handle, p, l, RW]), 0);
        let mut grantee = Guest::new(&engine, &platform, name, &module);
        let (p, l) = grantee.name("owner/slots");
        let opened = grantee.i32("open", &[p, l]);
        assert!(opened >= 0, "open: {opened}");
        assert_eq!(grantee.i32("map", &[opened, SHARED_AT, RW]), SHARED_AT);
        grantees.push(grantee);
    }
    let running = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = grantees
        .into_iter()
        .enumerate()
        .map(|(i, mut grantee)| {
            let running = Arc::clone(&running);
            thread::spawn(move || {
                running.fetch_add(1, Ordering::SeqCst);
                let slot = SHARED_AT + 4 * i as i32;
                access(&mut grantee, slot, MARKER + i as i32)
            })
        })
        .collect();
    while running.load(Ordering::SeqCst) < GRANTEES {
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(100));
    for (i, name) in names.iter().enumerate() {
        let (p, l) = owner.name(name);
        assert_eq!(owner.i32("revoke", &[handle, p, l]), 0);
        owner
            .call("store32", &[SHARED_AT + 4 * i as i32, MARKER + i as i32])
            .unwrap();
    }
    thread::sleep(Duration::from_millis(300));
    for i in 0..GRANTEES {
        assert_eq!(
            owner.i32("load32", &[SHARED_AT + 4 * i as i32]),
            MARKER + i as i32,
            "grantee {i} stored into its slot after its revocation returned"
        );
    }
    for (i, thread) in threads.into_iter().enumerate() {
        match thread.join().unwrap() {
            Err(Error::Trap(trap)) => {
                assert!(
                    matches!(trap.kind, TrapKind::MemoryFault(_)),
                    "grantee {i}: {trap}"
                )
            }
            other => panic!("grantee {i} ended with {other:?}, not a memory fault"),
        }
    }
}

#[test]
fn no_store_of_a_revoked_grantee_lands_after_revoke_returns() {
    // The grantee stores the complement of the owner's later marker.
    race(|grantee, slot, marker| grantee.call("hammer", &[slot, !marker]));
}

#[test]
fn no_load_of_a_revoked_grantee_reads_what_the_owner_wrote_afterwards() {
    race(|grantee, slot, marker| {
        let outcome = grantee.call("watch", &[slot, marker]);
        if let Ok(values) = &outcome {
            panic!("a revoked grantee read the owner's later marker: {values:?}");
        }
        outcome
    });
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    common::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

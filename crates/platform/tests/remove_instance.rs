//! Removing an instance from the registry returns everything it held: the
//! frames of its memory and of the region it shared (and the frames
//! promised to it), its grants in both directions, and the host heap its
//! records, store and translation tables took. This test binary counts
//! its host heap with a global allocator of its own; its one test runs
//! alone, so the count is the platform's.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use waven_mmu::{Errno, PoolStats};
use waven_platform::registry::{Owner, Platform};
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, Module, Val};

use common::AbiGuest as Guest;

/// The system allocator, counting the bytes of live allocations.
struct Counting;

static HEAP_IN_USE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments;
// the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            HEAP_IN_USE.fetch_add(layout.size(), Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            HEAP_IN_USE.fetch_add(layout.size(), Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        HEAP_IN_USE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            HEAP_IN_USE.fetch_add(new_size, Ordering::SeqCst);
            HEAP_IN_USE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const IMPORTS: &str = r#"
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (import "waven" "close" (func $close (param i32) (result i32)))
"#;

/// Names at 0x100..; `fill` writes pages, `share` makes "data" of them.
fn guest_wat() -> String {
    format!(
        r#"(module {IMPORTS}
  (memory (export "memory") 8)
  (data (i32.const 0x100) "data")        ;; 4 bytes
  (data (i32.const 0x110) "keeper")      ;; 6
  (data (i32.const 0x120) "tenant")      ;; 6
  (data (i32.const 0x130) "tenant/data") ;; 11
  (data (i32.const 0x140) "keeper/data") ;; 11
  (func (export "fill") (param $from i32) (param $to i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
      (i32.store (local.get $from) (local.get $from))
      (local.set $from (i32.add (local.get $from) (i32.const 4096)))
      (br $next))))
  (func (export "share") (param i32 i32) (result i32)
    (call $share (local.get 0) (local.get 1) (i32.const 0x100) (i32.const 4) (i32.const 3)))
  (func (export "grant") (param i32 i32 i32) (result i32)
    (call $grant (local.get 0) (local.get 1) (local.get 2) (i32.const 1)))
  (func (export "open") (param i32 i32) (result i32) (call $open (local.get 0) (local.get 1)))
  (func (export "map") (param i32 i32) (result i32)
    (call $map (local.get 0) (local.get 1) (i32.const 1)))
  (func (export "close") (param i32) (result i32) (call $close (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#
    )
}

fn i32s(guest: &mut Guest, func: &str, args: &[i32]) -> i32 {
    let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    match guest.call_export(func, &args).unwrap()[..] {
        [Val::I32(v)] => v,
        ref other => panic!("{func} returned {other:?}"),
    }
}

/// The frame pool's counters that must come back (the peak may not).
fn frames(engine: &Engine) -> (usize, usize) {
    let PoolStats {
        in_use, reserved, ..
    } = engine.frame_pool().stats();
    (in_use, reserved)
}

/// One life of instance "tenant": it fills 16 pages, shares 4 of them as
/// "data" and grants them to "keeper", which maps them; keeper's own
/// region is granted to it and mapped. Its store is dropped at the end;
/// it stays registered.
fn live_once(engine: &Engine, platform: &Platform, module: &Module, keeper: &mut Guest) {
    let mut tenant = Guest::instantiate(
        engine,
        platform,
        module,
        "tenant",
        "tenant",
        TenantLimits::default(),
    );
    tenant
        .call_export("fill", &[Val::I32(0x1_0000), Val::I32(0x2_0000)])
        .unwrap();
    let data = i32s(&mut tenant, "share", &[0x1_0000, 0x4000]);
    assert!(data >= 0, "share: {data}");
    assert_eq!(i32s(&mut tenant, "grant", &[data, 0x110, 6]), 0);
    // Keeper maps the tenant's region, the tenant keeper's.
    let h = i32s(keeper, "open", &[0x130, 11]);
    assert!(h >= 0, "keeper opens tenant/data: {h}");
    assert_eq!(i32s(keeper, "map", &[h, 0x6_0000]), 0x6_0000);
    assert_eq!(i32s(keeper, "load", &[0x6_0000]), 0x1_0000, "shared");
    assert_eq!(i32s(keeper, "close", &[h]), 0);
    platform
        .grant(
            &Owner::Instance("keeper".into()),
            "data",
            "tenant",
            waven_mmu::Rights::Read,
            None,
        )
        .unwrap();
    let k = i32s(&mut tenant, "open", &[0x140, 11]);
    assert!(k >= 0, "tenant opens keeper/data: {k}");
    assert_eq!(i32s(&mut tenant, "map", &[k, 0x4_0000]), 0x4_0000);
    assert_eq!(i32s(&mut tenant, "load", &[0x4_0000]), 0x1_0000);
    drop(tenant);
}

#[test]
fn removing_an_instance_returns_its_frames_and_host_heap() {
    let engine = waven_test_support::engine(Config {
        frame_budget: 16 << 20,
        ..Config::default()
    });
    let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
    let module = Module::new(&engine, &wat::parse_str(guest_wat()).unwrap()).unwrap();
    let mut keeper = Guest::instantiate(
        &engine,
        &platform,
        &module,
        "keeper",
        "keeper",
        TenantLimits::default(),
    );
    keeper
        .call_export("fill", &[Val::I32(0x1_0000), Val::I32(0x1_4000)])
        .unwrap();
    assert!(i32s(&mut keeper, "share", &[0x1_0000, 0x4000]) >= 0);

    // The first life warms up what stays for good: the module's memory
    // image, the registry's tables, lazily made statics.
    live_once(&engine, &platform, &module, &mut keeper);
    platform.remove_instance("tenant").unwrap();
    let before = (frames(&engine), HEAP_IN_USE.load(Ordering::SeqCst));
    for life in 1..=3 {
        live_once(&engine, &platform, &module, &mut keeper);
        let held = frames(&engine);
        assert!(
            held.0 > before.0 .0 && held.1 > before.0 .1,
            "life {life}: its space and region still hold frames: {held:?} vs {:?}",
            before.0
        );
        platform.remove_instance("tenant").unwrap();
        let after = (frames(&engine), HEAP_IN_USE.load(Ordering::SeqCst));
        assert_eq!(
            after, before,
            "life {life}: ((frames in use, promised), host heap bytes)"
        );
        // Gone: its name, its region, its grants, keeper's mapping of it.
        assert_eq!(platform.remove_instance("tenant"), Err(Errno::ENOENT));
        assert_eq!(platform.region_size("tenant/data"), Err(Errno::ENOENT));
        // A later instance of the name would not inherit keeper's grant.
        assert_eq!(platform.open("tenant", "keeper/data"), Err(Errno::EACCES));
        assert_eq!(platform.instance_count(), 1);
        let fault = keeper
            .call_export("load", &[Val::I32(0x6_0000)])
            .unwrap_err();
        assert!(fault.to_string().contains("not mapped"), "{fault}");
        let grants = &platform.regions()[0].grants;
        assert!(grants.is_empty(), "keeper's grant to it: {grants:?}");
    }
}

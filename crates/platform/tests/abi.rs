//! The `waven` guest ABI, used by WAT guests of two tenants in one
//! platform: sharing without copies, grants and their limits, revocation,
//! wait/notify across threads, and the errors of bad calls.

mod common;

use std::sync::Arc;

use waven_mmu::{Errno, Rights};
use waven_platform::registry::{Owner, Platform};
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, Error, Module, TrapKind, Val};

use common::AbiGuest as Guest;

const IMPORTS: &str = r#"
  (import "waven" "page_size" (func $page_size (result i32)))
  (import "waven" "protect" (func $protect (param i32 i32 i32) (result i32)))
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "revoke" (func $revoke (param i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (import "waven" "region_size" (func $region_size (param i32) (result i32)))
  (import "waven" "close" (func $close (param i32) (result i32)))
  (import "waven" "wait" (func $wait (param i32 i32 i64) (result i32)))
  (import "waven" "notify" (func $notify (param i32 i32) (result i32)))
  (import "waven" "unmap" (func $unmap (param i32 i32) (result i32)))
  (import "waven" "map_anon" (func $map_anon (param i32 i32 i32) (result i32)))
  (import "waven" "discard" (func $discard (param i32 i32) (result i32)))
"#;

/// A guest that exports thin wrappers around the ABI, names at 0x100.
fn guest_wat() -> String {
    format!(
        r#"(module {IMPORTS}
  (memory (export "memory") 2)
  (data (i32.const 0x100) "data")         ;; region name, 4 bytes
  (data (i32.const 0x110) "consumer")     ;; grantee name, 8 bytes
  (data (i32.const 0x120) "provider")     ;; 8 bytes
  (data (i32.const 0x130) "provider/data") ;; the provider's region, 13 bytes
  (data (i32.const 0x140) "host/data")    ;; the host's region, 9 bytes
  (func (export "page_size") (result i32) (call $page_size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "share") (param i32 i32 i32) (result i32)
    (call $share (local.get 0) (local.get 1) (i32.const 0x100) (i32.const 4) (local.get 2)))
  (func (export "grant_consumer") (param i32 i32) (result i32)
    (call $grant (local.get 0) (i32.const 0x110) (i32.const 8) (local.get 1)))
  (func (export "revoke_consumer") (param i32) (result i32)
    (call $revoke (local.get 0) (i32.const 0x110) (i32.const 8)))
  (func (export "open") (result i32) (call $open (i32.const 0x130) (i32.const 13)))
  (func (export "open_own") (result i32) (call $open (i32.const 0x100) (i32.const 4)))
  (func (export "open_host") (result i32) (call $open (i32.const 0x140) (i32.const 9)))
  (func (export "open_bad_name") (result i32) (call $open (i32.const 0xffff0) (i32.const 64)))
  (func (export "map") (param i32 i32 i32) (result i32)
    (call $map (local.get 0) (local.get 1) (local.get 2)))
  (func (export "region_size") (param i32) (result i32) (call $region_size (local.get 0)))
  (func (export "protect") (param i32 i32 i32) (result i32)
    (call $protect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "wait") (param i32 i32 i64) (result i32)
    (call $wait (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32) (call $notify (local.get 0) (local.get 1)))
  (func (export "close") (param i32) (result i32) (call $close (local.get 0))))"#
    )
}

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

    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        self.call_export(name, args)
    }

    fn i32(&mut self, name: &str, args: &[i32]) -> i32 {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        match self.call(name, &args).unwrap()[..] {
            [Val::I32(v)] => v,
            ref other => panic!("{name} returned {other:?}"),
        }
    }
}

fn setup() -> (Engine, Platform, Module) {
    setup_with(Config {
        frame_budget: 64 << 20,
        ..Config::default()
    })
}

fn setup_with(config: Config) -> (Engine, Platform, Module) {
    let engine = common::engine(config);
    let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
    let module = Module::new(&engine, &wat::parse_str(guest_wat()).unwrap()).unwrap();
    (engine, platform, module)
}

const R: i32 = 1;
const RW: i32 = 3;

fn errno(e: Errno) -> i32 {
    -(e.0 as i32)
}

#[test]
fn two_tenants_share_a_page_without_copying() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    let mut consumer = Guest::new(&engine, &platform, "consumer", &module);
    assert_eq!(provider.i32("page_size", &[]), 4096);
    provider
        .call("store", &[Val::I32(0x1000), Val::I32(1234)])
        .unwrap();
    let handle = provider.i32("share", &[0x1000, 0x1000, R]);
    assert!(handle >= 0, "share: {handle}");
    assert_eq!(provider.i32("grant_consumer", &[handle, R]), 0);
    let h = consumer.i32("open", &[]);
    assert!(h >= 0);
    assert_eq!(consumer.i32("region_size", &[h]), 4096);
    assert_eq!(consumer.i32("map", &[h, 0x8000, R]), 0x8000);
    assert_eq!(consumer.i32("load", &[0x8000]), 1234);
    // The provider's later writes are seen: one frame, no copy.
    provider
        .call("store", &[Val::I32(0x1000), Val::I32(99)])
        .unwrap();
    assert_eq!(consumer.i32("load", &[0x8000]), 99);
    // Mapping at -1 grows the memory and maps at its old end.
    let h2 = consumer.i32("open", &[]);
    assert_eq!(
        consumer.i32("map", &[h2, -1, R]),
        errno(Errno::EBUSY),
        "mapped once per space"
    );
    assert_eq!(consumer.i32("close", &[h2]), 0);
    assert_eq!(consumer.i32("close", &[h2]), errno(Errno::EBADF));
}

#[test]
fn the_grant_bounds_what_the_grantee_can_do() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    let mut consumer = Guest::new(&engine, &platform, "consumer", &module);
    let handle = provider.i32("share", &[0x1000, 0x1000, R]);
    // Opening before any grant.
    assert_eq!(consumer.i32("open", &[]), errno(Errno::EACCES));
    // Granting above the region's maximum.
    assert_eq!(
        provider.i32("grant_consumer", &[handle, RW]),
        errno(Errno::EACCES)
    );
    assert_eq!(provider.i32("grant_consumer", &[handle, R]), 0);
    let h = consumer.i32("open", &[]);
    // Mapping with more rights than granted.
    assert_eq!(consumer.i32("map", &[h, 0x8000, RW]), errno(Errno::EACCES));
    assert_eq!(consumer.i32("map", &[h, 0x8000, R]), 0x8000);
    // Protect cannot raise a shared page above the mapping.
    assert_eq!(
        consumer.i32("protect", &[0x8000, 0x1000, RW]),
        errno(Errno::EACCES)
    );
    // Only the owner grants and revokes.
    assert_eq!(consumer.i32("grant_consumer", &[h, R]), errno(Errno::EPERM));
    assert_eq!(consumer.i32("revoke_consumer", &[h]), errno(Errno::EPERM));
    // A store to the read-only mapping traps with the MMU's fault.
    let error = consumer
        .call("store", &[Val::I32(0x8004), Val::I32(1)])
        .unwrap_err();
    let Error::Trap(trap) = error else {
        panic!("expected a trap")
    };
    assert!(
        matches!(trap.kind, TrapKind::MemoryFault(_)),
        "{:?}",
        trap.kind
    );
    assert_eq!(provider.i32("load", &[0x1004]), 0, "nothing was written");
    // Bad arguments.
    assert_eq!(consumer.i32("map", &[99, 0x8000, R]), errno(Errno::EBADF));
    assert_eq!(consumer.i32("map", &[h, 0x8000, 2]), errno(Errno::EINVAL));
    assert_eq!(
        consumer.i32("protect", &[0x8001, 0x1000, R]),
        errno(Errno::EINVAL)
    );
    assert_eq!(consumer.i32("open_bad_name", &[]), errno(Errno::EFAULT));
}

#[test]
fn after_revoke_the_grantee_can_no_longer_read() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    let mut consumer = Guest::new(&engine, &platform, "consumer", &module);
    let handle = provider.i32("share", &[0x1000, 0x1000, R]);
    provider.i32("grant_consumer", &[handle, R]);
    let h = consumer.i32("open", &[]);
    consumer.i32("map", &[h, 0x8000, R]);
    assert_eq!(provider.i32("revoke_consumer", &[handle]), 0);
    let error = consumer.call("load", &[Val::I32(0x8000)]).unwrap_err();
    assert!(error.to_string().contains("page not mapped"), "{error}");
    assert_eq!(consumer.i32("open", &[]), errno(Errno::EACCES));
    assert_eq!(
        provider.i32("revoke_consumer", &[handle]),
        errno(Errno::ENOENT)
    );
}

#[test]
fn a_grant_bound_to_a_measurement_holds_only_for_that_code() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    platform
        .add_instance("consumer", "consumer", [7; 32], TenantLimits::default())
        .unwrap();
    let region = platform.create_region("data", 4096, Rights::Read).unwrap();
    region.write_bytes(0, b"lent").unwrap();
    platform
        .grant(
            &Owner::Host,
            "data",
            "consumer",
            Rights::Read,
            Some([8; 32]),
        )
        .unwrap();
    assert_eq!(
        platform.open("consumer", "host/data"),
        Err(Errno::EACCES),
        "other code"
    );
    platform
        .grant(
            &Owner::Host,
            "data",
            "consumer",
            Rights::Read,
            Some([7; 32]),
        )
        .unwrap();
    assert_eq!(platform.open("consumer", "host/data"), Ok(Rights::Read));
    // A bare name is the caller's own region.
    assert_eq!(platform.open("consumer", "data"), Err(Errno::ENOENT));
    // The provider may not grant what the host owns.
    assert_eq!(provider.i32("open_host", &[]), errno(Errno::EACCES));
    assert_eq!(
        platform.grant(
            &Owner::Instance("provider".into()),
            "host/data",
            "provider",
            Rights::Read,
            None
        ),
        Err(Errno::EPERM)
    );
}

#[test]
fn the_policy_decides_who_may_grant_to_whom() {
    let engine = common::engine(Config::default());
    let platform = Platform::new(
        engine.frame_pool(),
        Box::new(|from, to| !(from == "host" && to == "stranger")),
    );
    platform
        .add_instance("stranger", "stranger", [0; 32], TenantLimits::default())
        .unwrap();
    platform.create_region("data", 4096, Rights::Read).unwrap();
    assert_eq!(
        platform.grant(&Owner::Host, "data", "stranger", Rights::Read, None),
        Err(Errno::EPERM)
    );
    assert_eq!(
        platform.grant(&Owner::Host, "data", "friend", Rights::Read, None),
        Ok(())
    );
}

#[test]
fn wait_and_notify_work_across_instances_on_threads() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    let mut consumer = Guest::new(&engine, &platform, "consumer", &module);
    let handle = provider.i32("share", &[0x1000, 0x1000, RW]);
    provider.i32("grant_consumer", &[handle, RW]);
    let h = consumer.i32("open", &[]);
    consumer.i32("map", &[h, 0x8000, RW]);
    // Value differs: no wait.
    let r = consumer
        .call("wait", &[Val::I32(0x8000), Val::I32(5), Val::I64(-1)])
        .unwrap();
    assert_eq!(r, [Val::I32(1)]);
    // Timeout.
    let r = consumer
        .call(
            "wait",
            &[Val::I32(0x8000), Val::I32(0), Val::I64(1_000_000)],
        )
        .unwrap();
    assert_eq!(r, [Val::I32(2)]);
    let waiting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = waiting.clone();
    let waiter = std::thread::spawn(move || {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        consumer
            .call(
                "wait",
                &[Val::I32(0x8000), Val::I32(0), Val::I64(10_000_000_000)],
            )
            .unwrap()
    });
    while !waiting.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // Notify at the provider's address of the same frame until it lands.
    let start = std::time::Instant::now();
    let mut woken = 0;
    while woken == 0 && start.elapsed() < std::time::Duration::from_secs(10) {
        woken = provider.i32("notify", &[0x1000, 1]);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(woken, 1);
    assert_eq!(waiter.join().unwrap(), [Val::I32(0)]);
}

#[test]
fn open_finds_the_callers_own_region_or_an_owners() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    let mut consumer = Guest::new(&engine, &platform, "consumer", &module);
    let handle = provider.i32("share", &[0x1000, 0x1000, R]);
    assert!(handle >= 0);
    // The owner opens it by its bare name, nobody else does.
    assert!(provider.i32("open_own", &[]) >= 0);
    assert_eq!(consumer.i32("open_own", &[]), errno(Errno::ENOENT));
    // Not granted yet: EACCES, not ENOENT, for provider/data.
    assert_eq!(consumer.i32("open", &[]), errno(Errno::EACCES));
    // The consumer may have its own "data": another region.
    assert!(consumer.i32("share", &[0x1000, 0x1000, RW]) >= 0);
    assert_eq!(provider.i32("grant_consumer", &[handle, R]), 0);
    let h = consumer.i32("open", &[]);
    assert_eq!(consumer.i32("map", &[h, 0x8000, R]), 0x8000);
    // The host names regions the same way.
    assert_eq!(platform.region_size("provider/data"), Ok(4096));
    assert_eq!(platform.region_size("data"), Err(Errno::ENOENT));
    let names: Vec<String> = platform.regions().iter().map(|r| r.path()).collect();
    assert_eq!(names, ["consumer/data", "provider/data"]);
}

/// A guest whose memory is 2 GiB (`pages` Wasm pages); untouched pages
/// cost no frames.
fn big_guest_wat(pages: u32) -> String {
    format!(
        r#"(module {IMPORTS}
  (memory (export "memory") {pages})
  (data (i32.const 0x130) "provider/data")
  (func (export "open") (result i32) (call $open (i32.const 0x130) (i32.const 13)))
  (func (export "map") (param i32 i32 i32) (result i32)
    (call $map (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"#
    )
}

#[test]
fn map_returns_addresses_at_and_above_2_gib_as_success() {
    // Memories of 2 GiB on a pool of 64 MiB: no memory is capped at the
    // frame budget (in any profile), but only an overcommitting pool lets
    // them exist without promising their frames; no frame is touched.
    let (engine, platform, module) = setup_with(Config {
        frame_budget: 64 << 20,
        overcommit: true,
        ..Config::default()
    });
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    provider
        .call("store", &[Val::I32(0x1000), Val::I32(4321)])
        .unwrap();
    assert!(provider.i32("share", &[0x1000, 0x1000, R]) >= 0);
    const TWO_GIB: i32 = i32::MIN; // 0x8000_0000 as i32
    for (name, pages, addr) in [("fixed", 32769, TWO_GIB), ("at-end", 32768, -1)] {
        let big = Module::new(&engine, &wat::parse_str(big_guest_wat(pages)).unwrap()).unwrap();
        let mut guest = Guest::new(&engine, &platform, name, &big);
        // The owner grants it through the host API, with its own name.
        platform
            .grant(
                &Owner::Instance("provider".into()),
                "data",
                name,
                Rights::Read,
                None,
            )
            .unwrap();
        let h = guest.i32("open", &[]);
        assert!(h >= 0, "{name}: open = {h}");
        let mapped = guest.i32("map", &[h, addr, R]);
        assert_eq!(mapped, TWO_GIB, "{name}: success, not an errno");
        assert!(!(-4095..=-1).contains(&mapped));
        assert_eq!(guest.i32("load", &[mapped]), 4321, "{name}: mapped there");
        if addr == -1 {
            assert_eq!(guest.i32("size", &[]), 32769, "grown by one Wasm page");
        }
    }
}

#[test]
fn memories_beyond_the_frame_budget_are_refused_by_the_pool_not_capped() {
    // A strict pool of 64 MiB promises every frame a memory may write:
    // a memory of 2 GiB cannot be promised its frames, in any profile.
    let (engine, platform, _) = setup_with(Config {
        frame_budget: 64 << 20,
        ..Config::default()
    });
    let big = Module::new(&engine, &wat::parse_str(big_guest_wat(32768)).unwrap()).unwrap();
    let mut store = waven_runtime::Store::new(
        &engine,
        waven_platform::abi::GuestContext::new(platform.clone(), "big"),
    );
    let mut linker = waven_runtime::Linker::new();
    waven_platform::abi::add_to_linker(
        &mut linker,
        |ctx: &mut waven_platform::abi::GuestContext| ctx,
    )
    .unwrap();
    let error = linker.instantiate(&mut store, &big).unwrap_err();
    assert!(
        error.to_string().contains("frame pool exhausted"),
        "{error}"
    );
    // A memory with no maximum grows until the pool has no frame left to
    // promise: memory.grow returns -1 there, not at a cap.
    let (engine, platform, _) = setup_with(Config {
        frame_budget: 4 << 20,
        ..Config::default()
    });
    let grower = Module::new(
        &engine,
        &wat::parse_str(
            r#"(module (memory 1)
              (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let mut guest = Guest::new(&engine, &platform, "grower", &grower);
    assert_eq!(guest.i32("grow", &[63]), 1, "to the 64 Wasm pages of 4 MiB");
    assert_eq!(guest.i32("grow", &[1]), -1, "no frame left to promise");
    assert_eq!(guest.space.max_wasm_pages(), 65536, "no maximum: 4 GiB");
}

/// `map` records the mapping; the translation of a page is set on its
/// first touch (a 2 MiB stretch at a time), or for the whole region at
/// once with the prefault flag. Both read the same data; bad flags are
/// refused.
#[test]
fn map_fills_translations_on_touch_or_at_once_with_prefault() {
    let (engine, platform, module) = setup();
    let mut provider = Guest::new(&engine, &platform, "provider", &module);
    let mut consumer = Guest::new(&engine, &platform, "consumer", &module);
    provider.i32("grow", &[64]);
    // 4 MiB from 64 KiB on: two stretches of translations once touched.
    let (start, len) = (0x1_0000, 4 << 20);
    provider
        .call("store", &[Val::I32(start + len - 4), Val::I32(77)])
        .unwrap();
    let handle = provider.i32("share", &[start, len, R]);
    assert!(handle >= 0, "share: {handle}");
    assert_eq!(provider.i32("grant_consumer", &[handle, R]), 0);

    let h = consumer.i32("open", &[]);
    let before = consumer.space.table_bytes();
    let lazy = consumer.i32("map", &[h, -1, R]);
    let mapped = consumer.space.table_bytes();
    assert!(mapped - before < 1024, "{before} -> {mapped}");
    assert_eq!(consumer.i32("load", &[lazy + len - 4]), 77);
    let touched = consumer.space.table_bytes();
    assert!(touched - mapped >= 8 << 10, "{mapped} -> {touched}");
    assert_eq!(
        consumer.i32("map", &[h, -1, R | 0x200]),
        errno(Errno::EINVAL),
        "unknown flag"
    );

    // A new consumer of the same name maps it with the prefault flag.
    drop(consumer);
    platform.remove_instance("consumer").unwrap();
    let mut other = Guest::new(&engine, &platform, "consumer", &module);
    assert_eq!(provider.i32("grant_consumer", &[handle, R]), 0);
    let h = other.i32("open", &[]);
    let before = other.space.table_bytes();
    let prefault = waven_platform::abi::MAP_PREFAULT as i32;
    let eager = other.i32("map", &[h, -1, R | prefault]);
    let mapped = other.space.table_bytes();
    // Both stretches (and the one the region starts in) at once.
    assert!(
        mapped - before >= 2 * (touched - before) - 1024,
        "{before} -> {mapped}"
    );
    assert_eq!(other.i32("load", &[eager + len - 4]), 77);
    assert_eq!(other.space.table_bytes(), mapped);
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    common::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

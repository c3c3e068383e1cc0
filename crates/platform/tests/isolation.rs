//! The isolation suite (DESIGN.md section 7): attack modules try every way
//! we can think of to reach a page without the right. Each attack must fail
//! exactly as DESIGN.md section 2 says (a trap that names the address, the
//! access and the reason, or a negated errno from the ABI or WASI), and
//! leave every tenant's memory and every region byte-for-byte unchanged:
//! each test snapshots them through host reads before the attack and
//! compares afterwards.
//!
//! Tenants are instances of one `Platform`, each with the WAT guest below
//! (thin exports around loads, stores, bulk operations, the `waven` ABI and
//! a few WASI calls), plus a C guest (`tests/guests/attacker.c`, compiled
//! with clang for `wasm32-wasi` and committed as `attacker.wasm`;
//! `scripts/check-guest-builds.sh` checks the two agree).
//!
//! The world every attack starts from ([`World::new`]):
//!
//! ```text
//!  provider  pages 0x4000..0x6000 shared as "data" (max RW), granted R to
//!            attacker and RW to victim
//!  victim    "data" mapped RW at 0x8000
//!  attacker  "data" mapped R at 0x8000..0xA000, host region "lent" (R) at 0xA000
//!  host      region "lent", one page, granted R to attacker
//! ```
//!
//! and the attacker's own layout ([`World::layout`]):
//!
//! ```text
//!  0x0000 RW  names, iovecs     0x6000 RW
//!  0x1000 RW                    0x7000 RW
//!  0x2000 R                     0x8000 R  shared "data" (provider's frames)
//!  0x3000 RW                    0x9000 R  shared "data"
//!  0x4000 RW                    0xA000 R  shared "lent" (host's frame)
//!  0x5000 NONE                  0xB000 unmapped
//!                               0xC000 RW, 0xD000 unmapped, 0xE000.. RW
//! ```

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use waven_mmu::{Access, AddressSpace, FaultReason, MapRun, MemoryFault, Rights, PAGE_SIZE};
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::{Owner, Platform};
use waven_platform::TenantLimits;
use waven_runtime::{
    Config, Engine, Error, Func, Instance, Linker, Memory, MemoryBackend, Module, Store, TrapKind,
    Val,
};
use waven_wasi::{Input, Output, WasiCtx, WasiCtxBuilder};

// ---------------------------------------------------------------------------
// Expected values, written out as DESIGN.md states them (not taken from the
// code under test).

const NONE: i32 = 0;
const R: i32 = 1;
const RW: i32 = 3;

const EACCES: i32 = -2;
const EBADF: i32 = -8;
const EBUSY: i32 = -10;
const EINVAL: i32 = -28;
const ENOENT: i32 = -44;
const ENOSYS: i32 = -52;
const EPERM: i32 = -63;

/// WASI's `EFAULT`, as WASI calls return it (positive).
const WASI_EFAULT: i32 = 21;

const PAGE: u64 = PAGE_SIZE as u64;

// ---------------------------------------------------------------------------
// The WAT guest.

const IMPORTS: &str = r#"
  (import "waven" "page_size" (func $page_size (result i32)))
  (import "waven" "protect" (func $protect (param i32 i32 i32) (result i32)))
  (import "waven" "unmap" (func $unmap (param i32 i32) (result i32)))
  (import "waven" "map_anon" (func $map_anon (param i32 i32 i32) (result i32)))
  (import "waven" "discard" (func $discard (param i32 i32) (result i32)))
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "revoke" (func $revoke (param i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (import "waven" "region_size" (func $region_size (param i32) (result i32)))
  (import "waven" "close" (func $close (param i32) (result i32)))
  (import "waven" "wait" (func $wait (param i32 i32 i64) (result i32)))
  (import "waven" "notify" (func $notify (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
"#;

/// Names in the guest's page 0: (name, address). Every tenant runs the same
/// module, so every tenant has them at the same addresses.
const NAMES: &[(&str, i32)] = &[
    ("data", 0x100),
    ("attacker", 0x110),
    ("provider", 0x120),
    ("victim", 0x130),
    ("secret", 0x140),
    ("stranger", 0x150),
    ("reader", 0x160),
    ("lent", 0x170),
    ("mine", 0x180),
    ("input.txt", 0x190),
    // Region names are scoped by their owner: others open them so.
    ("provider/data", 0x1a0),
    ("host/lent", 0x1b0),
    ("provider/secret", 0x1c0),
];

/// Where the guest keeps iovecs and result slots for WASI calls.
const IOVS: i32 = 0x200;
const RESULT: i32 = 0x240;

/// Length of the passive data segment `memory.init` copies from.
const SEGMENT_LEN: usize = 0x400;

/// The byte at `i` of the passive segment.
fn segment_byte(i: usize) -> u8 {
    (i as u8).wrapping_mul(2) // even bytes: never equal to a pattern byte
}

fn name(n: &str) -> (i32, i32) {
    let &(_, at) = NAMES
        .iter()
        .find(|(known, _)| *known == n)
        .unwrap_or_else(|| panic!("no name {n:?} in the guest"));
    (at, n.len() as i32)
}

fn guest_wat() -> String {
    let names: String = NAMES
        .iter()
        .map(|(n, at)| format!("  (data (i32.const {at:#x}) \"{n}\")\n"))
        .collect();
    let segment: String = (0..SEGMENT_LEN)
        .map(|i| format!("\\{:02x}", segment_byte(i)))
        .collect();
    // fd_read, fd_write and path_open rights: FD_READ | FD_SEEK | FD_TELL.
    let rights = (1u64 << 1) | (1 << 2) | (1 << 5);
    format!(
        r#"(module {IMPORTS}
  (memory (export "memory") 2)
{names}
  (data $segment "{segment}")
  (func (export "page_size") (result i32) (call $page_size))
  (func (export "protect") (param i32 i32 i32) (result i32)
    (call $protect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "unmap") (param i32 i32) (result i32) (call $unmap (local.get 0) (local.get 1)))
  (func (export "map_anon") (param i32 i32 i32) (result i32)
    (call $map_anon (local.get 0) (local.get 1) (local.get 2)))
  (func (export "discard") (param i32 i32) (result i32)
    (call $discard (local.get 0) (local.get 1)))
  (func (export "share") (param i32 i32 i32 i32 i32) (result i32)
    (call $share (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "grant") (param i32 i32 i32 i32) (result i32)
    (call $grant (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "revoke") (param i32 i32 i32) (result i32)
    (call $revoke (local.get 0) (local.get 1) (local.get 2)))
  (func (export "open") (param i32 i32) (result i32) (call $open (local.get 0) (local.get 1)))
  (func (export "map") (param i32 i32 i32) (result i32)
    (call $map (local.get 0) (local.get 1) (local.get 2)))
  (func (export "region_size") (param i32) (result i32) (call $region_size (local.get 0)))
  (func (export "close") (param i32) (result i32) (call $close (local.get 0)))
  (func (export "wait") (param i32 i32 i64) (result i32)
    (call $wait (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32) (call $notify (local.get 0) (local.get 1)))

  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load16") (param i32) (result i32) (i32.load16_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store16") (param i32 i32) (i32.store16 (local.get 0) (local.get 1)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32)
    (memory.init $segment (local.get 0) (local.get 1) (local.get 2)))
  (func (export "size") (result i32) (memory.size))
  (func (export "discard_insn") (param i32 i32) (memory.discard (local.get 0) (local.get 1)))

  ;; Writes one byte at the start of each of `pages` pages from `start`
  ;; (the page gets a frame), then counts the nonzero bytes in the rest of
  ;; those pages: a fresh frame must come zeroed.
  (func (export "scan") (param $start i32) (param $pages i32) (result i32)
    (local $p i32) (local $end i32) (local $q i32) (local $dirty i32)
    (local.set $p (local.get $start))
    (local.set $end (i32.add (local.get $start) (i32.mul (local.get $pages) (i32.const 4096))))
    (block $done
      (loop $page
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (i32.store8 (local.get $p) (i32.const 1))
        (local.set $q (i32.add (local.get $p) (i32.const 1)))
        (loop $byte
          (if (i32.load8_u (local.get $q))
            (then (local.set $dirty (i32.add (local.get $dirty) (i32.const 1)))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br_if $byte (i32.lt_u (local.get $q) (i32.add (local.get $p) (i32.const 4096)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (br $page)))
    (local.get $dirty))

  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    (call $fd_read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
    (call $fd_write (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  ;; path_open(dirfd, path_ptr, path_len, fd_out) for reading.
  (func (export "path_open") (param i32 i32 i32 i32) (result i32)
    (call $path_open (local.get 0) (i32.const 0) (local.get 1) (local.get 2) (i32.const 0)
      (i64.const {rights}) (i64.const 0) (i32.const 0) (local.get 3))))"#
    )
}

// ---------------------------------------------------------------------------
// Tenants.

struct Host {
    abi: GuestContext,
    wasi: WasiCtx,
}

fn quiet_wasi() -> WasiCtx {
    WasiCtxBuilder::new()
        .stdout(Output::Discard)
        .stderr(Output::Discard)
        .build()
}

/// One instance of a platform, with the `waven` ABI and WASI linked.
struct Guest {
    name: String,
    store: Store<Host>,
    instance: Instance,
}

impl Guest {
    fn new(engine: &Engine, platform: &Platform, name: &str, module: &Module) -> Guest {
        Guest::with_wasi(engine, platform, name, module, quiet_wasi())
    }

    fn with_wasi(
        engine: &Engine,
        platform: &Platform,
        name: &str,
        module: &Module,
        wasi: WasiCtx,
    ) -> Guest {
        platform
            .add_instance(name, name, [0; 32], TenantLimits::default())
            .unwrap();
        let host = Host {
            abi: GuestContext::new(platform.clone(), name),
            wasi,
        };
        let mut store = Store::new(engine, host);
        let mut linker = Linker::new();
        abi::add_to_linker(&mut linker, |host: &mut Host| &mut host.abi).unwrap();
        waven_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
        let instance = linker.instantiate(&mut store, module).unwrap();
        // Plain memory has no address space to attach.
        if let Some(space) = instance.memory(&store).unwrap().address_space(&store) {
            platform.attach_space(name, space).unwrap();
        }
        Guest {
            name: name.to_string(),
            store,
            instance,
        }
    }

    fn call(&mut self, func: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        let f: Func = self
            .instance
            .get_func(&self.store, func)
            .unwrap_or_else(|| panic!("no export {func}"));
        let mut results = vec![Val::I32(0); f.ty(&self.store).results().len()];
        f.call(&mut self.store, args, &mut results)?;
        Ok(results)
    }

    /// Calls an export of `i32` parameters returning one `i32`.
    fn i32(&mut self, func: &str, args: &[i32]) -> i32 {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        match self.call(func, &args) {
            Ok(results) => match results[..] {
                [Val::I32(v)] => v,
                ref other => panic!("{}: {func} returned {other:?}", self.name),
            },
            Err(error) => panic!("{}: {func}{args:?} failed: {error}", self.name),
        }
    }

    /// Calls an export that must trap, and returns the trap's kind.
    fn trap(&mut self, func: &str, args: &[Val]) -> TrapKind {
        match self.call(func, args) {
            Err(Error::Trap(trap)) => trap.kind,
            other => panic!(
                "{}: {func}{args:?} should trap, but returned {other:?}",
                self.name
            ),
        }
    }

    /// Calls an export that must trap with a memory fault, and returns it.
    fn fault(&mut self, func: &str, args: &[Val]) -> MemoryFault {
        match self.trap(func, args) {
            TrapKind::MemoryFault(fault) => fault,
            other => panic!(
                "{}: {func}{args:?} should fault, but trapped with {other:?}",
                self.name
            ),
        }
    }

    fn load32(&mut self, addr: i32) -> i32 {
        self.i32("load32", &[addr])
    }

    fn store32(&mut self, addr: i32, value: i32) {
        self.call("store32", &[Val::I32(addr), Val::I32(value)])
            .unwrap_or_else(|e| panic!("{}: store32({addr:#x}): {e}", self.name));
    }

    // The ABI, with names from the guest's page 0.

    fn share(&mut self, addr: i32, len: i32, region: &str, max: i32) -> i32 {
        let (p, l) = name(region);
        self.i32("share", &[addr, len, p, l, max])
    }

    fn grant(&mut self, handle: i32, who: &str, rights: i32) -> i32 {
        let (p, l) = name(who);
        self.i32("grant", &[handle, p, l, rights])
    }

    fn revoke(&mut self, handle: i32, who: &str) -> i32 {
        let (p, l) = name(who);
        self.i32("revoke", &[handle, p, l])
    }

    fn open(&mut self, region: &str) -> i32 {
        let (p, l) = name(region);
        self.i32("open", &[p, l])
    }

    fn map(&mut self, handle: i32, addr: i32, rights: i32) -> i32 {
        self.i32("map", &[handle, addr, rights])
    }

    fn protect(&mut self, addr: i32, len: i32, rights: i32) -> i32 {
        self.i32("protect", &[addr, len, rights])
    }

    fn unmap(&mut self, addr: i32, len: i32) -> i32 {
        self.i32("unmap", &[addr, len])
    }

    // Host access, with the guest's rights.

    fn memory(&self) -> Memory {
        self.instance.memory(&self.store).unwrap()
    }

    fn space(&self) -> AddressSpace {
        self.memory().address_space(&self.store).unwrap()
    }

    fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.memory()
            .read(&self.store, addr, &mut buf)
            .unwrap_or_else(|e| panic!("{}: host read at {addr:#x}: {e}", self.name));
        buf
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        let memory = self.memory();
        memory
            .write(&mut self.store, addr, data)
            .unwrap_or_else(|e| panic!("{}: host write at {addr:#x}: {e}", self.name));
    }

    fn size(&self) -> u64 {
        self.memory().size_bytes(&self.store)
    }
}

fn engine_with(config: Config) -> Engine {
    common::engine(config)
}

fn default_engine() -> Engine {
    engine_with(Config {
        frame_budget: 64 << 20,
        ..Config::default()
    })
}

fn module(engine: &Engine, wat: &str) -> Module {
    Module::new(engine, &wat::parse_str(wat).unwrap()).unwrap()
}

/// The byte a tenant's setup writes at `addr` (always odd, so never zero
/// and never one of the even bytes the attacks try to write).
fn pattern(tag: u8, addr: u64) -> u8 {
    ((addr as u8) ^ ((addr >> 8) as u8).wrapping_mul(31) ^ tag.wrapping_mul(0x5b)) | 1
}

fn patterned(tag: u8, start: u64, len: usize) -> Vec<u8> {
    (start..start + len as u64)
        .map(|a| pattern(tag, a))
        .collect()
}

fn fault(addr: u64, access: Access, reason: FaultReason) -> MemoryFault {
    MemoryFault {
        addr,
        access,
        reason,
    }
}

fn write_denied(addr: u64) -> MemoryFault {
    fault(addr, Access::Write, FaultReason::Denied)
}

fn read_denied(addr: u64) -> MemoryFault {
    fault(addr, Access::Read, FaultReason::Denied)
}

fn write_unmapped(addr: u64) -> MemoryFault {
    fault(addr, Access::Write, FaultReason::Unmapped)
}

fn read_unmapped(addr: u64) -> MemoryFault {
    fault(addr, Access::Read, FaultReason::Unmapped)
}

/// The arguments of a `storeN` export writing `0xee` bytes at `addr`.
fn store_args(func: &str, addr: u64) -> Vec<Val> {
    let value = if func == "store64" {
        Val::I64(0xeeee_eeee_eeee_eeee_u64 as i64)
    } else {
        Val::I32(0xeeee_eeee_u32 as i32)
    };
    vec![Val::I32(addr as i32), value]
}

fn args(values: &[i64]) -> Vec<Val> {
    values.iter().map(|&v| Val::I32(v as i32)).collect()
}

// ---------------------------------------------------------------------------
// Snapshots: every page of every tenant (through host reads with the
// tenant's rights, so pages it may not read are recorded as such, together
// with the memory map) and every region's bytes (host reads, no rights).

#[derive(PartialEq)]
struct TenantSnapshot {
    name: String,
    map: Vec<MapRun>,
    /// One entry per page: its bytes, or `None` if the tenant may not read
    /// it.
    pages: Vec<Option<Vec<u8>>>,
}

#[derive(PartialEq)]
struct Snapshot {
    tenants: Vec<TenantSnapshot>,
    regions: Vec<(String, Vec<u8>)>,
}

fn snapshot(platform: &Platform, guests: &[&Guest]) -> Snapshot {
    let tenants = guests
        .iter()
        .map(|guest| {
            let space = guest.space();
            let pages = (0..space.size_bytes() / PAGE)
                .map(|page| {
                    let mut buf = vec![0; PAGE_SIZE];
                    space.read_bytes(page * PAGE, &mut buf).ok().map(|()| buf)
                })
                .collect();
            TenantSnapshot {
                name: guest.name.clone(),
                map: space.memory_map(),
                pages,
            }
        })
        .collect();
    let regions = platform
        .regions()
        .into_iter()
        .map(|report| {
            let region = platform.region(&report.path()).unwrap();
            let mut bytes = vec![0; report.size as usize];
            region.read_bytes(0, &mut bytes).unwrap();
            (report.path(), bytes)
        })
        .collect();
    Snapshot { tenants, regions }
}

/// Panics with the first difference between two snapshots.
fn assert_same(before: &Snapshot, after: &Snapshot) {
    if before == after {
        return;
    }
    assert_eq!(before.tenants.len(), after.tenants.len());
    for (b, a) in before.tenants.iter().zip(&after.tenants) {
        assert_eq!(b.name, a.name);
        if b.map != a.map {
            let show = |m: &[MapRun]| m.iter().map(|r| format!("\n  {r}")).collect::<String>();
            panic!(
                "{}: memory map changed\nbefore:{}\nafter:{}",
                b.name,
                show(&b.map),
                show(&a.map)
            );
        }
        assert_eq!(
            b.pages.len(),
            a.pages.len(),
            "{}: memory size changed",
            b.name
        );
        for (page, (pb, pa)) in b.pages.iter().zip(&a.pages).enumerate() {
            match (pb, pa) {
                (Some(pb), Some(pa)) if pb != pa => {
                    let i = pb.iter().zip(pa).position(|(x, y)| x != y).unwrap();
                    panic!(
                        "{}: byte at {:#x} changed from {:#04x} to {:#04x}",
                        b.name,
                        page * PAGE_SIZE + i,
                        pb[i],
                        pa[i]
                    );
                }
                (Some(_), None) | (None, Some(_)) => panic!(
                    "{}: readability of page {:#x} changed",
                    b.name,
                    page * PAGE_SIZE
                ),
                _ => {}
            }
        }
    }
    let names = |s: &Snapshot| s.regions.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(before), names(after), "the set of regions changed");
    for ((name, b), (_, a)) in before.regions.iter().zip(&after.regions) {
        if b != a {
            let i = b.iter().zip(a).position(|(x, y)| x != y).unwrap();
            panic!(
                "region {name}: byte {i:#x} changed from {:#04x} to {:#04x}",
                b[i], a[i]
            );
        }
    }
    unreachable!("snapshots differ but no difference was found");
}

// ---------------------------------------------------------------------------
// The world the attacks start from.

const PROVIDER_TAG: u8 = 1;
const ATTACKER_TAG: u8 = 2;
const VICTIM_TAG: u8 = 3;
const LENT_TAG: u8 = 4;

/// Where the provider's shared pages are in its own memory.
const SHARED_AT: i32 = 0x4000;
/// Where attacker and victim map "data".
const MAPPED_AT: i32 = 0x8000;
/// Where the attacker maps the host's "lent".
const LENT_AT: i32 = 0xA000;

struct World {
    engine: Engine,
    platform: Platform,
    module: Module,
    provider: Guest,
    attacker: Guest,
    victim: Guest,
    /// The provider's handle of "data".
    data: i32,
    /// The attacker's handle of "data".
    attacker_data: i32,
}

impl World {
    fn new() -> World {
        World::with_attacker_wasi(quiet_wasi())
    }

    fn with_attacker_wasi(wasi: WasiCtx) -> World {
        let engine = default_engine();
        let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
        let module = module(&engine, &guest_wat());
        let mut provider = Guest::new(&engine, &platform, "provider", &module);
        let mut attacker = Guest::with_wasi(&engine, &platform, "attacker", &module, wasi);
        let mut victim = Guest::new(&engine, &platform, "victim", &module);
        for (guest, tag) in [
            (&mut provider, PROVIDER_TAG),
            (&mut attacker, ATTACKER_TAG),
            (&mut victim, VICTIM_TAG),
        ] {
            let size = guest.size();
            guest.write(0x1000, &patterned(tag, 0x1000, (size - 0x1000) as usize));
        }
        let data = provider.share(SHARED_AT, 0x2000, "data", RW);
        assert!(data >= 0, "share: {data}");
        assert_eq!(provider.grant(data, "attacker", R), 0);
        assert_eq!(provider.grant(data, "victim", RW), 0);

        let attacker_data = attacker.open("provider/data");
        assert!(attacker_data >= 0, "open: {attacker_data}");
        assert_eq!(attacker.map(attacker_data, MAPPED_AT, R), MAPPED_AT);
        let h = victim.open("provider/data");
        assert_eq!(victim.map(h, MAPPED_AT, RW), MAPPED_AT);

        let lent = platform.create_region("lent", PAGE, Rights::Read).unwrap();
        lent.write_bytes(0, &patterned(LENT_TAG, 0, PAGE_SIZE))
            .unwrap();
        platform
            .grant(&Owner::Host, "lent", "attacker", Rights::Read, None)
            .unwrap();
        let h = attacker.open("host/lent");
        assert_eq!(attacker.map(h, LENT_AT, R), LENT_AT);

        World {
            engine,
            platform,
            module,
            provider,
            attacker,
            victim,
            data,
            attacker_data,
        }
    }

    /// The attacker's own pages with every kind of rights (see the module
    /// documentation).
    fn layout(&mut self) {
        let a = &mut self.attacker;
        assert_eq!(a.protect(0x2000, 0x1000, R), 0);
        assert_eq!(a.protect(0x5000, 0x1000, NONE), 0);
        assert_eq!(a.unmap(0xB000, 0x1000), 0);
        assert_eq!(a.unmap(0xD000, 0x1000), 0);
    }

    fn snapshot(&self) -> Snapshot {
        snapshot(
            &self.platform,
            &[&self.provider, &self.attacker, &self.victim],
        )
    }

    /// Snapshot of everyone but the attacker.
    fn others(&self) -> Snapshot {
        snapshot(&self.platform, &[&self.provider, &self.victim])
    }

    fn assert_unchanged(&self, before: &Snapshot) {
        assert_same(before, &self.snapshot());
    }

    fn assert_others_unchanged(&self, before: &Snapshot) {
        assert_same(before, &self.others());
    }

    fn provider_pattern(addr_in_region: u64) -> i32 {
        let at = SHARED_AT as u64 + addr_in_region;
        i32::from_le_bytes(patterned(PROVIDER_TAG, at, 4).try_into().unwrap())
    }
}

// ---------------------------------------------------------------------------
// 1-5: loads, stores and bulk operations on pages without the right.

#[test]
fn store_to_a_read_only_page_traps_write_denied_and_writes_nothing() {
    let mut w = World::new();
    w.layout();
    let before = w.snapshot();
    // The attacker's own R page, every width, at its start, middle and end.
    for (func, addr) in [
        ("store8", 0x2000),
        ("store8", 0x2fff),
        ("store16", 0x2ffe),
        ("store32", 0x2010),
        ("store64", 0x2ff8),
    ] {
        assert_eq!(
            w.attacker.fault(func, &store_args(func, addr)),
            write_denied(addr),
            "{func} at {addr:#x}"
        );
    }
    // The provider's frames, mapped R, and the host's lent frame.
    for (func, addr) in [
        ("store32", 0x8004),
        ("store8", 0x9fff),
        ("store64", 0x9000),
        ("store16", 0xA000),
        ("store64", 0xAFF8),
    ] {
        assert_eq!(
            w.attacker.fault(func, &store_args(func, addr)),
            write_denied(addr),
            "{func} at {addr:#x}"
        );
    }
    w.assert_unchanged(&before);
    assert_eq!(
        w.attacker.read(0x2000, PAGE_SIZE),
        patterned(ATTACKER_TAG, 0x2000, PAGE_SIZE)
    );
    // The victim's RW mapping of the same frames still works.
    assert_eq!(w.victim.load32(0x8004), World::provider_pattern(4));
}

#[test]
fn load_from_a_none_page_traps_read_denied() {
    let mut w = World::new();
    w.layout();
    // NONE on a page of the shared mapping too (lowering is allowed).
    assert_eq!(w.attacker.protect(0x9000, 0x1000, NONE), 0);
    let before = w.snapshot();
    for (func, addr) in [
        ("load8", 0x5000),
        ("load16", 0x5ffe),
        ("load32", 0x5800),
        ("load64", 0x5ff8),
        ("load32", 0x9000),
        ("load8", 0x9fff),
    ] {
        assert_eq!(
            w.attacker.fault(func, &args(&[addr])),
            read_denied(addr as u64),
            "{func} at {addr:#x}"
        );
    }
    // Writing a NONE page is denied as a write.
    assert_eq!(
        w.attacker.fault("store32", &store_args("store32", 0x5000)),
        write_denied(0x5000)
    );
    w.assert_unchanged(&before);
    // The first page of the mapping stays readable, the provider's data
    // unchanged.
    assert_eq!(w.attacker.load32(0x8000), World::provider_pattern(0));
    // Restoring the rights shows the contents were kept.
    assert_eq!(w.attacker.protect(0x5000, 0x1000, RW), 0);
    assert_eq!(
        w.attacker.read(0x5000, PAGE_SIZE),
        patterned(ATTACKER_TAG, 0x5000, PAGE_SIZE)
    );
    assert_eq!(w.attacker.protect(0x9000, 0x1000, R), 0);
    assert_eq!(w.attacker.load32(0x9000), World::provider_pattern(0x1000));
}

#[test]
fn access_to_an_unmapped_page_traps_unmapped() {
    let mut w = World::new();
    w.layout();
    // Unmapping the shared mapping too: the provider's frames stay.
    assert_eq!(w.attacker.unmap(MAPPED_AT, 0x2000), 0);
    let before = w.snapshot();
    for (func, addr) in [
        ("load8", 0xB000),
        ("load32", 0xBFFC),
        ("load64", 0xD008),
        ("load32", 0x8000),
        ("load16", 0x9ffe),
    ] {
        assert_eq!(
            w.attacker.fault(func, &args(&[addr])),
            read_unmapped(addr as u64),
            "{func} at {addr:#x}"
        );
    }
    for (func, addr) in [
        ("store8", 0xB000),
        ("store32", 0xD800),
        ("store64", 0x8000),
        ("store16", 0x9ffe),
    ] {
        assert_eq!(
            w.attacker.fault(func, &store_args(func, addr)),
            write_unmapped(addr),
            "{func} at {addr:#x}"
        );
    }
    // At and beyond memory.size: the spec's out of bounds, not a fault.
    let size = w.attacker.size() as i64;
    assert_eq!(size, 0x20000);
    assert_eq!(
        w.attacker.trap("load32", &args(&[size])),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        w.attacker.trap("load32", &args(&[size - 2])),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        w.attacker
            .trap("store64", &store_args("store64", size as u64 - 4)),
        TrapKind::MemoryOutOfBounds
    );
    w.assert_unchanged(&before);
    assert_eq!(w.victim.load32(0x8000), World::provider_pattern(0));
    // Mapping fresh pages there shows zeros, never the old contents.
    assert_eq!(w.attacker.i32("map_anon", &[0xB000, 0x1000, RW]), 0);
    assert_eq!(w.attacker.read(0xB000, PAGE_SIZE), vec![0; PAGE_SIZE]);
}

#[test]
fn store_straddling_an_rw_and_a_forbidden_page_writes_neither() {
    let mut w = World::new();
    w.layout();
    assert_eq!(w.attacker.protect(0x6000, 0x1000, NONE), 0);
    let before = w.snapshot();
    // RW then R: the fault names the first byte on the R page.
    for (func, addr) in [
        ("store64", 0x1ffc),
        ("store64", 0x1fff),
        ("store32", 0x1ffe),
        ("store16", 0x1fff),
    ] {
        assert_eq!(
            w.attacker.fault(func, &store_args(func, addr)),
            write_denied(0x2000),
            "{func} at {addr:#x}"
        );
    }
    // R then RW: the access starts on the refusing page.
    assert_eq!(
        w.attacker.fault("store64", &store_args("store64", 0x2ffc)),
        write_denied(0x2ffc)
    );
    // RW then NONE, RW then unmapped.
    assert_eq!(
        w.attacker.fault("store64", &store_args("store64", 0x4ffc)),
        write_denied(0x5000)
    );
    assert_eq!(
        w.attacker.fault("store32", &store_args("store32", 0xcffe)),
        write_unmapped(0xD000)
    );
    // RW then the provider's frame, mapped R.
    assert_eq!(
        w.attacker.fault("store64", &store_args("store64", 0x7ffc)),
        write_denied(0x8000)
    );
    // Loads: RW then NONE, NONE then RW, RW then unmapped.
    assert_eq!(
        w.attacker.fault("load64", &args(&[0x4ffc])),
        read_denied(0x5000)
    );
    assert_eq!(
        w.attacker.fault("load64", &args(&[0x6ffc])),
        read_denied(0x6ffc)
    );
    assert_eq!(
        w.attacker.fault("load32", &args(&[0xcffe])),
        read_unmapped(0xD000)
    );
    w.assert_unchanged(&before);
    // A straddle where both pages allow the access works.
    let mut expected = patterned(ATTACKER_TAG, 0x7ffc, 4);
    expected.extend(patterned(PROVIDER_TAG, SHARED_AT as u64, 4));
    let expected = i64::from_le_bytes(expected.try_into().unwrap());
    assert_eq!(
        w.attacker.call("load64", &args(&[0x7ffc])).unwrap(),
        [Val::I64(expected)]
    );
}

#[test]
fn bulk_operations_crossing_into_a_forbidden_page_write_nothing() {
    let mut w = World::new();
    w.layout();
    let before = w.snapshot();
    let a = &mut w.attacker;
    // (export, args, fault): every range starts on a page the attacker may
    // write, so a partial operation would be visible there.
    let cases: &[(&str, [i64; 3], MemoryFault)] = &[
        // Into its own R page.
        ("fill", [0x1f00, 0xaa, 0x200], write_denied(0x2000)),
        ("fill", [0x1000, 0xaa, 0x1e000], write_denied(0x2000)),
        ("copy", [0x1f00, 0x3000, 0x200], write_denied(0x2000)),
        ("init", [0x1f00, 0, 0x200], write_denied(0x2000)),
        // Into its NONE page.
        ("fill", [0x4f00, 0xaa, 0x200], write_denied(0x5000)),
        ("copy", [0x4f00, 0x3000, 0x200], write_denied(0x5000)),
        ("init", [0x4f00, 0, 0x200], write_denied(0x5000)),
        // Into an unmapped page.
        ("fill", [0xcf00, 0xaa, 0x200], write_unmapped(0xD000)),
        ("copy", [0xcf00, 0x3000, 0x200], write_unmapped(0xD000)),
        ("init", [0xcf00, 0, 0x200], write_unmapped(0xD000)),
        // Into the provider's frames, mapped R, and the host's.
        ("fill", [0x7f00, 0, 0x200], write_denied(0x8000)),
        ("copy", [0x7f00, 0x3000, 0x200], write_denied(0x8000)),
        ("init", [0x7f00, 0, 0x200], write_denied(0x8000)),
        ("copy", [0x8000, 0x3000, 0x10], write_denied(0x8000)),
        ("fill", [0xA000, 0, 0x10], write_denied(0xA000)),
        // Sources crossing into a NONE or an unmapped page: the
        // destination (RW) is not written.
        ("copy", [0x6000, 0x4f00, 0x200], read_denied(0x5000)),
        ("copy", [0x6000, 0xcf00, 0x200], read_unmapped(0xD000)),
        ("copy", [0x6000, 0xaf00, 0x200], read_unmapped(0xB000)),
        // Overlapping copy inside the attacker's memory that reaches R.
        ("copy", [0x1800, 0x1000, 0x1000], write_denied(0x2000)),
    ];
    for (func, values, expected) in cases {
        assert_eq!(a.fault(func, &args(values)), *expected, "{func}{values:x?}");
    }
    // Ranges reaching memory.size: out of bounds, nothing written either.
    for (func, values) in [
        ("fill", [0x1f000, 0xaa, 0x2000]),
        ("copy", [0x1ff00, 0x3000, 0x200]),
        ("copy", [0x3000, 0x1ff00, 0x200]),
        ("init", [0x1ff00, 0, 0x200]),
    ] {
        assert_eq!(
            a.trap(func, &args(&values)),
            TrapKind::MemoryOutOfBounds,
            "{func}{values:x?}"
        );
    }
    w.assert_unchanged(&before);
    // The same operations on allowed pages do work.
    let a = &mut w.attacker;
    a.call("fill", &args(&[0x6000, 0xaa, 0x10])).unwrap();
    a.call("init", &args(&[0x6010, 4, 0x10])).unwrap();
    a.call("copy", &args(&[0x6020, 0x8000, 0x10])).unwrap();
    let mut expected = vec![0xaa; 0x10];
    expected.extend((4..0x14).map(segment_byte));
    expected.extend(patterned(PROVIDER_TAG, SHARED_AT as u64, 0x10));
    assert_eq!(a.read(0x6000, 0x30), expected);
}

// ---------------------------------------------------------------------------
// 6-9: the ABI's checks of grants and rights.

#[test]
fn reading_a_region_after_revoke_faults_unmapped() {
    let mut w = World::new();
    assert_eq!(w.attacker.load32(0x8000), World::provider_pattern(0));
    let before = w.others();
    assert_eq!(w.provider.revoke(w.data, "attacker"), 0);
    w.assert_others_unchanged(&before);
    // The whole mapping is gone.
    for page in [0x8000, 0x9000] {
        assert_eq!(w.attacker.space().page_info(page), None, "{page:#x}");
    }
    let before = w.snapshot();
    for addr in [0x8000, 0x8ffc, 0x9000, 0x9ffc] {
        assert_eq!(
            w.attacker.fault("load32", &args(&[addr])),
            read_unmapped(addr as u64)
        );
    }
    assert_eq!(
        w.attacker.fault("load64", &args(&[0x7ffc])),
        read_unmapped(0x8000)
    );
    assert_eq!(
        w.attacker.fault("copy", &args(&[0x1000, 0x8000, 0x10])),
        read_unmapped(0x8000)
    );
    // Neither the old handle nor a new open gets it back.
    let h = w.attacker_data;
    assert_eq!(w.attacker.map(h, MAPPED_AT, R), EACCES);
    assert_eq!(w.attacker.map(h, 0xC000, R), EACCES);
    assert_eq!(w.attacker.open("provider/data"), EACCES);
    w.assert_unchanged(&before);
    // The victim keeps its mapping; revoking twice finds no grant.
    assert_eq!(w.victim.load32(0x8000), World::provider_pattern(0));
    assert_eq!(w.provider.revoke(w.data, "attacker"), ENOENT);
}

#[test]
fn mapping_a_region_without_a_grant_or_above_it_is_refused() {
    let mut w = World::new();
    let mut stranger = Guest::new(&w.engine, &w.platform, "stranger", &w.module);
    let mut reader = Guest::new(&w.engine, &w.platform, "reader", &w.module);
    assert_eq!(w.provider.grant(w.data, "reader", R), 0);
    let before = w.snapshot();
    // No grant: open refuses, a forged handle is no handle.
    assert_eq!(stranger.open("provider/data"), EACCES);
    assert_eq!(stranger.open("host/lent"), EACCES);
    assert_eq!(stranger.open("provider/secret"), ENOENT);
    for handle in [0, 1, 7, -1] {
        assert_eq!(stranger.map(handle, MAPPED_AT, R), EBADF);
    }
    assert_eq!(
        w.platform
            .map("stranger", "provider/data", MAPPED_AT as u64, Rights::Read),
        Err(waven_mmu::Errno::EACCES)
    );
    assert_eq!(
        stranger.space().page_info(MAPPED_AT as u64).unwrap().kind,
        waven_mmu::PageKind::Zero
    );
    // A grant of R: RW is refused, at a fixed address or anywhere.
    let h = reader.open("provider/data");
    assert!(h >= 0);
    assert_eq!(reader.map(h, MAPPED_AT, RW), EACCES);
    assert_eq!(reader.map(h, MAPPED_AT, 2), EINVAL);
    assert_eq!(reader.map(h, MAPPED_AT + 1, R), EINVAL);
    // The attacker, mapped R already, asks again with RW.
    assert_eq!(w.attacker.map(w.attacker_data, 0xC000, RW), EACCES);
    w.assert_unchanged(&before);
    // What the grant allows works, once.
    assert_eq!(reader.map(h, MAPPED_AT, R), MAPPED_AT);
    assert_eq!(reader.load32(MAPPED_AT), World::provider_pattern(0));
    assert_eq!(reader.map(h, 0xC000, R), EBUSY);
    assert_eq!(
        reader.fault("store32", &args(&[MAPPED_AT as i64, 0])),
        write_denied(MAPPED_AT as u64)
    );
    w.assert_unchanged(&before);
}

#[test]
fn a_refused_map_anywhere_does_not_grow_memory() {
    let mut w = World::new();
    let mut reader = Guest::new(&w.engine, &w.platform, "reader", &w.module);
    assert_eq!(w.provider.grant(w.data, "reader", R), 0);
    let h = reader.open("provider/data");
    let size = reader.size();
    assert_eq!(reader.map(h, -1, RW), EACCES);
    assert_eq!(reader.size(), size, "a map refused with EACCES grew memory");
    // Already mapped: EBUSY, and no growth either.
    let size = w.attacker.size();
    assert_eq!(w.attacker.map(w.attacker_data, -1, R), EBUSY);
    assert_eq!(
        w.attacker.size(),
        size,
        "a map refused with EBUSY grew memory"
    );
}

#[test]
fn granting_above_max_rights_or_by_a_non_owner_is_refused() {
    let mut w = World::new();
    let _stranger = Guest::new(&w.engine, &w.platform, "stranger", &w.module);
    let secret = w.provider.share(0x6000, 0x1000, "secret", R);
    assert!(secret >= 0);
    let lent = w.attacker.open("host/lent");
    assert!(lent >= 0);
    let grants = |w: &World| {
        w.platform
            .regions()
            .into_iter()
            .map(|r| (r.name, r.grants))
            .collect::<Vec<_>>()
    };
    let grants_before = grants(&w);
    let before = w.snapshot();
    // Above the region's maximum, by its owner.
    assert_eq!(w.provider.grant(secret, "attacker", RW), EACCES);
    assert_eq!(w.provider.grant(secret, "victim", RW), EACCES);
    assert_eq!(w.provider.grant(secret, "victim", 2), EINVAL);
    // By a grantee, to someone else, to itself with more, or revoking the
    // victim; and on the host's region.
    let h = w.attacker_data;
    assert_eq!(w.attacker.grant(h, "stranger", R), EPERM);
    assert_eq!(w.attacker.grant(h, "attacker", RW), EPERM);
    assert_eq!(w.attacker.grant(h, "attacker", R), EPERM);
    assert_eq!(w.attacker.revoke(h, "victim"), EPERM);
    assert_eq!(w.attacker.revoke(h, "attacker"), EPERM);
    assert_eq!(w.attacker.grant(lent, "stranger", R), EPERM);
    assert_eq!(w.attacker.revoke(lent, "attacker"), EPERM);
    // Laundering: sharing the mapped pages again as its own region, or
    // naming a region in another's namespace.
    assert_eq!(w.attacker.share(MAPPED_AT, 0x1000, "mine", RW), EBUSY);
    assert_eq!(w.attacker.share(LENT_AT, 0x1000, "mine", RW), EBUSY);
    assert_eq!(
        w.attacker.share(0x1000, 0x1000, "provider/data", RW),
        EINVAL
    );
    assert!(w.platform.region("attacker/mine").is_none());
    assert_eq!(grants(&w), grants_before);
    w.assert_unchanged(&before);
    // The victim's mapping survived the attempted revoke.
    w.victim.store32(0x8000, 77);
    assert_eq!(w.provider.load32(SHARED_AT), 77);
    // What the owner may do still works.
    assert_eq!(w.provider.grant(secret, "attacker", R), 0);
}

#[test]
fn protect_cannot_raise_a_shared_page_above_the_mapping() {
    let mut w = World::new();
    assert_eq!(w.attacker.protect(0x7000, 0x1000, R), 0);
    let before = w.snapshot();
    assert_eq!(w.attacker.protect(MAPPED_AT, 0x2000, RW), EACCES);
    assert_eq!(w.attacker.protect(0x9000, 0x1000, RW), EACCES);
    assert_eq!(w.attacker.protect(LENT_AT, 0x1000, RW), EACCES);
    // A range with a private page first: refused as a whole, the private
    // page keeps R.
    assert_eq!(w.attacker.protect(0x7000, 0x2000, RW), EACCES);
    assert_eq!(
        w.attacker.space().page_info(0x7000).unwrap().rights,
        Rights::Read
    );
    // Lowering and raising back to the mapping's rights is fine; above is
    // not.
    assert_eq!(w.attacker.protect(MAPPED_AT, 0x1000, NONE), 0);
    assert_eq!(w.attacker.protect(MAPPED_AT, 0x1000, R), 0);
    assert_eq!(w.attacker.protect(MAPPED_AT, 0x1000, RW), EACCES);
    w.assert_unchanged(&before);
    for addr in [0x7000, 0x8000, 0x9ffc, 0xA000] {
        assert_eq!(
            w.attacker.fault("store32", &store_args("store32", addr)),
            write_denied(addr)
        );
    }
    w.assert_unchanged(&before);
}

#[test]
fn lowering_a_grant_lowers_the_live_mapping() {
    let mut w = World::new();
    w.victim.store32(0x8000, 5);
    assert_eq!(w.provider.grant(w.data, "victim", R), 0);
    let before = w.snapshot();
    assert_eq!(
        w.victim.fault("store32", &store_args("store32", 0x8000)),
        write_denied(0x8000)
    );
    assert_eq!(w.victim.protect(MAPPED_AT, 0x2000, RW), EACCES);
    w.assert_unchanged(&before);
    assert_eq!(w.victim.load32(0x8000), 5);
}

#[test]
fn discarding_shared_pages_is_refused() {
    let mut w = World::new();
    let before = w.snapshot();
    // The ABI's discard: EPERM on shared pages, also in a range that starts
    // with a private page (which is not zeroed: no partial effect).
    assert_eq!(w.attacker.i32("discard", &[MAPPED_AT, 0x2000]), EPERM);
    assert_eq!(w.attacker.i32("discard", &[0x7000, 0x2000]), EPERM);
    assert_eq!(w.attacker.i32("discard", &[LENT_AT, 0x1000]), EPERM);
    assert_eq!(w.victim.i32("discard", &[MAPPED_AT, 0x1000]), EPERM);
    // The memory.discard instruction has the same effect: it traps.
    for (start, len) in [(MAPPED_AT, 0x1000), (0x7000, 0x2000), (LENT_AT, 0x1000)] {
        let kind = w.attacker.trap("discard_insn", &args(&[start as i64, len]));
        assert!(
            !matches!(kind, TrapKind::OutOfFuel | TrapKind::Exit(_)),
            "{kind:?}"
        );
    }
    let kind = w
        .victim
        .trap("discard_insn", &args(&[MAPPED_AT as i64, 0x1000]));
    assert!(!matches!(kind, TrapKind::OutOfFuel), "{kind:?}");
    w.assert_unchanged(&before);
}

#[test]
fn replacing_a_shared_mapping_with_map_anon_leaves_the_frames_alone() {
    let mut w = World::new();
    let before = w.others();
    // map_anon replaces what was there: fresh private zero pages, writable,
    // that are not the provider's frames.
    assert_eq!(w.attacker.i32("map_anon", &[MAPPED_AT, 0x2000, RW]), 0);
    assert_eq!(w.attacker.load32(MAPPED_AT), 0);
    w.attacker
        .call("fill", &args(&[MAPPED_AT as i64, 0xaa, 0x2000]))
        .unwrap();
    w.attacker.store32(MAPPED_AT, 1);
    w.assert_others_unchanged(&before);
    // Mapping the region again shows the provider's bytes, read-only.
    assert_eq!(
        w.attacker.map(w.attacker_data, MAPPED_AT, R),
        MAPPED_AT,
        "the region can be mapped again"
    );
    assert_eq!(w.attacker.load32(MAPPED_AT), World::provider_pattern(0));
    assert_eq!(
        w.attacker.fault("store32", &store_args("store32", 0x8000)),
        write_denied(0x8000)
    );
    w.assert_others_unchanged(&before);
}

#[test]
fn abi_calls_cannot_read_names_or_wait_on_pages_the_guest_may_not_read() {
    let mut w = World::new();
    w.layout();
    let h = w.attacker_data;
    let regions = w.platform.regions();
    let before = w.snapshot();
    const EFAULT: i32 = -21;
    // Names in a NONE page, an unmapped page, straddling into NONE, and
    // beyond memory.size.
    for (ptr, len) in [(0x5000, 4), (0xB000, 4), (0x4ffe, 4), (0x1fffe, 4)] {
        assert_eq!(w.attacker.i32("open", &[ptr, len]), EFAULT, "{ptr:#x}");
        assert_eq!(
            w.attacker.i32("share", &[0x1000, 0x1000, ptr, len, RW]),
            EFAULT,
            "{ptr:#x}"
        );
        assert_eq!(w.attacker.i32("grant", &[h, ptr, len, R]), EFAULT);
        assert_eq!(w.attacker.i32("revoke", &[h, ptr, len]), EFAULT);
    }
    // Futex calls on pages it may not read.
    for addr in [0x5000, 0xB000, 0xD004] {
        assert_eq!(
            w.attacker
                .call("wait", &[Val::I32(addr), Val::I32(0), Val::I64(0)])
                .unwrap(),
            [Val::I32(EFAULT)],
            "wait at {addr:#x}"
        );
        assert_eq!(w.attacker.i32("notify", &[addr, 1]), EFAULT, "{addr:#x}");
    }
    assert_eq!(w.platform.regions(), regions);
    w.assert_unchanged(&before);
}

// ---------------------------------------------------------------------------
// 10: host calls asked to write where the guest may only read.

/// Writes iovecs `(addr, len)` at [`IOVS`] in `guest`'s memory.
fn set_iovecs(guest: &mut Guest, iovs: &[(u32, u32)]) {
    let bytes: Vec<u8> = iovs
        .iter()
        .flat_map(|&(addr, len)| addr.to_le_bytes().into_iter().chain(len.to_le_bytes()))
        .collect();
    guest.write(IOVS as u64, &bytes);
}

fn result_slot(guest: &Guest) -> u32 {
    u32::from_le_bytes(guest.read(RESULT as u64, 4).try_into().unwrap())
}

#[test]
fn wasi_fd_read_from_stdin_into_a_read_only_page_returns_efault() {
    let input = b"confidential stdin bytes".to_vec();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let wasi = WasiCtxBuilder::new()
        .stdin(Input::Bytes(input.clone()))
        .stdout(Output::Capture(stdout.clone()))
        .stderr(Output::Discard)
        .build();
    let mut w = World::with_attacker_wasi(wasi);
    w.layout();
    w.attacker
        .write(RESULT as u64, &0xdead_beef_u32.to_le_bytes());
    let before = w.snapshot();
    // (iovecs, nread pointer): each names a buffer the guest may not write.
    let cases: &[(&[(u32, u32)], i32)] = &[
        (&[(0x2000, 16)], RESULT),             // its own page, made R by protect
        (&[(0x1000, 8), (0x2000, 8)], RESULT), // a good buffer, then an R one
        (&[(0x1ff8, 16)], RESULT),             // straddling RW and R
        (&[(0x8000, 16)], RESULT),             // the provider's frames, mapped R
        (&[(0xA000, 16)], RESULT),             // the host's lent frame
        (&[(0x5000, 16)], RESULT),             // NONE
        (&[(0xB000, 16)], RESULT),             // unmapped
        (&[(0x3000, 16)], 0x2000),             // good buffer, nread in an R page
        (&[(0x3000, 16)], 0x8000),             // nread in the provider's frames
    ];
    for &(iovs, nread) in cases {
        set_iovecs(&mut w.attacker, iovs);
        let iovs_len = iovs.len() as i32;
        assert_eq!(
            w.attacker.i32("fd_read", &[0, IOVS, iovs_len, nread]),
            WASI_EFAULT,
            "fd_read into {iovs:x?}, nread at {nread:#x}"
        );
        set_iovecs(&mut w.attacker, &[(0, 0), (0, 0)]);
        assert_eq!(result_slot(&w.attacker), 0xdead_beef);
        w.assert_unchanged(&before);
    }
    // The host may not read for the guest what the guest may not read.
    for buf in [0x5000, 0xB000] {
        set_iovecs(&mut w.attacker, &[(buf, 16)]);
        assert_eq!(
            w.attacker.i32("fd_write", &[1, IOVS, 1, RESULT]),
            WASI_EFAULT
        );
    }
    assert!(stdout.lock().unwrap().is_empty(), "fd_write wrote");
    // No input was consumed: a good read gets all of it.
    set_iovecs(&mut w.attacker, &[(0x3000, 64)]);
    assert_eq!(w.attacker.i32("fd_read", &[0, IOVS, 1, RESULT]), 0);
    assert_eq!(result_slot(&w.attacker), input.len() as u32);
    assert_eq!(w.attacker.read(0x3000, input.len()), input);
}

/// A fresh directory under the target's temporary directory.
fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "isolation-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn wasi_fd_read_from_a_file_into_a_read_only_page_returns_efault() {
    let dir = temp_dir("file");
    let content = b"file contents the attacker wants to land in R pages".to_vec();
    std::fs::write(dir.join("input.txt"), &content).unwrap();
    let wasi = WasiCtxBuilder::new()
        .preopened_dir(&dir, ".")
        .unwrap()
        .stdout(Output::Discard)
        .stderr(Output::Discard)
        .build();
    let mut w = World::with_attacker_wasi(wasi);
    w.layout();
    let (path, path_len) = name("input.txt");
    assert_eq!(w.attacker.i32("path_open", &[3, path, path_len, RESULT]), 0);
    let fd = result_slot(&w.attacker) as i32;
    w.attacker
        .write(RESULT as u64, &0xdead_beef_u32.to_le_bytes());
    let before = w.snapshot();
    for iovs in [
        &[(0x2000u32, 64u32)][..],
        &[(0x1000, 4), (0x2000, 60)],
        &[(0x8000, 64)],
        &[(0x9fff, 2)],
        &[(0x5000, 64)],
        &[(0xD000, 64)],
    ] {
        set_iovecs(&mut w.attacker, iovs);
        assert_eq!(
            w.attacker
                .i32("fd_read", &[fd, IOVS, iovs.len() as i32, RESULT]),
            WASI_EFAULT,
            "fd_read into {iovs:x?}"
        );
        set_iovecs(&mut w.attacker, &[(0, 0), (0, 0)]);
        w.assert_unchanged(&before);
    }
    // The file position did not move.
    set_iovecs(&mut w.attacker, &[(0x3000, 128)]);
    assert_eq!(w.attacker.i32("fd_read", &[fd, IOVS, 1, RESULT]), 0);
    assert_eq!(result_slot(&w.attacker), content.len() as u32);
    assert_eq!(w.attacker.read(0x3000, content.len()), content);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// 11: races with revocation.

/// Per call of a race: whether the cut had returned before the call
/// started, the call's number, and how it ended.
type RaceLog = Vec<(bool, i32, Result<Vec<Val>, Error>)>;

/// One round of a race: `attacker` keeps calling `access` on the shared
/// mapping from its own thread, while this thread lets it succeed a few
/// times, then calls `cut` and raises a flag once `cut` has returned. Each
/// call records whether the flag was up before it started and how it
/// ended. Returns the log and the attacker.
fn race<F>(
    mut attacker: Guest,
    access: fn(&mut Guest, i32) -> Result<Vec<Val>, Error>,
    successes_first: usize,
    cut: F,
) -> (Guest, RaceLog)
where
    F: FnOnce(),
{
    let cut_done = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let thread = {
        let (cut_done, ok) = (cut_done.clone(), ok.clone());
        std::thread::spawn(move || {
            let mut log = Vec::new();
            let mut after = 0;
            let start = Instant::now();
            for i in 1.. {
                let cut_before = cut_done.load(Ordering::SeqCst);
                let result = access(&mut attacker, i);
                if result.is_ok() {
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                log.push((cut_before, i, result));
                if cut_before {
                    after += 1;
                    if after == 200 {
                        break;
                    }
                }
                assert!(start.elapsed() < Duration::from_secs(60), "race stuck");
            }
            (attacker, log)
        })
    };
    while ok.load(Ordering::SeqCst) < successes_first {
        std::thread::yield_now();
    }
    cut();
    cut_done.store(true, Ordering::SeqCst);
    thread.join().unwrap()
}

#[test]
fn no_read_succeeds_after_revoke_returns() {
    for round in 0..30 {
        let w = World::new();
        let World {
            mut provider,
            attacker,
            victim,
            platform,
            data,
            ..
        } = w;
        let before = snapshot(&platform, &[&provider, &victim]);
        let (attacker, log) = race(
            attacker,
            |a, _| a.call("load32", &[Val::I32(MAPPED_AT + 4)]),
            1 + round * 7,
            || assert_eq!(provider.revoke(data, "attacker"), 0),
        );
        let mut reads = 0;
        for (cut_before, i, result) in &log {
            match result {
                Ok(values) => {
                    assert!(
                        !cut_before,
                        "round {round}: load {i} started after revoke returned and read {values:?}"
                    );
                    assert_eq!(values[..], [Val::I32(World::provider_pattern(4))]);
                    reads += 1;
                }
                Err(Error::Trap(trap)) => assert_eq!(
                    trap.kind,
                    TrapKind::MemoryFault(read_unmapped(MAPPED_AT as u64 + 4)),
                    "round {round}, load {i}"
                ),
                Err(other) => panic!("round {round}, load {i}: {other}"),
            }
        }
        assert!(reads > round * 7, "round {round}: too few reads before");
        assert!(log.last().unwrap().2.is_err());
        assert_same(&before, &snapshot(&platform, &[&provider, &victim]));
        drop(attacker);
    }
}

#[test]
fn no_write_lands_after_revoke_returns() {
    for round in 0..30 {
        let World {
            mut provider,
            attacker,
            victim,
            data,
            ..
        } = World::new();
        // The victim (granted RW) is the writer this time.
        let (victim, log) = race(
            victim,
            |v, i| v.call("store32", &[Val::I32(MAPPED_AT), Val::I32(i)]),
            1 + round * 7,
            || assert_eq!(provider.revoke(data, "victim"), 0),
        );
        let mut last = None;
        for (cut_before, i, result) in &log {
            match result {
                Ok(_) => {
                    assert!(
                        !cut_before,
                        "round {round}: store {i} after revoke went through"
                    );
                    last = Some(*i);
                }
                Err(Error::Trap(trap)) => assert_eq!(
                    trap.kind,
                    TrapKind::MemoryFault(write_unmapped(MAPPED_AT as u64)),
                    "round {round}, store {i}"
                ),
                Err(other) => panic!("round {round}, store {i}: {other}"),
            }
        }
        // The provider's frame holds the last store that succeeded, and
        // nothing later: no store went through a stale translation.
        assert_eq!(Some(provider.load32(SHARED_AT)), last, "round {round}");
        drop((attacker, victim));
    }
}

#[test]
fn no_write_lands_after_the_grant_is_lowered() {
    for round in 0..30 {
        let World {
            mut provider,
            victim,
            data,
            ..
        } = World::new();
        let (_victim, log) = race(
            victim,
            |v, i| v.call("store32", &[Val::I32(MAPPED_AT + 8), Val::I32(i)]),
            1 + round * 7,
            || assert_eq!(provider.grant(data, "victim", R), 0),
        );
        let mut last = None;
        for (cut_before, i, result) in &log {
            match result {
                Ok(_) => {
                    assert!(
                        !cut_before,
                        "round {round}: store {i} after lowering went through"
                    );
                    last = Some(*i);
                }
                Err(Error::Trap(trap)) => assert_eq!(
                    trap.kind,
                    TrapKind::MemoryFault(write_denied(MAPPED_AT as u64 + 8)),
                    "round {round}, store {i}"
                ),
                Err(other) => panic!("round {round}, store {i}: {other}"),
            }
        }
        assert_eq!(Some(provider.load32(SHARED_AT + 8)), last, "round {round}");
    }
}

// ---------------------------------------------------------------------------
// 12-13: one tenant's resource exhaustion does not stop another.

const HOG_WAT: &str = r#"(module
  (memory 1)
  ;; Grows memory one Wasm page at a time and writes every 4 KiB page,
  ;; until memory.grow fails (returns -1) or a write finds no frame (traps).
  (func (export "hog") (result i32)
    (local $p i32) (local $end i32) (local $old i32)
    (loop $grow
      (local.set $old (memory.grow (i32.const 1)))
      (if (i32.eq (local.get $old) (i32.const -1)) (then (return (i32.const -1))))
      (local.set $p (i32.mul (local.get $old) (i32.const 65536)))
      (local.set $end (i32.add (local.get $p) (i32.const 65536)))
      (loop $touch
        (i32.store (local.get $p) (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (br_if $touch (i32.lt_u (local.get $p) (local.get $end))))
      (br $grow))
    (i32.const 0)))"#;

const WORKER_WAT: &str = r#"(module
  (memory (export "memory") 1)
  ;; Writes seed * i + i at word i of the whole memory, then returns the
  ;; sum of all words (wrapping).
  (func (export "work") (param $seed i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $write
      (i32.store (i32.shl (local.get $i) (i32.const 2))
        (i32.add (i32.mul (local.get $seed) (local.get $i)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $write (i32.lt_u (local.get $i) (i32.const 16384))))
    (local.set $i (i32.const 0))
    (loop $read
      (local.set $sum (i32.add (local.get $sum)
        (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $read (i32.lt_u (local.get $i) (i32.const 16384))))
    (local.get $sum))
  ;; 1 + 2 + ... + n, by a loop.
  (func (export "sum") (param $n i64) (result i64)
    (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "spin") (loop $forever (br $forever))))"#;

fn expected_work(seed: i32) -> i32 {
    (0..16384i32).fold(0i32, |sum, i| {
        sum.wrapping_add(seed.wrapping_mul(i).wrapping_add(i))
    })
}

struct Plain {
    store: Store<()>,
    instance: Instance,
}

impl Plain {
    fn new(engine: &Engine, module: &Module) -> Plain {
        let mut store = Store::new(engine, ());
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        Plain { store, instance }
    }

    fn call(&mut self, func: &str, args: &[Val]) -> Result<Val, Error> {
        let f = self.instance.get_func(&self.store, func).unwrap();
        let mut results = vec![Val::I32(0); f.ty(&self.store).results().len()];
        f.call(&mut self.store, args, &mut results)?;
        Ok(results.first().cloned().unwrap_or(Val::I32(0)))
    }
}

#[test]
fn frame_pool_exhaustion_by_one_tenant_does_not_break_another() {
    let budget_frames = 256;
    let engine = engine_with(Config {
        frame_budget: budget_frames * PAGE,
        ..Config::default()
    });
    let worker_module = module(&engine, WORKER_WAT);
    let hog_module = module(&engine, HOG_WAT);
    let mut worker = Plain::new(&engine, &worker_module);
    // The worker's working set gets its frames before the hog starts.
    assert_eq!(
        worker.call("work", &[Val::I32(1)]).unwrap(),
        Val::I32(expected_work(1))
    );
    let mut hog = Plain::new(&engine, &hog_module);
    let start = Arc::new(Barrier::new(2));
    let hog_done = Arc::new(AtomicBool::new(false));

    let worker_thread = {
        let (start, hog_done) = (start.clone(), hog_done.clone());
        std::thread::spawn(move || {
            start.wait();
            let mut after = 0;
            for seed in 2.. {
                let done = hog_done.load(Ordering::SeqCst);
                assert_eq!(
                    worker.call("work", &[Val::I32(seed)]).unwrap(),
                    Val::I32(expected_work(seed)),
                    "seed {seed}"
                );
                if done {
                    after += 1;
                    if after == 20 {
                        break;
                    }
                }
            }
            worker
        })
    };
    let hog_thread = {
        let (start, hog_done) = (start.clone(), hog_done.clone());
        let engine = engine.clone();
        std::thread::spawn(move || {
            start.wait();
            let result = hog.call("hog", &[]);
            let stats = engine.frame_pool().stats();
            hog_done.store(true, Ordering::SeqCst);
            (hog, result, stats)
        })
    };
    let (hog, result, stats) = hog_thread.join().unwrap();
    // Frames are promised when memory grows: the hog is told by
    // memory.grow that the pool is spent, and never faults for it.
    match result {
        Ok(Val::I32(-1)) => {}
        other => panic!("hog returned {other:?}"),
    }
    assert_eq!(
        stats.reserved, stats.budget_frames,
        "the pool was promised away"
    );
    let mut worker = worker_thread.join().unwrap();
    // With the hog still holding every frame it could get, the worker still
    // works.
    assert_eq!(engine.frame_pool().stats().reserved, budget_frames as usize);
    assert_eq!(
        worker.call("work", &[Val::I32(-7)]).unwrap(),
        Val::I32(expected_work(-7))
    );
    // Once the hog is gone its frames come back, and a new tenant runs.
    drop(hog);
    assert!(engine.frame_pool().stats().free() >= (budget_frames - 32) as usize);
    let mut newcomer = Plain::new(&engine, &worker_module);
    assert_eq!(
        newcomer.call("work", &[Val::I32(3)]).unwrap(),
        Val::I32(expected_work(3))
    );
}

#[test]
fn frames_freed_by_one_tenant_reach_another_zeroed() {
    // Each instance promises its 32 pages; unmapping gives the provider's
    // back. (No copy-on-write image, which would promise 32 more.)
    let engine = engine_with(Config {
        frame_budget: 48 * PAGE,
        cow_instantiation: false,
        ..Config::default()
    });
    let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
    let module = module(&engine, &guest_wat());
    let mut first = Guest::new(&engine, &platform, "provider", &module);
    first.write(0x1000, &patterned(PROVIDER_TAG, 0x1000, 0x1f000));
    let in_use = engine.frame_pool().stats().in_use;
    assert!(in_use >= 31);
    assert_eq!(first.unmap(0x1000, 0x1f000), 0);
    assert!(engine.frame_pool().stats().in_use <= in_use - 31);
    let mut second = Guest::new(&engine, &platform, "victim", &module);
    // 31 pages: the freed frames are all the pool has left to give.
    assert_eq!(second.i32("scan", &[0x1000, 31]), 0);
}

#[test]
fn an_infinite_loop_is_stopped_by_fuel_while_another_tenant_finishes() {
    let engine = engine_with(Config {
        fuel: true,
        frame_budget: 16 << 20,
        ..Config::default()
    });
    let module = module(&engine, WORKER_WAT);
    let mut spinner = Plain::new(&engine, &module);
    let mut worker = Plain::new(&engine, &module);
    spinner.store.set_fuel(20_000_000);
    worker.store.set_fuel(1 << 40);
    let start = Arc::new(Barrier::new(2));
    let spin_thread = {
        let start = start.clone();
        std::thread::spawn(move || {
            start.wait();
            let result = spinner.call("spin", &[]);
            (spinner, result)
        })
    };
    let work_thread = std::thread::spawn(move || {
        start.wait();
        let n = 300_000i64;
        let sum = worker.call("sum", &[Val::I64(n)]);
        let work = worker.call("work", &[Val::I32(9)]);
        (worker, n, sum, work)
    });
    let (worker, n, sum, work) = work_thread.join().unwrap();
    assert_eq!(sum.unwrap(), Val::I64(n * (n + 1) / 2));
    assert_eq!(work.unwrap(), Val::I32(expected_work(9)));
    assert!(worker.store.fuel() > 0);
    let (spinner, result) = spin_thread.join().unwrap();
    match result {
        Err(Error::Trap(trap)) => assert_eq!(trap.kind, TrapKind::OutOfFuel),
        other => panic!("spin returned {other:?}"),
    }
    assert!(spinner.store.fuel() < 20_000_000);
}

// ---------------------------------------------------------------------------
// The plain memory backend cannot virtualize: the sharing calls say so.

#[test]
fn plain_memory_backend_returns_enosys_for_sharing_calls() {
    if waven_runtime::ENCLAVE_PROFILE {
        return; // no plain backend in the enclave profile
    }
    let engine = engine_with(Config {
        memory: MemoryBackend::Plain,
        ..Config::default()
    });
    let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
    let module = module(&engine, &guest_wat());
    let mut g = Guest::new(&engine, &platform, "attacker", &module);
    g.write(0x1000, &patterned(ATTACKER_TAG, 0x1000, 0x2000));
    let (data, data_len) = name("data");
    let (who, who_len) = name("victim");
    assert_eq!(g.i32("page_size", &[]), 4096);
    for (func, values) in [
        ("protect", vec![0x1000, 0x1000, R]),
        ("protect", vec![0x1000, 0x1000, RW]),
        ("unmap", vec![0x1000, 0x1000]),
        ("map_anon", vec![0x1000, 0x1000, RW]),
        ("discard", vec![0x1000, 0x1000]),
        ("share", vec![0x1000, 0x1000, data, data_len, R]),
        ("open", vec![data, data_len]),
        ("grant", vec![0, who, who_len, R]),
        ("revoke", vec![0, who, who_len]),
        ("map", vec![0, 0x8000, R]),
        ("map", vec![0, -1, R]),
        ("notify", vec![0x1000, 1]),
    ] {
        assert_eq!(g.i32(func, &values), ENOSYS, "{func}{values:x?}");
    }
    assert_eq!(
        g.call("wait", &[Val::I32(0x1000), Val::I32(0), Val::I64(0)])
            .unwrap(),
        [Val::I32(ENOSYS)]
    );
    // No handle can exist, so handle calls fail too.
    for func in ["region_size", "close"] {
        let r = g.i32(func, &[0]);
        assert!(r == ENOSYS || r == EBADF, "{func}: {r}");
    }
    // None of the calls changed the memory: size, contents, writability.
    assert_eq!(g.size(), 0x20000);
    assert_eq!(
        g.read(0x1000, 0x2000),
        patterned(ATTACKER_TAG, 0x1000, 0x2000)
    );
    g.store32(0x1000, 42);
    assert_eq!(g.load32(0x1000), 42);
}

// ---------------------------------------------------------------------------
// The C attack guest.

/// `tests/guests/attacker.c` as committed, compiled for wasm32-wasi.
const C_ATTACKER: &[u8] = include_bytes!("guests/attacker.wasm");

/// Runs the C attacker's `_start` as instance `name` with `mode`, granted
/// "data" R; returns its stdout and how `_start` ended.
fn run_c_attacker(w: &mut World, name: &str, mode: &str) -> (String, Result<Vec<Val>, Error>) {
    let module = Module::new(&w.engine, C_ATTACKER).unwrap();
    w.platform
        .grant(
            &Owner::Instance("provider".into()),
            "data",
            name,
            Rights::Read,
            None,
        )
        .unwrap();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let wasi = WasiCtxBuilder::new()
        .args(["attacker", mode])
        .stdin(Input::Bytes(b"stdin stays unread".to_vec()))
        .stdout(Output::Capture(stdout.clone()))
        .stderr(Output::Discard)
        .build();
    let mut guest = Guest::with_wasi(&w.engine, &w.platform, name, &module, wasi);
    let result = guest.call("_start", &[]);
    let text = String::from_utf8(stdout.lock().unwrap().clone()).unwrap();
    (text, result)
}

/// The address the C attacker printed it mapped "data" at.
fn mapped_at(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("mapped "))
        .unwrap_or_else(|| panic!("no mapping in:\n{stdout}"));
    assert!(line.starts_with("mapped 8192 bytes at "), "{line}");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn c_attacker_is_refused_every_escalation_through_abi_and_wasi() {
    let mut w = World::new();
    let before = w.snapshot();
    let (stdout, result) = run_c_attacker(&mut w, "c_attacker", "refusals");
    assert!(
        result.is_ok(),
        "attacker.c ended with {result:?}:\n{stdout}"
    );
    assert!(!stdout.contains("UNEXPECTED"), "{stdout}");
    for line in [
        "map(data, ANYWHERE, RW) = -2 ok",
        "protect(mapping, RW) = -2 ok",
        "grant(data, accomplice, R) = -63 ok",
        "grant(data, c_attacker, RW) = -63 ok",
        "revoke(data, victim) = -63 ok",
        "discard(mapping) = -63 ok",
        "share(mapping, laundered, RW) = -10 ok",
        "open(secret) = -44 ok",
        "read(stdin, mapping) = -21 ok",
        "read(stdin, mapping end) = -21 ok",
        "stdin: stdin stays unread",
        "region unchanged = 1 ok",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in:\n{stdout}"
        );
    }
    w.assert_unchanged(&before);
}

#[test]
fn c_attacker_stores_into_a_read_only_region_trap() {
    let mut w = World::new();
    let before = w.snapshot();
    for (name, mode, offset) in [
        ("c_store", "write", 5),
        ("c_memcpy", "memcpy", 0),
        ("c_memset", "memset", 0),
    ] {
        let (stdout, result) = run_c_attacker(&mut w, name, mode);
        let at = mapped_at(&stdout);
        assert!(!stdout.contains("FAIL"), "{stdout}");
        match result {
            Err(Error::Trap(trap)) => assert_eq!(
                trap.kind,
                TrapKind::MemoryFault(write_denied(at + offset)),
                "{mode}:\n{stdout}"
            ),
            other => panic!("{mode}: {other:?}\n{stdout}"),
        }
        w.assert_unchanged(&before);
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    common::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

//! Sharing bench: what handing a buffer of 1 MiB to 1 GiB from one instance
//! to another costs by mapping, against copying it, as median times (and
//! min..max) per size, printed as a table.
//!
//! For each size, every round measures separately:
//!
//! * map: the receiver's exported `take` calls `open` + `map` at -1 (grow
//!   the memory unmapped, map the region at its old end) through the
//!   `waven` ABI and touches no page;
//! * first touch: the receiver's exported `touch` then loads one word from
//!   every 4 KiB page of the mapping (a guest loop; the host checks their
//!   sum);
//! * revoke: the sender's exported `pull` calls `revoke` of the receiver's
//!   grant through the ABI, after the first touch (the host then checks
//!   that the receiver's next load traps);
//! * copy: the host grows the receiver's memory by the buffer's size,
//!   copies the sender's buffer into it with `AddressSpace::copy_from`, and
//!   the receiver's exported `check` loads the first and the last word;
//!
//! and, from the medians, the ratios copy/map and copy/(map + first touch),
//! with the issue's targets at 256 MiB marked PASS or FAIL (the process
//! never fails on them: timings on a shared machine are noisy).
//!
//! Every round runs on fresh instances of a fresh platform: creating them,
//! a first call into each, filling the sender's buffer and its `share` +
//! `grant` (exported `hand`) are not timed. The mapping and the copying
//! sides alternate which goes first per round, after one warm-up round.
//! The frame pool holds the sender's buffer and the receiver's copy of the
//! largest size; the tenants have the default limits (no memory quota).
//!
//! ```text
//! cargo bench -p waven-platform --bench sharing [-- --quick]
//! ```
//!
//! `--quick`: 3 rounds instead of 7, sizes up to 256 MiB only.

use std::fmt;
use std::time::Instant;

use waven_mmu::AddressSpace;
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::Platform;
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, Func, Instance, Linker, Memory, Module, Store, Val};

const MIB: u64 = 1 << 20;
const WASM_PAGE: u64 = 1 << 16;
/// The MMU's page: `touch` loads one word from each.
const PAGE: u64 = 4096;
/// Where the sender's buffer starts (names live in the first Wasm page).
const BUF: u64 = WASM_PAGE;
/// The size at which the issue sets its targets.
const TARGET_MIB: u64 = 256;
/// Target: map at least this many times cheaper than copy.
const MAP_TARGET: f64 = 1000.0;
/// Target: map + first touch at least this many times cheaper than copy.
const MAP_TOUCH_TARGET: f64 = 5.0;

/// A guest with `initial` Wasm pages of memory and `maximum` declared,
/// exporting the sender's `hand` and `pull`, the receiver's `take`,
/// `touch` and `check`.
fn guest_wat(initial: u64, maximum: u64) -> String {
    format!(
        r#"(module
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "revoke" (func $revoke (param i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (memory (export "memory") {initial} {maximum})
  (data (i32.const 0x100) "buffer")     ;; region name, 6 bytes
  (data (i32.const 0x110) "receiver")   ;; grantee name, 8 bytes
  (data (i32.const 0x120) "sender/buffer") ;; the sender's region as others name it, 13 bytes
  (func (export "nop"))
  ;; Sender: shares addr..addr+len read-only and grants it to "receiver";
  ;; returns the handle.
  (func (export "hand") (param $addr i32) (param $len i32) (result i32)
    (local $h i32) (local $r i32)
    (local.set $h (call $share (local.get $addr) (local.get $len)
                               (i32.const 0x100) (i32.const 6) (i32.const 1)))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (local.get $h))))
    (local.set $r (call $grant (local.get $h) (i32.const 0x110) (i32.const 8) (i32.const 1)))
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (local.get $r))))
    (local.get $h))
  ;; Sender: revokes the receiver's grant of the region `h`.
  (func (export "pull") (param $h i32) (result i32)
    (call $revoke (local.get $h) (i32.const 0x110) (i32.const 8)))
  ;; Receiver: opens "sender/buffer" and maps it read-only at the end of its
  ;; memory; returns the address (or a negated errno in -4095..-1).
  (func (export "take") (result i32)
    (local $h i32)
    (local.set $h (call $open (i32.const 0x120) (i32.const 13)))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (local.get $h))))
    (call $map (local.get $h) (i32.const -1) (i32.const 1)))
  ;; Receiver: the sum of the first word of every 4 KiB page of
  ;; addr..addr+len (len a non-zero multiple of 4096).
  (func (export "touch") (param $addr i32) (param $len i32) (result i32)
    (local $pages i32) (local $sum i32)
    (local.set $pages (i32.shr_u (local.get $len) (i32.const 12)))
    (loop $page
      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $addr))))
      (local.set $addr (i32.add (local.get $addr) (i32.const 4096)))
      (local.set $pages (i32.sub (local.get $pages) (i32.const 1)))
      (br_if $page (local.get $pages)))
    (local.get $sum))
  ;; Receiver: checks the words at addr and addr+len-4, returns addr.
  (func (export "check") (param $addr i32) (param $len i32)
                         (param $first i32) (param $last i32) (result i32)
    (if (i32.ne (i32.load (local.get $addr)) (local.get $first)) (then unreachable))
    (if (i32.ne (i32.load (i32.sub (i32.add (local.get $addr) (local.get $len)) (i32.const 4)))
                (local.get $last))
      (then unreachable))
    (local.get $addr)))"#
    )
}

/// One instance with the ABI, registered on the platform.
struct Guest {
    store: Store<GuestContext>,
    instance: Instance,
    memory: Memory,
}

impl Guest {
    /// Instantiates `module` as instance `name` of a tenant of the same
    /// name, with the default limits, and attaches its memory.
    fn new(engine: &Engine, platform: &Platform, name: &str, module: &Module) -> Guest {
        platform
            .add_instance(name, name, [0; 32], TenantLimits::default())
            .expect("name");
        let mut store = Store::new(engine, GuestContext::new(platform.clone(), name));
        let mut linker = Linker::new();
        abi::add_to_linker(&mut linker, |ctx: &mut GuestContext| ctx).expect("linker");
        let instance = linker.instantiate(&mut store, module).expect("instance");
        let memory = instance.memory(&store).expect("memory");
        platform
            .attach_space(name, space(&store, memory))
            .expect("attach");
        Guest {
            store,
            instance,
            memory,
        }
    }

    /// The exported function `name`.
    fn func(&self, name: &str) -> Func {
        self.instance.get_func(&self.store, name).expect("export")
    }

    /// The address space of the guest's memory.
    fn space(&self) -> AddressSpace {
        space(&self.store, self.memory)
    }

    /// Calls `name` with `args` and returns its `i32` result and the
    /// nanoseconds the call took (building the arguments is not timed).
    fn timed_call(&mut self, name: &str, args: &[i32]) -> (i32, f64) {
        let func = self.func(name);
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        let mut results = [Val::I32(0)];
        let start = Instant::now();
        func.call(&mut self.store, &args, &mut results)
            .expect("call");
        let elapsed = start.elapsed().as_nanos() as f64;
        match results[0] {
            Val::I32(v) => (v, elapsed),
            ref other => panic!("unexpected result {other:?}"),
        }
    }
}

/// The address space of `memory`.
fn space(store: &Store<GuestContext>, memory: Memory) -> AddressSpace {
    memory.address_space(store).expect("virtual memory")
}

/// Word `i` of the buffer: never zero, different on every page.
fn word(i: u64) -> u32 {
    (i as u32).wrapping_add(0x5a5a_0001)
}

/// The modules of one buffer size, its contents and what the receiver
/// must read from it.
struct Case {
    bytes: u64,
    sender: Module,
    receiver: Module,
    pattern: Vec<u8>,
    first: i32,
    last: i32,
    /// What `touch` returns over the whole buffer.
    page_sum: i32,
}

/// One round's nanoseconds for the mapping side.
struct Mapping {
    map: f64,
    touch: f64,
    revoke: f64,
}

impl Case {
    /// The modules and contents for a buffer of `mib` MiB.
    fn new(engine: &Engine, mib: u64) -> Case {
        let bytes = mib * MIB;
        let pages = 1 + bytes / WASM_PAGE;
        let module = |initial| {
            let wasm = wat::parse_str(guest_wat(initial, pages)).expect("valid module");
            Module::new(engine, &wasm).expect("module")
        };
        let mut pattern = Vec::with_capacity(bytes as usize);
        for i in 0..bytes / 4 {
            pattern.extend_from_slice(&word(i).to_le_bytes());
        }
        let words_per_page = PAGE / 4;
        let page_sum = (0..bytes / PAGE)
            .map(|p| word(p * words_per_page))
            .fold(0u32, u32::wrapping_add);
        Case {
            bytes,
            sender: module(pages),
            receiver: module(1),
            pattern,
            first: word(0) as i32,
            last: word(bytes / 4 - 1) as i32,
            page_sum: page_sum as i32,
        }
    }

    /// A fresh platform with a sender whose buffer is filled (every page
    /// written) and an empty receiver, each called once.
    fn setup(&self, engine: &Engine) -> (Platform, Guest, Guest) {
        let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| true));
        let mut sender = Guest::new(engine, &platform, "sender", &self.sender);
        let mut receiver = Guest::new(engine, &platform, "receiver", &self.receiver);
        sender
            .memory
            .write(&mut sender.store, BUF, &self.pattern)
            .expect("fill");
        // A store's first call sets up its value stack (8 MiB with the
        // default `max_stack_cells`): part of starting an instance, not of
        // handing a buffer.
        for guest in [&mut sender, &mut receiver] {
            let nop = guest.func("nop");
            nop.call(&mut guest.store, &[], &mut []).expect("nop");
        }
        (platform, sender, receiver)
    }

    /// One round of the mapping side: the sender shares and grants (not
    /// timed), then the receiver maps, the receiver touches every page,
    /// and the sender revokes, each timed alone.
    fn mapping(&self, engine: &Engine) -> Mapping {
        let (_platform, mut sender, mut receiver) = self.setup(engine);
        let len = self.bytes as i32;
        let (handle, _) = sender.timed_call("hand", &[BUF as i32, len]);
        assert!(handle >= 0, "hand: {handle}");
        let (addr, map) = receiver.timed_call("take", &[]);
        assert_eq!(addr, WASM_PAGE as i32, "take");
        let (sum, touch) = receiver.timed_call("touch", &[addr, len]);
        assert_eq!(sum, self.page_sum, "touch");
        let (revoked, revoke) = sender.timed_call("pull", &[handle]);
        assert_eq!(revoked, 0, "pull");
        let touch_again = receiver.func("touch");
        let args = [Val::I32(addr), Val::I32(len)];
        let after = touch_again.call(&mut receiver.store, &args, &mut [Val::I32(0)]);
        assert!(after.is_err(), "the receiver still reads after revoke");
        Mapping { map, touch, revoke }
    }

    /// One round of the copying side: nanoseconds from the host growing
    /// the receiver to the receiver having read the copy's first and last
    /// word.
    fn copy(&self, engine: &Engine) -> f64 {
        let (_platform, sender, mut receiver) = self.setup(engine);
        let check = receiver.func("check");
        let (from, to) = (sender.space(), receiver.space());
        // The receiver's memory is one Wasm page: the copy lands after it.
        let args = [
            Val::I32(WASM_PAGE as i32),
            Val::I32(self.bytes as i32),
            Val::I32(self.first),
            Val::I32(self.last),
        ];
        let mut result = [Val::I32(0)];
        let start = Instant::now();
        let old = receiver
            .memory
            .grow(&mut receiver.store, self.bytes / WASM_PAGE)
            .expect("grow");
        let dst = old * WASM_PAGE;
        to.copy_from(dst, &from, BUF, self.bytes).expect("copy");
        check
            .call(&mut receiver.store, &args[..], &mut result)
            .expect("check");
        let elapsed = start.elapsed().as_nanos() as f64;
        assert_eq!(dst, WASM_PAGE, "grow");
        elapsed
    }
}

/// The median, minimum and maximum of some nanosecond samples.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    /// The statistics of `samples` (not empty).
    fn of(mut samples: Vec<f64>) -> Stats {
        samples.sort_by(f64::total_cmp);
        Stats {
            median: samples[samples.len() / 2],
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }
}

impl fmt::Display for Stats {
    /// `median (min..max)`, in µs or, from 10 ms up, in ms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scale, unit) = if self.median >= 1e7 {
            (1e6, "ms")
        } else {
            (1e3, "µs")
        };
        write!(
            f,
            "{:.1} {unit} ({:.1}..{:.1})",
            self.median / scale,
            self.min / scale,
            self.max / scale
        )
    }
}

/// The statistics of one size.
struct Row {
    mib: u64,
    map: Stats,
    touch: Stats,
    revoke: Stats,
    copy: Stats,
}

impl Row {
    /// How many times cheaper mapping is than copying (medians).
    fn copy_over_map(&self) -> f64 {
        self.copy.median / self.map.median
    }

    /// How many times cheaper mapping and touching every page is than
    /// copying (medians).
    fn copy_over_map_touch(&self) -> f64 {
        self.copy.median / (self.map.median + self.touch.median)
    }
}

/// Measures one size: `rounds` rounds after a warm-up, the mapping and the
/// copying side alternating which goes first.
fn measure(engine: &Engine, mib: u64, rounds: usize) -> Row {
    let case = Case::new(engine, mib);
    let (mut map, mut touch, mut revoke, mut copy) = (vec![], vec![], vec![], vec![]);
    for round in 0..=rounds {
        let (m, c) = if round % 2 == 0 {
            let m = case.mapping(engine);
            (m, case.copy(engine))
        } else {
            let c = case.copy(engine);
            (case.mapping(engine), c)
        };
        // Round 0 is the warm-up.
        if round > 0 {
            map.push(m.map);
            touch.push(m.touch);
            revoke.push(m.revoke);
            copy.push(c);
        }
    }
    Row {
        mib,
        map: Stats::of(map),
        touch: Stats::of(touch),
        revoke: Stats::of(revoke),
        copy: Stats::of(copy),
    }
}

/// "PASS" if `ratio` reaches `target`, else "FAIL".
fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio >= target {
        "PASS"
    } else {
        "FAIL"
    }
}

/// A size in MiB as text, in GiB from 1 GiB up.
fn size_text(mib: u64) -> String {
    if mib >= 1024 {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{mib} MiB")
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (sizes, rounds): (&[u64], usize) = if quick {
        (&[1, 4, 16, 64, 256], 3)
    } else {
        (&[1, 4, 16, 64, 256, 1024], 7)
    };
    let largest = sizes.iter().max().copied().unwrap_or(1) * MIB;
    // At most two instances live at once: the sender's buffer and the
    // receiver's copy, each with its first Wasm page, plus a little for
    // the modules' copy-on-write images.
    let frame_budget = 2 * largest + 4 * MIB;
    let engine = Engine::new(Config {
        frame_budget,
        ..Config::default()
    })
    .expect("engine");
    println!("| size | map | first touch | revoke | copy | copy/map | copy/(map+touch) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for &mib in sizes {
        let row = measure(&engine, mib, rounds);
        println!(
            "| {} | {} | {} | {} | {} | {:.1}x | {:.1}x |",
            size_text(mib),
            row.map,
            row.touch,
            row.revoke,
            row.copy,
            row.copy_over_map(),
            row.copy_over_map_touch()
        );
        rows.push(row);
    }
    println!(
        "\nmedian (min..max) of {rounds} rounds after a warm-up, fresh instances each, \
         {:?} engine; map: receiver `open` + `map` at -1 through the waven ABI, no \
         page touched; first touch: receiver loads one word per 4 KiB page; revoke: \
         sender `revoke` through the ABI after the touch; copy: host grows the \
         receiver, `AddressSpace::copy_from`, receiver loads the first and last word.",
        engine.config().engine
    );
    let stats = engine.frame_pool().stats();
    println!(
        "frame pool: {} MiB, peak {} MiB in use",
        frame_budget / MIB,
        stats.peak as u64 * PAGE / MIB
    );
    println!("\ntargets at {}:", size_text(TARGET_MIB));
    match rows.iter().find(|r| r.mib == TARGET_MIB) {
        Some(row) => {
            let (map, map_touch) = (row.copy_over_map(), row.copy_over_map_touch());
            println!(
                "  [{}] map >= {MAP_TARGET}x cheaper than copy: {map:.1}x",
                verdict(map, MAP_TARGET)
            );
            println!(
                "  [{}] map + first touch >= {MAP_TOUCH_TARGET}x cheaper than copy: {map_touch:.1}x",
                verdict(map_touch, MAP_TOUCH_TARGET)
            );
        }
        None => println!("  not measured"),
    }
}

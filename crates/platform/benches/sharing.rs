//! Sharing bench: handing a buffer of 1 MiB to 256 MiB from one instance to
//! another by mapping versus by copying, median times and ratio per size,
//! printed as a table.
//!
//! * mapping: through the `waven` ABI, the sender's exported `hand` calls
//!   `share` + `grant` on its buffer, then the receiver's exported `take`
//!   calls `open` + `map` at -1 and loads one word from the first and from
//!   the last page of the mapping;
//! * copying: the host grows the receiver's memory by the buffer's size,
//!   copies the sender's buffer into it with `AddressSpace::copy_from`, and
//!   the receiver's exported `check` loads the same two words.
//!
//! Every measurement runs on fresh instances of a fresh platform (creating
//! them, a first call into each, and filling the sender's buffer are not
//! timed); mapping and copying are interleaved per round, after one warm-up
//! round.
//!
//! ```text
//! cargo bench -p waven-platform --bench sharing [-- --quick]
//! ```

use std::time::Instant;

use waven_mmu::AddressSpace;
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::Platform;
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, Func, Instance, Linker, Memory, Module, Store, Val};

const MIB: u64 = 1 << 20;
const WASM_PAGE: u64 = 1 << 16;
/// Where the sender's buffer starts (names live in the first Wasm page).
const BUF: u64 = WASM_PAGE;

/// A guest with `initial` Wasm pages of memory and `maximum` declared,
/// exporting the sender's `hand`, the receiver's `take` and `check`.
fn guest_wat(initial: u64, maximum: u64) -> String {
    format!(
        r#"(module
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  (import "waven" "region_size" (func $region_size (param i32) (result i32)))
  (memory (export "memory") {initial} {maximum})
  (data (i32.const 0x100) "buffer")     ;; region name, 6 bytes
  (data (i32.const 0x110) "receiver")   ;; grantee name, 8 bytes
  (data (i32.const 0x120) "sender/buffer") ;; the sender's region as others name it, 13 bytes
  (func (export "nop"))
  ;; Sender: shares addr..addr+len read-only and grants it to "receiver".
  (func (export "hand") (param $addr i32) (param $len i32) (result i32)
    (local $h i32) (local $r i32)
    (local.set $h (call $share (local.get $addr) (local.get $len)
                               (i32.const 0x100) (i32.const 6) (i32.const 1)))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (local.get $h))))
    (local.set $r (call $grant (local.get $h) (i32.const 0x110) (i32.const 8) (i32.const 1)))
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (local.get $r))))
    (local.get $h))
  ;; Receiver: opens "sender/buffer", maps it at the end of its memory and checks
  ;; the first word of its first page and the last word of its last page.
  (func (export "take") (param $first i32) (param $last i32) (result i32)
    (local $h i32) (local $addr i32) (local $len i32)
    (local.set $h (call $open (i32.const 0x120) (i32.const 13)))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (local.get $h))))
    (local.set $len (call $region_size (local.get $h)))
    (if (i32.lt_s (local.get $len) (i32.const 0)) (then (return (local.get $len))))
    (local.set $addr (call $map (local.get $h) (i32.const -1) (i32.const 1)))
    ;; errors are -4095..-1; any other value is an address (also >= 2 GiB)
    (if (i32.ge_u (local.get $addr) (i32.const -4095)) (then (return (local.get $addr))))
    (call $check (local.get $addr) (local.get $len) (local.get $first) (local.get $last)))
  ;; Receiver: checks the words at addr and addr+len-4, returns addr.
  (func $check (export "check") (param $addr i32) (param $len i32)
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
            .attach_space(name, self::space(&store, memory))
            .expect("attach");
        Guest {
            store,
            instance,
            memory,
        }
    }

    fn func(&self, name: &str) -> Func {
        self.instance.get_func(&self.store, name).expect("export")
    }

    fn space(&self) -> AddressSpace {
        space(&self.store, self.memory)
    }
}

fn space(store: &Store<GuestContext>, memory: Memory) -> AddressSpace {
    memory.address_space(store).expect("virtual memory")
}

fn call_i32(store: &mut Store<GuestContext>, func: Func, args: &[i32]) -> i32 {
    let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    let mut results = [Val::I32(0)];
    func.call(store, &args, &mut results).expect("call");
    match results[0] {
        Val::I32(v) => v,
        ref other => panic!("unexpected result {other:?}"),
    }
}

/// The modules of one buffer size and its contents.
struct Case {
    bytes: u64,
    sender: Module,
    receiver: Module,
    pattern: Vec<u8>,
    first: i32,
    last: i32,
}

impl Case {
    fn new(engine: &Engine, mib: u64) -> Case {
        let bytes = mib * MIB;
        let pages = 1 + bytes / WASM_PAGE;
        let module = |initial| {
            let wasm = wat::parse_str(guest_wat(initial, pages)).expect("valid module");
            Module::new(engine, &wasm).expect("module")
        };
        // Word i holds i + 0x5a5a_0001: no page reads as zeros.
        let word = |i: u64| (i as u32).wrapping_add(0x5a5a_0001);
        let pattern: Vec<u8> = (0..bytes / 4).flat_map(|i| word(i).to_le_bytes()).collect();
        Case {
            bytes,
            sender: module(pages),
            receiver: module(1),
            first: word(0) as i32,
            last: word(bytes / 4 - 1) as i32,
            pattern,
        }
    }

    /// A fresh platform with a sender whose buffer is filled (every page
    /// written) and an empty receiver.
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

    /// Nanoseconds from the sender's `hand` to the receiver having read the
    /// mapped buffer.
    fn map(&self, engine: &Engine) -> f64 {
        let (_platform, mut sender, mut receiver) = self.setup(engine);
        let (hand, take) = (sender.func("hand"), receiver.func("take"));
        let len = self.bytes as i32;
        let start = Instant::now();
        let handle = call_i32(&mut sender.store, hand, &[BUF as i32, len]);
        let addr = call_i32(&mut receiver.store, take, &[self.first, self.last]);
        let elapsed = start.elapsed();
        assert!(handle >= 0, "hand: {handle}");
        assert_eq!(addr, WASM_PAGE as i32, "take");
        elapsed.as_nanos() as f64
    }

    /// Nanoseconds from the host starting the copy to the receiver having
    /// read the copied buffer.
    fn copy(&self, engine: &Engine) -> f64 {
        let (_platform, sender, mut receiver) = self.setup(engine);
        let check = receiver.func("check");
        let (from, to) = (sender.space(), receiver.space());
        let len = self.bytes as i32;
        let start = Instant::now();
        let old = receiver
            .memory
            .grow(&mut receiver.store, self.bytes / WASM_PAGE)
            .expect("grow");
        let dst = old * WASM_PAGE;
        to.copy_from(dst, &from, BUF, self.bytes).expect("copy");
        let addr = call_i32(
            &mut receiver.store,
            check,
            &[dst as i32, len, self.first, self.last],
        );
        let elapsed = start.elapsed();
        assert_eq!(addr, WASM_PAGE as i32, "check");
        elapsed.as_nanos() as f64
    }
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (sizes, rounds): (&[u64], usize) = if quick {
        (&[1, 4, 16], 3)
    } else {
        (&[1, 4, 16, 64, 256], 7)
    };
    let largest = sizes.iter().max().copied().unwrap_or(1) * MIB;
    // Sender + receiver's copy + slack for the zero-copy case and tables.
    let engine = Engine::new(Config {
        frame_budget: 6 * largest,
        ..Config::default()
    })
    .expect("engine");
    println!("| size | map µs | copy µs | copy/map |");
    println!("|---:|---:|---:|---:|");
    for &mib in sizes {
        let case = Case::new(&engine, mib);
        let (mut map, mut copy) = (Vec::new(), Vec::new());
        for round in 0..=rounds {
            let (m, c) = if round % 2 == 0 {
                let m = case.map(&engine);
                (m, case.copy(&engine))
            } else {
                let c = case.copy(&engine);
                (case.map(&engine), c)
            };
            // Round 0 is the warm-up.
            if round > 0 {
                map.push(m);
                copy.push(c);
            }
        }
        let (map, copy) = (median(&mut map), median(&mut copy));
        println!(
            "| {mib} MiB | {:.1} | {:.1} | {:.1}x |",
            map / 1e3,
            copy / 1e3,
            copy / map
        );
    }
    println!(
        "\nmedian of {rounds} rounds after a warm-up, fresh instances each; \
         map: sender `share` + `grant`, receiver `open` + `map` at -1 through \
         the waven ABI; copy: host grows the receiver and \
         `AddressSpace::copy_from`; both end with the receiver loading the \
         first and last word of the buffer."
    );
}

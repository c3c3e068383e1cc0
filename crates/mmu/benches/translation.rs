//! What the software MMU costs per access: ns per load and store through the
//! virtual fast path ([`Pinned`] on an [`AddressSpace`]) against the
//! non-virtualized baseline ([`PlainMemory`]) of the same size.
//!
//! Cases: 4- and 8-byte loads and stores, at sequential addresses (a stride
//! of the access size, wrapping within the memory) and at random aligned
//! addresses (precomputed, fixed seed). Every page of the space is written
//! once beforehand, so all pages are private read-write and every access
//! takes the fast path. Loads are summed into an accumulator and stores
//! count their faults, both passed to `black_box`.
//!
//! Each case runs in rounds that interleave the two backends (alternating
//! which goes first); the first round is a discarded warm-up. The table
//! shows the median ns per access of each backend and their ratio, followed
//! by the geometric mean of the ratios.
//!
//! ```text
//! cargo bench -p waven-mmu --bench translation            # full run
//! cargo bench -p waven-mmu --bench translation -- --quick # CI smoke run
//! ```

use std::hint::black_box;
use std::time::Instant;

use waven_mmu::{
    AddressSpace, FramePool, MemoryLimits, PageKind, Pinned, PlainMemory, Rights, PAGE_SIZE,
};

/// Memory size of both backends, in Wasm pages (16 MiB).
const WASM_PAGES: u64 = 256;
const MEMORY_BYTES: u64 = WASM_PAGES << 16;

/// Measurement effort; `--quick` trades precision for a run of seconds.
struct Config {
    /// Measured rounds per case (plus one warm-up round).
    rounds: usize,
    /// Accesses timed per sample.
    accesses: usize,
    /// Distinct random addresses; a sample cycles over them.
    random_addrs: usize,
}

const FULL: Config = Config {
    rounds: 15,
    accesses: 1 << 22,
    random_addrs: 1 << 20,
};

const QUICK: Config = Config {
    rounds: 5,
    accesses: 1 << 18,
    random_addrs: 1 << 16,
};

#[derive(Clone, Copy)]
enum Op {
    Load4,
    Load8,
    Store4,
    Store8,
}

impl Op {
    const ALL: [Op; 4] = [Op::Load4, Op::Load8, Op::Store4, Op::Store8];

    fn size(self) -> u64 {
        match self {
            Op::Load4 | Op::Store4 => 4,
            Op::Load8 | Op::Store8 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Load4 => "load 4 B",
            Op::Load8 => "load 8 B",
            Op::Store4 => "store 4 B",
            Op::Store8 => "store 8 B",
        }
    }
}

/// The addresses one sample accesses.
enum Pattern {
    /// `accesses` addresses `0, step, 2 * step, ...` modulo the memory size.
    Sequential { step: u64, accesses: usize },
    /// The precomputed addresses, cycled over `passes` times.
    Random { addrs: Vec<u64>, passes: usize },
}

impl Pattern {
    fn name(&self) -> &'static str {
        match self {
            Pattern::Sequential { .. } => "sequential",
            Pattern::Random { .. } => "random",
        }
    }

    /// Runs `access` on every address of the pattern and returns the time
    /// per access in ns. `access` returns a value to fold into the result.
    #[inline(always)]
    fn time(&self, mut access: impl FnMut(u64) -> u64) -> f64 {
        let mut acc = 0u64;
        let start = Instant::now();
        let count = match self {
            Pattern::Sequential { step, accesses } => {
                let mut addr = 0;
                for _ in 0..*accesses {
                    acc = acc.wrapping_add(access(addr));
                    addr = (addr + step) & (MEMORY_BYTES - 1);
                }
                *accesses
            }
            Pattern::Random { addrs, passes } => {
                for _ in 0..*passes {
                    for &addr in addrs {
                        acc = acc.wrapping_add(access(addr));
                    }
                }
                addrs.len() * passes
            }
        };
        let elapsed = start.elapsed();
        black_box(acc);
        elapsed.as_nanos() as f64 / count as f64
    }
}

/// `count` random addresses aligned to `align` (xorshift64, fixed seed).
fn random_addrs(count: usize, align: u64) -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % MEMORY_BYTES) & !(align - 1)
        })
        .collect()
}

fn virtual_sample(pin: &Pinned, op: Op, pattern: &Pattern) -> f64 {
    match op {
        Op::Load4 => pattern.time(|a| u64::from(pin.read_u32(a).unwrap_or_default())),
        Op::Load8 => pattern.time(|a| pin.read_u64(a).unwrap_or_default()),
        Op::Store4 => pattern.time(|a| u64::from(pin.write_u32(a, a as u32).is_err())),
        Op::Store8 => pattern.time(|a| u64::from(pin.write_u64(a, a).is_err())),
    }
}

fn plain_sample(mem: &mut PlainMemory, op: Op, pattern: &Pattern) -> f64 {
    let ns = match op {
        Op::Load4 => {
            pattern.time(|a| u64::from(u32::from_le_bytes(mem.read(a).unwrap_or_default())))
        }
        Op::Load8 => pattern.time(|a| u64::from_le_bytes(mem.read(a).unwrap_or_default())),
        Op::Store4 => pattern.time(|a| u64::from(mem.write(a, (a as u32).to_le_bytes()).is_err())),
        Op::Store8 => pattern.time(|a| u64::from(mem.write(a, a.to_le_bytes()).is_err())),
    };
    black_box(mem);
    ns
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}

fn main() {
    // Cargo passes `--bench` to harness-less benches; other arguments are ignored.
    let config = if std::env::args().any(|arg| arg == "--quick") {
        QUICK
    } else {
        FULL
    };

    let pool = FramePool::new(2 * MEMORY_BYTES).expect("frame pool");
    let space = AddressSpace::new(&pool, MemoryLimits::new(WASM_PAGES, Some(WASM_PAGES)))
        .expect("address space");
    let mut plain = PlainMemory::new(WASM_PAGES, Some(WASM_PAGES)).expect("plain memory");
    for page in (0..MEMORY_BYTES).step_by(PAGE_SIZE) {
        space.write(page, [1u8]).expect("touch page");
        plain.write(page, [1u8]).expect("touch page");
        let info = space.page_info(page).expect("page is mapped");
        assert!(info.kind == PageKind::Private && info.rights == Rights::ReadWrite);
    }
    let pin = space.pin();

    println!("| access | pattern | virtual ns | plain ns | virtual/plain |");
    println!("|---|---|---:|---:|---:|");
    let mut log_ratio_sum = 0.0;
    let mut cases = 0;
    for op in Op::ALL {
        let patterns = [
            Pattern::Sequential {
                step: op.size(),
                accesses: config.accesses,
            },
            Pattern::Random {
                addrs: random_addrs(config.random_addrs, op.size()),
                passes: config.accesses / config.random_addrs,
            },
        ];
        for pattern in &patterns {
            let mut virt = Vec::with_capacity(config.rounds);
            let mut base = Vec::with_capacity(config.rounds);
            for round in 0..=config.rounds {
                let (v, p) = if round % 2 == 0 {
                    let v = virtual_sample(&pin, op, pattern);
                    (v, plain_sample(&mut plain, op, pattern))
                } else {
                    let p = plain_sample(&mut plain, op, pattern);
                    (virtual_sample(&pin, op, pattern), p)
                };
                if round > 0 {
                    virt.push(v);
                    base.push(p);
                }
            }
            let (v, p) = (median(&mut virt), median(&mut base));
            log_ratio_sum += (v / p).ln();
            cases += 1;
            println!(
                "| {} | {} | {v:.3} | {p:.3} | {:.2} |",
                op.name(),
                pattern.name(),
                v / p
            );
        }
    }
    let geomean = (log_ratio_sum / f64::from(cases)).exp();
    println!("\ngeometric mean of virtual/plain over {cases} cases: {geomean:.2}");
}

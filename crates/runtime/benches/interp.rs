//! Interpreter benchmark: waven over virtual memory, waven over plain memory,
//! and wasmi 2.0, on the same kernels in the same run.
//!
//! Each kernel in `benches/kernels/` exports one function `(param i32)
//! (result i64)` named after it: the parameter is the problem size, the
//! result a checksum that must be identical on every runtime. Every kernel
//! (re)initializes the memory it uses at the start of each call, so calls can
//! be repeated on one instance; only the call is timed.
//!
//! The runtimes run interleaved in rounds (A B C, B C A, C A B, ...); the
//! first round is a warm-up and discarded, the table reports medians.
//!
//! ```text
//! cargo bench -p waven-runtime --bench interp             # full sizes
//! cargo bench -p waven-runtime --bench interp -- --quick  # tiny sizes
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use waven_runtime::{Config, Engine, EngineKind, Linker, MemoryBackend, Module, Store, Val};

/// A kernel: its WAT source (exporting `name`) and its problem sizes.
struct Kernel {
    name: &'static str,
    wat: &'static str,
    size: i32,
    quick: i32,
}

const KERNELS: &[Kernel] = &[
    Kernel {
        name: "fib",
        wat: include_str!("kernels/fib.wat"),
        size: 30,
        quick: 20,
    },
    Kernel {
        name: "matmul",
        wat: include_str!("kernels/matmul.wat"),
        size: 224,
        quick: 32,
    },
    Kernel {
        name: "sieve",
        wat: include_str!("kernels/sieve.wat"),
        size: 6_000_000,
        quick: 100_000,
    },
    Kernel {
        name: "memloop",
        wat: include_str!("kernels/memloop.wat"),
        size: 1 << 20,
        quick: 1 << 14,
    },
    Kernel {
        name: "sort",
        wat: include_str!("kernels/sort.wat"),
        size: 6_000,
        quick: 500,
    },
    Kernel {
        name: "mix",
        wat: include_str!("kernels/mix.wat"),
        size: 200_000,
        quick: 5_000,
    },
];

const RUNTIMES: [&str; 3] = ["waven virtual", "waven plain", "wasmi"];

/// Bytes of the frame pool of the virtual-memory engine.
const FRAME_BUDGET: u64 = 256 << 20;

/// One runtime's instance of one kernel: calls it with a size, returns the
/// checksum.
type Runner = Box<dyn FnMut(i32) -> i64>;

fn waven_runner(engine: &Engine, name: &'static str, wasm: &[u8]) -> Runner {
    let module = Module::new(engine, wasm).unwrap_or_else(|e| panic!("waven: {name}: {e}"));
    let mut store = Store::new(engine, ());
    let instance = Linker::new()
        .instantiate(&mut store, &module)
        .unwrap_or_else(|e| panic!("waven: instantiating {name}: {e}"));
    let func = instance
        .get_func(&store, name)
        .unwrap_or_else(|| panic!("waven: {name} exports no function {name}"));
    Box::new(move |n| {
        let mut result = [Val::I64(0)];
        func.call(&mut store, &[Val::I32(n)], &mut result)
            .unwrap_or_else(|e| panic!("waven: {name}({n}): {e}"));
        match result[0] {
            Val::I64(checksum) => checksum,
            ref other => panic!("waven: {name}({n}) returned {other:?}, not an i64"),
        }
    })
}

fn wasmi_runner(engine: &wasmi::Engine, name: &'static str, wasm: &[u8]) -> Runner {
    let module = wasmi::Module::new(engine, wasm).unwrap_or_else(|e| panic!("wasmi: {name}: {e}"));
    let mut store = wasmi::Store::new(engine, ());
    let instance = wasmi::Linker::new(engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap_or_else(|e| panic!("wasmi: instantiating {name}: {e}"));
    let func = instance
        .get_typed_func::<i32, i64>(&store, name)
        .unwrap_or_else(|e| panic!("wasmi: {name}: {e}"));
    Box::new(move |n| {
        func.call(&mut store, n)
            .unwrap_or_else(|e| panic!("wasmi: {name}({n}): {e}"))
    })
}

fn median(samples: &mut [Duration]) -> f64 {
    samples.sort();
    let mid = samples.len() / 2;
    let secs = if samples.len() % 2 == 1 {
        samples[mid].as_secs_f64()
    } else {
        (samples[mid - 1] + samples[mid]).as_secs_f64() / 2.0
    };
    secs * 1e3
}

fn geomean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .fold((0.0, 0u32), |(sum, count), v| (sum + v.ln(), count + 1));
    (sum / f64::from(count)).exp()
}

/// Runs `kernel` on every runtime for `rounds` measured rounds after one
/// warm-up round; returns the median milliseconds per runtime.
fn measure(
    kernel: &Kernel,
    size: i32,
    rounds: usize,
    engines: &(Engine, Engine, wasmi::Engine),
) -> [f64; 3] {
    let wasm = wat::parse_str(kernel.wat).unwrap_or_else(|e| panic!("{}: {e}", kernel.name));
    let mut runners: [Runner; 3] = [
        waven_runner(&engines.0, kernel.name, &wasm),
        waven_runner(&engines.1, kernel.name, &wasm),
        wasmi_runner(&engines.2, kernel.name, &wasm),
    ];
    let mut samples: [Vec<Duration>; 3] = Default::default();
    let mut expected: Option<(i64, usize)> = None;
    for round in 0..=rounds {
        for step in 0..RUNTIMES.len() {
            let rt = (round + step) % RUNTIMES.len();
            let start = Instant::now();
            let checksum = black_box(runners[rt](black_box(size)));
            let elapsed = start.elapsed();
            match expected {
                None => expected = Some((checksum, rt)),
                Some((want, first)) if want != checksum => panic!(
                    "checksum mismatch in {}({size}), round {round}: {} returned {checksum:#018x}, \
                     {} returned {want:#018x}",
                    kernel.name, RUNTIMES[rt], RUNTIMES[first]
                ),
                Some(_) => {}
            }
            if round > 0 {
                samples[rt].push(elapsed);
            }
        }
    }
    samples.map(|mut s| median(&mut s))
}

fn main() {
    // Cargo passes `--bench` (and possibly filters); only `--quick` matters.
    let quick = std::env::args().skip(1).any(|arg| arg == "--quick");
    let rounds = if quick { 3 } else { 5 };
    let waven = |memory| {
        Engine::new(Config {
            engine: EngineKind::Interpreter,
            memory,
            frame_budget: FRAME_BUDGET,
            ..Config::default()
        })
        .expect("waven engine")
    };
    let engines = (
        waven(MemoryBackend::Virtual),
        waven(MemoryBackend::Plain),
        wasmi::Engine::default(),
    );

    let mut rows = Vec::new();
    for kernel in KERNELS {
        let size = if quick { kernel.quick } else { kernel.size };
        eprintln!("running {}({size}) ...", kernel.name);
        rows.push((kernel.name, measure(kernel, size, rounds, &engines)));
    }

    println!();
    println!(
        "{} measured rounds (+1 warm-up) per runtime{}; medians",
        rounds,
        if quick { ", --quick sizes" } else { "" }
    );
    println!();
    println!(
        "| kernel | waven virtual ms | waven plain ms | wasmi ms \
         | virtual/wasmi | plain/wasmi | virtual/plain |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let print_row = |name: &str, [v, p, w]: [f64; 3]| {
        println!(
            "| {name} | {v:.1} | {p:.1} | {w:.1} | {:.2} | {:.2} | {:.2} |",
            v / w,
            p / w,
            v / p
        );
    };
    for (name, ms) in &rows {
        print_row(name, *ms);
    }
    let mean = [0, 1, 2].map(|i| geomean(rows.iter().map(|(_, ms)| ms[i])));
    print_row("**geomean**", mean);
    println!();
    println!("geomean virtual/wasmi: {:.2}", mean[0] / mean[2]);
}

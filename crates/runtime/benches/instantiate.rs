//! Time per instantiation of one module with 4 MiB of initialized data
//! (and a declared maximum, see docs/SHARING.md on table size),
//! started from a copy-on-write image of its memory (the default) versus
//! writing the data segments every time, in interleaved rounds.
//!
//! ```text
//! cargo bench -p waven-runtime --bench instantiate [-- --quick]
//! ```

use std::time::Instant;

use waven_runtime::{Config, Engine, Linker, Module, Store};

/// A module whose memory holds `mib` MiB of data segments.
fn module_wat(mib: usize) -> String {
    let segments: String = (0..mib * 16)
        .map(|i| {
            format!(
                "(data (i32.const {}) \"{}\")",
                i * 65536,
                "\\5a".repeat(65536)
            )
        })
        .collect();
    format!("(module (memory {0} {0}) {segments})", mib * 16 + 1)
}

/// Median nanoseconds per instantiation over `rounds` samples of `batch`.
fn measure(engine: &Engine, module: &Module, batch: usize) -> f64 {
    let mut store = Store::new(engine, ());
    let linker = Linker::new();
    let start = Instant::now();
    for _ in 0..batch {
        linker
            .instantiate(&mut store, module)
            .expect("instantiates");
    }
    start.elapsed().as_nanos() as f64 / batch as f64
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (mib, rounds, batch) = if quick { (1, 3, 5) } else { (4, 9, 20) };
    let wasm = wat::parse_str(module_wat(mib)).expect("valid module");
    let engines = [true, false].map(|cow| {
        let config = Config {
            cow_instantiation: cow,
            frame_budget: 4 << 30,
            ..Config::default()
        };
        let engine = Engine::new(config).expect("engine");
        let module = Module::new(&engine, &wasm).expect("module");
        (engine, module)
    });
    let mut samples = [Vec::new(), Vec::new()];
    for round in 0..=rounds {
        for i in 0..2 {
            let which = (round + i) % 2;
            let (engine, module) = &engines[which];
            let ns = measure(engine, module, batch);
            if round > 0 {
                samples[which].push(ns);
            }
        }
    }
    let cow = median(&mut samples[0]);
    let copy = median(&mut samples[1]);
    println!("| start of an instance with {mib} MiB of data | median µs |");
    println!("|---|---:|");
    println!("| copy-on-write image | {:.1} |", cow / 1e3);
    println!("| write the data segments | {:.1} |", copy / 1e3);
    println!("\nspeedup of copy-on-write start: {:.1}x", copy / cow);
}

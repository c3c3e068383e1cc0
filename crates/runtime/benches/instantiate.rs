//! Time per instantiation of one module with 16 MiB of initialized data,
//! started from a copy-on-write image of its memory (the default) versus
//! writing the data segments every time, with and without a declared
//! maximum, in interleaved rounds. Also the first read of every page of
//! a started instance (what the lazy start defers).
//!
//! ```text
//! cargo bench -p waven-runtime --bench instantiate [-- --quick]
//! ```

use std::time::Instant;

use waven_runtime::{Config, Engine, Linker, Module, Store, Val};

/// A module whose memory holds `mib` MiB of data segments, with a
/// maximum of twice that if `maximum`, and an export that reads one byte
/// of every 4 KiB page.
fn module_wat(mib: usize, maximum: bool) -> String {
    let segments: String = (0..mib * 16)
        .map(|i| {
            format!(
                "(data (i32.const {}) \"{}\")",
                i * 65536,
                "\\5a".repeat(65536)
            )
        })
        .collect();
    let pages = mib * 16 + 1;
    let limits = if maximum {
        format!("{pages} {}", pages * 2)
    } else {
        pages.to_string()
    };
    format!(
        r#"(module (memory {limits}) {segments}
            (func (export "touch") (param $end i32) (result i32)
              (local $at i32) (local $sum i32)
              (block $done (loop $next
                (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
                (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $at))))
                (local.set $at (i32.add (local.get $at) (i32.const 4096)))
                (br $next)))
              (local.get $sum)))"#
    )
}

/// One case: an engine, a module and how to start it.
struct Case {
    label: &'static str,
    engine: Engine,
    module: Module,
    /// Read every page after the start (and check the sum).
    touch: Option<i32>,
}

/// Median nanoseconds per instantiation (and touch) over a batch.
fn measure(case: &Case, batch: usize) -> f64 {
    let mut store = Store::new(&case.engine, ());
    let linker = Linker::new();
    // One start outside the timing, so that no case pays for the caches
    // the case before it left cold.
    linker
        .instantiate(&mut store, &case.module)
        .expect("instantiates");
    let start = Instant::now();
    for _ in 0..batch {
        let instance = linker
            .instantiate(&mut store, &case.module)
            .expect("instantiates");
        if let Some(end) = case.touch {
            let touch = instance.get_func(&store, "touch").expect("export");
            let mut out = [Val::I32(0)];
            touch
                .call(&mut store, &[Val::I32(end)], &mut out)
                .expect("runs");
            assert_eq!(out[0], Val::I32((end / 4096) * 0x5a), "every page read");
        }
    }
    start.elapsed().as_nanos() as f64 / batch as f64
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (mib, rounds, batch) = if quick { (1, 3, 5) } else { (16, 9, 20) };
    let bytes = (mib << 20) as i32;
    let case = |label, cow, maximum, touch: bool| {
        let config = Config {
            cow_instantiation: cow,
            frame_budget: 8 << 30,
            ..Config::default()
        };
        let engine = Engine::new(config).expect("engine");
        let wasm = wat::parse_str(module_wat(mib, maximum)).expect("valid module");
        let module = Module::new(&engine, &wasm).expect("module");
        Case {
            label,
            engine,
            module,
            touch: touch.then_some(bytes),
        }
    };
    let cases = [
        case("copy-on-write image, no maximum", true, false, false),
        case("copy-on-write image, maximum declared", true, true, false),
        case("write the data segments, no maximum", false, false, false),
        case("copy-on-write image + read every page", true, false, true),
        case("write the segments + read every page", false, false, true),
    ];
    let mut samples = vec![Vec::new(); cases.len()];
    for round in 0..=rounds {
        for i in 0..cases.len() {
            // Rotated each round, and reversed every other one, so that no
            // case always follows the same one.
            let i = if round % 2 == 0 {
                i
            } else {
                cases.len() - 1 - i
            };
            let which = (round + i) % cases.len();
            let ns = measure(&cases[which], batch);
            if round > 0 {
                samples[which].push(ns);
            }
        }
    }
    println!("| start of an instance with {mib} MiB of data | median µs |");
    println!("|---|---:|");
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    for (case, ns) in cases.iter().zip(&medians) {
        println!("| {} | {:.1} |", case.label, ns / 1e3);
    }
    println!(
        "\nspeedup of copy-on-write start: {:.1}x (without touching), {:.1}x (reading every page)",
        medians[2] / medians[0],
        medians[4] / medians[3]
    );
}

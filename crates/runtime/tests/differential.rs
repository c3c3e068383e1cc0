//! Differential testing of engines and memory backends: generated modules
//! must behave alike on every configuration of `configs()` (see
//! `support/differential.rs`).
//!
//! `WAVEN_DIFF_MODULES` sets how many modules (default 2,000),
//! `WAVEN_DIFF_SEED` the base seed and `WAVEN_DIFF_FIRST` the index of the
//! first module. Longer campaigns:
//! `cargo run -p waven-runtime --example differential --release -- --modules N --seed S`.

#[path = "support/differential.rs"]
mod differential;

use differential::{
    compare, configs, generate, module_seed, record, run, run_file, Campaign, Configuration,
    Failure, Observation, DEFAULT_SEED, FUEL_PER_CALL,
};
use waven_runtime::{Engine, EngineKind, MemoryBackend, TrapKind};

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        differential::parse_u64(&text).unwrap_or_else(|| panic!("{name}={text:?} is not a number")),
    )
}

#[test]
fn generated_modules_behave_alike_on_every_configuration() {
    let mut campaign = Campaign::new(
        env_u64("WAVEN_DIFF_SEED").unwrap_or(DEFAULT_SEED),
        env_u64("WAVEN_DIFF_MODULES").unwrap_or(2_000),
    );
    campaign.first = env_u64("WAVEN_DIFF_FIRST").unwrap_or(0);
    let configs = configs();
    let started = std::time::Instant::now();
    let summary = run(&campaign, &configs);
    println!(
        "{} in {:.1?} (seed {:#x}; reference: {:?})",
        summary.line(),
        started.elapsed(),
        campaign.seed,
        summary.stats
    );
    eprint!("{}", summary.reports());
    assert!(
        summary.divergences.is_empty(),
        "{}; see the reports above for each module and how to reproduce it",
        summary.line()
    );
    // A harness whose modules all fail early compares nothing (checked
    // on runs large enough to say so, not on one module reproduced).
    let stats = &summary.stats;
    if campaign.modules >= 100 {
        assert_eq!(
            stats.compiled, campaign.modules,
            "waven must accept every generated module: the generator's features are waven's"
        );
        assert!(
            stats.instantiated * 2 >= campaign.modules && stats.returned * 5 >= stats.calls,
            "too few modules run to compare anything: {stats:?}"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    let seed = module_seed(DEFAULT_SEED, 7);
    assert_eq!(generate(seed), generate(seed));
    assert_ne!(generate(seed), generate(module_seed(DEFAULT_SEED, 8)));
}

fn reference_engine() -> Engine {
    Engine::new(configs()[0].config.clone()).unwrap()
}

const COUNTER: &str = r#"
(module
  (memory (export "memory") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (data (i32.const 100) "\01\02\03")
  (func (export "count") (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
    (i32.store (i32.const 8) (local.get $i))
    (global.set $g (local.get $i))
    (local.get $i)))
"#;

/// The harness can fail: a configuration that differs only in its fuel
/// budget is reported as a divergence.
#[test]
fn a_different_fuel_budget_is_a_divergence() {
    let engine = reference_engine();
    let wasm = wat::parse_str(COUNTER).unwrap();
    let reference = record(&engine, &wasm, FUEL_PER_CALL);
    assert_eq!(
        compare(&reference, &record(&engine, &wasm, FUEL_PER_CALL)),
        None
    );
    let difference =
        compare(&reference, &record(&engine, &wasm, FUEL_PER_CALL - 1)).expect("fuel left differs");
    assert!(difference.contains("fuel_left"), "{difference}");
    // Too little fuel to finish the loop: the call traps.
    let starved = record(&engine, &wasm, 50);
    assert!(compare(&reference, &starved).is_some());
    assert!(starved.0.iter().any(|o| matches!(
        o,
        Observation::Call {
            outcome: Err(Failure::Trap(TrapKind::OutOfFuel)),
            ..
        }
    )));
}

/// One byte of memory changed is a divergence, and the report names the page.
#[test]
fn one_changed_byte_of_memory_is_a_divergence() {
    let engine = reference_engine();
    let original = record(&engine, &wat::parse_str(COUNTER).unwrap(), FUEL_PER_CALL);
    let changed = COUNTER.replace(r#""\01\02\03""#, r#""\01\02\04""#);
    let changed = record(&engine, &wat::parse_str(changed).unwrap(), FUEL_PER_CALL);
    let difference = compare(&original, &changed).expect("memory differs");
    assert!(difference.contains("memory \"memory\""), "{difference}");
    assert!(difference.contains("page 0"), "{difference}");
}

/// Loops in start functions end with the fuel.
#[test]
fn start_functions_that_loop_run_out_of_fuel() {
    let wasm = wat::parse_str("(module (func $spin (loop (br 0))) (start $spin))").unwrap();
    let (reference, divergences) = run_file(&configs(), &wasm, FUEL_PER_CALL);
    assert_eq!(divergences, []);
    assert_eq!(reference.0.len(), 2, "{reference:?}");
    for observation in &reference.0 {
        assert!(
            matches!(
                observation,
                Observation::Instantiate {
                    outcome: Err(Failure::Trap(TrapKind::OutOfFuel)),
                    ..
                }
            ),
            "{observation:?}"
        );
    }
}

/// Without fuel, a looping start function would hang the run.
#[test]
fn every_configuration_has_fuel_and_a_readable_name() {
    for config in configs() {
        assert!(config.config.fuel, "{}", config.name);
    }
    let compiled = Configuration::new(EngineKind::Compiled, MemoryBackend::Plain);
    assert_eq!(compiled.name, "compiled×plain");
}

/// The second instance is observed from its own initial state: the first
/// one's calls wrote memory, the second one's memory is the data segments.
#[test]
fn the_second_instance_starts_from_the_data_segments() {
    let wasm = wat::parse_str(COUNTER).unwrap();
    let reference = record(&reference_engine(), &wasm, FUEL_PER_CALL);
    let memories: Vec<_> = reference
        .0
        .iter()
        .filter_map(|o| match o {
            Observation::Memory { page_hashes, .. } => Some(page_hashes),
            _ => None,
        })
        .collect();
    assert_eq!(memories.len(), 2, "{reference:?}");
    assert_ne!(
        memories[0], memories[1],
        "the first instance stored its count"
    );
}

/// A whole campaign reports a configuration that behaves differently,
/// with the seed, how to reproduce and the saved module.
#[test]
fn a_campaign_reports_a_different_configuration() {
    let reference = configs().remove(0);
    let mut capped = reference.clone();
    capped.name = "capped".to_owned();
    capped.config.max_memory_bytes = Some(0);
    let mut campaign = Campaign::new(DEFAULT_SEED, 50);
    campaign.threads = 1;
    let summary = run(&campaign, &[reference, capped]);
    assert!(!summary.divergences.is_empty(), "{}", summary.line());
    let dir = std::env::temp_dir().join(format!("waven-differential-{}", std::process::id()));
    let report = summary.divergences[0].report_in(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    for expected in [
        "capped differs from",
        "seed 0x",
        "WAVEN_DIFF_FIRST=",
        ".wasm",
        "(module",
    ] {
        assert!(report.contains(expected), "{expected:?} not in {report}");
    }
}

/// Error kinds the harness does not know yet compare by variant name.
#[test]
fn unknown_error_kinds_compare_by_variant_name() {
    use waven_runtime::Error;
    assert_eq!(
        differential::variant_name(&Error::Limit("big".into())),
        "Limit"
    );
    let link = Error::Link {
        module: "m".into(),
        name: "n".into(),
        reason: "r".into(),
    };
    assert_eq!(differential::variant_name(&link), "Link");
}

const RECURSION: &str = r#"
(module
  (memory (export "memory") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func $down (export "down") (param $n i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $down (i32.add (local.get $n) (i32.const 1))))
  (func (export "set") (global.set $g (i32.const 7))))
"#;

/// A call that exhausts the stack ends the comparison: the depth each
/// engine reaches is its own (here the memory counts the frames), but
/// what was observed before it still counts.
#[test]
fn comparison_ends_where_the_stack_is_exhausted() {
    let wasm = wat::parse_str(RECURSION).unwrap();
    let depth_limited = |depth| {
        let mut config = configs().remove(0).config;
        config.max_call_depth = depth;
        record(&Engine::new(config).unwrap(), &wasm, FUEL_PER_CALL)
    };
    // Deep enough to write memory many times, not so deep that the fuel
    // ends first.
    let reference = depth_limited(1_000);
    let exhausted = reference
        .0
        .iter()
        .position(|o| differential::exhausts_stack(Some(o)))
        .expect("the recursion exhausts the call stack");
    // Another depth limit: the memory holds another frame count.
    let shallow = depth_limited(100);
    assert_ne!(reference, shallow);
    assert_eq!(compare(&reference, &shallow), None);
    // A difference before the exhaustion is still reported.
    let mut changed = shallow.clone();
    let earlier = exhausted.checked_sub(1).expect("instantiation comes first");
    changed.0[earlier] = Observation::Global {
        export: "x".into(),
        value: differential::Value::I32(1),
    };
    assert!(compare(&reference, &changed).is_some());
}

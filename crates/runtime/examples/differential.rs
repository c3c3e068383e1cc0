//! Differential campaigns longer than `cargo test` runs: generated modules
//! on every configuration of the harness (`tests/support/differential.rs`).
//!
//! ```text
//! cargo run -p waven-runtime --example differential --release -- --modules N --seed S
//!     [--first I] [--fuel F] [--threads T]
//! cargo run -p waven-runtime --example differential -- --wasm FILE   # one .wasm or .wat
//! cargo run -p waven-runtime --example differential -- --print I --seed S   # module I as WAT
//! ```
//!
//! Prints `differential: N modules, K configurations, D divergences` and a
//! report for each divergence; exits with status 1 if there is any.

#[path = "../tests/support/differential.rs"]
mod differential;

use std::process::ExitCode;

use differential::{
    configs, generate, module_seed, parse_u64, run, run_file, Campaign, DEFAULT_SEED,
};

const USAGE: &str = "usage: differential [--modules N] [--seed S] [--first I] [--fuel F] \
                     [--threads T] | --wasm FILE | --print I [--seed S]";

fn main() -> ExitCode {
    match main_with(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("differential: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn main_with(args: Vec<String>) -> Result<ExitCode, String> {
    let mut campaign = Campaign::new(DEFAULT_SEED, 10_000);
    campaign.progress_every = 10_000;
    let (mut wasm_file, mut print) = (None, None);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let mut number = || {
            let text = value()?;
            parse_u64(&text).ok_or(format!("{flag} {text:?} is not a number"))
        };
        match flag.as_str() {
            "--modules" => campaign.modules = number()?,
            "--seed" => campaign.seed = number()?,
            "--first" => campaign.first = number()?,
            "--fuel" => campaign.fuel = number()?,
            "--threads" => campaign.threads = number()? as usize,
            "--print" => print = Some(number()?),
            "--wasm" => wasm_file = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    let configs = configs();
    if let Some(index) = print {
        let wasm = generate(module_seed(campaign.seed, index));
        println!(
            "{}",
            wasmprinter::print_bytes(&wasm).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = wasm_file {
        let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        // A saved .wasm, or a module written by hand as WAT.
        let wasm = wat::parse_bytes(&bytes).map_err(|e| format!("{path}: {e}"))?;
        let (reference, divergences) = run_file(&configs, &wasm, campaign.fuel);
        println!("{}: {reference:#?}", configs[0].name);
        for (config, difference) in &divergences {
            println!(
                "DIVERGENCE: {config} differs from {}: {difference}",
                configs[0].name
            );
        }
        println!(
            "differential: 1 module, {} configurations, {} divergences",
            configs.len(),
            divergences.len()
        );
        return Ok(exit_code(divergences.is_empty()));
    }
    let started = std::time::Instant::now();
    let summary = run(&campaign, &configs);
    eprint!("{}", summary.reports());
    println!(
        "seed {:#x}, modules {}..{}, {:.1?}; reference: {:?}",
        campaign.seed,
        campaign.first,
        campaign.first + campaign.modules,
        started.elapsed(),
        summary.stats
    );
    println!("{}", summary.line());
    Ok(exit_code(summary.divergences.is_empty()))
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

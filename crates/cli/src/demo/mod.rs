//! `waven demo`: the shipped demos, on embedded defaults.
//!
//! Each demo's guests are C programs under `demos/<demo>/`, compiled to
//! `demos/build/<demo>-*.wasm` by `demos/build-<demo>.sh` (the built
//! modules are committed, and a test rebuilds them and checks the bytes)
//! and embedded in the binary, so a demo needs nothing but this binary.

mod faas;
mod marketplace;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use waven_runtime::EngineKind;

/// The engine demos run on unless told: compiled code where the build has
/// a compiler, else the interpreter.
const DEFAULT_ENGINE: &str = if waven_runtime::COMPILER_AVAILABLE {
    "jit"
} else {
    "interp"
};

/// The name of an engine in demo output.
fn engine_name(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Interpreter => "interp",
        EngineKind::Compiled => "jit",
    }
}

/// Arguments of `waven demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(subcommand)]
    demo: Demo,
}

#[derive(Subcommand, Debug)]
enum Demo {
    /// A data provider lends a data set read-only to three analysts and a
    /// malicious one; compared with giving each analyst a copy.
    Marketplace(marketplace::MarketplaceArgs),
    /// A three-stage function chain handing its state on through regions
    /// without copies; compared with copying through the host.
    Faas(faas::FaasArgs),
}

/// Runs `waven demo`.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    match args.demo {
        Demo::Marketplace(args) => marketplace::run(args),
        Demo::Faas(args) => faas::run(args),
    }
}

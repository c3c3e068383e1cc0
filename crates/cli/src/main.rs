//! `waven`: the command line of the waven runtime.
//!
//! `waven run` runs a WASI module the way `wasmtime run` does: the exit
//! status is the guest's `proc_exit` code, `--invoke` calls an export and
//! prints its results, and a trap prints its kind (with the address,
//! access and reason for memory faults) and a backtrace.
//!
//! `waven platform MANIFEST` runs the tenants of a deployment manifest on
//! one platform, with their output prefixed by their names, and sums up
//! how each ended and which regions were shared with whom (`--json`: as
//! one JSON document; `--maps`: with each instance's memory map).
//!
//! `waven inspect MODULE` lists a module's imports, exports and memories
//! and the `waven` ABI functions it uses.

mod demo;
mod host_heap;
mod inspect;
mod invoke;
mod platform;
mod run;

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// waven: a WebAssembly runtime with a software MMU for confidential computing.
#[derive(Parser, Debug)]
#[command(name = "waven", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a WebAssembly module (.wasm or .wat) with WASI, as `wasmtime run` does.
    Run(run::RunArgs),
    /// Run the tenants of a deployment manifest (TOML) on one platform.
    Platform(platform::PlatformArgs),
    /// Show a module's imports, exports, memories and the waven ABI functions it uses.
    Inspect(inspect::InspectArgs),
    /// Run a shipped demo on embedded defaults (marketplace, faas).
    Demo(demo::DemoArgs),
}

/// The host heap of `inspect` and `demo` in the enclave profile.
const OTHER_HOST_HEAP: u64 = 256 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => host_heap::reserve(args.host_heap).and_then(|()| run::run(args)),
        // Reserves its host heap once the manifest says how much.
        Command::Platform(args) => platform::run(args),
        Command::Inspect(args) => {
            host_heap::reserve(OTHER_HOST_HEAP).and_then(|()| inspect::run(args))
        }
        Command::Demo(args) => host_heap::reserve(OTHER_HOST_HEAP).and_then(|()| demo::run(args)),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Writes `text` to stdout; a reader that went away (a closed pipe, as
/// with `| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

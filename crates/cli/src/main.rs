//! `waven`: the command line of the waven runtime.
//!
//! `waven run` runs a WASI module the way `wasmtime run` does, with its
//! command-line conventions (options before the module, everything after
//! it for the guest, `-W`/`-S` option groups, `waven FILE.wasm` for
//! `waven run FILE.wasm`): the exit status is the guest's `proc_exit`
//! code, `--invoke` calls an export and prints its results, and a trap
//! prints its kind (with the address, access and reason for memory
//! faults) and a backtrace. The module also gets the `waven` guest ABI,
//! as the one tenant of its own platform.
//!
//! `waven platform MANIFEST` runs the tenants of a deployment manifest on
//! one platform, with their output prefixed by their names, and sums up
//! how each ended and which regions were shared with whom (`--json`: as
//! one JSON document; `--maps`: with each instance's memory map).
//!
//! `waven compile MODULE [-o OUT]` compiles a module ahead of time into a
//! `.cwasm` artifact, which `waven run` and manifests load as they load a
//! module (the enclave profile runs compiled code only from artifacts).
//!
//! `waven inspect MODULE` lists a module's imports, exports and memories
//! and the `waven` ABI functions it uses.

mod argv;
mod compile;
mod demo;
mod host_heap;
mod inspect;
mod invoke;
mod platform;
mod run;

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{CommandFactory, Parser, Subcommand};

/// waven: a WebAssembly runtime with a software MMU for confidential computing.
#[derive(Parser, Debug)]
#[command(name = "waven", version = VERSION, about, long_about = None)]
#[command(after_help = "`waven [OPTIONS] MODULE [ARGS]...` is short for `waven run`.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a WebAssembly module (.wasm or .wat) with WASI, as `wasmtime run` does.
    #[command(
        after_help = "Options go before the module: everything after it is passed to \
the guest unchanged, `--help` and `--` included. `waven MODULE [ARGS]...` is short for \
`waven run MODULE [ARGS]...`. The module also gets the `waven` guest ABI as instance \
`main`, the one tenant of its own platform (leave it out with -S waven=n)."
    )]
    Run(run::RunArgs),
    /// Compile a module ahead of time into a .cwasm artifact for this host.
    #[command(
        after_help = "The artifact runs with `waven run` or as a manifest's tenant module, \
on an engine with the same settings (--memory, and a fuel limit if compiled with --fuel); \
the enclave profile, which has no compiler, runs compiled code only from artifacts."
    )]
    Compile(compile::CompileArgs),
    /// Run the tenants of a deployment manifest (TOML) on one platform.
    Platform(platform::PlatformArgs),
    /// Show a module's imports, exports, memories and the waven ABI functions it uses.
    Inspect(inspect::InspectArgs),
    /// Run a shipped demo on embedded defaults (marketplace, faas).
    Demo(demo::DemoArgs),
}

/// `waven --version`: the crate's version, and the commit and its date
/// that `build.rs` found (`unknown` outside a git checkout).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("WAVEN_COMMIT"),
    " ",
    env!("WAVEN_COMMIT_DATE"),
    ")"
);

/// The host heap of `compile`, `inspect` and `demo` in the enclave profile.
const OTHER_HOST_HEAP: u64 = 256 << 20;

fn main() -> ExitCode {
    // clap parses the options; the guest's arguments are split off first.
    let split = argv::split(std::env::args_os().collect(), &Cli::command());
    let cli = Cli::parse_from(split.head);
    let outcome = match cli.command {
        Command::Run(mut args) => guest_args(split.guest).and_then(|guest| {
            args.args = guest;
            host_heap::reserve(args.host_heap).and_then(|()| run::run(args))
        }),
        Command::Compile(args) => {
            host_heap::reserve(OTHER_HOST_HEAP).and_then(|()| compile::run(args))
        }
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

/// The guest's arguments as WASI passes them: UTF-8 strings.
fn guest_args(args: Vec<std::ffi::OsString>) -> anyhow::Result<Vec<String>> {
    args.into_iter()
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| anyhow!("the guest argument {arg:?} is not UTF-8"))
        })
        .collect()
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

//! waven's benchmark suite.
//!
//! Builds the C kernels of `bench/kernels/` for wasm32-wasi (clang) and
//! natively (gcc -O2), runs each on every runtime in interleaved rounds,
//! verifies every run's checksum, and writes a Markdown table, a JSON file
//! and an SVG chart under `bench/results/`. `--callgrind` counts
//! instructions instead, for comparing two waven builds (`--baseline`).

mod callgrind;
mod kernels;
mod measure;
mod report;
mod runtimes;
mod stats;
mod suite;
mod wasmi_run;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use kernels::Size;
use report::Results;
use runtimes::Locations;

/// Runs waven's benchmark kernels on waven and its peers.
#[derive(Parser, Debug)]
#[command(name = "waven-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Internal>,
    /// Small problem sizes (tens of milliseconds under an interpreter), for CI.
    #[arg(long)]
    quick: bool,
    /// Only kernels whose name contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Runtimes to run, in column order (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = runtimes::ALL.map(String::from))]
    runtimes: Vec<String>,
    /// Measured rounds per kernel and runtime.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Warm-up rounds before the measured ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Directory for the reports.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The waven binary to measure (default: `cargo build --release -p waven-cli`).
    #[arg(long)]
    waven: Option<PathBuf>,
    /// A second waven binary, measured as `baseline-virtual`.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Count instructions under valgrind's callgrind (once per kernel and
    /// waven runtime) instead of timing.
    #[arg(long)]
    callgrind: bool,
}

#[derive(Subcommand, Debug)]
enum Internal {
    /// Runs a WASI module on wasmi (used by the suite as the wasmi runtime).
    #[command(hide = true)]
    WasmiRun {
        /// The module.
        file: String,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Internal::WasmiRun { file, args }) = &cli.command {
        return match wasmi_run::run(file, args) {
            Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(134)
            }
        };
    }
    match suite(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the suite; `Ok(false)` when some run failed or printed a wrong
/// checksum.
fn suite(cli: &Cli) -> Result<bool> {
    if cli.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let root = workspace_root();
    let size = if cli.quick { Size::Quick } else { Size::Full };
    let waven = match &cli.waven {
        Some(path) => path.clone(),
        None => build_waven(&root)?,
    };
    let locations = Locations {
        waven,
        baseline: cli.baseline.clone(),
    };
    let mut runtimes = runtimes::select(&cli.runtimes, &locations)?;
    if cli.callgrind {
        runtimes.retain(|r| r.is_waven());
        if runtimes.is_empty() {
            bail!("--callgrind compares waven builds: select waven-virtual or waven-plain");
        }
    }
    let kernels = kernels::prepare(
        &root.join("bench/kernels"),
        &target_dir(&root).join("bench-kernels"),
        &cli.filter,
        size,
    )?;
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| root.join("bench/results"));
    if cli.callgrind {
        for path in callgrind::run(&kernels, &runtimes, size, &out)? {
            println!("wrote {}", path.display());
        }
        return Ok(true);
    }
    let plan = suite::Plan {
        warmup: cli.warmup,
        rounds: cli.rounds,
        size,
    };
    let results = suite::run(&kernels, &runtimes, plan);
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let results = Results::new(
        format!("bench/run {command}").trim().to_owned(),
        size.name(),
        (plan.warmup, plan.rounds),
        &runtimes,
        kernels::compiler_versions(),
        results,
    );
    let md = report::markdown(&results);
    println!("{md}");
    for path in results.write(&out, size.name())? {
        println!("wrote {}", path.display());
    }
    Ok(results.all_passed())
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Builds the `waven` CLI in release mode; returns its path.
fn build_waven(root: &Path) -> Result<PathBuf> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet", "-p", "waven-cli"])
        .current_dir(root)
        .status()
        .context("running cargo to build waven")?;
    if !status.success() {
        bail!("building waven failed");
    }
    Ok(target_dir(root).join("release/waven"))
}

//! `waven compile MODULE [-o OUT]`: compiles a module ahead of time into a
//! `.cwasm` artifact that `waven run`, manifests and the embedding API load
//! without compiling (the only way code reaches the enclave profile, which
//! has no compiler).
//!
//! The artifact is compiled for this host and for one set of codegen
//! settings, the memory backend (`--memory`) and fuel metering (`--fuel`):
//! it loads only on an engine with the same settings, so `waven run` must
//! be given the same `--memory` and, for an artifact compiled with
//! `--fuel`, a `--fuel N` limit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use waven_runtime::{Config, Engine, EngineKind, MemoryBackend, Module};

use crate::run::{read_module, MemoryKind};

/// Arguments of `waven compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// Where to write the artifact (default: MODULE with the extension
    /// `.cwasm`).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The memory backend the code is compiled for; `waven run` must use
    /// the same.
    #[arg(long, value_enum, default_value = "virtual")]
    memory: MemoryKind,
    /// Compile with fuel metering; the artifact then runs only with a fuel
    /// limit (`waven run --fuel N`, or a tenant's `fuel`).
    #[arg(long)]
    fuel: bool,
    /// The module: a .wasm binary or a .wat text file.
    module: PathBuf,
}

/// Runs `waven compile`.
pub fn run(args: CompileArgs) -> Result<ExitCode> {
    let wasm = read_module(&args.module)?;
    if !waven_runtime::COMPILER_AVAILABLE {
        anyhow::bail!(
            "this build has no compiler (feature `jit`){}: compile with a waven built with it \
             and ship the .cwasm artifact",
            if waven_runtime::ENCLAVE_PROFILE {
                ", as the enclave profile never has"
            } else {
                ""
            }
        );
    }
    if Module::is_artifact(&wasm) {
        anyhow::bail!(
            "{} is already a compiled artifact; compile its source module",
            args.module.display()
        );
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.module.with_extension("cwasm"));
    if output == args.module {
        anyhow::bail!(
            "the output {} would overwrite the module; give another with -o",
            output.display()
        );
    }
    // Compiling instantiates nothing: an empty frame pool will do.
    let engine = Engine::new(Config {
        engine: EngineKind::Compiled,
        memory: backend(args.memory),
        fuel: args.fuel,
        frame_budget: 0,
        ..Config::default()
    })
    .context("cannot create the engine")?;
    let artifact = Module::precompile(&engine, &wasm)
        .with_context(|| format!("cannot compile {}", args.module.display()))?;
    write(&output, &artifact)?;
    let sha256: String = waven_platform::run::measure(&artifact)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    crate::emit(&format!(
        "{}: {} bytes of wasm compiled to {} bytes, sha256 {sha256}\n",
        output.display(),
        wasm.len(),
        artifact.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The runtime's memory backend for the CLI's.
fn backend(memory: MemoryKind) -> MemoryBackend {
    match memory {
        MemoryKind::Virtual => MemoryBackend::Virtual,
        MemoryKind::Plain => MemoryBackend::Plain,
    }
}

/// Writes `bytes` to `path` whole: to a temporary file beside it, renamed
/// over it, so that no reader ever sees half an artifact.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".tmp{}", std::process::id()));
    let temporary = path.with_file_name(name);
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

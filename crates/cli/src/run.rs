//! `waven run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use waven_runtime::{
    Config, Engine, Error, Linker, MemoryBackend, Module, Store, Trap, TrapKind, Val, Watchdog,
};
use waven_wasi::{WasiCtx, WasiCtxBuilder};

/// Exit status of a run that trapped (as wasmtime: the status of an abort).
const TRAP_STATUS: u8 = 134;

/// The execution engine.
#[derive(Clone, Copy, Debug)]
pub enum EngineKind {
    /// The interpreter (no code generation; the engine for enclaves).
    Interp,
}

/// Parses `--engine`; any engine but the interpreter would generate code
/// at run time, which the enclave profile rules out.
pub fn parse_engine(name: &str) -> Result<EngineKind, String> {
    match name {
        "interp" => Ok(EngineKind::Interp),
        _ if waven_runtime::ENCLAVE_PROFILE => Err(format!(
            "engine `{name}` is not available: the enclave profile runs no code \
             generated at run time, only `interp`"
        )),
        _ => Err(format!("unknown engine `{name}` (available: interp)")),
    }
}

/// The host heap `waven run` reserves in the enclave profile unless told:
/// 64 MiB plus 16 MiB for the one instance (as for a manifest).
pub const DEFAULT_HOST_HEAP: u64 = 80 << 20;

/// The memory backend.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MemoryKind {
    /// The software MMU: 4 KiB pages with rights (default).
    Virtual,
    /// Contiguous bounds-checked memory, no virtualization.
    Plain,
}

/// Arguments of `waven run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Execution engine.
    #[arg(long, value_parser = parse_engine, default_value = "interp")]
    engine: EngineKind,
    /// Memory backend.
    #[arg(long, value_enum, default_value = "virtual")]
    memory: MemoryKind,
    /// Preopen a host directory, as HOST or HOST::GUEST (repeatable).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the guest, as KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    envs: Vec<String>,
    /// Call this export instead of `_start`; ARGS are its arguments, and
    /// its results are printed one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Stop the guest after this much fuel (about one unit per instruction).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Largest size in bytes of any linear memory.
    #[arg(long, value_name = "BYTES")]
    max_memory: Option<u64>,
    /// Bytes of the frame pool that virtual memory draws on (the enclave
    /// budget).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    frame_budget: u64,
    /// A wasmtime-style option, as KEY=VALUE (repeatable): `timeout=`
    /// DURATION (wall clock, e.g. `10s`, `500ms`: stops a loop and a
    /// blocked host call alike), `fuel=N`, `max-memory-size=BYTES`.
    #[arg(short = 'W', value_name = "KEY=VALUE")]
    wasm_options: Vec<String>,
    /// Bytes of host heap (tables, stacks, the module) reserved at start-up
    /// in the enclave profile; ignored by other builds.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_HOST_HEAP)]
    pub host_heap: u64,
    /// The module: a .wasm binary or a .wat text file.
    module: PathBuf,
    /// Arguments passed to the guest (or to the function given by --invoke).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Host state of a run: the WASI context.
struct Host {
    wasi: WasiCtx,
}

/// Reads a module, converting text format if needed.
fn load(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn wasi_context(args: &RunArgs) -> Result<WasiCtx> {
    // argv[0] is the module's file name, as wasmtime passes it.
    let program = args.module.file_name().map_or_else(
        || args.module.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut builder = WasiCtxBuilder::new()
        .args(std::iter::once(program).chain(args.args.iter().cloned()))
        .stdin(waven_wasi::Input::Inherit)
        .stdout(waven_wasi::Output::Inherit)
        .stderr(waven_wasi::Output::Inherit);
    for env in &args.envs {
        let (key, value) = env
            .split_once('=')
            .ok_or_else(|| anyhow!("--env {env:?}: expected KEY=VALUE"))?;
        builder = builder.env(key, value);
    }
    for dir in &args.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder = builder
            .preopened_dir(host, guest)
            .with_context(|| format!("--dir {dir}"))?;
    }
    Ok(builder.build())
}

/// What the `-W` options say.
#[derive(Default)]
struct WasmOptions {
    timeout: Option<std::time::Duration>,
    fuel: Option<u64>,
    max_memory_size: Option<u64>,
}

/// Parses `-W KEY=VALUE` options; an unknown key is an error.
fn wasm_options(options: &[String]) -> Result<WasmOptions> {
    let mut parsed = WasmOptions::default();
    for option in options {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| anyhow!("-W {option:?}: expected KEY=VALUE"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| anyhow!("-W {key}: {value:?} is not a number"))
        };
        match key {
            "timeout" => {
                let duration = waven_platform::limits::parse_duration(value)
                    .map_err(|error| anyhow!("-W timeout: {error}"))?;
                parsed.timeout = Some(duration);
            }
            "fuel" => parsed.fuel = Some(number()?),
            "max-memory-size" => parsed.max_memory_size = Some(number()?),
            _ => bail!("-W {key}: unknown option (known: timeout, fuel, max-memory-size)"),
        }
    }
    Ok(parsed)
}

/// Runs `waven run`; returns the process exit status.
pub fn run(mut args: RunArgs) -> Result<ExitCode> {
    let EngineKind::Interp = args.engine;
    let options = wasm_options(&args.wasm_options)?;
    args.fuel = options.fuel.or(args.fuel);
    args.max_memory = options.max_memory_size.or(args.max_memory);
    // Made before the guest starts, like every thread of a run.
    let watchdog = match options.timeout {
        Some(_) => Some(Watchdog::start().context("cannot start the deadline thread")?),
        None => None,
    };
    let config = Config {
        memory: match args.memory {
            MemoryKind::Virtual => MemoryBackend::Virtual,
            MemoryKind::Plain => MemoryBackend::Plain,
        },
        frame_budget: args.frame_budget,
        fuel: args.fuel.is_some(),
        max_memory_bytes: args.max_memory,
        ..Config::default()
    };
    let engine = Engine::new(config).context("cannot create the engine")?;
    let bytes = load(&args.module)?;
    let module = Module::new(&engine, &bytes)
        .with_context(|| format!("cannot load {}", args.module.display()))?;
    let wasi = wasi_context(&args)?;
    let mut store = Store::new(&engine, Host { wasi });
    if let Some(fuel) = args.fuel {
        store.set_fuel(fuel);
    }
    if let (Some(timeout), Some(watchdog)) = (options.timeout, &watchdog) {
        let interrupt = store.interrupt_handle();
        interrupt.set_deadline(std::time::Instant::now() + timeout);
        watchdog.watch(interrupt);
    }
    let mut linker = Linker::new();
    waven_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(Error::Trap(trap)) => return Ok(report_trap(&trap)),
        Err(error) => return Err(error).context("cannot instantiate the module"),
    };
    let (name, call_args) = match &args.invoke {
        Some(name) => (name.as_str(), Some(&args.args)),
        None => ("_start", None),
    };
    let Some(func) = instance.get_func(&store, name) else {
        bail!("the module exports no function {name:?}");
    };
    let ty = func.ty(&store);
    let params = match call_args {
        Some(values) => crate::invoke::parse_args(ty.params(), values)?,
        None if ty.params().is_empty() => Vec::new(),
        None => bail!("{name} takes parameters; use --invoke to pass them"),
    };
    let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for(t)).collect();
    match func.call(&mut store, &params, &mut results) {
        Ok(()) => {
            if args.invoke.is_some() {
                for value in &results {
                    println!("{}", crate::invoke::format_val(value));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Trap(Trap {
            kind: TrapKind::Exit(status),
            ..
        })) => exit_status(status),
        Err(Error::Trap(trap)) => Ok(report_trap(&trap)),
        Err(error) => Err(error.into()),
    }
}

/// The process status for a guest's `proc_exit(status)`. Like wasmtime,
/// statuses of 126 and above (reserved by shells) are refused.
fn exit_status(status: i32) -> Result<ExitCode> {
    match u8::try_from(status) {
        Ok(code) if code < 126 => Ok(ExitCode::from(code)),
        _ => bail!("exit with invalid exit status outside of [0..126)"),
    }
}

/// Prints a trap as `error: trap: <kind>` and its backtrace.
fn report_trap(trap: &Trap) -> ExitCode {
    eprintln!("error: trap: {}", trap.kind);
    if !trap.backtrace.is_empty() {
        eprintln!("backtrace:");
        for (i, name) in trap.backtrace.iter().enumerate() {
            eprintln!("  {i:>3}: {name}");
        }
    }
    ExitCode::from(TRAP_STATUS)
}

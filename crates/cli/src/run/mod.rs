//! `waven run`: one module with WASI and the `waven` guest ABI, as
//! `wasmtime run` runs one.
//!
//! The module is instance `main` of a platform of its own (one tenant,
//! sharing policy: deny), so the ABI's page operations act on its memory
//! and its sharing calls find no other tenant. A reactor's `_initialize`
//! runs first; then `--invoke`'s function, or `_start` if the module has
//! one (a module with neither just instantiates and exits 0).

mod artifact;
mod options;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::Platform;
use waven_platform::TenantLimits;
use waven_runtime::{
    Config, Engine, EngineKind, Error, Instance, Linker, MemoryBackend, Module, Store, Trap,
    TrapKind, Val, Watchdog,
};
use waven_wasi::{WasiCtx, WasiCtxBuilder};

use options::{wasi_options, wasm_options, WasiOptions};

/// Exit status of a run that trapped (as wasmtime: the status of an abort).
const TRAP_STATUS: u8 = 134;

/// Parses `--engine`: `interp` (the interpreter) or `jit` (compiled code,
/// compiled at load time or loaded from a precompiled artifact). The
/// enclave profile generates no code at run time: there `jit` runs only
/// precompiled artifacts. Without `--engine`, a `.cwasm` artifact runs on
/// the compiled engine and a module on the build's default (compiled code
/// where the build has a compiler, else the interpreter).
pub fn parse_engine(name: &str) -> Result<EngineKind, String> {
    match name {
        "interp" => Ok(EngineKind::Interpreter),
        "jit" | "compiled" => Ok(EngineKind::Compiled),
        _ => Err(format!("unknown engine `{name}` (available: interp, jit)")),
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

/// The name of the one instance on `waven run`'s platform.
const INSTANCE: &str = "main";

/// Arguments of `waven run`. Options go before the module; everything
/// after it is the guest's (see `crate::argv`).
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Execution engine: jit or interp (default: jit; builds without a
    /// compiler, such as the enclave profile's, run modules on interp and
    /// precompiled .cwasm artifacts on jit).
    #[arg(long, value_parser = parse_engine)]
    engine: Option<EngineKind>,
    /// Memory backend (with `plain`, the `waven` ABI's page operations
    /// return ENOSYS).
    #[arg(long, value_enum, default_value = "virtual")]
    memory: MemoryKind,
    /// Preopen a host directory, as HOST or HOST::GUEST (repeatable).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the guest (repeatable): NAME=VALUE,
    /// or NAME alone to pass the host's value (skipped if unset).
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// The guest's argv[0] (default: the module's file name).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// Call this export instead of `_start` (after `_initialize`, if the
    /// module has one); ARGS are its arguments, and its results are
    /// printed one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Stop the guest after this much fuel (about one unit per
    /// instruction); as `-W fuel=N`.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Largest size in bytes of any linear memory; as `-W
    /// max-memory-size=BYTES`.
    #[arg(long, value_name = "BYTES")]
    max_memory: Option<u64>,
    /// Bytes of the frame pool that virtual memory draws on (the enclave
    /// budget).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    frame_budget: u64,
    /// wasmtime's WebAssembly options, KEY[=VALUE][,...] (repeatable):
    /// timeout=DURATION (wall clock, e.g. 10s, 500ms: stops a loop and a
    /// blocked host call alike), fuel=N, max-memory-size=BYTES,
    /// unknown-imports-trap=y|n (imported functions nobody defines trap
    /// when called instead of failing instantiation).
    #[arg(short = 'W', value_name = "KEY[=VALUE]")]
    wasm_options: Vec<String>,
    /// wasmtime's WASI options, KEY[=VALUE][,...] (repeatable):
    /// inherit-env=y|n (the guest gets the host's environment; --env
    /// still applies on top), waven=y|n (link the `waven` guest ABI;
    /// default y).
    #[arg(short = 'S', value_name = "KEY[=VALUE]")]
    wasi_options: Vec<String>,
    /// Bytes of host heap (tables, stacks, the module) reserved at start-up
    /// in the enclave profile; ignored by other builds.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_HOST_HEAP)]
    pub host_heap: u64,
    /// The module: a .wasm binary, a .wat text file or a .cwasm artifact
    /// made by `waven compile`.
    module: PathBuf,
    /// Arguments passed to the guest unchanged, options included (or to
    /// the function given by --invoke).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Host state of a run: the WASI context and the guest's view of the
/// platform.
struct Host {
    wasi: WasiCtx,
    guest: GuestContext,
}

/// Reads a module, converting text format if needed; a precompiled
/// artifact is returned as it is.
pub(crate) fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(b"\0asm") || Module::is_artifact(&bytes) {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The guest's environment: the host's if `-S inherit-env`, then each
/// `--env` in order (a later value of a name replaces an earlier one).
fn environment(args: &RunArgs, wasi: &WasiOptions) -> Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |key: String, value: String| match env.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => env.push((key, value)),
    };
    if wasi.inherit_env {
        // Variables that are not UTF-8 cannot be WASI strings: left out.
        for (key, value) in std::env::vars_os() {
            if let (Ok(key), Ok(value)) = (key.into_string(), value.into_string()) {
                set(key, value);
            }
        }
    }
    for env in &args.envs {
        let (key, value) = match env.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (env.as_str(), None),
        };
        if key.is_empty() {
            bail!("--env {env:?}: expected NAME or NAME=VALUE");
        }
        match value {
            Some(value) => set(key.to_owned(), value.to_owned()),
            // As wasmtime: the host's value, or nothing if it is unset.
            None => {
                if let Some(value) = std::env::var_os(key) {
                    let value = value
                        .into_string()
                        .map_err(|_| anyhow!("--env {key}: the host's value is not UTF-8"))?;
                    set(key.to_owned(), value);
                }
            }
        }
    }
    Ok(env)
}

fn wasi_context(args: &RunArgs, wasi: &WasiOptions) -> Result<WasiCtx> {
    // argv[0] is the module's file name, as wasmtime passes it.
    let program = args.argv0.clone().unwrap_or_else(|| {
        args.module.file_name().map_or_else(
            || args.module.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    });
    let mut builder = WasiCtxBuilder::new()
        .args(std::iter::once(program).chain(args.args.iter().cloned()))
        .stdin(waven_wasi::Input::Inherit)
        .stdout(waven_wasi::Output::Inherit)
        .stderr(waven_wasi::Output::Inherit);
    for (key, value) in environment(args, wasi)? {
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

/// Runs `waven run`; returns the process exit status.
pub fn run(mut args: RunArgs) -> Result<ExitCode> {
    let options = wasm_options(&args.wasm_options)?;
    let wasi = wasi_options(&args.wasi_options)?;
    args.fuel = options.fuel.or(args.fuel);
    args.max_memory = options.max_memory_size.or(args.max_memory);
    // Made before the guest starts, like every thread of a run.
    let watchdog = match options.timeout {
        Some(_) => Some(Watchdog::start().context("cannot start the deadline thread")?),
        None => None,
    };
    let bytes = read_module(&args.module)?;
    let artifact = Module::is_artifact(&bytes);
    let engine = match (args.engine, artifact) {
        (Some(EngineKind::Interpreter), true) => bail!(
            "{} is a precompiled artifact, which runs on the compiled engine only: \
             leave out --engine interp (or give --engine jit), or run the source module",
            args.module.display()
        ),
        (Some(engine), _) => engine,
        (None, true) => EngineKind::Compiled,
        (None, false) => EngineKind::default(),
    };
    let config = Config {
        engine,
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
    let module = if artifact {
        artifact::load(&engine, &bytes, &args.module)?
    } else {
        Module::new(&engine, &bytes)
            .with_context(|| format!("cannot load {}", args.module.display()))?
    };
    // A platform of one tenant that may share with no one.
    let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| false));
    // Measurements only matter to grants bound to them, which a tenant
    // alone cannot receive: no need to hash the module.
    let measurement = [0; 32];
    platform
        .add_instance(INSTANCE, INSTANCE, measurement, TenantLimits::default())
        .map_err(|errno| anyhow!("cannot register the instance: {errno}"))?;
    let host = Host {
        wasi: wasi_context(&args, &wasi)?,
        guest: GuestContext::new(platform.clone(), INSTANCE),
    };
    let mut store = Store::new(&engine, host);
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
    if wasi.waven_abi {
        abi::add_to_linker(&mut linker, |host: &mut Host| &mut host.guest)?;
    }
    if options.unknown_imports_trap {
        linker.define_unknown_imports_as_traps(&module)?;
    }
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(Error::Trap(trap)) => return ended(&trap),
        Err(error) => return Err(error).context("cannot instantiate the module"),
    };
    if let Some(space) = instance
        .memory(&store)
        .and_then(|memory| memory.address_space(&store))
    {
        platform
            .attach_space(INSTANCE, space)
            .map_err(|errno| anyhow!("cannot attach the instance's memory: {errno}"))?;
    }
    if let Some(code) = initialize(&mut store, instance, args.invoke.as_deref())? {
        return Ok(code);
    }
    let (func, name, params) = match &args.invoke {
        Some(name) => {
            let Some(func) = instance.get_func(&store, name) else {
                bail!("the module exports no function {name:?}");
            };
            let params = crate::invoke::parse_args(func.ty(&store).params(), &args.args)?;
            (func, name.as_str(), params)
        }
        None => match instance.get_func(&store, "_start") {
            Some(func) => (func, "_start", Vec::new()),
            // A reactor, or a module run for its start function.
            None => return Ok(ExitCode::SUCCESS),
        },
    };
    let ty = func.ty(&store);
    if args.invoke.is_none() && !ty.params().is_empty() {
        bail!("{name} takes parameters; use --invoke to pass them");
    }
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
        Err(Error::Trap(trap)) => ended(&trap),
        Err(error) => Err(error.into()),
    }
}

/// Calls the reactor's `_initialize` if it exports one (and it is not the
/// function `--invoke` names). Returns the exit status if the run ended
/// there (a trap, or `proc_exit`).
fn initialize(
    store: &mut Store<Host>,
    instance: Instance,
    invoke: Option<&str>,
) -> Result<Option<ExitCode>> {
    const INITIALIZE: &str = "_initialize";
    let Some(func) = instance.get_func(store, INITIALIZE) else {
        return Ok(None);
    };
    if invoke == Some(INITIALIZE) {
        return Ok(None);
    }
    let ty = func.ty(store);
    if !ty.params().is_empty() || !ty.results().is_empty() {
        bail!("{INITIALIZE} must take no parameters and return nothing");
    }
    match func.call(store, &[], &mut []) {
        Ok(()) => Ok(None),
        Err(Error::Trap(trap)) => ended(&trap).map(Some),
        Err(error) => Err(error.into()),
    }
}

/// The exit status of a run that a trap ended: the guest's `proc_exit`
/// status, or 134 after a real trap, which is reported.
fn ended(trap: &Trap) -> Result<ExitCode> {
    match trap.kind {
        TrapKind::Exit(status) => exit_status(status),
        _ => Ok(report_trap(trap)),
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

//! The compiled engine: machine code from Cranelift that reaches memory
//! through the software MMU's tables inline (or an explicit bounds check
//! on plain memory), run in process.
//!
//! ```text
//!  ModuleInfo ──► waven-cranelift (feature `jit`) ─┐
//!                                                  ├─► CompiledCode ──► CodeMemory (r-x)
//!  .cwasm artifact ──► waven_environ::artifact ────┘
//!
//!  Instance::new ──► context: InstanceVm (VMContext + arrays into the store)
//!  Func::call ──► invoke: activate memories (pin / lend), set the runtime
//!                 block, call the entry trampoline; libcalls come back
//!                 into the store for slow paths, bulk operations and host
//!                 calls
//! ```
//!
//! The contract with compiled code is `waven_environ::vm`.

pub(crate) mod code_memory;
pub(crate) mod context;
pub(crate) mod invoke;
mod libcalls;

use waven_environ::artifact::{Artifact, ArtifactError};
use waven_environ::code::{CodegenSettings, CompiledCode, MathFunc, MemoryLowering};
use waven_environ::module::ModuleInfo;
use waven_environ::vm::SlowPathStub;

use crate::engine::{Config, MemoryBackend};
use crate::error::Error;
use code_memory::CodeMemory;

/// A module's loaded machine code.
pub(crate) struct CompiledModule {
    /// The executable text.
    pub(crate) code: CodeMemory,
}

/// The codegen settings an engine with `config` runs.
pub(crate) fn settings_for(config: &Config) -> CodegenSettings {
    CodegenSettings {
        memory: match config.memory {
            MemoryBackend::Virtual => MemoryLowering::Virtual,
            MemoryBackend::Plain => MemoryLowering::Plain,
        },
        fuel: config.fuel,
    }
}

impl CompiledModule {
    /// Loads `code` into executable memory.
    pub(crate) fn load(code: &CompiledCode) -> Result<CompiledModule, Error> {
        Ok(CompiledModule {
            code: CodeMemory::load(code, math_address)?,
        })
    }
}

/// The version artifacts record and must match to be loaded.
pub(crate) const WAVEN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Compiles `info` in process to machine code (not loaded).
#[cfg(all(feature = "jit", not(feature = "enclave")))]
pub(crate) fn compile_code(info: &ModuleInfo, config: &Config) -> Result<CompiledCode, Error> {
    let compiler = waven_cranelift::Compiler::new(settings_for(config))
        .map_err(|e| Error::Unsupported(format!("the compiler cannot start: {e}")))?;
    compiler
        .compile(info)
        .map_err(|e| Error::Unsupported(format!("cannot compile: {e}")))
}

/// Without the `jit` feature there is no compiler in the build, and the
/// enclave profile generates no code at run time.
#[cfg(any(not(feature = "jit"), feature = "enclave"))]
pub(crate) fn compile_code(_info: &ModuleInfo, _config: &Config) -> Result<CompiledCode, Error> {
    Err(Error::Unsupported(
        "this build has no compiler (feature `jit`); load a precompiled artifact".into(),
    ))
}

/// Compiles `info` in process and loads the code.
pub(crate) fn compile(info: &ModuleInfo, config: &Config) -> Result<CompiledModule, Error> {
    let code = compile_code(info, config)?;
    check_shape(&code, info)?;
    CompiledModule::load(&code)
}

/// Compiles `info` (whose bytes are `wasm`) into an artifact's bytes.
pub(crate) fn precompile(info: &ModuleInfo, config: &Config) -> Result<Vec<u8>, Error> {
    let code = compile_code(info, config)?;
    let artifact = Artifact::for_host(
        info.bytes.to_vec(),
        code,
        settings_for(config),
        WAVEN_VERSION,
    );
    Ok(artifact.to_bytes())
}

/// Checks and loads an artifact: the module it carries (validated again)
/// and its code, compiled for this host, this version and `config`'s
/// settings. Nothing of it runs before every check passed.
pub(crate) fn load_artifact(
    bytes: &[u8],
    config: &Config,
) -> Result<(ModuleInfo, CompiledModule), Error> {
    let artifact = Artifact::from_bytes(bytes).map_err(artifact_error)?;
    let settings = settings_for(config);
    artifact
        .check_compatible(WAVEN_VERSION, settings)
        .map_err(artifact_error)?;
    let info = ModuleInfo::parse(&artifact.module)?;
    check_shape(&artifact.code, &info)?;
    let compiled = CompiledModule::load(&artifact.code)?;
    Ok((info, compiled))
}

/// Checks that `code` has one function per defined function of `info` and
/// one trampoline per type.
fn check_shape(code: &CompiledCode, info: &ModuleInfo) -> Result<(), Error> {
    let expected_funcs = info.bodies.len() + SlowPathStub::COUNT as usize;
    if code.funcs.len() != expected_funcs || code.trampolines.len() != info.types.len() {
        return Err(Error::Code(format!(
            "the code has {} functions and stubs and {} trampolines for a module of {} \
             functions ({} with the slow-path stubs) and {} types",
            code.funcs.len(),
            code.trampolines.len(),
            info.bodies.len(),
            expected_funcs,
            info.types.len()
        )));
    }
    Ok(())
}

/// An artifact that cannot be loaded, as a runtime error.
fn artifact_error(error: ArtifactError) -> Error {
    Error::Code(format!("cannot load the artifact: {error}"))
}

/// The address of a math routine compiled code may call.
fn math_address(func: MathFunc) -> usize {
    match func {
        MathFunc::CeilF32 => libcalls::ceil_f32 as *const () as usize,
        MathFunc::CeilF64 => libcalls::ceil_f64 as *const () as usize,
        MathFunc::FloorF32 => libcalls::floor_f32 as *const () as usize,
        MathFunc::FloorF64 => libcalls::floor_f64 as *const () as usize,
        MathFunc::TruncF32 => libcalls::trunc_f32 as *const () as usize,
        MathFunc::TruncF64 => libcalls::trunc_f64 as *const () as usize,
        MathFunc::NearestF32 => libcalls::nearest_f32 as *const () as usize,
        MathFunc::NearestF64 => libcalls::nearest_f64 as *const () as usize,
        MathFunc::FmaF32 => libcalls::fma_f32 as *const () as usize,
        MathFunc::FmaF64 => libcalls::fma_f64 as *const () as usize,
    }
}

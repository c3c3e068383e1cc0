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

use waven_environ::code::{CodegenSettings, CompiledCode, MathFunc, MemoryLowering};

use crate::engine::{Config, MemoryBackend};
use crate::error::Error;
use code_memory::CodeMemory;

/// A module's loaded machine code.
pub(crate) struct CompiledModule {
    /// The executable text.
    pub(crate) code: CodeMemory,
    /// What it was compiled for.
    pub(crate) settings: CodegenSettings,
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
    /// Loads `code` compiled with `settings` into executable memory.
    pub(crate) fn load(
        code: &CompiledCode,
        settings: CodegenSettings,
    ) -> Result<CompiledModule, Error> {
        Ok(CompiledModule {
            code: CodeMemory::load(code, math_address)?,
            settings,
        })
    }
}

/// Compiles `info` in process.
#[cfg(feature = "jit")]
pub(crate) fn compile(
    info: &waven_environ::module::ModuleInfo,
    config: &Config,
) -> Result<CompiledModule, Error> {
    let settings = settings_for(config);
    let compiler = waven_cranelift::Compiler::new(settings)
        .map_err(|e| Error::Unsupported(format!("compiler: {e}")))?;
    let code = compiler
        .compile(info)
        .map_err(|e| Error::Unsupported(format!("compiling: {e}")))?;
    CompiledModule::load(&code, settings)
}

/// Without the `jit` feature there is no compiler in the build.
#[cfg(not(feature = "jit"))]
pub(crate) fn compile(
    _info: &waven_environ::module::ModuleInfo,
    _config: &Config,
) -> Result<CompiledModule, Error> {
    Err(Error::Unsupported(
        "this build has no compiler (feature `jit`); load a precompiled artifact".into(),
    ))
}

/// The address of a math routine compiled code may call.
fn math_address(func: MathFunc) -> usize {
    match func {
        MathFunc::CeilF32 => libcalls::ceil_f32 as usize,
        MathFunc::CeilF64 => libcalls::ceil_f64 as usize,
        MathFunc::FloorF32 => libcalls::floor_f32 as usize,
        MathFunc::FloorF64 => libcalls::floor_f64 as usize,
        MathFunc::TruncF32 => libcalls::trunc_f32 as usize,
        MathFunc::TruncF64 => libcalls::trunc_f64 as usize,
        MathFunc::NearestF32 => libcalls::nearest_f32 as usize,
        MathFunc::NearestF64 => libcalls::nearest_f64 as usize,
        MathFunc::FmaF32 => libcalls::fma_f32 as usize,
        MathFunc::FmaF64 => libcalls::fma_f64 as usize,
    }
}

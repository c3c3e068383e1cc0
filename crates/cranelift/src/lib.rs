//! waven's compiler: WebAssembly functions to machine code with Cranelift.
//!
//! The compiled engine's code is emitted against the contract of
//! [`waven_environ::vm`] (structure layouts, libcalls, traps without
//! signals) and handed to the runtime as one [`CompiledCode`]:
//!
//! ```text
//!  ModuleInfo ──► Compiler::compile
//!                  ├─ worker threads: translate::FuncTranslator per function
//!                  │   (Wasm operators → CLIF → machine code + relocations)
//!                  ├─ trampoline: one entry trampoline per type index
//!                  └─ layout: one text section, 16-byte aligned pieces,
//!                      relocations made relative to the text start
//! ```
//!
//! What the generated code guarantees (see `translate` for the details):
//!
//! * it never executes a faulting instruction on purpose: every trap
//!   condition is an explicit branch that stores a [`TrapCode`] into
//!   `VMRuntime::trap` and leaves through the function's return path
//!   (which gives back the call depth); no CLIF `trap`, no trapping
//!   conversions, divisions only after their tests;
//! * guest memory is reached only through the lowering of
//!   [`CodegenSettings::memory`]: the software MMU's tables inline with a
//!   libcall slow path, or a plain bounds check;
//! * fuel and interrupts are checked at function entry and loop headers,
//!   where virtual-memory code also acknowledges shootdowns;
//! * the output depends only on the module, the settings and the CPU
//!   features (no hashing order, no thread scheduling).
//!
//! Only the compiler links Cranelift; a runtime that loads precompiled code
//! needs nothing of this crate.
//!
//! [`TrapCode`]: waven_environ::vm::TrapCode
#![deny(missing_docs)]

mod layout;
mod stub;
mod trampoline;
mod translate;
pub mod trunc;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use waven_environ::code::{CodegenSettings, CompiledCode};
use waven_environ::module::ModuleInfo;
use waven_environ::vm::SlowPathStub;

use crate::layout::CompiledPiece;

/// Why a module could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The host CPU is not supported by Cranelift, or a setting was refused.
    #[error("unsupported compilation target: {0}")]
    Target(String),
    /// A function body could not be read (not for a validated module).
    #[error("cannot read the body of function {func}: {message}")]
    InvalidBody {
        /// The function index (in the function index space).
        func: u32,
        /// What went wrong.
        message: String,
    },
    /// The module uses something the compiler does not translate.
    #[error("function {func}: unsupported: {what}")]
    Unsupported {
        /// The function index (in the function index space).
        func: u32,
        /// What is not supported.
        what: String,
    },
    /// Cranelift failed to generate code.
    #[error("code generation failed for {what}: {message}")]
    Codegen {
        /// Which function or trampoline.
        what: String,
        /// Cranelift's message.
        message: String,
    },
    /// The generated code refers to something the loader cannot relocate.
    #[error("{what}: unsupported relocation: {message}")]
    Relocation {
        /// Which function or trampoline.
        what: String,
        /// The relocation.
        message: String,
    },
    /// The text section would exceed 4 GiB.
    #[error("the compiled code exceeds 4 GiB")]
    TooLarge,
}

/// Compiles modules for the host CPU.
pub struct Compiler {
    isa: OwnedTargetIsa,
    settings: CodegenSettings,
}

impl Compiler {
    /// A compiler for the host CPU (detected by `cranelift-native`) with
    /// these settings.
    ///
    /// # Errors
    ///
    /// [`CompileError::Target`] if Cranelift cannot generate code for the
    /// host.
    pub fn new(settings: CodegenSettings) -> Result<Compiler, CompileError> {
        let target = |e: &dyn std::fmt::Display| CompileError::Target(e.to_string());
        let mut flags = settings::builder();
        let verify = if cfg!(any(test, debug_assertions)) {
            "true"
        } else {
            "false"
        };
        for (name, value) in [
            ("opt_level", "speed"),
            ("enable_verifier", verify),
            ("enable_probestack", "false"),
            ("enable_multi_ret_implicit_sret", "true"),
            ("unwind_info", "false"),
            ("is_pic", "false"),
        ] {
            flags.set(name, value).map_err(|e| target(&e))?;
        }
        let isa = cranelift_native::builder()
            .map_err(|e| target(&e))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| target(&e))?;
        Ok(Compiler { isa, settings })
    }

    /// The settings code is compiled with.
    pub fn settings(&self) -> CodegenSettings {
        self.settings
    }

    /// The target triple (e.g. `x86_64-unknown-linux-gnu`) and the names of
    /// the CPU features the generated code may use.
    pub fn target(&self) -> (String, Vec<String>) {
        let features = self
            .isa
            .isa_flags()
            .iter()
            .filter(|flag| flag.as_bool() == Some(true))
            .map(|flag| flag.name.to_string())
            .collect();
        (self.isa.triple().to_string(), features)
    }

    /// Compiles every defined function of `info`, the slow-path stubs and
    /// one entry trampoline per type index, in parallel, into one text
    /// section.
    ///
    /// # Errors
    ///
    /// The first [`CompileError`] of any function, in function order.
    pub fn compile(&self, info: &ModuleInfo) -> Result<CompiledCode, CompileError> {
        let num_funcs = info.bodies.len();
        let num_code = num_funcs + SlowPathStub::ALL.len();
        let jobs = num_code + info.types.len();
        let results: Mutex<Vec<Option<Result<CompiledPiece, CompileError>>>> =
            Mutex::new((0..jobs).map(|_| None).collect());
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(jobs.max(1));
        let isa: &dyn TargetIsa = &*self.isa;
        let work = || {
            let mut scratch = translate::Scratch::default();
            loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= jobs {
                    break;
                }
                let compile = || {
                    if job < num_funcs {
                        translate::compile_function(isa, self.settings, info, job, &mut scratch)
                    } else if job < num_code {
                        let stub = SlowPathStub::ALL[job - num_funcs];
                        stub::compile_stub(isa, stub, &mut scratch)
                    } else {
                        let ty = (job - num_code) as u32;
                        trampoline::compile_trampoline(isa, info, ty, &mut scratch)
                    }
                };
                // A panic inside Cranelift becomes an error of this function
                // (and the scratch state, possibly inconsistent, is renewed).
                let piece =
                    std::panic::catch_unwind(AssertUnwindSafe(compile)).unwrap_or_else(|_| {
                        Err(CompileError::Codegen {
                            what: job_name(info, job),
                            message: "the code generator panicked".into(),
                        })
                    });
                if piece.is_err() {
                    scratch = translate::Scratch::default();
                }
                let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                results[job] = Some(piece);
            }
        };
        if workers <= 1 {
            work();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(work);
                }
            });
        }
        let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        let pieces = results
            .into_iter()
            .map(|piece| {
                piece.unwrap_or_else(|| {
                    Err(CompileError::Codegen {
                        what: "a worker".into(),
                        message: "stopped before finishing its function".into(),
                    })
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        layout::link(pieces, num_code)
    }
}

/// What job `job` of [`Compiler::compile`] compiles, for messages.
fn job_name(info: &ModuleInfo, job: usize) -> String {
    let stubs = SlowPathStub::ALL.len();
    match job.checked_sub(info.bodies.len()) {
        None => format!("function {}", info.num_imported_funcs as usize + job),
        Some(stub) if stub < stubs => format!("slow-path stub {:?}", SlowPathStub::ALL[stub]),
        Some(job) => format!("trampoline of type {}", job - stubs),
    }
}

#[cfg(test)]
mod tests;

//! The interpreter: one of waven's two engines.
//!
//! ```text
//!  ModuleInfo ──► translate (Wasm operators → register IR, per function)
//!                     │
//!  Func::call ──► exec (one loop over the IR, generic over the memory
//!                       backend: software MMU or plain memory)
//! ```
//!
//! It depends on the engine-neutral parts of the runtime (module data, the
//! store, traps); nothing outside this module depends on its internals
//! except through [`CompiledFunc`] (the translated code a module holds) and
//! [`invoke`].

pub(crate) mod exec;
pub(crate) mod ir;
pub(crate) mod translate;

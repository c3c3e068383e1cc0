//! waven's engine-neutral module data.
//!
//! Everything both engines (the interpreter and the compiled engine) and
//! the compiler need to agree on, and nothing that executes:
//!
//! * [`artifact`]: the `.cwasm` file that carries compiled code;
//! * [`code`]: compiled code as the compiler emits it and the runtime
//!   loads it;
//! * [`module`]: validation with wasmparser and the module's contents
//!   (types, imports, index spaces, segments, function bodies);
//! * [`types`]: value and function types;
//! * [`fuel`]: what each stretch of code costs, the same on every engine;
//! * [`vm`]: the data layout and calling convention compiled code shares
//!   with the runtime that loads it.
#![deny(missing_docs)]

pub mod artifact;
pub mod code;
mod error;
pub mod fuel;
pub mod module;
pub mod types;
pub mod vm;

pub use error::EnvironError;
pub use types::{FuncType, ValType};

//! waven's runtime: the loader, the interpreter and the embedding API.
//!
//! ```text
//!  .wasm ──► Module::new (validate with wasmparser, translate every body)
//!                │
//!  Linker ──► Instance::new ──► Store { funcs, memories, tables, globals }
//!                                   │
//!  Func::call ──► exec (interpreter, generic over the memory backend:
//!                       software MMU or plain memory)
//! ```
//!
//! ```
//! use waven_runtime::{Config, Engine, Linker, Module, Store, Val};
//!
//! let engine = Engine::new(Config::default()).unwrap();
//! let wasm = wat::parse_str(r#"
//!     (module (func (export "add") (param i32 i32) (result i32)
//!         local.get 0 local.get 1 i32.add))
//! "#).unwrap();
//! let module = Module::new(&engine, &wasm).unwrap();
//! let mut store = Store::new(&engine, ());
//! let instance = Linker::new().instantiate(&mut store, &module).unwrap();
//! let add = instance.get_func(&store, "add").unwrap();
//! let mut result = [Val::I32(0)];
//! add.call(&mut store, &[Val::I32(2), Val::I32(40)], &mut result).unwrap();
//! assert_eq!(result[0], Val::I32(42));
//! ```
//!
//! Every [`Store`] has [`StoreLimits`] (set with [`Store::set_limits`]):
//! by default its tables hold at most 1,000,000 elements together, and it
//! holds at most 10,000 tables, memories and instances. A module that
//! would exceed one fails to instantiate with [`Error::StoreLimit`] before
//! anything is allocated; `table.grow` beyond the limit returns -1. Linear
//! memory is bounded by the engine's frame pool instead.
#![deny(missing_docs)]

mod compiled;
mod engine;
mod error;
mod func;
mod instance;
mod interp;
mod interrupt;
mod limits;
mod linker;
mod module;
mod store;
mod value;

pub use engine::{Config, Engine, EngineKind, MemoryBackend, ENCLAVE_PROFILE};
pub use error::{Error, Trap, TrapKind};
pub use func::{Caller, HostFunc};
pub use interrupt::{InterruptHandle, Interrupted, Watchdog};
pub use limits::{StoreLimit, StoreLimits};
pub use linker::Linker;
pub use module::{ExternType, Module};
pub use store::{Extern, Global, Instance, Memory, MemoryView, Store, Table};
pub use value::{ExternRef, Func, FuncType, Val, ValType};

//! The runtime's error values: errors of loading, linking and instantiating
//! modules, and traps of executing them.

use std::fmt;

use thiserror::Error;
use waven_mmu::MemoryFault;

use crate::limits::StoreLimit;

/// Why execution trapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable` was executed.
    Unreachable,
    /// A memory access at or beyond `memory.size`.
    MemoryOutOfBounds,
    /// A memory access refused by the software MMU (unmapped page, or no
    /// right), with the address, the access and the reason.
    MemoryFault(MemoryFault),
    /// A table access out of bounds.
    TableOutOfBounds,
    /// `call_indirect` with an index beyond the table.
    UndefinedElement,
    /// `call_indirect` through a null entry.
    UninitializedElement,
    /// `call_indirect` to a function of another type.
    IndirectCallTypeMismatch,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Integer overflow (`i32.div_s` of `MIN / -1`, trapping truncation out of range).
    IntegerOverflow,
    /// Trapping truncation of NaN.
    InvalidConversionToInteger,
    /// The call depth or value stack limit was reached.
    CallStackExhausted,
    /// The fuel given to the store ran out.
    OutOfFuel,
    /// The store was interrupted: its wall-clock deadline passed or the
    /// host stopped it.
    Interrupted,
    /// A host function failed.
    Host(String),
    /// The guest asked to exit (WASI `proc_exit`) with this status.
    Exit(i32),
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapKind::Unreachable => f.write_str("unreachable"),
            TrapKind::MemoryOutOfBounds => f.write_str("out of bounds memory access"),
            TrapKind::MemoryFault(fault) => fault.fmt(f),
            TrapKind::TableOutOfBounds => f.write_str("out of bounds table access"),
            TrapKind::UndefinedElement => f.write_str("undefined element"),
            TrapKind::UninitializedElement => f.write_str("uninitialized element"),
            TrapKind::IndirectCallTypeMismatch => f.write_str("indirect call type mismatch"),
            TrapKind::IntegerDivideByZero => f.write_str("integer divide by zero"),
            TrapKind::IntegerOverflow => f.write_str("integer overflow"),
            TrapKind::InvalidConversionToInteger => f.write_str("invalid conversion to integer"),
            TrapKind::CallStackExhausted => f.write_str("call stack exhausted"),
            TrapKind::OutOfFuel => f.write_str("all fuel consumed"),
            TrapKind::Interrupted => {
                f.write_str("interrupted: deadline exceeded or stopped by the host")
            }
            TrapKind::Host(message) => write!(f, "host error: {message}"),
            TrapKind::Exit(status) => write!(f, "exit with status {status}"),
        }
    }
}

impl From<MemoryFault> for TrapKind {
    fn from(fault: MemoryFault) -> TrapKind {
        match fault.reason {
            waven_mmu::FaultReason::OutOfBounds => TrapKind::MemoryOutOfBounds,
            _ => TrapKind::MemoryFault(fault),
        }
    }
}

/// A trap: execution stopped, with its kind and where.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("trap: {kind}")]
pub struct Trap {
    /// Why execution trapped.
    pub kind: TrapKind,
    /// The Wasm functions that were active, innermost first: the name from
    /// the name section, or `func[index]`.
    pub backtrace: Vec<String>,
}

impl From<TrapKind> for Trap {
    fn from(kind: TrapKind) -> Trap {
        Trap {
            kind,
            backtrace: Vec::new(),
        }
    }
}

impl From<MemoryFault> for Trap {
    fn from(fault: MemoryFault) -> Trap {
        Trap::from(TrapKind::from(fault))
    }
}

/// Errors of the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Error {
    /// The module's bytes are malformed or invalid.
    #[error("invalid module: {message} (at byte offset {offset:#x})")]
    InvalidModule {
        /// What is wrong, as the validator says it.
        message: String,
        /// Byte offset of the problem in the module.
        offset: usize,
    },
    /// The module uses a feature waven does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An import has no definition, or one of the wrong kind or type.
    #[error("unknown import: {module}::{name}: {reason}")]
    Link {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// What does not fit.
        reason: String,
    },
    /// A definition of the same name already exists in the linker.
    #[error("duplicate definition of {module}::{name}")]
    DuplicateDefinition {
        /// Module name.
        module: String,
        /// Field name.
        name: String,
    },
    /// Instantiation or a call trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
    /// A value of the wrong type was passed to or expected from a function.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// No export of that name (or of that kind).
    #[error("no export named {0:?}")]
    NoSuchExport(String),
    /// The software MMU refused to create a memory. (Not a `source`: the
    /// message already includes the MMU's, so error chains print it once.)
    #[error("memory: {0}")]
    Memory(waven_mmu::MmuError),
    /// One object would be too large (a table or memory beyond the
    /// engine's per-object limits), or the host heap cannot hold it.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// Compiled code could not be loaded: a relocation or offset outside
    /// its text, a value a relocation cannot encode, or the system refusing
    /// to map it or make it executable.
    #[error("compiled code: {0}")]
    Code(String),
    /// The store would hold more of something than its [`StoreLimits`](crate::StoreLimits)
    /// allow (see [`crate::Store::set_limits`]); nothing was allocated.
    #[error(
        "store limit exceeded: the store would hold {total} {limit}, more than its limit of \
         {maximum} (StoreLimits)"
    )]
    StoreLimit {
        /// Which limit.
        limit: StoreLimit,
        /// How many the store would hold.
        total: u64,
        /// The limit.
        maximum: u64,
    },
}

impl From<waven_mmu::MmuError> for Error {
    fn from(error: waven_mmu::MmuError) -> Error {
        Error::Memory(error)
    }
}

impl From<waven_environ::EnvironError> for Error {
    fn from(error: waven_environ::EnvironError) -> Error {
        match error {
            waven_environ::EnvironError::InvalidModule { message, offset } => {
                Error::InvalidModule { message, offset }
            }
            waven_environ::EnvironError::Unsupported(what) => Error::Unsupported(what),
        }
    }
}

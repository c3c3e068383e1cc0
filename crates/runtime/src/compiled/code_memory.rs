//! Executable memory for compiled code (placeholder until the loader lands).

use waven_environ::code::{CompiledCode, MathFunc};

use crate::error::Error;

/// Loaded machine code.
pub(crate) struct CodeMemory {
    _private: (),
}

impl CodeMemory {
    /// Loads `code` (not yet implemented).
    pub(crate) fn load(
        _code: &CompiledCode,
        _math: impl Fn(MathFunc) -> usize,
    ) -> Result<CodeMemory, Error> {
        Err(Error::Unsupported(
            "code loading is not implemented yet".into(),
        ))
    }

    /// Defined function `defined_index`'s code.
    pub(crate) fn func_ptr(&self, _defined_index: u32) -> Option<*const u8> {
        None
    }

    /// The entry trampoline of type `type_index`.
    pub(crate) fn trampoline_ptr(&self, _type_index: u32) -> Option<*const u8> {
        None
    }
}

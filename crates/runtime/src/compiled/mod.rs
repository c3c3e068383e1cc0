//! The compiled engine: running code the compiler produced.

pub(crate) mod code_memory;

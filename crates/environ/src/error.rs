//! The error of loading a module.

use thiserror::Error;

/// Why a module could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EnvironError {
    /// The module is malformed or invalid.
    #[error("invalid module: {message} (at byte offset {offset:#x})")]
    InvalidModule {
        /// The validator's message.
        message: String,
        /// The byte offset of the error in the module.
        offset: usize,
    },
    /// The module uses a feature waven does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

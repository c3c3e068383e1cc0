//! The crate's error type, for the embedder (guests get errnos instead).

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Errors of configuring WASI: a bad preopen, or a failure to define the
/// WASI functions in a linker.
#[derive(Debug, Error)]
pub enum WasiError {
    /// The host directory of a preopen cannot be resolved.
    #[error("cannot preopen {path}: {source}")]
    Preopen {
        /// The path given.
        path: PathBuf,
        /// Why it cannot be resolved.
        #[source]
        source: io::Error,
    },
    /// The host path of a preopen is not a directory.
    #[error("cannot preopen {0}: not a directory")]
    NotADirectory(PathBuf),
    /// Defining the WASI functions in a linker failed.
    #[error("cannot link WASI: {0}")]
    Link(#[from] waven_runtime::Error),
}

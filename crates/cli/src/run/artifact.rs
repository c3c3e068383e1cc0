//! Loading a precompiled `.cwasm` artifact for `waven run`.
//!
//! The runtime checks everything ([`Module::deserialize`]); what this adds
//! is the command line's side of one failure: an artifact compiled with
//! other settings than the run's flags says which flags would match.

use std::path::Path;

use anyhow::{anyhow, Result};
use waven_environ::artifact::Artifact;
use waven_environ::code::{CodegenSettings, MemoryLowering};
use waven_runtime::{Engine, Module};

/// Loads the artifact `bytes` (read from `path`) on `engine`.
///
/// # Errors
///
/// The runtime's error on one line, with the flags to use if the artifact
/// was compiled with other settings than the engine's.
pub(super) fn load(engine: &Engine, bytes: &[u8], path: &Path) -> Result<Module> {
    Module::deserialize(engine, bytes).map_err(|error| {
        let mut message = format!("cannot load {}: {error}", path.display());
        if let Some(hint) = settings_hint(engine, bytes) {
            message.push_str("; ");
            message.push_str(&hint);
        }
        anyhow!(message)
    })
}

/// If `bytes` is a sound artifact whose settings differ from `engine`'s,
/// which flags of `waven run` match them.
fn settings_hint(engine: &Engine, bytes: &[u8]) -> Option<String> {
    let found = Artifact::from_bytes(bytes).ok()?.header.settings;
    let config = engine.config();
    let ours = CodegenSettings {
        memory: match config.memory {
            waven_runtime::MemoryBackend::Virtual => MemoryLowering::Virtual,
            waven_runtime::MemoryBackend::Plain => MemoryLowering::Plain,
        },
        fuel: config.fuel,
    };
    if found == ours {
        return None;
    }
    let memory = match found.memory {
        MemoryLowering::Virtual => "--memory virtual",
        MemoryLowering::Plain => "--memory plain",
    };
    let fuel = if found.fuel {
        "with a fuel limit (--fuel N)"
    } else {
        "without --fuel"
    };
    Some(format!(
        "it was compiled for {memory} {fuel}: run it so, or compile it again with \
         `waven compile` and the settings of this run"
    ))
}

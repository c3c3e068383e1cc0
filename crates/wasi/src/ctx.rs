//! The WASI state of one instance ([`WasiCtx`]) and how an embedder
//! configures it ([`WasiCtxBuilder`]).

use std::fmt;
use std::path::Path;
use std::time::Instant;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::abi::rights;
use crate::clock::Clocks;
use crate::error::WasiError;
use crate::fd::{DirFd, FdEntry, FdKind, FdTable, DEFAULT_MAX_FDS};
use crate::random::RandomSource;
use crate::stdio::{HostStream, Input, Output, OutputSink, StdinState};

/// Configures a [`WasiCtx`]: arguments, environment, preopened
/// directories and standard streams.
///
/// ```
/// use waven_wasi::{Output, WasiCtxBuilder};
///
/// let ctx = WasiCtxBuilder::new()
///     .args(["app.wasm", "--verbose"])
///     .env("LANG", "C")
///     .stdout(Output::Discard)
///     .build();
/// # let _ = ctx;
/// ```
#[derive(Debug)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Open host directories and their guest names.
    preopens: Vec<(Dir, String)>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    max_fds: usize,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            stdin: Input::default(),
            stdout: Output::default(),
            stderr: Output::default(),
            max_fds: DEFAULT_MAX_FDS,
        }
    }
}

impl WasiCtxBuilder {
    /// A builder with no arguments, no environment, no preopens, an empty
    /// stdin, stdout and stderr inherited from the host, and at most 1024
    /// open descriptors.
    pub fn new() -> Self {
        WasiCtxBuilder::default()
    }

    /// Limits the descriptors the guest may have open at once to `n`, the
    /// standard streams and preopens included (default 1024): `path_open`
    /// beyond it returns `EMFILE` (33). The streams and preopens are always
    /// opened, even beyond `n`; then the guest can open nothing more.
    pub fn max_fds(mut self, n: usize) -> Self {
        self.max_fds = n;
        self
    }

    /// Sets the arguments, `argv[0]` (the program name) included.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds the environment variable `key=value`.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Makes the host directory `host` reachable by the guest under the
    /// name `guest` (for example `"."` or `"/data"`). Preopens get file
    /// descriptors 3, 4, ... in the order they are added. The directory is
    /// opened now and the guest reaches it through that handle only: it
    /// can reach nothing outside it, even if `host` is later renamed or
    /// replaced.
    ///
    /// # Errors
    ///
    /// [`WasiError::Preopen`] if `host` cannot be canonicalized or opened
    /// (it does not exist, for example); [`WasiError::NotADirectory`] if it
    /// is not a directory.
    pub fn preopened_dir(
        mut self,
        host: impl AsRef<Path>,
        guest: impl Into<String>,
    ) -> Result<Self, WasiError> {
        let host = host.as_ref();
        let root = host.canonicalize().map_err(|source| WasiError::Preopen {
            path: host.to_path_buf(),
            source,
        })?;
        if !root.is_dir() {
            return Err(WasiError::NotADirectory(root));
        }
        // The one place a host path is opened by name, on the embedder's
        // authority, not the guest's.
        let dir = Dir::open_ambient_dir(&root, ambient_authority()).map_err(|source| {
            WasiError::Preopen {
                path: root.clone(),
                source,
            }
        })?;
        self.preopens.push((dir, guest.into()));
        Ok(self)
    }

    /// Sets the guest's stdin (default: [`Input::Empty`]).
    pub fn stdin(mut self, input: Input) -> Self {
        self.stdin = input;
        self
    }

    /// Sets the guest's stdout (default: [`Output::Inherit`]).
    pub fn stdout(mut self, output: Output) -> Self {
        self.stdout = output;
        self
    }

    /// Sets the guest's stderr (default: [`Output::Inherit`]).
    pub fn stderr(mut self, output: Output) -> Self {
        self.stderr = output;
        self
    }

    /// The configured context.
    pub fn build(self) -> WasiCtx {
        let mut fds = FdTable::new(self.max_fds);
        let stdio = [
            FdEntry {
                kind: FdKind::Stdin(StdinState::new(self.stdin)),
                rights_base: rights::STDIN,
                rights_inheriting: 0,
                flags: 0,
            },
            FdEntry {
                kind: FdKind::Output(OutputSink {
                    output: self.stdout,
                    stream: HostStream::Stdout,
                }),
                rights_base: rights::STDOUT,
                rights_inheriting: 0,
                flags: 0,
            },
            FdEntry {
                kind: FdKind::Output(OutputSink {
                    output: self.stderr,
                    stream: HostStream::Stderr,
                }),
                rights_base: rights::STDOUT,
                rights_inheriting: 0,
                flags: 0,
            },
        ];
        let preopens = self.preopens.into_iter().map(|(dir, name)| FdEntry {
            kind: FdKind::Dir(DirFd {
                dir,
                preopen: Some(name),
            }),
            rights_base: rights::DIRECTORY,
            rights_inheriting: rights::DIRECTORY | rights::FILE,
            flags: 0,
        });
        for entry in stdio.into_iter().chain(preopens) {
            fds.insert_unlimited(entry);
        }
        WasiCtx {
            args: self.args,
            env: self
                .env
                .into_iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            fds,
            clocks: Clocks::new(Instant::now()),
            random: RandomSource::new(),
        }
    }
}

/// The WASI state of one instance: arguments, environment, open file
/// descriptors (stdio, preopens, files and directories the guest opened),
/// clocks and the random source. Made by [`WasiCtxBuilder`]; reached by
/// the WASI functions through the getter given to
/// [`add_to_linker`](crate::add_to_linker).
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    /// `KEY=VALUE` strings.
    pub(crate) env: Vec<String>,
    pub(crate) fds: FdTable,
    pub(crate) clocks: Clocks,
    pub(crate) random: RandomSource,
}

impl WasiCtx {
    /// The guest's arguments, `argv[0]` included.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The guest's environment as `KEY=VALUE` strings.
    pub fn env(&self) -> &[String] {
        &self.env
    }
}

impl fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("open_fds", &self.fds.iter().count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_can_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<WasiCtx>();
        send_sync::<WasiCtxBuilder>();
    }

    #[test]
    fn preopens_follow_stdio() {
        let dir = std::env::temp_dir();
        let ctx = WasiCtxBuilder::new()
            .preopened_dir(&dir, "/tmp")
            .unwrap()
            .build();
        let numbers: Vec<u32> = ctx.fds.iter().map(|(fd, _)| fd).collect();
        assert_eq!(numbers, [0, 1, 2, 3]);
    }

    #[test]
    fn a_missing_or_non_directory_preopen_is_an_error() {
        let missing = std::env::temp_dir().join("waven-wasi-surely-missing-dir");
        assert!(matches!(
            WasiCtxBuilder::new().preopened_dir(&missing, "x"),
            Err(WasiError::Preopen { .. })
        ));
        let file = std::env::temp_dir().join(format!("waven-wasi-file-{}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let result = WasiCtxBuilder::new().preopened_dir(&file, "x");
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(result, Err(WasiError::NotADirectory(_))));
    }
}

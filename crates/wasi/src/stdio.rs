//! The guest's standard streams: where stdin comes from and where stdout
//! and stderr go, chosen by the embedder.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use waven_runtime::{InterruptHandle, Interrupted};

/// How long a wait for the host's stdin polls before it looks at the
/// interrupt handle again: the delay with which `interrupt()` (which has
/// no deadline to wait for) ends such a wait.
const STDIN_POLL_SLICE: Duration = Duration::from_millis(50);

/// The source of the guest's stdin.
#[derive(Clone, Debug, Default)]
pub enum Input {
    /// The host process's stdin (reads block until the host has input).
    Inherit,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
    /// End of file at once (the default).
    #[default]
    Empty,
}

/// The destination of the guest's stdout or stderr.
#[derive(Clone, Default)]
pub enum Output {
    /// The host process's stdout (for the guest's stdout) or stderr (for
    /// the guest's stderr); the default.
    #[default]
    Inherit,
    /// Appended to this buffer, which the embedder keeps a handle to.
    /// The buffer grows with everything the guest writes.
    Capture(Arc<Mutex<Vec<u8>>>),
    /// Accepted and dropped, like `/dev/null`.
    Discard,
    /// Given to this function, one call per write, in the order the guest
    /// writes (for example to prefix each line with the instance's name).
    /// The function must not block for long: the guest waits for it. The
    /// guest sees the stream as a character device, as with
    /// [`Output::Inherit`], so that C programs line-buffer their output.
    #[allow(clippy::type_complexity)] // spelled out: this crate's API has no alias for it
    Callback(Arc<dyn Fn(&[u8]) + Send + Sync>),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Inherit => f.write_str("Inherit"),
            Output::Capture(buffer) => f.debug_tuple("Capture").field(buffer).finish(),
            Output::Discard => f.write_str("Discard"),
            Output::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// Which host stream an inherited output writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostStream {
    Stdout,
    Stderr,
}

/// The state of the guest's stdin.
#[derive(Debug)]
pub(crate) enum StdinState {
    Inherit,
    Bytes { data: Vec<u8>, pos: usize },
    Empty,
}

impl StdinState {
    pub(crate) fn new(input: Input) -> StdinState {
        match input {
            Input::Inherit => StdinState::Inherit,
            Input::Bytes(data) => StdinState::Bytes { data, pos: 0 },
            Input::Empty => StdinState::Empty,
        }
    }

    /// Reads at most `buf.len()` bytes; 0 at end of input.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            // Straight from the descriptor, not through std's buffered
            // stdin, so that `wait_for_host_stdin` sees all pending input.
            // A closed stdin reads as end of input, as std has it.
            StdinState::Inherit => match rustix::io::read(io::stdin().as_fd(), buf) {
                Err(rustix::io::Errno::BADF) => Ok(0),
                other => other.map_err(io::Error::from),
            },
            StdinState::Bytes { data, pos } => {
                let rest = data.get(*pos..).unwrap_or_default();
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                *pos += n;
                Ok(n)
            }
            StdinState::Empty => Ok(0),
        }
    }

    /// Gives back the last `n` bytes read, when the source can (bytes can,
    /// the host's stdin cannot). Returns whether it could.
    pub(crate) fn unread(&mut self, n: usize) -> bool {
        match self {
            StdinState::Bytes { pos, .. } => {
                *pos = pos.saturating_sub(n);
                true
            }
            StdinState::Empty => n == 0,
            StdinState::Inherit => false,
        }
    }

    /// Bytes known to be ready (for `poll_oneoff`).
    pub(crate) fn ready_bytes(&self) -> u64 {
        match self {
            StdinState::Bytes { data, pos } => data.len().saturating_sub(*pos) as u64,
            StdinState::Inherit | StdinState::Empty => 0,
        }
    }

    /// Whether the stream is the host's terminal-like stdin.
    pub(crate) fn is_inherited(&self) -> bool {
        matches!(self, StdinState::Inherit)
    }
}

/// Waits until a read of the host's stdin would not block (input, end of
/// file or an error to report), or until `interrupt` stops the store: at
/// its deadline, or within [`STDIN_POLL_SLICE`] of `interrupt()`.
///
/// # Errors
///
/// [`Interrupted`] as said.
pub(crate) fn wait_for_host_stdin(interrupt: &InterruptHandle) -> Result<(), Interrupted> {
    wait_readable(io::stdin(), interrupt)
}

/// Waits until `source` is readable (or hung up, or in error), or until
/// `interrupt` stops the store.
fn wait_readable(source: impl AsFd, interrupt: &InterruptHandle) -> Result<(), Interrupted> {
    loop {
        interrupt.check()?;
        let slice = interrupt
            .time_left()
            .map_or(STDIN_POLL_SLICE, |left| left.min(STDIN_POLL_SLICE));
        // A slice always converts; should it not, poll briefly anyway.
        let timeout = Timespec::try_from(slice).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000,
        });
        let mut fds = [PollFd::new(&source, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => {}
            // Readable, hung up, or an error the read will report.
            Ok(_) | Err(_) => return Ok(()),
        }
    }
}

/// A guest output stream and the host stream it inherits.
#[derive(Debug)]
pub(crate) struct OutputSink {
    pub(crate) output: Output,
    pub(crate) stream: HostStream,
}

impl OutputSink {
    /// Writes all of `data`.
    pub(crate) fn write(&self, data: &[u8]) -> io::Result<()> {
        match &self.output {
            Output::Inherit => match self.stream {
                HostStream::Stdout => {
                    let mut out = io::stdout().lock();
                    out.write_all(data)?;
                    out.flush()
                }
                HostStream::Stderr => io::stderr().lock().write_all(data),
            },
            Output::Capture(buffer) => {
                // A panic elsewhere while holding the lock leaves the bytes
                // intact; keep appending rather than failing the guest.
                let mut buffer = buffer.lock().unwrap_or_else(|poison| poison.into_inner());
                buffer.extend_from_slice(data);
                Ok(())
            }
            Output::Discard => Ok(()),
            Output::Callback(callback) => {
                callback(data);
                Ok(())
            }
        }
    }

    /// Flushes the host stream.
    pub(crate) fn flush(&self) -> io::Result<()> {
        match (&self.output, self.stream) {
            (Output::Inherit, HostStream::Stdout) => io::stdout().lock().flush(),
            (Output::Inherit, HostStream::Stderr) => io::stderr().lock().flush(),
            _ => Ok(()),
        }
    }

    /// Whether the guest sees the stream as a character device (a
    /// terminal): the host's own stdout or stderr, or a callback, which
    /// is line-oriented, so that C programs line-buffer what they print
    /// and each line reaches the callback when it is written.
    pub(crate) fn is_inherited(&self) -> bool {
        matches!(self.output, Output::Inherit | Output::Callback(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_input_reads_and_unreads() {
        let mut stdin = StdinState::new(Input::Bytes(b"hello".to_vec()));
        let mut buf = [0u8; 3];
        assert_eq!(stdin.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"hel");
        assert_eq!(stdin.ready_bytes(), 2);
        assert!(stdin.unread(3));
        assert_eq!(stdin.ready_bytes(), 5);
        let mut rest = [0u8; 8];
        assert_eq!(stdin.read(&mut rest).unwrap(), 5);
        assert_eq!(stdin.read(&mut rest).unwrap(), 0);
    }

    #[test]
    fn waiting_for_input_ends_at_input_deadline_or_interrupt() {
        use std::time::Instant;

        let (reader, mut writer) = io::pipe().unwrap();
        // No input and a deadline 100 ms ahead: interrupted at it.
        let handle = InterruptHandle::new();
        handle.set_deadline(Instant::now() + Duration::from_millis(100));
        let start = Instant::now();
        assert_eq!(wait_readable(&reader, &handle), Err(Interrupted));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(90), "{waited:?}");
        assert!(waited < Duration::from_secs(1), "{waited:?}");
        // Input ready: no wait.
        writer.write_all(b"x").unwrap();
        assert_eq!(wait_readable(&reader, &InterruptHandle::new()), Ok(()));
        // No deadline: `interrupt()` from another thread ends the wait.
        let (reader, _writer) = io::pipe().unwrap();
        let handle = InterruptHandle::new();
        let stopper = {
            let handle = handle.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                handle.interrupt();
            })
        };
        assert_eq!(wait_readable(&reader, &handle), Err(Interrupted));
        stopper.join().unwrap();
    }

    #[test]
    fn capture_appends() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = OutputSink {
            output: Output::Capture(buffer.clone()),
            stream: HostStream::Stdout,
        };
        sink.write(b"ab").unwrap();
        sink.write(b"c").unwrap();
        assert_eq!(&*buffer.lock().unwrap(), b"abc");
    }

    #[test]
    fn callback_sees_every_write_in_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let sink = OutputSink {
            output: Output::Callback(Arc::new(move |data: &[u8]| {
                log.lock().unwrap().push(data.to_vec());
            })),
            stream: HostStream::Stderr,
        };
        sink.write(b"one\ntw").unwrap();
        sink.write(b"o\n").unwrap();
        assert!(sink.is_inherited()); // a character device for the guest
        assert_eq!(
            *seen.lock().unwrap(),
            [b"one\ntw".to_vec(), b"o\n".to_vec()]
        );
        assert_eq!(format!("{:?}", sink.output), "Callback(..)");
    }
}

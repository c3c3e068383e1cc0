//! Tenants' standard output and error, cut into whole lines and handed to a
//! [`LineSink`] with the tenant's name, so that the lines of tenants that
//! run at the same time never interleave mid-line.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use super::escape::{escape_bytes, escape_text};

/// Which of a tenant's streams a line was written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The guest's stdout (fd 1).
    Stdout,
    /// The guest's stderr (fd 2).
    Stderr,
}

/// Receives each line a tenant writes: the tenant's name, the stream, and
/// the line without its `\n`. Called from the tenants' threads; calls for
/// one stream of one tenant come in the order the guest wrote.
pub type LineSink = Arc<dyn Fn(&str, Stream, &[u8]) + Send + Sync>;

/// A line longer than this is passed on in pieces of this size, so that a
/// guest that never writes a newline cannot make the host buffer grow
/// without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// A sink that prints every line as `[tenant] line`: stdout lines on the
/// host's stdout and stderr lines on the host's stderr, or, with
/// `all_to_stderr`, both on the host's stderr (to keep stdout free for a
/// machine-readable report). Control characters and bytes that are not
/// UTF-8, in the line and the name, are escaped ([`super::escape_bytes`]):
/// a guest must not be able to move the cursor, rewrite lines or clear
/// the operator's terminal. Each line is written with one call under the
/// stream's lock. Write errors (a closed pipe) are ignored: they must not
/// stop the guests.
pub fn print_prefixed(all_to_stderr: bool) -> LineSink {
    Arc::new(move |tenant: &str, stream: Stream, line: &[u8]| {
        let line = escape_bytes(line);
        let tenant = escape_text(tenant);
        let mut text = Vec::with_capacity(tenant.len() + line.len() + 4);
        text.push(b'[');
        text.extend_from_slice(tenant.as_bytes());
        text.extend_from_slice(b"] ");
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
        if all_to_stderr || stream == Stream::Stderr {
            let _ = std::io::stderr().lock().write_all(&text);
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&text).and_then(|()| out.flush());
        }
    })
}

/// One stream of one tenant: the bytes written since the last newline.
pub(crate) struct LineBuffer {
    tenant: String,
    stream: Stream,
    sink: LineSink,
    partial: Mutex<Vec<u8>>,
}

impl LineBuffer {
    pub(crate) fn new(tenant: &str, stream: Stream, sink: LineSink) -> Arc<LineBuffer> {
        Arc::new(LineBuffer {
            tenant: tenant.to_owned(),
            stream,
            sink,
            partial: Mutex::new(Vec::new()),
        })
    }

    /// A WASI output that feeds this buffer.
    pub(crate) fn output(self: &Arc<Self>) -> waven_wasi::Output {
        let buffer = Arc::clone(self);
        waven_wasi::Output::Callback(Arc::new(move |data: &[u8]| buffer.write(data)))
    }

    /// Adds what the guest wrote; passes on every line it completes.
    pub(crate) fn write(&self, data: &[u8]) {
        let mut partial = self.partial.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rest = data;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(newline);
            if partial.is_empty() {
                (self.sink)(&self.tenant, self.stream, line);
            } else {
                partial.extend_from_slice(line);
                (self.sink)(&self.tenant, self.stream, &partial);
                partial.clear();
            }
            rest = &after[1..];
        }
        partial.extend_from_slice(rest);
        while partial.len() >= MAX_LINE {
            let piece: Vec<u8> = partial.drain(..MAX_LINE).collect();
            (self.sink)(&self.tenant, self.stream, &piece);
        }
    }

    /// Passes on a last line that has no newline (at the tenant's end).
    pub(crate) fn finish(&self) {
        let mut partial = self.partial.lock().unwrap_or_else(PoisonError::into_inner);
        if !partial.is_empty() {
            (self.sink)(&self.tenant, self.stream, &partial);
            partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lines = Arc<Mutex<Vec<(String, Stream, String)>>>;

    fn collecting() -> (LineSink, Lines) {
        let lines: Lines = Arc::default();
        let log = Arc::clone(&lines);
        let sink: LineSink = Arc::new(move |tenant: &str, stream: Stream, line: &[u8]| {
            let line = String::from_utf8_lossy(line).into_owned();
            log.lock().unwrap().push((tenant.to_owned(), stream, line));
        });
        (sink, lines)
    }

    #[test]
    fn lines_are_whole_whatever_the_writes() {
        let (sink, lines) = collecting();
        let buffer = LineBuffer::new("a", Stream::Stdout, sink);
        buffer.write(b"one\ntw");
        buffer.write(b"o");
        buffer.write(b"\n\nthree\nfour");
        buffer.finish();
        buffer.finish();
        let got: Vec<String> = lines.lock().unwrap().iter().map(|l| l.2.clone()).collect();
        assert_eq!(got, ["one", "two", "", "three", "four"]);
        assert!(lines
            .lock()
            .unwrap()
            .iter()
            .all(|l| l.0 == "a" && l.1 == Stream::Stdout));
    }

    #[test]
    fn a_line_without_end_is_cut() {
        let (sink, lines) = collecting();
        let buffer = LineBuffer::new("a", Stream::Stderr, sink);
        buffer.write(&vec![b'x'; MAX_LINE * 2 + 3]);
        assert_eq!(lines.lock().unwrap().len(), 2);
        buffer.finish();
        let lens: Vec<usize> = lines.lock().unwrap().iter().map(|l| l.2.len()).collect();
        assert_eq!(lens, [MAX_LINE, MAX_LINE, 3]);
    }
}

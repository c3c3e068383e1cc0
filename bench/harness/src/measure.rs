//! One run of one kernel on one runtime: wall time, the kernel's own
//! timing, and its checksum.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A run that takes longer than this is stopped and counted as failed.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// What one run measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// From spawning the process to its exit: start-up, compilation and
    /// the kernel.
    pub wall_ms: f64,
    /// The kernel's own monotonic-clock time around its computation,
    /// without start-up and compilation.
    pub kernel_ms: f64,
}

/// What a kernel prints: one `checksum: X` line on stdout and one
/// `kernel_ns: N` line on stderr.
#[derive(Debug, PartialEq, Eq)]
pub struct Output {
    /// The checksum, as printed.
    pub checksum: String,
    /// The computation's duration in nanoseconds.
    pub kernel_ns: u64,
}

/// Runs `command`, checks its exit status, and parses what it printed.
pub fn run(mut command: Command) -> Result<(Sample, Output)> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    // Drain both pipes on their own threads so a chatty child never blocks.
    let out = thread::spawn(move || read_all(&mut stdout));
    let err = thread::spawn(move || read_all(&mut stderr));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("stopped after {} s", TIMEOUT.as_secs());
        }
        thread::sleep(Duration::from_micros(500));
    };
    let wall = start.elapsed();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        bail!("{status}; stderr: {}", last_lines(&stderr));
    }
    let output = parse(&stdout, &stderr)?;
    let sample = Sample {
        wall_ms: wall.as_secs_f64() * 1e3,
        kernel_ms: output.kernel_ns as f64 / 1e6,
    };
    Ok((sample, output))
}

/// Parses a kernel's outputs.
pub fn parse(stdout: &str, stderr: &str) -> Result<Output> {
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    let Some(checksum) = field(stdout, "checksum:") else {
        bail!("no `checksum:` line on stdout: {}", last_lines(stdout));
    };
    let Some(kernel_ns) = field(stderr, "kernel_ns:") else {
        bail!("no `kernel_ns:` line on stderr: {}", last_lines(stderr));
    };
    let kernel_ns = kernel_ns
        .parse()
        .with_context(|| format!("kernel_ns `{kernel_ns}`"))?;
    Ok(Output {
        checksum,
        kernel_ns,
    })
}

fn read_all(stream: &mut impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checksum_and_time() {
        let output = parse("checksum: 00ff\n", "kernel_ns: 1500\n").unwrap();
        assert_eq!(
            output,
            Output {
                checksum: "00ff".to_owned(),
                kernel_ns: 1500
            }
        );
    }

    #[test]
    fn missing_lines_are_errors() {
        assert!(parse("", "kernel_ns: 1").is_err());
        assert!(parse("checksum: 1", "").is_err());
        assert!(parse("checksum: 1", "kernel_ns: soon").is_err());
    }

    #[test]
    fn a_failing_command_is_an_error() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo boom >&2; exit 3"]);
        let error = run(command).unwrap_err().to_string();
        assert!(error.contains("boom"), "{error}");
    }

    #[test]
    fn a_good_run_is_measured() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'checksum: ab'; echo 'kernel_ns: 2000000' >&2"]);
        let (sample, output) = run(command).unwrap();
        assert_eq!(output.checksum, "ab");
        assert_eq!(sample.kernel_ms, 2.0);
        assert!(sample.wall_ms > 0.0);
    }
}

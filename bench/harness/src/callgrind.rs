//! Instruction counts under `valgrind --tool=callgrind`: repeatable
//! figures for comparing two waven builds on a noisy machine.

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::kernels::{Kernel, Size};
use crate::measure;
use crate::runtimes::Runtime;

/// Instructions one runtime executed for one kernel.
#[derive(Debug, Serialize)]
pub struct Count {
    /// Kernel name.
    pub kernel: String,
    /// Runtime name.
    pub runtime: String,
    /// Instructions executed by the whole process (callgrind's `Ir`).
    pub instructions: u64,
}

/// Runs every kernel once per runtime under callgrind, verifies the
/// checksums and writes `callgrind-<size>.md` and `.json` into `out`.
pub fn run(
    kernels: &[Kernel],
    runtimes: &[Runtime],
    size: Size,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    let mut counts = Vec::new();
    for kernel in kernels {
        for runtime in runtimes {
            eprint!("callgrind: {} on {} ... ", kernel.name, runtime.name);
            let instructions = count(kernel, runtime, size)?;
            eprintln!("{instructions}");
            counts.push(Count {
                kernel: kernel.name.clone(),
                runtime: runtime.name.clone(),
                instructions,
            });
        }
    }
    fs::create_dir_all(out)?;
    let md = out.join(format!("callgrind-{}.md", size.name()));
    let json = out.join(format!("callgrind-{}.json", size.name()));
    fs::write(&md, table(kernels, runtimes, &counts))?;
    fs::write(&json, serde_json::to_string_pretty(&counts)? + "\n")?;
    Ok(vec![md, json])
}

fn count(kernel: &Kernel, runtime: &Runtime, size: Size) -> Result<u64> {
    let inner = runtime.command(kernel, size);
    let mut valgrind = Command::new("valgrind");
    valgrind.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"]);
    valgrind.arg(inner.get_program()).args(inner.get_args());
    let out = valgrind
        .output()
        .context("running valgrind (apt-get install valgrind)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "{} on {} under callgrind: {}",
            kernel.name,
            runtime.name,
            out.status
        );
    }
    let output = measure::parse(&stdout, &stderr)?;
    if output.checksum != kernel.expected {
        bail!(
            "{} on {}: checksum {} instead of {}",
            kernel.name,
            runtime.name,
            output.checksum,
            kernel.expected
        );
    }
    collected(&stderr).with_context(|| format!("no `Collected :` line from callgrind: {stderr}"))
}

/// The `Collected : N` total of callgrind's summary.
fn collected(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
}

fn table(kernels: &[Kernel], runtimes: &[Runtime], counts: &[Count]) -> String {
    let mut md = String::from("| kernel |");
    for r in runtimes {
        let _ = write!(md, " {} (M instr) |", r.name);
    }
    for r in &runtimes[1..] {
        let _ = write!(md, " {}/{} |", r.name, runtimes[0].name);
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(2 * runtimes.len() - 1));
    md.push('\n');
    let of = |k: &str, r: &str| {
        counts
            .iter()
            .find(|c| c.kernel == k && c.runtime == r)
            .map_or(0, |c| c.instructions) as f64
    };
    for k in kernels {
        let _ = write!(md, "| {} |", k.name);
        for r in runtimes {
            let _ = write!(md, " {:.1} |", of(&k.name, &r.name) / 1e6);
        }
        for r in &runtimes[1..] {
            let _ = write!(
                md,
                " {:.3} |",
                of(&k.name, &r.name) / of(&k.name, &runtimes[0].name)
            );
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_collected_total() {
        let stderr = "==12== Events    : Ir\n==12== Collected : 123456\n==12==\n==12== I   refs:      123,456\n";
        assert_eq!(collected(stderr), Some(123_456));
        assert_eq!(collected("nothing"), None);
    }
}

//! The suite's results and their summary, written as Markdown, JSON and
//! an SVG chart.

mod markdown;
mod svg;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::runtimes::Runtime;
use crate::stats;
use crate::suite::KernelResult;

pub use markdown::markdown;
pub use svg::svg;

/// Pairs `(a, b)` whose ratio `a/b` the summary gives, when both ran.
const RATIOS: [(&str, &str); 13] = [
    ("waven-jit-virtual", "wasmtime"),
    ("waven-jit-plain", "wasmtime"),
    ("waven-jit-virtual", "waven-jit-plain"),
    ("waven-virtual", "waven-jit-virtual"),
    ("waven-virtual", "wasmi"),
    ("waven-virtual", "waven-plain"),
    ("waven-virtual", "wasmtime"),
    ("waven-virtual", "native"),
    ("waven-virtual", "baseline-virtual"),
    ("waven-plain", "wasmi"),
    ("wasmi", "native"),
    ("wasmtime", "native"),
    ("wasmi", "wasmtime"),
];

/// Everything one suite run measured.
#[derive(Debug, Serialize)]
pub struct Results {
    /// The day of the run (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// The command line that produced it.
    pub command: String,
    /// `full` or `quick`.
    pub size: &'static str,
    /// Measured rounds per kernel and runtime.
    pub rounds: usize,
    /// Warm-up rounds (not measured).
    pub warmup: usize,
    /// The runtimes, in column order.
    pub runtimes: Vec<RuntimeInfo>,
    /// The compilers that built the kernels.
    pub compilers: Vec<String>,
    /// Per-kernel figures.
    pub kernels: Vec<KernelResult>,
    /// Geometric means and ratios.
    pub summary: Summary,
}

/// A runtime's name and version.
#[derive(Debug, Serialize)]
pub struct RuntimeInfo {
    /// Name in the tables.
    pub name: String,
    /// Version string.
    pub version: String,
}

/// The machine a run was measured on.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Hardware threads available to the process.
    pub threads: usize,
    /// Operating system kernel release.
    pub os: String,
}

/// Geometric means per runtime and ratios between runtimes.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Per runtime: geometric mean of its median kernel times (ms), over
    /// the kernels it passed, and how many those were.
    pub geomean_ms: Vec<(String, f64, usize)>,
    /// `a/b`: geometric mean over the kernels both passed of the ratio of
    /// medians, with that kernel count.
    pub ratios: Vec<Ratio>,
}

/// One summary ratio.
#[derive(Debug, Serialize)]
pub struct Ratio {
    /// The runtime whose time is the numerator.
    pub a: String,
    /// The runtime whose time is the denominator.
    pub b: String,
    /// Geometric mean of per-kernel `a/b`.
    pub geomean: f64,
    /// Kernels that both passed.
    pub kernels: usize,
}

impl Results {
    /// Assembles the results of a run and computes the summary.
    pub fn new(
        command: String,
        size: &'static str,
        (warmup, rounds): (usize, usize),
        runtimes: &[Runtime],
        compilers: Vec<String>,
        kernels: Vec<KernelResult>,
    ) -> Results {
        let names: Vec<&str> = runtimes.iter().map(|r| r.name.as_str()).collect();
        let summary = summarize(&names, &kernels);
        Results {
            date: today(),
            machine: Machine::current(),
            command,
            size,
            rounds,
            warmup,
            runtimes: runtimes
                .iter()
                .map(|r| RuntimeInfo {
                    name: r.name.clone(),
                    version: r.version.clone(),
                })
                .collect(),
            compilers,
            kernels,
            summary,
        }
    }

    /// Whether every runtime passed every kernel.
    pub fn all_passed(&self) -> bool {
        self.kernels
            .iter()
            .all(|k| k.runs.iter().all(|r| r.error.is_none()))
    }

    /// Writes `<stem>.md`, `<stem>.json` and `<stem>.svg` into `dir`;
    /// returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files = [
            (dir.join(format!("{stem}.md")), markdown(self)),
            (
                dir.join(format!("{stem}.json")),
                serde_json::to_string_pretty(self)? + "\n",
            ),
            (dir.join(format!("{stem}.svg")), svg(self)),
        ];
        for (path, text) in &files {
            fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(files.into_iter().map(|(path, _)| path).collect())
    }
}

fn summarize(names: &[&str], kernels: &[KernelResult]) -> Summary {
    let geomean_ms = names
        .iter()
        .map(|name| {
            let medians: Vec<f64> = kernels.iter().filter_map(|k| k.median_of(name)).collect();
            (name.to_string(), stats::geomean(&medians), medians.len())
        })
        .collect();
    let ratios = RATIOS
        .iter()
        .filter(|(a, b)| names.contains(a) && names.contains(b))
        .map(|&(a, b)| {
            let per_kernel: Vec<f64> = kernels
                .iter()
                .filter_map(|k| Some(k.median_of(a)? / k.median_of(b)?))
                .collect();
            Ratio {
                a: a.to_owned(),
                b: b.to_owned(),
                geomean: stats::geomean(&per_kernel),
                kernels: per_kernel.len(),
            }
        })
        .collect();
    Summary { geomean_ms, ratios }
}

impl Machine {
    fn current() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|v| v.split(':').nth(1))
            })
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let os = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|v| format!("Linux {}", v.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_owned());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { cpu, threads, os }
    }
}

/// Today's date (UTC) from the system clock.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::RunResult;

    fn run(runtime: &str, median: f64) -> RunResult {
        RunResult {
            runtime: runtime.to_owned(),
            kernel_ms: vec![median],
            wall_ms: vec![median],
            median_ms: median,
            min_ms: median,
            max_ms: median,
            median_wall_ms: median,
            error: None,
        }
    }

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn ratios_use_only_kernels_both_passed() {
        let mut failed = run("wasmi", 1.0);
        failed.error = Some("checksum".to_owned());
        let kernels = vec![
            KernelResult {
                name: "a".into(),
                checksum: "0".into(),
                runs: vec![run("waven-virtual", 4.0), run("wasmi", 2.0)],
            },
            KernelResult {
                name: "b".into(),
                checksum: "0".into(),
                runs: vec![run("waven-virtual", 9.0), run("wasmi", 1.0)],
            },
            KernelResult {
                name: "c".into(),
                checksum: "0".into(),
                runs: vec![run("waven-virtual", 5.0), failed],
            },
        ];
        let summary = summarize(&["waven-virtual", "wasmi"], &kernels);
        let ratio = &summary.ratios[0];
        assert_eq!(
            (ratio.a.as_str(), ratio.b.as_str(), ratio.kernels),
            ("waven-virtual", "wasmi", 2)
        );
        assert!((ratio.geomean - 18f64.sqrt()).abs() < 1e-9);
        assert_eq!(summary.geomean_ms[1].2, 2);
    }
}

//! The measurement loop: every kernel on every runtime in interleaved
//! rounds (A B C A B C ...), checksums verified on every run.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::kernels::{Kernel, Size};
use crate::measure;
use crate::runtimes::Runtime;
use crate::stats;

/// How many rounds to run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Rounds whose samples are thrown away.
    pub warmup: usize,
    /// Rounds that are measured.
    pub rounds: usize,
    /// The problem size.
    pub size: Size,
}

/// The figures of one kernel on one runtime.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// The runtime's name.
    pub runtime: String,
    /// The kernel's own time of each measured round, in milliseconds.
    pub kernel_ms: Vec<f64>,
    /// The process's wall time of each measured round, in milliseconds.
    pub wall_ms: Vec<f64>,
    /// Median of `kernel_ms`.
    pub median_ms: f64,
    /// Smallest of `kernel_ms`.
    pub min_ms: f64,
    /// Largest of `kernel_ms`.
    pub max_ms: f64,
    /// Median of `wall_ms`.
    pub median_wall_ms: f64,
    /// Why the runtime failed this kernel (wrong checksum, trap, timeout).
    pub error: Option<String>,
}

impl RunResult {
    fn new(runtime: &str) -> RunResult {
        RunResult {
            runtime: runtime.to_owned(),
            kernel_ms: Vec::new(),
            wall_ms: Vec::new(),
            median_ms: f64::NAN,
            min_ms: f64::NAN,
            max_ms: f64::NAN,
            median_wall_ms: f64::NAN,
            error: None,
        }
    }

    fn finish(&mut self) {
        if self.error.is_none() {
            self.median_ms = stats::median(&self.kernel_ms);
            (self.min_ms, self.max_ms) = stats::min_max(&self.kernel_ms);
            self.median_wall_ms = stats::median(&self.wall_ms);
        }
    }

    /// The median kernel time, if every run succeeded.
    pub fn median(&self) -> Option<f64> {
        self.error.is_none().then_some(self.median_ms)
    }
}

/// The figures of one kernel on every runtime.
#[derive(Clone, Debug, Serialize)]
pub struct KernelResult {
    /// The kernel's name.
    pub name: String,
    /// The checksum every run had to print.
    pub checksum: String,
    /// One entry per runtime, in the runtimes' order.
    pub runs: Vec<RunResult>,
}

impl KernelResult {
    /// The median time of `runtime` on this kernel, if it succeeded.
    pub fn median_of(&self, runtime: &str) -> Option<f64> {
        self.runs
            .iter()
            .find(|r| r.runtime == runtime)
            .and_then(RunResult::median)
    }
}

/// Runs every kernel on every runtime.
pub fn run(kernels: &[Kernel], runtimes: &[Runtime], plan: Plan) -> Vec<KernelResult> {
    let mut progress = Progress::new(kernels.len() * (plan.warmup + plan.rounds) * runtimes.len());
    kernels
        .iter()
        .map(|kernel| {
            let mut runs: Vec<RunResult> =
                runtimes.iter().map(|r| RunResult::new(&r.name)).collect();
            for round in 0..plan.warmup + plan.rounds {
                for (runtime, result) in runtimes.iter().zip(&mut runs) {
                    progress.step(&kernel.name, round, plan, &runtime.name);
                    if result.error.is_some() {
                        continue;
                    }
                    match measure::run(runtime.command(kernel, plan.size)) {
                        Ok((_, output)) if output.checksum != kernel.expected => {
                            result.error = Some(format!(
                                "checksum {} instead of {}",
                                output.checksum, kernel.expected
                            ));
                        }
                        Ok((sample, _)) if round >= plan.warmup => {
                            result.kernel_ms.push(sample.kernel_ms);
                            result.wall_ms.push(sample.wall_ms);
                        }
                        Ok(_) => {}
                        Err(error) => result.error = Some(format!("{error:#}")),
                    }
                }
            }
            runs.iter_mut().for_each(RunResult::finish);
            progress.kernel_done(kernel, &runs);
            KernelResult {
                name: kernel.name.clone(),
                checksum: kernel.expected.clone(),
                runs,
            }
        })
        .collect()
}

/// A progress line on stderr: rewritten in place on a terminal, one line
/// per kernel otherwise.
struct Progress {
    total: usize,
    done: usize,
    terminal: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            done: 0,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn step(&mut self, kernel: &str, round: usize, plan: Plan, runtime: &str) {
        self.done += 1;
        if self.terminal {
            let phase = if round < plan.warmup {
                "warm-up".to_owned()
            } else {
                format!("round {}/{}", round - plan.warmup + 1, plan.rounds)
            };
            eprint!(
                "\r\x1b[K[{:>4}/{}] {kernel} {phase} {runtime}",
                self.done, self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn kernel_done(&self, kernel: &Kernel, runs: &[RunResult]) {
        let figures: Vec<String> = runs
            .iter()
            .map(|r| match r.median() {
                Some(ms) => format!("{} {ms:.1} ms", r.runtime),
                None => format!("{} FAILED", r.runtime),
            })
            .collect();
        let clear = if self.terminal { "\r\x1b[K" } else { "" };
        eprintln!(
            "{clear}[{:>4}/{}] {}: {}",
            self.done,
            self.total,
            kernel.name,
            figures.join(", ")
        );
    }
}

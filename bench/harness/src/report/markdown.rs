//! The Markdown report: one row per kernel, geometric means, ratios.

use std::fmt::Write;

use super::Results;
use crate::stats;

/// The Markdown report of `results`.
pub fn markdown(results: &Results) -> String {
    let mut md = String::new();
    let names: Vec<&str> = results.runtimes.iter().map(|r| r.name.as_str()).collect();
    let has_plain = names.contains(&"waven-virtual") && names.contains(&"waven-plain");
    let _ = writeln!(
        md,
        "# waven benchmark suite: {} size, {}\n",
        results.size, results.date
    );
    let _ = writeln!(
        md,
        "Machine: {}, {} threads, {}. Command: `{}`. {} measured rounds after {} warm-up, \
         runtimes interleaved in each round. Times are the kernels' own monotonic clock \
         around the computation (without start-up and compilation): median in ms, min–max \
         in brackets. Every run's checksum was verified.\n",
        results.machine.cpu,
        results.machine.threads,
        results.machine.os,
        results.command,
        results.rounds,
        results.warmup,
    );

    let mut header = String::from("| kernel |");
    let mut rule = String::from("|---|");
    for name in &names {
        let _ = write!(header, " {name} |");
        rule.push_str("---:|");
    }
    if has_plain {
        header.push_str(" virtual/plain |");
        rule.push_str("---:|");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    for kernel in &results.kernels {
        let mut row = format!("| {} |", kernel.name);
        for run in &kernel.runs {
            match run.median() {
                Some(ms) => {
                    let _ = write!(
                        row,
                        " {} ({}–{}) |",
                        ms_text(ms),
                        ms_text(run.min_ms),
                        ms_text(run.max_ms)
                    );
                }
                None => row.push_str(" FAILED |"),
            }
        }
        if has_plain {
            match (
                kernel.median_of("waven-virtual"),
                kernel.median_of("waven-plain"),
            ) {
                (Some(v), Some(p)) => {
                    let _ = write!(row, " {:.2} |", v / p);
                }
                _ => row.push_str(" – |"),
            }
        }
        let _ = writeln!(md, "{row}");
    }
    let mut row = String::from("| **geomean** |");
    for (_, ms, _) in &results.summary.geomean_ms {
        let _ = write!(row, " **{}** |", ms_text(*ms));
    }
    if has_plain {
        if let Some(r) = ratio(results, "waven-virtual", "waven-plain") {
            let _ = write!(row, " **{r:.2}** |");
        }
    }
    let _ = writeln!(md, "{row}");
    let mut row = String::from("| start-up + compile |");
    for name in &names {
        let _ = write!(row, " {} |", ms_text(startup_ms(results, name)));
    }
    if has_plain {
        row.push_str(" |");
    }
    let _ = writeln!(md, "{row}\n");
    let _ = writeln!(
        md,
        "*start-up + compile*: median over kernels of (median wall time of the process − \
         median kernel time), in ms: loading, validation, compilation and WASI set-up.\n"
    );

    let _ = writeln!(
        md,
        "| ratio (geomean over kernels) | value | kernels |\n|---|---:|---:|"
    );
    for r in &results.summary.ratios {
        let _ = writeln!(
            md,
            "| {} / {} | {:.2}x | {} |",
            r.a, r.b, r.geomean, r.kernels
        );
    }
    let _ = writeln!(md);

    let _ = writeln!(md, "Runtimes:\n");
    for r in &results.runtimes {
        let _ = writeln!(md, "- {}: {}", r.name, r.version);
    }
    let _ = writeln!(md, "- kernels built with: {}", results.compilers.join("; "));

    let failures: Vec<String> = results
        .kernels
        .iter()
        .flat_map(|k| {
            k.runs.iter().filter_map(move |r| {
                r.error
                    .as_ref()
                    .map(|e| format!("- {} on {}: {e}", k.name, r.runtime))
            })
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "\nFailures:\n\n{}", failures.join("\n"));
    }
    md
}

fn ratio(results: &Results, a: &str, b: &str) -> Option<f64> {
    results
        .summary
        .ratios
        .iter()
        .find(|r| r.a == a && r.b == b)
        .map(|r| r.geomean)
}

fn startup_ms(results: &Results, runtime: &str) -> f64 {
    let gaps: Vec<f64> = results
        .kernels
        .iter()
        .flat_map(|k| {
            k.runs
                .iter()
                .filter(|r| r.runtime == runtime && r.error.is_none())
        })
        .map(|r| r.median_wall_ms - r.median_ms)
        .collect();
    stats::median(&gaps)
}

/// Milliseconds with three significant digits or so.
fn ms_text(ms: f64) -> String {
    if ms.is_nan() {
        "–".to_owned()
    } else if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

//! `waven platform MANIFEST`: run a deployment manifest and sum it up.
//!
//! A manifest with an error is reported as `error: PATH:LINE:COL: MESSAGE`
//! (exit status 1) before anything runs. Otherwise every tenant's output
//! lines are printed as they come, prefixed with `[tenant] `, followed by a
//! summary: one line per tenant (with the host bytes of its translation
//! tables), one per region, the frame pool's counters, how many modules
//! were compiled for how many tenants (tenants whose module files hold the
//! same bytes share one), and the run's host memory (the host heap's peak
//! in the enclave profile, the translation tables of all tenants, the
//! process's peak resident memory). Everything in the summary that a guest
//! or a manifest names (tenants, regions, grantees, trap and failure
//! messages, memory maps) has its control characters escaped, as have the
//! tenants' lines, so that no guest can rewrite the operator's terminal or
//! add a row to a table. A tenant that could not be prepared (its module,
//! its instantiation, its start function) is a `failed` row; the others
//! run. With `--json` the summary is replaced by the whole report as one
//! JSON document on stdout, and the tenants' lines go to stderr so that
//! stdout stays parseable. `--maps` adds each instance's memory map at exit
//! (to the summary, or to the JSON as `memory_map`). The exit status is 0
//! if every tenant exited with status 0, 1 otherwise.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use waven_platform::manifest::Manifest;
use waven_platform::run::{self, escape_text, HostMemory, Options, Phase, PhaseHook, Report};

use crate::emit;

/// Arguments of `waven platform`.
#[derive(Args, Debug)]
pub struct PlatformArgs {
    /// Print the report as one JSON document on stdout instead of the
    /// summary; the tenants' output then goes to stderr.
    #[arg(long)]
    json: bool,
    /// Show each instance's memory map when it ends.
    #[arg(long)]
    maps: bool,
    /// Print `waven: start-up complete` on stderr before the first guest
    /// instruction and `waven: guests finished` after the last, to bracket
    /// the guests' part of the run (for example in an strace log).
    #[arg(long)]
    mark_phases: bool,
    /// Run on this engine (`interp` or `jit`) instead of the manifest's.
    #[arg(long, value_parser = crate::run::parse_engine)]
    engine: Option<waven_runtime::EngineKind>,
    /// The deployment manifest (TOML).
    manifest: PathBuf,
}

/// Runs `waven platform`; returns the process exit status.
pub fn run(args: PlatformArgs) -> Result<ExitCode> {
    // Errors quote the manifest's values, which may hold control
    // characters (TOML escapes): escaped like everything else shown.
    let mut manifest = Manifest::load(&args.manifest).map_err(escaped)?;
    if let Some(engine) = args.engine {
        manifest.engine = match engine {
            waven_runtime::EngineKind::Interpreter => waven_platform::manifest::EngineKind::Interp,
            waven_runtime::EngineKind::Compiled => waven_platform::manifest::EngineKind::Compiled,
        };
    }
    let host_heap = manifest.host_heap_bytes();
    crate::host_heap::reserve(host_heap).with_context(|| {
        format!("the manifest's host_heap ({host_heap} bytes, given or by default)")
    })?;
    let phases: Option<PhaseHook> = args.mark_phases.then(|| {
        Arc::new(|phase| {
            let text = match phase {
                Phase::StartupComplete => "start-up complete",
                Phase::GuestsFinished => "guests finished",
            };
            // A closed stderr must not stop the run (eprintln! panics).
            let _ = writeln!(std::io::stderr(), "waven: {text}");
        }) as PhaseHook
    });
    let options = Options {
        output: run::print_prefixed(args.json),
        memory_maps: args.maps,
        phases,
    };
    let mut report = run::run(&manifest, &options).map_err(escaped)?;
    report.host_memory = Some(host_memory());
    if args.json {
        emit(&format!("{}\n", report.to_json()))?;
    } else {
        emit(&summary(&report))?;
    }
    Ok(if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The text summary: tenants, regions, frames, and the memory maps that
/// were recorded.
fn summary(report: &Report) -> String {
    let mut out = String::from("\n");
    let mut tenants = vec![row([
        "tenant", "wall", "memory", "resident", "tables", "status",
    ])];
    for tenant in &report.tenants {
        let resident = tenant
            .resident_pages
            .map_or_else(|| "-".to_owned(), |pages| format!("{pages} pages"));
        let mut status = tenant.outcome.to_string();
        if !tenant.results.is_empty() {
            status.push_str(&format!(" (returned {})", tenant.results.join(", ")));
        }
        tenants.push(vec![
            tenant.name.clone(),
            format!("{:.1} ms", tenant.wall_ms),
            bytes(tenant.memory_bytes),
            resident,
            tenant.table_bytes.map_or_else(|| "-".to_owned(), kib),
            status,
        ]);
    }
    out.push_str(&table(&tenants));
    if !report.regions.is_empty() {
        let mut regions = vec![row(["region", "size", "owner", "max", "grants"])];
        for region in &report.regions {
            let grants: Vec<String> = region
                .grants
                .iter()
                .map(|g| format!("{} ({})", g.grantee, g.rights))
                .collect();
            regions.push(vec![
                region.name.clone(),
                bytes(region.size),
                format!("{} ({})", region.owner, region.origin),
                region.max_rights.clone(),
                if grants.is_empty() {
                    "-".to_owned()
                } else {
                    grants.join(", ")
                },
            ]);
        }
        out.push('\n');
        out.push_str(&table(&regions));
    }
    let pool = &report.pool;
    out.push_str(&format!(
        "\nframes: {} in use, peak {} of {} ({} KiB each); {} run in {:.1} ms\n",
        pool.in_use,
        pool.peak,
        pool.budget_frames,
        pool.page_size / 1024,
        report.run,
        report.wall_ms
    ));
    out.push_str(&modules_line(report));
    out.push_str(&host_memory_line(report));
    for tenant in &report.tenants {
        if let Some(map) = &tenant.memory_map {
            let name = escape_text(&tenant.name);
            out.push_str(&format!("\nmemory map of {name} at exit:\n"));
            for entry in map {
                out.push_str(&format!("  {entry}\n"));
            }
        }
    }
    out
}

/// The run's host memory: the host heap's counters (enclave profile) and
/// the process's peak resident memory (Linux's `VmHWM`).
fn host_memory() -> HostMemory {
    let heap = crate::host_heap::usage();
    HostMemory {
        heap_reserved: heap.map(|h| h.reserved),
        heap_peak: heap.map(|h| h.peak),
        heap_in_use: heap.map(|h| h.in_use),
        peak_resident: peak_resident(),
    }
}

/// `VmHWM` of `/proc/self/status` in bytes, where the host has it.
fn peak_resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// `modules: N compiled for M tenants ...`: tenants whose module files
/// have the same SHA-256 share one compiled module.
fn modules_line(report: &Report) -> String {
    let modules = report.modules;
    let tenants = if modules.tenants == 1 {
        "tenant"
    } else {
        "tenants"
    };
    format!(
        "modules: {} compiled for {} {tenants} (one per distinct file SHA-256)\n",
        modules.compiled, modules.tenants
    )
}

/// `host memory: ...`: the heap's peak and what it holds at exit, the
/// tenants' translation tables together, the peak resident memory.
fn host_memory_line(report: &Report) -> String {
    let mut parts = Vec::new();
    let host = report.host_memory.unwrap_or_default();
    if let (Some(peak), Some(reserved)) = (host.heap_peak, host.heap_reserved) {
        let mut heap = format!("heap peak {} of {}", mib(peak), mib(reserved));
        if let Some(now) = host.heap_in_use {
            heap.push_str(&format!(" ({} in use at exit)", mib(now)));
        }
        parts.push(heap);
    }
    let tables: Vec<u64> = report
        .tenants
        .iter()
        .filter_map(|t| t.table_bytes)
        .collect();
    if let Some(&largest) = tables.iter().max() {
        parts.push(format!(
            "translation tables {} for {} tenants (at most {} each)",
            mib(tables.iter().sum()),
            tables.len(),
            kib(largest)
        ));
    }
    if let Some(resident) = host.peak_resident {
        parts.push(format!("peak resident {}", mib(resident)));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!("host memory: {}\n", parts.join("; "))
}

/// Bytes in KiB, with one decimal unless whole.
fn kib(n: u64) -> String {
    if n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

/// Bytes in MiB with one decimal.
fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
}

/// An error whose message has its control characters escaped.
fn escaped(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{}", escape_text(&error.to_string()))
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// Rows as left-aligned columns two spaces apart (the last one unpadded),
/// every cell with its control characters escaped: a newline in a name
/// must not start a row.
fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| escape_text(cell).into_owned())
                .collect()
        })
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Bytes in the largest binary unit that divides them.
fn bytes(n: u64) -> String {
    for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{} {name}", n / unit);
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_tables() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(8192), "8 KiB");
        assert_eq!(bytes(3 << 20), "3 MiB");
        assert_eq!(bytes(4097), "4097 B");
        assert_eq!(kib(57344), "56 KiB");
        assert_eq!(kib(57408), "56.1 KiB");
        assert_eq!(mib(3 << 19), "1.5 MiB");
        let rows = vec![row(["a", "bb", "c"]), row(["ccc", "d", "e"])];
        assert_eq!(table(&rows), "a    bb  c\nccc  d   e\n");
        let rows = vec![row(["x\ny  0.1 ms", "\x1b[2J"])];
        assert_eq!(table(&rows), "x\\ny  0.1 ms  \\x1b[2J\n");
    }
}

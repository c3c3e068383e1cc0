//! `waven demo marketplace`: a data provider lends a data set read-only to
//! three analysts written by others and to a malicious fourth; compared
//! with giving each analyst a copy.
//!
//! ```text
//!  host (provider) ── generates N records ──► region "dataset" (R only)
//!      │ grant R, bound to each analyst's code measurement
//!      ▼
//!  hist ─┐  map "dataset" read-only (no copy), analyse,         ┌─► consumer maps
//!  stats ├─ write the result into pages of its own, share them ─┤   the 3 results
//!  topk ─┘  as "<analyst>-result" and grant R to "consumer"     │   read-only
//!  mallory: tries to change the data set, open the results and  │
//!           smuggle a page out through fd_write: all refused    │
//!  host: checks every result against its own computation ───────┘
//! ```
//!
//! The demo runs the tenants twice, each time on a fresh engine and frame
//! pool, so that each run's frame counters are its own:
//!
//! * **sharing**: the host grants the one region `dataset` to the three
//!   analysts; each maps it read-only at the end of its memory;
//! * **copying**: the host copies the data set into a region per analyst
//!   (`dataset-hist`, ...), each granted to that analyst only: each
//!   analyst gets its own copy, as it would from a runtime that cannot
//!   share memory.
//!
//! In both runs the provider's data set is in a region of the pool first;
//! "handing it to the analysts" is what happens after that: the host's
//! grants (and copies) plus the analysts' own `open` and `map`, which each
//! analyst times with the WASI clock and reports in its result. The frames
//! are the pool's: those holding the data set (one copy or four), and the
//! peak of the whole run.
//!
//! Only the sharing run has mallory, after the analysts (so that their
//! result regions exist). Its attempts are parsed from its output (see
//! `demos/marketplace/mallory.c`) and judged by their results; the host
//! then checks for itself that the data set is byte for byte unchanged,
//! that mallory's memory maps none of the result regions, and that its
//! output holds none of the bytes it tried to smuggle.
//!
//! The guests are the C programs of `demos/marketplace/`, built by
//! `demos/build-marketplace.sh` into `demos/build/marketplace-*.wasm` and
//! embedded in this binary. `examples/marketplace.toml` runs the same
//! modules under `waven platform`, with a provider tenant in place of the
//! host.
//!
//! The exit status is 0 when every tenant ended as expected (mallory with
//! the trap of its store), every result equals the host's, and every
//! attempt of mallory was blocked; 1 otherwise.

mod data;
mod json;
mod stage;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use waven_mmu::{Rights, PAGE_SIZE};
use waven_platform::manifest::parse_size;
use waven_platform::registry::{Owner, Platform};
use waven_platform::run::measurement_text;

use crate::emit;
use data::{Analyses, Header, RECORD_BYTES};
use json::Json;
use stage::{Finished, Guests, Outcome, Stage};

/// Arguments of `waven demo marketplace`.
#[derive(Args, Debug)]
pub struct MarketplaceArgs {
    /// Execution engine: `jit` (the default where the build has a
    /// compiler) or `interp`.
    #[arg(long, value_parser = crate::run::parse_engine, default_value = super::DEFAULT_ENGINE)]
    engine: waven_runtime::EngineKind,
    /// Bytes of the data set (16 per record): a multiple of 4096 from
    /// 64KiB to 1GiB, with an optional KiB, MiB or GiB suffix. Copying
    /// needs four times as much memory.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    size: u64,
    /// Print the outcome as one JSON document instead of the text report.
    #[arg(long)]
    json: bool,
    /// Run the guest modules `marketplace-*.wasm` of this directory (as
    /// `demos/build-marketplace.sh DIR` builds them) instead of the ones
    /// built into waven.
    #[arg(long, value_name = "DIR")]
    modules: Option<PathBuf>,
}

/// The smallest data set: mallory needs two pages, and the output should
/// mean something.
const MIN_SIZE: u64 = 64 << 10;
/// The largest data set.
const MAX_SIZE: u64 = 1 << 30;
/// Frames for everything but the data set: instances, module images,
/// result pages.
const OVERHEAD: u64 = 64 << 20;

/// The honest analysts, in the order they are reported.
const ANALYSTS: [&str; 3] = ["hist", "stats", "topk"];
/// Their result regions (the names the C programs use by default), each in
/// its analyst's namespace.
const RESULTS: [&str; 3] = ["hist-result", "stats-result", "topk-result"];
/// The result regions as others open them: region names are scoped by
/// their owner.
const RESULT_PATHS: [&str; 3] = ["hist/hist-result", "stats/stats-result", "topk/topk-result"];
/// The provider's region.
const DATASET: &str = "dataset";
/// How many attempts mallory makes (with `--store`).
const MALLORY_ATTEMPTS: usize = 10;

/// Who may grant regions to whom: the host to the analysts (mallory is
/// one, as far as the provider knows), the analysts to the consumer.
fn policy(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("host", "hist" | "stats" | "topk" | "mallory") | ("hist" | "stats" | "topk", "consumer")
    )
}

/// How the analysts get the data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One region, mapped read-only by all.
    Sharing,
    /// A copy per analyst.
    Copying,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Sharing => "sharing",
            Mode::Copying => "copying",
        }
    }
}

/// One run of the analysts.
struct ModeRun {
    mode: Mode,
    /// Writing the provider's data set into its region.
    provision: Duration,
    /// The host's part of handing it out: grants, and copies.
    host_handoff: Duration,
    /// The analysts' open + map, summed (zero for an analyst that failed).
    maps: Duration,
    /// Frames of the regions that hold the data set.
    data_frames: u64,
    /// The pool's peak during the run.
    peak_frames: usize,
    /// The pool's size.
    budget_frames: usize,
    /// The three analysts, in parallel, from the first start to the last end.
    analysts_wall: Duration,
    /// Every tenant, in the order it ran.
    tenants: Vec<Finished>,
    /// The results read from the result regions.
    results: Result<Analyses, String>,
    /// The analysts' headers, in [`ANALYSTS`] order.
    headers: Vec<Header>,
    /// Mallory's attempts and the host's checks (sharing only).
    mallory: Option<MalloryReport>,
}

impl ModeRun {
    fn handoff(&self) -> Duration {
        self.host_handoff + self.maps
    }

    fn tenant(&self, name: &str) -> Option<&Finished> {
        self.tenants.iter().find(|t| t.name == name)
    }

    /// Whether every tenant ended as it should.
    fn tenants_ok(&self) -> bool {
        self.tenants.iter().all(ended_as_expected)
    }
}

/// Whether a tenant ended as it should: mallory trapped on its store, the
/// others exited 0.
fn ended_as_expected(tenant: &Finished) -> bool {
    match (tenant.name.as_str(), &tenant.outcome) {
        ("mallory", Outcome::Trapped(_)) => true,
        ("mallory", _) => false,
        (_, outcome) => outcome.is_success(),
    }
}

/// Runs `waven demo marketplace`.
pub fn run(args: MarketplaceArgs) -> Result<ExitCode> {
    let size = args.size;
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) || !size.is_multiple_of(PAGE_SIZE as u64) {
        bail!("--size {size}: the data set must be a multiple of 4096 bytes from 64 KiB to 1 GiB");
    }
    let records = u32::try_from(size / RECORD_BYTES as u64)?;
    let guests = match &args.modules {
        Some(dir) => Guests::from_dir(dir)?,
        None => Guests::embedded(),
    };
    let started = Instant::now();
    let data = data::generate(records);
    let generated = started.elapsed();
    let reference = Analyses::compute(&data);
    let text = !args.json;

    if text {
        emit(&intro(args.engine, &guests, size, records, generated))?;
    }
    let sharing = run_mode(args.engine, &guests, Mode::Sharing, &data, size)?;
    if text {
        emit(&mode_section(&sharing, &reference, true))?;
        if let Some(mallory) = &sharing.mallory {
            emit(&mallory_section(mallory))?;
        }
    }
    let copying = run_mode(args.engine, &guests, Mode::Copying, &data, size)?;
    let verdict = Verdict::of(&[&sharing, &copying], &reference);
    if text {
        emit(&mode_section(&copying, &reference, false))?;
        emit(&comparison(&sharing, &copying, size))?;
        emit(&verdict.text())?;
    } else {
        let demo = Demo {
            guests: &guests,
            size,
            records,
            generated,
            reference: &reference,
            sharing: &sharing,
            copying: &copying,
            verdict: &verdict,
        };
        emit(&format!("{}\n", demo.to_json().pretty()))?;
    }
    Ok(if verdict.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs the analysts (and in [`Mode::Sharing`], mallory) and the consumer
/// on a fresh stage.
fn run_mode(
    engine: waven_runtime::EngineKind,
    guests: &Guests,
    mode: Mode,
    data: &[u8],
    size: u64,
) -> Result<ModeRun> {
    let copies = match mode {
        Mode::Sharing => 1,
        Mode::Copying => 1 + ANALYSTS.len() as u64,
    };
    let stage = Stage::new(
        engine,
        guests,
        copies * size + OVERHEAD,
        size + (16 << 20),
        policy,
    )?;
    let platform = stage.platform();
    let measurements = ANALYSTS
        .iter()
        .map(|name| Ok(guests.get(name)?.measurement))
        .collect::<Result<Vec<_>>>()?;

    // The provider's data set, in both modes.
    let started = Instant::now();
    fill_region(platform, DATASET, data)?;
    let provision = started.elapsed();

    // Hand it to the analysts.
    let started = Instant::now();
    let mut sources = Vec::new();
    for (analyst, measurement) in ANALYSTS.iter().zip(&measurements) {
        let source = match mode {
            Mode::Sharing => DATASET.to_owned(),
            Mode::Copying => {
                let copy = format!("{DATASET}-{analyst}");
                fill_region(platform, &copy, data)?;
                copy
            }
        };
        grant(platform, &source, analyst, Some(*measurement))?;
        sources.push(source);
    }
    let host_handoff = started.elapsed();

    let mut prepared = Vec::new();
    for ((analyst, source), result) in ANALYSTS.iter().zip(&sources).zip(RESULTS) {
        // The host made the source: the analysts open it as host/NAME.
        let source = format!("host/{source}");
        prepared.push(stage.instance(analyst, &[&source, result, "consumer"])?);
    }
    let (mut tenants, analysts_wall) = stage::run_parallel(prepared);

    let mallory = match mode {
        Mode::Sharing => {
            let measurement = guests.get("mallory")?.measurement;
            grant(platform, DATASET, "mallory", Some(measurement))?;
            let dataset = format!("host/{DATASET}");
            let mut args = vec!["--store", &dataset];
            args.extend(RESULT_PATHS);
            let finished = stage.instance("mallory", &args)?.run();
            let report = MalloryReport::judge(&finished, platform, data);
            tenants.push(finished);
            Some(report)
        }
        Mode::Copying => None,
    };

    tenants.push(stage.instance("consumer", &RESULT_PATHS)?.run());
    let (results, headers) = match read_results(platform) {
        Ok((analyses, headers)) => (Ok(analyses), headers),
        Err(error) => (Err(error), Vec::new()),
    };
    let maps = headers.iter().map(|h| Duration::from_nanos(h.map_ns)).sum();
    let pool = stage.pool();
    // The frames go back to this run's pool, and the pool to the host,
    // before the next run.
    for tenant in &mut tenants {
        tenant.space = None;
    }
    Ok(ModeRun {
        mode,
        provision,
        host_handoff,
        maps,
        data_frames: copies * size / PAGE_SIZE as u64,
        peak_frames: pool.peak,
        budget_frames: pool.budget_frames,
        analysts_wall,
        tenants,
        results,
        headers,
        mallory,
    })
}

/// Creates the host region `name` (read-only for every grantee) holding
/// `data`.
fn fill_region(platform: &Platform, name: &str, data: &[u8]) -> Result<()> {
    let region = platform
        .create_region(name, data.len() as u64, Rights::Read)
        .map_err(|errno| anyhow!("cannot create the region {name}: {errno}"))?;
    region
        .write_bytes(0, data)
        .map_err(|error| anyhow!("cannot fill the region {name}: {error}"))
}

/// The host grants `region` read-only to `grantee`.
fn grant(
    platform: &Platform,
    region: &str,
    grantee: &str,
    measurement: Option<[u8; 32]>,
) -> Result<()> {
    platform
        .grant(&Owner::Host, region, grantee, Rights::Read, measurement)
        .map_err(|errno| anyhow!("cannot grant {region} to {grantee}: {errno}"))
}

/// A region's bytes (at most `limit` of them), if it exists.
fn region_bytes(platform: &Platform, name: &str, limit: u64) -> Option<Vec<u8>> {
    let region = platform.region(name)?;
    let mut bytes = vec![0; region.size().min(limit) as usize];
    region.read_bytes(0, &mut bytes).ok()?;
    Some(bytes)
}

/// The three results, as the analysts left them in their regions.
fn read_results(platform: &Platform) -> Result<(Analyses, Vec<Header>), String> {
    let bytes = |name: &str| {
        region_bytes(platform, name, PAGE_SIZE as u64)
            .ok_or_else(|| format!("there is no region {name}: its analyst did not publish"))
    };
    let (hist_head, hist) = data::parse_hist(&bytes(RESULT_PATHS[0])?).map_err(|e| e.0)?;
    let (stats_head, stats) = data::parse_stats(&bytes(RESULT_PATHS[1])?).map_err(|e| e.0)?;
    let (topk_head, topk) = data::parse_topk(&bytes(RESULT_PATHS[2])?).map_err(|e| e.0)?;
    let records = hist_head.records;
    if stats_head.records != records || topk_head.records != records {
        return Err("the analysts saw different numbers of records".to_owned());
    }
    Ok((
        Analyses {
            records,
            hist,
            stats,
            topk,
        },
        vec![hist_head, stats_head, topk_head],
    ))
}

/// One of mallory's attempts.
struct Attempt {
    goal: String,
    call: String,
    /// The error name, the trap, or what happened if it was not stopped.
    result: String,
    blocked: bool,
}

/// Mallory's attempts, and what the host checked for itself.
struct MalloryReport {
    attempts: Vec<Attempt>,
    /// The lines of its output that are not attempts.
    other_lines: Vec<String>,
    /// The data set is byte for byte what the provider wrote.
    dataset_unchanged: bool,
    /// Mallory's memory maps no result region.
    results_unmapped: bool,
    /// Its output holds none of the bytes it tried to smuggle.
    nothing_smuggled: bool,
}

impl MalloryReport {
    /// Parses mallory's output, judges each attempt, and checks the data
    /// set, mallory's memory and its output.
    fn judge(mallory: &Finished, platform: &Platform, data: &[u8]) -> MalloryReport {
        let output = String::from_utf8_lossy(&mallory.stdout);
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut pending: Option<(String, String)> = None;
        let mut other_lines = Vec::new();
        for line in output.lines() {
            if let Some(rest) = line.strip_prefix("attempt: ") {
                let (what, result) = rest.rsplit_once(" -> ").unwrap_or((rest, "?"));
                let (goal, call) = what.split_once(": ").unwrap_or(("?", what));
                if pending.as_ref().is_some_and(|(_, c)| c == call) {
                    pending = None;
                }
                attempts.push(Attempt {
                    goal: goal.to_owned(),
                    call: call.to_owned(),
                    result: result.to_owned(),
                    // Refused with an error (EACCES, ..., or "E?" for one
                    // without a name); "OK ..." or anything else is not.
                    blocked: result.starts_with('E'),
                });
            } else if let Some(rest) = line.strip_prefix("pending: ") {
                let (goal, call) = rest.split_once(": ").unwrap_or(("?", rest));
                pending = Some((goal.to_owned(), call.to_owned()));
            } else {
                other_lines.push(line.to_owned());
            }
        }
        // An attempt announced but never reported: the trap stopped it.
        if let Some((goal, call)) = pending {
            let blocked = matches!(mallory.outcome, Outcome::Trapped(_));
            attempts.push(Attempt {
                goal,
                call,
                result: mallory.outcome.describe(),
                blocked,
            });
        }
        let dataset_unchanged =
            region_bytes(platform, DATASET, u64::MAX).is_some_and(|bytes| bytes == data);
        let results_unmapped = match &mallory.space {
            Some(space) => RESULT_PATHS.iter().all(|name| {
                platform
                    .region(name)
                    .is_none_or(|region| !space.maps_region(region.id()))
            }),
            None => false,
        };
        // The hidden page is page 1 of the data set; the second fd_write
        // started 16 bytes before it.
        let page = PAGE_SIZE;
        let hidden = [&data[page..page + 64], &data[page - 16..page]];
        let nothing_smuggled = hidden
            .iter()
            .all(|bytes| !mallory.stdout.windows(bytes.len()).any(|w| w == *bytes));
        MalloryReport {
            attempts,
            other_lines,
            dataset_unchanged,
            results_unmapped,
            nothing_smuggled,
        }
    }

    fn blocked(&self) -> usize {
        self.attempts.iter().filter(|a| a.blocked).count()
    }

    /// Every attempt was made and blocked, and the host's checks hold.
    fn all_blocked(&self) -> bool {
        self.attempts.len() == MALLORY_ATTEMPTS
            && self.blocked() == MALLORY_ATTEMPTS
            && self.dataset_unchanged
            && self.results_unmapped
            && self.nothing_smuggled
    }
}

/// Whether the demo showed what it should.
struct Verdict {
    problems: Vec<String>,
    blocked: usize,
}

impl Verdict {
    fn of(runs: &[&ModeRun], reference: &Analyses) -> Verdict {
        let mut problems = Vec::new();
        let mut blocked = 0;
        for run in runs {
            let mode = run.mode.name();
            for tenant in &run.tenants {
                let expected = if tenant.name == "mallory" {
                    "a trap on its store"
                } else {
                    "exit 0"
                };
                if !ended_as_expected(tenant) {
                    problems.push(format!(
                        "{mode}: {} ended with {}, expected {expected}",
                        tenant.name,
                        tenant.outcome.describe()
                    ));
                }
            }
            match &run.results {
                Ok(results) if results == reference => {}
                Ok(_) => problems.push(format!(
                    "{mode}: the results differ from the host's own computation"
                )),
                Err(error) => problems.push(format!("{mode}: {error}")),
            }
            if let Some(mallory) = &run.mallory {
                blocked = mallory.blocked();
                if !mallory.all_blocked() {
                    problems.push(format!(
                        "mallory: {} of {MALLORY_ATTEMPTS} attempts blocked{}{}{}",
                        mallory.blocked(),
                        if mallory.dataset_unchanged {
                            ""
                        } else {
                            "; the data set CHANGED"
                        },
                        if mallory.results_unmapped {
                            ""
                        } else {
                            "; a result region is mapped in its memory"
                        },
                        if mallory.nothing_smuggled {
                            ""
                        } else {
                            "; hidden bytes reached its output"
                        },
                    ));
                }
            }
        }
        Verdict { problems, blocked }
    }

    fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn text(&self) -> String {
        if self.ok() {
            format!(
                "\nmarketplace: results verified in both runs; {} of {MALLORY_ATTEMPTS} attempts of mallory blocked\n",
                self.blocked
            )
        } else {
            let mut out = String::from("\nmarketplace: FAILED\n");
            for problem in &self.problems {
                let _ = writeln!(out, "  {problem}");
            }
            out
        }
    }
}

// ---------------------------------------------------------------------
// Text output

fn intro(
    engine: waven_runtime::EngineKind,
    guests: &Guests,
    size: u64,
    records: u32,
    generated: Duration,
) -> String {
    let mut out = format!(
        "waven demo marketplace: a {} data set of {records} sales, lent read-only to 3 analysts and mallory (engine {})\n\n",
        bytes(size),
        super::engine_name(engine)
    );
    let _ = writeln!(
        out,
        "provider (the host): generated the data set in {}",
        ms(generated)
    );
    let _ = writeln!(
        out,
        "grants of the data set, read-only, each bound to the grantee's code (modules {}):",
        guests.origin
    );
    for name in ANALYSTS.iter().chain(&["mallory"]) {
        if let Ok(guest) = guests.get(name) {
            let _ = writeln!(
                out,
                "  {name:<8} {:<25} {}",
                guest.file,
                measurement_text(&guest.measurement)
            );
        }
    }
    out
}

/// Each line of `bytes` as `[name] line`.
fn prefixed(out: &mut String, name: &str, bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes).lines() {
        let _ = writeln!(out, "[{name}] {line}");
    }
}

fn mode_section(run: &ModeRun, reference: &Analyses, show_consumer: bool) -> String {
    let mut out = String::new();
    match run.mode {
        Mode::Sharing => {
            let _ = writeln!(
                out,
                "\n== sharing: the analysts map the one region \"{DATASET}\" read-only, in parallel\n"
            );
            let _ = writeln!(
                out,
                "host: wrote the data set into \"{DATASET}\" in {}; 3 grants in {}",
                ms(run.provision),
                ms(run.host_handoff)
            );
        }
        Mode::Copying => {
            let _ = writeln!(
                out,
                "\n== copying: the host gives each analyst its own copy, in parallel\n"
            );
            let _ = writeln!(
                out,
                "host: wrote the data set into \"{DATASET}\" in {}; 3 copies (\"{DATASET}-hist\", ...) and grants in {}",
                ms(run.provision),
                ms(run.host_handoff)
            );
        }
    }
    for tenant in &run.tenants {
        if tenant.name == "mallory" || (tenant.name == "consumer" && !show_consumer) {
            continue;
        }
        prefixed(&mut out, &tenant.name, &tenant.stdout);
        prefixed(&mut out, &tenant.name, &tenant.stderr);
        if !tenant.outcome.is_success() {
            let _ = writeln!(
                out,
                "[{}] ended with {}",
                tenant.name,
                tenant.outcome.describe()
            );
        }
    }
    out.push('\n');
    match &run.results {
        Ok(results) if results == reference => {
            let _ = writeln!(
                out,
                "verified: the results in \"hist-result\", \"stats-result\" and \"topk-result\" equal the host's own computation over the {} records ({} histogram bins, mean/variance/min/max of {} columns, top {})",
                results.records,
                results.hist.count.len(),
                data::COLUMNS.len(),
                results.topk.len()
            );
        }
        Ok(_) => out.push_str("NOT VERIFIED: the results differ from the host's own computation\n"),
        Err(error) => {
            let _ = writeln!(out, "NOT VERIFIED: {error}");
        }
    }
    if !show_consumer {
        if let Some(consumer) = run.tenant("consumer") {
            let _ = writeln!(
                out,
                "consumer: read the three results again ({})",
                consumer.outcome.describe()
            );
        }
    }
    if !run.tenants_ok() {
        out.push_str("some tenants did not end as expected (see the verdict at the end)\n");
    }
    out
}

fn mallory_section(mallory: &MalloryReport) -> String {
    let mut out = String::from(
        "\n== mallory, the malicious analyst (granted the data set read-only like the others)\n\n",
    );
    for line in &mallory.other_lines {
        let _ = writeln!(out, "[mallory] {line}");
    }
    for attempt in &mallory.attempts {
        let verdict = if attempt.blocked {
            "blocked"
        } else {
            "NOT BLOCKED"
        };
        let _ = writeln!(
            out,
            "{verdict}: {}: {} -> {}",
            attempt.goal, attempt.call, attempt.result
        );
    }
    let yes_no = |ok: bool, yes: &str, no: &str| if ok { yes } else { no }.to_owned();
    let _ = writeln!(
        out,
        "host checks: {}; {}; {}",
        yes_no(
            mallory.dataset_unchanged,
            "the data set is unchanged",
            "THE DATA SET CHANGED"
        ),
        yes_no(
            mallory.results_unmapped,
            "mallory's memory maps no result region",
            "A RESULT REGION IS MAPPED IN MALLORY'S MEMORY"
        ),
        yes_no(
            mallory.nothing_smuggled,
            "its output holds none of the hidden bytes",
            "HIDDEN BYTES REACHED ITS OUTPUT"
        ),
    );
    let _ = writeln!(
        out,
        "{} of {MALLORY_ATTEMPTS} attempts blocked",
        mallory.blocked()
    );
    out
}

fn comparison(sharing: &ModeRun, copying: &ModeRun, size: u64) -> String {
    let frames = |n: u64| format!("{n} ({})", bytes_approx(n * PAGE_SIZE as u64));
    let ratio = |copy: f64, share: f64| {
        if share > 0.0 {
            let r = copy / share;
            if r >= 10.0 {
                format!("{r:.0}x")
            } else {
                format!("{r:.2}x")
            }
        } else {
            "-".to_owned()
        }
    };
    let secs = |d: Duration| d.as_secs_f64();
    let rows = vec![
        vec![
            String::new(),
            "sharing".to_owned(),
            "copying".to_owned(),
            "copying/sharing".to_owned(),
        ],
        vec![
            "hand the data set to 3 analysts".to_owned(),
            ms(sharing.handoff()),
            ms(copying.handoff()),
            ratio(secs(copying.handoff()), secs(sharing.handoff())),
        ],
        vec![
            "  host: grants (and copies)".to_owned(),
            ms(sharing.host_handoff),
            ms(copying.host_handoff),
            ratio(secs(copying.host_handoff), secs(sharing.host_handoff)),
        ],
        vec![
            "  analysts: open + map".to_owned(),
            ms(sharing.maps),
            ms(copying.maps),
            ratio(secs(copying.maps), secs(sharing.maps)),
        ],
        vec![
            "frames holding the data set".to_owned(),
            frames(sharing.data_frames),
            frames(copying.data_frames),
            ratio(copying.data_frames as f64, sharing.data_frames as f64),
        ],
        vec![
            "peak frames in use".to_owned(),
            frames(sharing.peak_frames as u64),
            frames(copying.peak_frames as u64),
            ratio(copying.peak_frames as f64, sharing.peak_frames as f64),
        ],
        vec![
            "analysts' run (in parallel)".to_owned(),
            ms(sharing.analysts_wall),
            ms(copying.analysts_wall),
            ratio(secs(copying.analysts_wall), secs(sharing.analysts_wall)),
        ],
    ];
    let mut out = format!(
        "\n== sharing vs copying: a {} data set for 3 analysts (frames of 4 KiB)\n\n",
        bytes(size)
    );
    out.push_str(&table(&rows));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < ANALYSTS.len() {
        let _ = writeln!(
            out,
            "(open + map as each analyst timed it with the WASI clock: on these {cores} cores for 3 analysts, that includes waiting for a core)"
        );
    }
    out
}

/// Rows as columns two spaces apart: the first left-aligned, the others
/// right-aligned.
fn table(rows: &[Vec<String>]) -> String {
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
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                let _ = write!(line, "{cell:<width$}", width = widths[c]);
            } else {
                let _ = write!(line, "  {cell:>width$}", width = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A duration in milliseconds (or seconds), with three significant digits.
fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.3} ms")
    }
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

/// Bytes in MiB with one decimal.
fn bytes_approx(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
}

// ---------------------------------------------------------------------
// JSON output

/// Everything the JSON document tells.
struct Demo<'a> {
    guests: &'a Guests,
    size: u64,
    records: u32,
    generated: Duration,
    reference: &'a Analyses,
    sharing: &'a ModeRun,
    copying: &'a ModeRun,
    verdict: &'a Verdict,
}

impl Demo<'_> {
    fn to_json(&self) -> Json {
        let Demo {
            guests,
            size,
            records,
            generated,
            reference,
            sharing,
            copying,
            verdict,
        } = *self;
        let measurements = ANALYSTS
            .iter()
            .chain(&["mallory", "consumer"])
            .filter_map(|name| guests.get(name).ok())
            .map(|guest| {
                (
                    guest.name.to_owned(),
                    Json::str(measurement_text(&guest.measurement)),
                )
            })
            .collect();
        Json::obj([
            ("size", Json::count(size)),
            ("records", Json::num(records)),
            ("generate_ms", Json::num(millis(generated))),
            ("measurements", Json::Obj(measurements)),
            ("results", analyses_json(reference)),
            ("sharing", mode_json(sharing, reference)),
            ("copying", mode_json(copying, reference)),
            (
                "mallory",
                sharing
                    .mallory
                    .as_ref()
                    .map_or(Json::Obj(vec![]), mallory_json),
            ),
            (
                "comparison",
                Json::obj([
                    (
                        "handoff_ratio",
                        Json::num(secs_ratio(copying.handoff(), sharing.handoff())),
                    ),
                    (
                        "data_frames_ratio",
                        Json::num(copying.data_frames as f64 / sharing.data_frames as f64),
                    ),
                    (
                        "peak_frames_ratio",
                        Json::num(copying.peak_frames as f64 / sharing.peak_frames.max(1) as f64),
                    ),
                ]),
            ),
            ("success", Json::Bool(verdict.ok())),
            (
                "problems",
                Json::Arr(verdict.problems.iter().map(Json::str).collect()),
            ),
        ])
    }
}

/// Milliseconds, to the microsecond.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn secs_ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::NAN
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

fn analyses_json(a: &Analyses) -> Json {
    let columns = data::COLUMNS
        .iter()
        .enumerate()
        .map(|(c, name)| {
            Json::obj([
                ("column", Json::str(*name)),
                ("mean", Json::num(a.stats.mean[c])),
                ("variance", Json::num(a.stats.variance[c])),
                ("min", Json::num(a.stats.min[c])),
                ("max", Json::num(a.stats.max[c])),
            ])
        })
        .collect();
    let top = a
        .topk
        .iter()
        .map(|e| {
            Json::obj([
                ("record", Json::num(e.index)),
                ("store", Json::num(e.store)),
                ("quantity", Json::num(e.quantity)),
                ("price", Json::f32(e.price)),
                ("revenue", Json::f32(e.revenue)),
            ])
        })
        .collect();
    Json::obj([
        ("records", Json::num(a.records)),
        (
            "histogram",
            Json::obj([
                ("width", Json::f32(a.hist.width)),
                (
                    "counts",
                    Json::Arr(a.hist.count.iter().map(|&n| Json::num(n)).collect()),
                ),
            ]),
        ),
        ("stats", Json::Arr(columns)),
        ("topk", Json::Arr(top)),
    ])
}

fn mode_json(run: &ModeRun, reference: &Analyses) -> Json {
    let tenants = run
        .tenants
        .iter()
        .map(|t| {
            Json::obj([
                ("name", Json::str(t.name.clone())),
                ("outcome", Json::str(t.outcome.describe())),
                ("wall_ms", Json::num(millis(t.wall))),
            ])
        })
        .collect();
    let analysts = ANALYSTS
        .iter()
        .zip(&run.headers)
        .map(|(name, h)| {
            Json::obj([
                ("name", Json::str(*name)),
                ("map_ms", Json::num(millis(Duration::from_nanos(h.map_ns)))),
                (
                    "compute_ms",
                    Json::num(millis(Duration::from_nanos(h.compute_ns))),
                ),
            ])
        })
        .collect();
    Json::obj([
        ("provision_ms", Json::num(millis(run.provision))),
        ("handoff_ms", Json::num(millis(run.handoff()))),
        ("host_handoff_ms", Json::num(millis(run.host_handoff))),
        ("maps_ms", Json::num(millis(run.maps))),
        ("data_frames", Json::count(run.data_frames)),
        ("peak_frames", Json::count(run.peak_frames as u64)),
        ("budget_frames", Json::count(run.budget_frames as u64)),
        ("analysts_wall_ms", Json::num(millis(run.analysts_wall))),
        ("analysts", Json::Arr(analysts)),
        ("tenants", Json::Arr(tenants)),
        (
            "verified",
            Json::Bool(run.results.as_ref().is_ok_and(|r| r == reference)),
        ),
    ])
}

fn mallory_json(m: &MalloryReport) -> Json {
    let attempts = m
        .attempts
        .iter()
        .map(|a| {
            Json::obj([
                ("goal", Json::str(a.goal.clone())),
                ("call", Json::str(a.call.clone())),
                ("result", Json::str(a.result.clone())),
                ("blocked", Json::Bool(a.blocked)),
            ])
        })
        .collect();
    Json::obj([
        ("attempts", Json::Arr(attempts)),
        ("blocked", Json::count(m.blocked() as u64)),
        ("expected", Json::count(MALLORY_ATTEMPTS as u64)),
        ("dataset_unchanged", Json::Bool(m.dataset_unchanged)),
        ("results_unmapped", Json::Bool(m.results_unmapped)),
        ("nothing_smuggled", Json::Bool(m.nothing_smuggled)),
        ("all_blocked", Json::Bool(m.all_blocked())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_only_the_demo_grants() {
        assert!(policy("host", "hist"));
        assert!(policy("host", "mallory"));
        assert!(policy("topk", "consumer"));
        assert!(!policy("mallory", "consumer"));
        assert!(!policy("hist", "mallory"));
        assert!(!policy("host", "consumer"));
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(ms(Duration::from_micros(250)), "0.250 ms");
        assert_eq!(ms(Duration::from_micros(2500)), "2.50 ms");
        assert_eq!(ms(Duration::from_millis(1500)), "1.50 s");
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(4097), "4097 B");
    }
}

//! `waven demo faas`: a three-stage function chain that hands its state on
//! through regions without copies, against the same chain copying through
//! the host; then copy-on-write start-up of many instances of one function.
//!
//! ```text
//!  parse ──state-1──► transform ──state-2──► aggregate      (--size, 32 MiB)
//! ```
//!
//! * **Zero-copy.** The host makes a region per hand-off and grants it rw
//!   to the stage that fills it and r to the next one (bound to their code
//!   measurements). The next stage maps the very frames the first wrote.
//!   When a stage is done the host lowers its grant to r, which lowers its
//!   live mapping: afterwards the finished stage is asked to change what it
//!   handed on (`protect` rw, `map` rw again, a store) and every attempt is
//!   refused; the regions' bytes are fingerprinted before and after.
//! * **Copy.** The same guests write private memory and the host copies
//!   each stage's output into the next stage's memory
//!   (`AddressSpace::copy_from`, one copy per hand-off).
//! * Both chains run on engines of their own, `--rounds` times (default 2,
//!   alternating which goes first); per stage the time of the hand-off and
//!   of the work of its fastest round is printed, then the totals, the
//!   speedup (copy total / zero-copy total) and each pool's peak of frames.
//!   The instances stay alive until their chain ends (warm functions).
//!   Every round's `aggregate` summary is checked against the host's own
//!   computation.
//! * **Copy-on-write start-up.** `--starts` instances of a function with 2
//!   MiB of initialized data (and a declared memory maximum) started from
//!   one initialized image, against writing the data segments each time.
//!
//! The guests are `demos/faas/*.c`, built by `demos/build-faas.sh` into
//! `demos/build/faas-*.wasm` and embedded in this binary (`--guests DIR`
//! reads them from a directory instead). `examples/faas.toml` runs the
//! zero-copy chain with `waven platform`. The exit status is 0 if every
//! result matched and every attempt of a finished stage was refused, 1
//! otherwise.

mod chain;
mod cow;
mod guests;
mod host;
mod reference;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use waven_runtime::{Error, TrapKind};

use chain::{frame_bytes, Chain, Mode, StageTime, Tamper, STAGES, STATES};
use guests::Guests;
use reference::{expected, Summary, DEFAULT_SEED, RECORD_SIZE};

use crate::emit;

/// The smallest and largest `--size`.
const SIZES: (u64, u64) = (4 << 10, 1 << 30);

/// Arguments of `waven demo faas`.
#[derive(Args, Debug)]
pub struct FaasArgs {
    /// Execution engine: `jit` (the default where the build has a
    /// compiler) or `interp`.
    #[arg(long, value_parser = crate::run::parse_engine, default_value = super::DEFAULT_ENGINE)]
    engine: waven_runtime::EngineKind,
    /// Bytes of state each stage hands on: a multiple of 4096 from 4KiB to
    /// 1GiB, with an optional KiB, MiB or GiB suffix (or K, M, G).
    #[arg(long, default_value = "32MiB", value_parser = parse_size)]
    size: u64,
    /// Instances of the function to start with each kind of start.
    #[arg(
        long,
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    starts: u32,
    /// Read the guests (faas-parse.wasm, faas-transform.wasm,
    /// faas-aggregate.wasm, faas-price.wasm) from DIR instead of using the
    /// ones built into waven, for example after `demos/build-faas.sh DIR`.
    #[arg(long, value_name = "DIR")]
    guests: Option<PathBuf>,
    /// Runs of each chain; per stage the fastest is shown. Rounds
    /// alternate which chain runs first.
    #[arg(
        long,
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    rounds: u32,
}

/// Parses `--size`: a number of bytes with an optional binary suffix.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    if number.is_empty() {
        return Err(format!("`{text}` is not a size in bytes"));
    }
    let unit: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit `{other}` (use KiB, MiB or GiB)")),
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("`{text}` is not a size in bytes"))?;
    if !(SIZES.0..=SIZES.1).contains(&bytes) || !bytes.is_multiple_of(4096) {
        return Err(format!(
            "{bytes} bytes: the state must be a multiple of 4096 bytes from 4KiB to 1GiB"
        ));
    }
    Ok(bytes)
}

/// One chain's runs.
struct ChainResult {
    /// Per stage, the best round.
    times: [StageTime; 3],
    /// What aggregate summed up (the first wrong one if any was wrong).
    summary: Summary,
    /// Whether every round's summary matched the host's computation.
    matches: bool,
    /// The pool's peak, in frames.
    peak_frames: usize,
}

impl ChainResult {
    /// Per stage, the faster of two runs of the same chain; the first
    /// summary that differs from the host's is kept.
    fn best_of(mut self, other: ChainResult) -> ChainResult {
        for (mine, theirs) in self.times.iter_mut().zip(other.times) {
            if theirs.total() < mine.total() {
                *mine = theirs;
            }
        }
        if self.matches && !other.matches {
            self.summary = other.summary;
            self.matches = false;
        }
        self.peak_frames = self.peak_frames.max(other.peak_frames);
        self
    }
}

/// What the finished stages of a zero-copy chain could still do.
struct Finished {
    /// Each region's grants after the chain.
    grants: Vec<String>,
    /// The attempts of parse and transform.
    tampers: [Tamper; 2],
    /// The regions' fingerprints before the attempts.
    before: Vec<u64>,
    /// The same after.
    after: Vec<u64>,
}

/// Both chains over all rounds.
struct Rounds {
    zero_copy: ChainResult,
    copy: ChainResult,
    finished: Finished,
}

/// Runs both chains `rounds` times, alternating which goes first; each
/// stage keeps its best round. The first zero-copy chain also shows what
/// its finished stages can still do.
fn rounds(
    engine: waven_runtime::EngineKind,
    guests: &Guests,
    size: u64,
    rounds: u32,
    want: &Summary,
) -> Result<Rounds> {
    let mut zero_copy: Option<ChainResult> = None;
    let mut copy: Option<ChainResult> = None;
    let mut finished = None;
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [Mode::ZeroCopy, Mode::Copy]
        } else {
            [Mode::Copy, Mode::ZeroCopy]
        };
        for mode in order {
            let mut chain = Chain::new(engine, mode, guests, size)?;
            let (times, summary) = chain.run()?;
            let result = ChainResult {
                times,
                matches: summary == *want,
                summary,
                peak_frames: chain.peak_frames(),
            };
            if mode == Mode::ZeroCopy && finished.is_none() {
                let grants = chain.grants();
                let before = chain.fingerprints()?;
                let tampers = [chain.tamper(0)?, chain.tamper(1)?];
                let after = chain.fingerprints()?;
                finished = Some(Finished {
                    grants,
                    tampers,
                    before,
                    after,
                });
            }
            let best = match mode {
                Mode::ZeroCopy => &mut zero_copy,
                Mode::Copy => &mut copy,
            };
            *best = Some(match best.take() {
                Some(best) => best.best_of(result),
                None => result,
            });
        }
    }
    match (zero_copy, copy, finished) {
        (Some(zero_copy), Some(copy), Some(finished)) => Ok(Rounds {
            zero_copy,
            copy,
            finished,
        }),
        _ => Err(anyhow::anyhow!("no round ran")),
    }
}

/// Runs the demo.
pub fn run(args: FaasArgs) -> Result<ExitCode> {
    let guests = match &args.guests {
        Some(dir) => Guests::from_dir(dir)?,
        None => Guests::embedded(),
    };
    let size = args.size;
    let records = size / RECORD_SIZE;
    let mut failures = Vec::new();
    let want = expected(size, DEFAULT_SEED);
    emit(&format!(
        "FaaS chain: parse -> transform -> aggregate over {} of state ({records} records of \
         {RECORD_SIZE} bytes), {}, engine {}\n",
        bytes(size),
        match args.rounds {
            1 => "one round".to_owned(),
            n => format!("best of {n} rounds per stage"),
        },
        super::engine_name(args.engine)
    ))?;
    emit(&format!(
        "  zero-copy: the host makes {} and {}, each granted rw to the stage that fills it and r \
         to the next;\n             when a stage is done, the host lowers its grant to r\n  \
         copy:      each stage writes its own memory; the host copies its output into the next \
         stage's\n             (AddressSpace::copy_from, one copy per hand-off)\n\n",
        STATES[0], STATES[1]
    ))?;

    let Rounds {
        zero_copy,
        copy,
        finished,
    } = rounds(args.engine, &guests, size, args.rounds, &want)?;

    emit(&chain_table(&zero_copy, &copy))?;
    emit(&format!(
        "\nresult: {} records, total value {}, checksum {:016x}, top kind {} ({} records)\n",
        want.records,
        want.total,
        want.checksum,
        want.top_kind(),
        want.count[want.top_kind()]
    ))?;
    for (mode, result) in [("zero-copy", &zero_copy), ("copy", &copy)] {
        if result.matches {
            emit(&format!(
                "  {mode:<10} aggregate's summary matches the host's computation\n"
            ))?;
        } else {
            emit(&format!(
                "  {mode:<10} MISMATCH: aggregate summed {} records, total value {}, checksum \
                 {:016x}\n",
                result.summary.records, result.summary.total, result.summary.checksum
            ))?;
            failures.push(format!("the {mode} chain's result differs from the host's"));
        }
    }

    emit(&format!(
        "\na finished stage cannot change what it handed on; the grants after the chain (parse's \
         and transform's lowered from rw):\n  {}\n",
        finished.grants.join("\n  ")
    ))?;
    for tamper in &finished.tampers {
        emit(&tamper_text(tamper, &mut failures))?;
    }
    if finished.before == finished.after {
        emit(&format!(
            "  {} and {} read the same before and after (host fingerprints {:016x}, {:016x})\n",
            STATES[0], STATES[1], finished.after[0], finished.after[1]
        ))?;
    } else {
        emit(&format!("  CHANGED: {} or {}\n", STATES[0], STATES[1]))?;
        failures.push("a finished stage changed the state it handed on".to_owned());
    }

    let cow = cow::run(args.engine, &guests.price, args.starts)?;
    emit(&cow_text(&cow, guests.price.file, &mut failures))?;

    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        emit(&format!("\nFAILED: {}\n", failures.join("; ")))?;
        Ok(ExitCode::from(1))
    }
}

/// The per-stage table, totals, speedup and frames.
fn chain_table(zero_copy: &ChainResult, copy: &ChainResult) -> String {
    let mut rows = vec![[
        "stage",
        "zero-copy",
        "(hand-off",
        "work)",
        "copy",
        "(hand-off",
        "work)",
    ]
    .map(str::to_owned)];
    for (k, name) in STAGES.iter().enumerate() {
        let (z, c) = (zero_copy.times[k], copy.times[k]);
        rows.push([
            (*name).to_owned(),
            ms(z.total()),
            format!("({}", ms(z.handoff)),
            format!("{})", ms(z.work)),
            ms(c.total()),
            format!("({}", ms(c.handoff)),
            format!("{})", ms(c.work)),
        ]);
    }
    let sum = |times: &[StageTime; 3], part: fn(&StageTime) -> Duration| -> Duration {
        times.iter().map(part).sum()
    };
    let (z_total, c_total) = (
        sum(&zero_copy.times, StageTime::total),
        sum(&copy.times, StageTime::total),
    );
    rows.push([
        "total".to_owned(),
        ms(z_total),
        format!("({}", ms(sum(&zero_copy.times, |t| t.handoff))),
        format!("{})", ms(sum(&zero_copy.times, |t| t.work))),
        ms(c_total),
        format!("({}", ms(sum(&copy.times, |t| t.handoff))),
        format!("{})", ms(sum(&copy.times, |t| t.work))),
    ]);
    let mut out = table(&rows);
    let handoffs = (
        sum(&zero_copy.times, |t| t.handoff),
        sum(&copy.times, |t| t.handoff),
    );
    out.push_str(&format!(
        "\nspeedup of zero-copy: {:.2}x (copy total / zero-copy total); hand-offs alone: {:.1}x \
         ({} against {})\n",
        ratio(c_total, z_total),
        ratio(handoffs.1, handoffs.0),
        ms(handoffs.0),
        ms(handoffs.1),
    ));
    out.push_str(&format!(
        "frames used (pool peak): zero-copy {} ({}), copy {} ({}): copying takes {:.2}x the \
         frames\n",
        zero_copy.peak_frames,
        mib(frame_bytes(zero_copy.peak_frames)),
        copy.peak_frames,
        mib(frame_bytes(copy.peak_frames)),
        copy.peak_frames as f64 / zero_copy.peak_frames.max(1) as f64
    ));
    out
}

/// `a / b`, as a speedup.
fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// What a finished stage printed and how its attempt ended.
fn tamper_text(tamper: &Tamper, failures: &mut Vec<String>) -> String {
    let mut out = String::new();
    for line in &tamper.lines {
        out.push_str(&format!("  [{}] {line}\n", tamper.stage));
    }
    let refused_store = match &tamper.outcome {
        Err(Error::Trap(trap)) => match &trap.kind {
            TrapKind::MemoryFault(fault) => {
                out.push_str(&format!("  {}: the store trapped: {fault}\n", tamper.stage));
                true
            }
            kind => {
                out.push_str(&format!("  {}: trapped: {kind}\n", tamper.stage));
                false
            }
        },
        Err(error) => {
            out.push_str(&format!("  {}: failed: {error}\n", tamper.stage));
            false
        }
        Ok(_) => {
            out.push_str(&format!(
                "  {}: BREACH: the store went through\n",
                tamper.stage
            ));
            false
        }
    };
    let refusals = tamper
        .lines
        .iter()
        .filter(|line| line.contains("(EACCES)"))
        .count();
    if !refused_store || refusals < 2 {
        failures.push(format!(
            "{} could still change what it handed on",
            tamper.stage
        ));
    }
    out
}

/// The copy-on-write part.
fn cow_text(cow: &cow::CowRun, file: &str, failures: &mut Vec<String>) -> String {
    let n = f64::from(cow.starts);
    let per_start = |starts: &cow::Starts| starts.time.as_secs_f64() * 1e6 / n;
    let per_instance = |starts: &cow::Starts| starts.frames as f64 / n;
    let (memory, maximum) = cow.memory;
    let mut out = format!(
        "\ncopy-on-write start-up: {} starts each of {file} ({} of memory at start, maximum {});\n  \
         a start is a new store and its instantiation with WASI and waven linked\n",
        cow.starts,
        bytes(memory),
        maximum.map_or_else(|| "none".to_owned(), bytes),
    );
    let rows = vec![
        ["start", "per start", "frames per instance after one call"].map(str::to_owned),
        [
            "from one initialized image (cow_instantiation = true)".to_owned(),
            format!("{:.1} µs", per_start(&cow.cow)),
            format!("{:.0}", per_instance(&cow.cow)),
        ],
        [
            "writing the data segments (cow_instantiation = false)".to_owned(),
            format!("{:.1} µs", per_start(&cow.copy)),
            format!("{:.0}", per_instance(&cow.copy)),
        ],
    ];
    for line in table(&rows).lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&format!(
        "  copy-on-write start: {:.1}x faster; the image ({} frames, made by the first start) \
         is shared by every instance\n",
        per_start(&cow.copy) / per_start(&cow.cow).max(1e-9),
        cow.image_frames
    ));
    let wrong = cow.cow.wrong + cow.copy.wrong;
    if wrong == 0 {
        out.push_str("  every instance priced its item right\n");
    } else {
        out.push_str(&format!(
            "  WRONG: {wrong} instances priced their item wrong\n"
        ));
        failures.push("the function answered wrong".to_owned());
    }
    out
}

/// Milliseconds with three significant digits or so.
fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
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
fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
}

/// Rows as left-aligned columns two spaces apart (the last one unpadded).
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| {
            rows.iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == N {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes_and_must_be_page_multiples() {
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("32M"), Ok(32 << 20));
        assert_eq!(parse_size("4 KiB"), Ok(4096));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("8192"), Ok(8192));
        for bad in [
            "",
            "MiB",
            "12",
            "4097",
            "2GiB",
            "0",
            "-4KiB",
            "4TiB",
            "1e6",
            "99999999999999999999G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tables_and_units() {
        let rows = [
            ["a", "bb", "c"].map(str::to_owned),
            ["ccc", "d", "e"].map(str::to_owned),
        ];
        assert_eq!(table(&rows), "a    bb  c\nccc  d   e\n");
        assert_eq!(bytes(32 << 20), "32 MiB");
        assert_eq!(bytes(4097), "4097 B");
        assert_eq!(ms(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(ms(Duration::from_millis(150)), "150.0 ms");
    }
}

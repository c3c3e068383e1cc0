//! The chain parse → transform → aggregate, run in one of two modes on an
//! engine (and frame pool) of its own, so that each mode's pool peak is
//! its own.
//!
//! ```text
//!  zero-copy: host makes state-1 ─ grant rw ─► parse (maps it rw, writes)
//!                                 ─ grant r ──► transform (maps it r)
//!             parse done: host lowers parse's grant to r (its mapping too)
//!             host makes state-2 ─ grant rw ─► transform ... and so on
//!  copy:      each stage writes private memory; the host copies its output
//!             into the next stage's memory (AddressSpace::copy_from)
//! ```
//!
//! The three instances are made before the clock starts and live until the
//! chain is dropped (warm functions), so the zero-copy chain can also show
//! what a finished stage can still do to the state it handed on.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use waven_mmu::{Rights, PAGE_SIZE};
use waven_platform::registry::{Measurement, Owner, Platform};
use waven_platform::run::measure;
use waven_platform::TenantLimits;
use waven_runtime::{Config, Engine, EngineKind, Module, Val};

use super::guests::Guests;
use super::host::{errno_name, linker, GuestInstance};
use super::reference::{fingerprint, Summary, FINGERPRINT_START};

/// The stages, in order; also their instance names.
pub const STAGES: [&str; 3] = ["parse", "transform", "aggregate"];

/// The regions of the zero-copy chain: `STATES[k]` is what stage `k`
/// hands on to stage `k + 1`.
pub const STATES: [&str; 2] = ["state-1", "state-2"];

/// How state goes from one stage to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Through host-made regions, mapped by both stages.
    ZeroCopy,
    /// Copied by the host from one stage's memory to the next one's.
    Copy,
}

/// Where one stage's time went.
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTime {
    /// Moving state: zero-copy: making the output region and its grants,
    /// mapping (the guest's `faas_setup`), lowering the grant when done;
    /// copy: the guest's private buffers and the host's copy of its input.
    pub handoff: Duration,
    /// The stage's own work (`faas_run`).
    pub work: Duration,
}

impl StageTime {
    /// Hand-off and work.
    pub fn total(&self) -> Duration {
        self.handoff + self.work
    }
}

/// What a finished stage's attempt to change the state it handed on gave.
pub struct Tamper {
    /// The stage.
    pub stage: &'static str,
    /// What it printed.
    pub lines: Vec<String>,
    /// How `faas_tamper` ended: a trap (the store was refused), or a count
    /// of refused attempts if the store went through.
    pub outcome: Result<i32, waven_runtime::Error>,
}

/// A chain ready to run: engine, platform and the three instances.
pub struct Chain {
    mode: Mode,
    size: u64,
    engine: Engine,
    platform: Platform,
    stages: Vec<GuestInstance>,
    measurements: Vec<Measurement>,
}

impl Chain {
    /// An engine with room for the chain's state (twice `size` for
    /// zero-copy, four times for copy, and 64 MiB more) and the three
    /// stages instantiated on it.
    ///
    /// # Errors
    ///
    /// If the pool cannot be reserved or a module is not a valid stage.
    pub fn new(engine: EngineKind, mode: Mode, guests: &Guests, size: u64) -> Result<Chain> {
        let config = Config {
            engine,
            frame_budget: match mode {
                Mode::ZeroCopy => 2 * size,
                Mode::Copy => 4 * size,
            } + (64 << 20),
            ..Config::default()
        };
        let engine = Engine::new(config)?;
        // Only the host lends memory here.
        let platform = Platform::new(engine.frame_pool(), Box::new(|from, _| from == "host"));
        let linker = linker()?;
        let mut stages = Vec::with_capacity(STAGES.len());
        let mut measurements = Vec::with_capacity(STAGES.len());
        for (name, guest) in
            STAGES
                .into_iter()
                .zip([&guests.parse, &guests.transform, &guests.aggregate])
        {
            let module = Module::new(&engine, &guest.bytes)
                .map_err(|error| anyhow!("{}: {error}", guest.file))?;
            let measurement = measure(&guest.bytes);
            platform
                .add_instance(name, name, measurement, TenantLimits::default())
                .map_err(|errno| anyhow!("cannot register {name}: {}", errno_name(errno)))?;
            stages.push(GuestInstance::new(
                &engine, &linker, &platform, name, &module,
            )?);
            measurements.push(measurement);
        }
        Ok(Chain {
            mode,
            size,
            engine,
            platform,
            stages,
            measurements,
        })
    }

    /// Runs the three stages, each to its end, and returns their times and
    /// what `aggregate` summed up.
    ///
    /// # Errors
    ///
    /// If a stage fails (a trap, or an error from its exports) or the host
    /// cannot make, grant or copy what it must.
    pub fn run(&mut self) -> Result<([StageTime; 3], Summary)> {
        let size = i32::try_from(self.size).map_err(|_| anyhow!("state too large"))?;
        let mut times = [StageTime::default(); 3];
        for (k, time) in times.iter_mut().enumerate() {
            *time = match self.mode {
                Mode::ZeroCopy => self.zero_copy_stage(k, size)?,
                Mode::Copy => self.copy_stage(k, size)?,
            };
        }
        let aggregate = &mut self.stages[2];
        let at = aggregate.call("faas_output", &[])? as u32;
        let mut bytes = [0u8; Summary::SIZE];
        aggregate.read(u64::from(at), &mut bytes)?;
        Ok((times, Summary::decode(&bytes)))
    }

    /// Stage `k` of the zero-copy chain.
    fn zero_copy_stage(&mut self, k: usize, size: i32) -> Result<StageTime> {
        let started = Instant::now();
        if let Some(&state) = STATES.get(k) {
            self.platform
                .create_region(state, self.size, Rights::ReadWrite)
                .map_err(|errno| anyhow!("cannot make {state}: {}", errno_name(errno)))?;
            self.grant(state, k, Rights::ReadWrite)?;
            self.grant(state, k + 1, Rights::Read)?;
        }
        self.stages[k].check("faas_setup", &[Val::I32(size), Val::I32(1)])?;
        let set_up = Instant::now();
        self.stages[k].check("faas_run", &[])?;
        let ran = Instant::now();
        if let Some(&state) = STATES.get(k) {
            // Done: the stage's grant drops to r, and its live mapping with
            // it; `protect` can no longer raise it.
            self.grant(state, k, Rights::Read)?;
        }
        Ok(StageTime {
            handoff: (set_up - started) + ran.elapsed(),
            work: ran - set_up,
        })
    }

    /// Grants `state` to stage `k` with `rights`, bound to its code.
    fn grant(&self, state: &str, k: usize, rights: Rights) -> Result<()> {
        self.platform
            .grant(
                &Owner::Host,
                state,
                STAGES[k],
                rights,
                Some(self.measurements[k]),
            )
            .map_err(|errno| {
                anyhow!(
                    "cannot grant {state} {rights} to {}: {}",
                    STAGES[k],
                    errno_name(errno)
                )
            })
    }

    /// Stage `k` of the copy chain.
    fn copy_stage(&mut self, k: usize, size: i32) -> Result<StageTime> {
        let started = Instant::now();
        self.stages[k].check("faas_setup", &[Val::I32(size), Val::I32(0)])?;
        if k > 0 {
            let from = self.stages[k - 1].call("faas_output", &[])? as u32;
            let to = self.stages[k].call("faas_input", &[])? as u32;
            let (done, rest) = self.stages.split_at(k);
            rest[0]
                .space
                .copy_from(
                    u64::from(to),
                    &done[k - 1].space,
                    u64::from(from),
                    self.size,
                )
                .map_err(|fault| anyhow!("cannot copy to {}: {fault}", STAGES[k]))?;
        }
        let set_up = Instant::now();
        self.stages[k].check("faas_run", &[])?;
        Ok(StageTime {
            handoff: set_up - started,
            work: set_up.elapsed(),
        })
    }

    /// Asks the finished stage `k` to change what it handed on (zero-copy:
    /// its grant is r by now).
    ///
    /// # Errors
    ///
    /// If the stage has no `faas_tamper`.
    pub fn tamper(&mut self, k: usize) -> Result<Tamper> {
        let outcome = self.stages[k].call_raw("faas_tamper", &[])?;
        Ok(Tamper {
            stage: STAGES[k],
            lines: self.stages[k].take_lines(),
            outcome,
        })
    }

    /// A fingerprint of each region's bytes, read by the host (zero-copy).
    ///
    /// # Errors
    ///
    /// If a region is missing.
    pub fn fingerprints(&self) -> Result<Vec<u64>> {
        let mut buf = vec![0u8; 1 << 20];
        STATES
            .iter()
            .map(|&state| {
                let region = self
                    .platform
                    .region(state)
                    .ok_or_else(|| anyhow!("no region {state}"))?;
                let mut hash = FINGERPRINT_START;
                let mut at = 0;
                while at < region.size() {
                    let n = (region.size() - at).min(buf.len() as u64) as usize;
                    region.read_bytes(at, &mut buf[..n])?;
                    hash = fingerprint(hash, &buf[..n]);
                    at += n as u64;
                }
                Ok(hash)
            })
            .collect()
    }

    /// Each region's grants as `name: grantee rights, ...` (zero-copy).
    pub fn grants(&self) -> Vec<String> {
        self.platform
            .regions()
            .into_iter()
            .map(|region| {
                let grants: Vec<String> = region
                    .grants
                    .iter()
                    .map(|(grantee, rights)| format!("{grantee} {rights}"))
                    .collect();
                format!("{}: {}", region.name, grants.join(", "))
            })
            .collect()
    }

    /// The most frames the chain's pool had in use at once.
    pub fn peak_frames(&self) -> usize {
        self.engine.frame_pool().stats().peak
    }
}

/// Frames in bytes.
pub fn frame_bytes(frames: usize) -> u64 {
    frames as u64 * PAGE_SIZE as u64
}

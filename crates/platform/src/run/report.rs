//! What a run of a manifest reports: how each tenant ended, the regions
//! and their grants, and the frame pool's counters. Serializable, so that
//! a command line can print it as JSON.

use std::fmt;

use serde::Serialize;
use waven_mmu::{FaultReason, MapRun, PageKind, PoolStats};
use waven_runtime::{Trap, TrapKind};

use super::escape::escape_text;

/// The report of a whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `"parallel"` or `"pipeline"`.
    pub run: &'static str,
    /// `"virtual"` or `"plain"`.
    pub memory: &'static str,
    /// Whether every tenant exited with status 0.
    pub success: bool,
    /// Milliseconds from the first tenant's start to the last one's end.
    pub wall_ms: f64,
    /// The tenants, in the order they were started (the manifest's `order`).
    pub tenants: Vec<TenantReport>,
    /// Every region at the end, the manifest's and those guests shared,
    /// sorted by name.
    pub regions: Vec<RegionInfo>,
    /// The frame pool after every tenant ended.
    pub pool: PoolReport,
    /// How many modules were compiled for how many tenants.
    pub modules: ModuleSharing,
    /// The host's memory as the embedder measured it ([`run`](super::run)
    /// leaves it `None`; `waven platform` fills it in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_memory: Option<HostMemory>,
}

/// The host memory of a whole run, in bytes, as far as the embedder can
/// measure it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HostMemory {
    /// Bytes reserved for the host heap (the enclave profile's fixed heap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_reserved: Option<u64>,
    /// The most bytes the host heap's allocations held at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_peak: Option<u64>,
    /// Bytes the host heap's allocations held when the report was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_in_use: Option<u64>,
    /// The process's peak resident memory (guest frames touched, host
    /// heap, code and thread stacks), where the host reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_resident: Option<u64>,
}

/// How many modules a run compiled for how many tenants: tenants whose
/// module files hold the same bytes (the same SHA-256) share one compiled
/// module and its copy-on-write memory image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModuleSharing {
    /// Distinct modules compiled, or loaded from precompiled artifacts.
    pub compiled: usize,
    /// Tenants that got one of them (not those whose module could not be
    /// read, compiled or registered).
    pub tenants: usize,
}

/// How one tenant ran.
#[derive(Clone, Debug, Serialize)]
pub struct TenantReport {
    /// The tenant's (and its instance's) name.
    pub name: String,
    /// The module file.
    pub module: String,
    /// `sha256:` and the hex SHA-256 of the module file's bytes as stored
    /// (for a `.wat` file: of the text; for a precompiled artifact: of the
    /// `.wasm` it was compiled from); empty if the file could not be read
    /// (or an artifact could not be loaded).
    pub measurement: String,
    /// The export that was called.
    pub entry: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Milliseconds the entry function ran (0 if it never started).
    pub wall_ms: f64,
    /// `memory.size` in bytes at exit (0 without a memory).
    pub memory_bytes: u64,
    /// Pages of its address space backed by a frame at exit (private,
    /// shared or copy-on-write pages); `None` on plain memory.
    pub resident_pages: Option<usize>,
    /// Host bytes of its memory's translation tables at exit
    /// ([`waven_mmu::AddressSpace::table_bytes`]); `None` on plain memory
    /// or without a memory.
    pub table_bytes: Option<u64>,
    /// Fuel consumed, when the manifest gave the tenant fuel.
    pub fuel_used: Option<u64>,
    /// What the entry function returned, if it returns values (an entry
    /// such as `run` of the WAT examples); empty for `_start`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<String>,
    /// The memory map at exit, when asked for (virtual memory only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_map: Option<Vec<MapEntry>>,
}

/// How a tenant ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The entry function returned (status 0) or the guest called
    /// `proc_exit`.
    Exited {
        /// The exit status.
        code: i32,
    },
    /// Execution trapped.
    Trapped(TrapReport),
    /// An earlier stage of a pipeline failed, so this tenant never started.
    Skipped,
    /// It could not be prepared (its module could not be read, compiled or
    /// instantiated, its start function trapped, its entry point is
    /// missing), so it never started; or the host could not run it to the
    /// end (its thread panicked). The other tenants ran.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl Outcome {
    /// Whether the tenant exited with status 0.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Exited { code: 0 })
    }

    /// The outcome of an entry call that ended with `result`.
    pub(crate) fn of(result: Result<(), waven_runtime::Error>) -> Outcome {
        match result {
            Ok(()) => Outcome::Exited { code: 0 },
            Err(waven_runtime::Error::Trap(Trap {
                kind: TrapKind::Exit(code),
                ..
            })) => Outcome::Exited { code },
            Err(waven_runtime::Error::Trap(trap)) => Outcome::Trapped(TrapReport::new(&trap)),
            Err(error) => Outcome::Failed {
                error: error.to_string(),
            },
        }
    }
}

impl fmt::Display for Outcome {
    /// One line for a terminal: messages (which may quote a guest, as a
    /// host function's trap does) have their control characters escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited { code } => write!(f, "exit {code}"),
            Outcome::Trapped(trap) => write!(f, "trap: {}", escape_text(&trap.message)),
            Outcome::Skipped => f.write_str("skipped"),
            Outcome::Failed { error } => write!(f, "failed: {}", escape_text(error)),
        }
    }
}

/// A trap, with the details of a memory fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrapReport {
    /// A stable name of the kind: `memory_fault`, `memory_out_of_bounds`,
    /// `unreachable`, `out_of_fuel`, `host`, ...
    pub kind: &'static str,
    /// The trap as the runtime words it.
    pub message: String,
    /// For a memory fault: the guest address refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u64>,
    /// For a memory fault: `"read"` or `"write"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// For a memory fault: `unmapped`, `denied` (no right) or
    /// `out_of_frames`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The active Wasm functions, innermost first.
    pub backtrace: Vec<String>,
}

impl TrapReport {
    fn new(trap: &Trap) -> TrapReport {
        let fault = match &trap.kind {
            TrapKind::MemoryFault(fault) => Some(fault),
            _ => None,
        };
        TrapReport {
            kind: kind_name(&trap.kind),
            message: trap.kind.to_string(),
            address: fault.map(|f| f.addr),
            access: fault.map(|f| f.access.to_string()),
            reason: fault.map(|f| reason_name(f.reason)),
            backtrace: trap.backtrace.clone(),
        }
    }
}

fn kind_name(kind: &TrapKind) -> &'static str {
    match kind {
        TrapKind::Unreachable => "unreachable",
        TrapKind::MemoryOutOfBounds => "memory_out_of_bounds",
        TrapKind::MemoryFault(_) => "memory_fault",
        TrapKind::TableOutOfBounds => "table_out_of_bounds",
        TrapKind::UndefinedElement => "undefined_element",
        TrapKind::UninitializedElement => "uninitialized_element",
        TrapKind::IndirectCallTypeMismatch => "indirect_call_type_mismatch",
        TrapKind::IntegerDivideByZero => "integer_divide_by_zero",
        TrapKind::IntegerOverflow => "integer_overflow",
        TrapKind::InvalidConversionToInteger => "invalid_conversion_to_integer",
        TrapKind::CallStackExhausted => "call_stack_exhausted",
        TrapKind::OutOfFuel => "out_of_fuel",
        TrapKind::Interrupted => "interrupted",
        TrapKind::Host(_) => "host",
        TrapKind::Exit(_) => "exit",
    }
}

fn reason_name(reason: FaultReason) -> &'static str {
    match reason {
        FaultReason::OutOfBounds => "out_of_bounds",
        FaultReason::Unmapped => "unmapped",
        FaultReason::Denied => "denied",
        FaultReason::OutOfFrames => "out_of_frames",
    }
}

/// One run of pages of a memory map.
#[derive(Clone, Debug, Serialize)]
pub struct MapEntry {
    /// The first byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// `"none"`, `"r"` or `"rw"`; `None` if unmapped.
    pub rights: Option<String>,
    /// `unmapped`, `private`, `zero`, `copy-on-write` or `shared`.
    pub kind: &'static str,
    /// For shared pages: the region's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip)]
    run: MapRun,
}

impl MapEntry {
    /// A run of the map; `region_name` names shared regions.
    pub(crate) fn new(run: MapRun, region_name: impl Fn(&PageKind) -> Option<String>) -> MapEntry {
        let (rights, kind, region) = match &run.page {
            None => (None, "unmapped", None),
            Some(info) => {
                let kind = match info.kind {
                    PageKind::Private => "private",
                    PageKind::Shared(_) => "shared",
                    PageKind::Zero => "zero",
                    PageKind::CopyOnWrite => "copy-on-write",
                };
                (Some(info.rights.to_string()), kind, region_name(&info.kind))
            }
        };
        MapEntry {
            start: run.start,
            end: run.end,
            rights,
            kind,
            region,
            run,
        }
    }
}

impl fmt::Display for MapEntry {
    /// The MMU's line (range, rights, kind with the region's id), then
    /// the region's name for shared pages, its control characters escaped
    /// (a guest names the regions it shares).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", escape_text(&self.run.to_string()))?;
        match &self.region {
            Some(name) => write!(f, " {}", escape_text(name)),
            None => Ok(()),
        }
    }
}

/// A region at the end of the run.
#[derive(Clone, Debug, Serialize)]
pub struct RegionInfo {
    /// Its name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// `"host"` or the owning tenant.
    pub owner: String,
    /// `"manifest"` (created by the host at start) or `"guest"` (shared
    /// by an instance with the `waven` ABI).
    pub origin: &'static str,
    /// The most any grant may give.
    pub max_rights: String,
    /// Grantees and their rights, sorted by name.
    pub grants: Vec<GrantInfo>,
}

/// One grant of a region.
#[derive(Clone, Debug, Serialize)]
pub struct GrantInfo {
    /// The instance that may map the region.
    pub grantee: String,
    /// With at most these rights.
    pub rights: String,
}

/// The frame pool's counters, in frames of [`PoolReport::page_size`]
/// bytes.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PoolReport {
    /// Bytes per frame.
    pub page_size: usize,
    /// Frames in the pool.
    pub budget_frames: usize,
    /// Frames still in use after every tenant ended (the regions, mostly).
    pub in_use: usize,
    /// The most frames in use at once during the run.
    pub peak: usize,
}

impl From<PoolStats> for PoolReport {
    fn from(stats: PoolStats) -> PoolReport {
        PoolReport {
            page_size: waven_mmu::PAGE_SIZE,
            budget_frames: stats.budget_frames,
            in_use: stats.in_use,
            peak: stats.peak,
        }
    }
}

impl Report {
    /// The report as one pretty-printed JSON document.
    pub fn to_json(&self) -> String {
        // Serializing these plain structs (strings, numbers, vectors)
        // cannot fail.
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() }).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waven_mmu::{Access, MemoryFault};

    #[test]
    fn outcomes_serialize_with_a_status_tag() {
        let exited = serde_json::to_value(Outcome::Exited { code: 3 }).unwrap();
        assert_eq!(exited, serde_json::json!({"status": "exited", "code": 3}));
        let fault = MemoryFault {
            addr: 0x2_0000,
            access: Access::Write,
            reason: FaultReason::Denied,
        };
        let trap = Trap::from(TrapKind::MemoryFault(fault));
        let outcome = Outcome::of(Err(waven_runtime::Error::Trap(trap)));
        assert!(!outcome.is_success());
        let value = serde_json::to_value(&outcome).unwrap();
        assert_eq!(value["status"], "trapped");
        assert_eq!(value["kind"], "memory_fault");
        assert_eq!(value["address"], 0x2_0000);
        assert_eq!(value["access"], "write");
        assert_eq!(value["reason"], "denied");
        assert!(outcome
            .to_string()
            .starts_with("trap: memory fault: write at 0x20000"));
        let exit = Trap::from(TrapKind::Exit(0));
        assert!(Outcome::of(Err(waven_runtime::Error::Trap(exit))).is_success());
        assert_eq!(
            serde_json::to_value(Outcome::Skipped).unwrap(),
            serde_json::json!({"status": "skipped"})
        );
    }
}

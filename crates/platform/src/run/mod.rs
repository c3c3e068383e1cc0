//! Running a [`Manifest`]: every tenant in its own instance on one
//! [`Platform`], and a [`Report`] of how it went.
//!
//! ```text
//!  Manifest ──► setup: Engine (frame_budget, memory, fuel), Platform (policy),
//!                      modules (SHA-256 measured; one per distinct file;
//!                      artifacts checked and made executable), regions
//!                      (+ contents), grants
//!           ──► one Store per tenant: WASI + "waven" ABI, address space attached
//!           ──► run: all at once on threads ("parallel") or one by one ("pipeline")
//!           ──► Report: outcomes, frames, regions and grants, pool counters,
//!                       modules compiled for how many tenants
//! ```
//!
//! Nothing runs until everything is ready. What concerns the whole
//! deployment (the engine, a region that cannot be created, a grant the
//! registry refuses) is a [`RunError`] before the first tenant starts. What
//! concerns one tenant (a module that cannot be read, compiled or linked, a
//! start function that traps, a missing entry point) fails that tenant
//! alone: it is reported as [`Outcome::Failed`] with the reason, the
//! manifest's grants to it are not made, and the other tenants run (in a
//! pipeline, those after it are skipped, as after any failure).
//!
//! Decisions, in the order a run meets them:
//!
//! * **Measurement.** A tenant's code measurement is the SHA-256 of its
//!   module file's bytes *as stored*: for a `.wat` file that is the text,
//!   not the binary it compiles to. A grant with a `measurement` therefore
//!   pins the exact file that was reviewed. For a precompiled `.cwasm`
//!   artifact it is the SHA-256 of the `.wasm` the artifact carries (and
//!   was compiled from; [`waven_runtime::Module::sha256`]), not of the
//!   artifact: a grant written for the `.wasm` holds for its artifact.
//!   The artifact file itself is pinned by the tenant's `artifact_sha256`,
//!   compared before anything of it is parsed. The registry compares it when
//!   the grantee opens or maps the region, so a mismatching tenant still
//!   runs but is refused the region (`EACCES`).
//! * **One module per file content.** Tenants whose module files hold the
//!   same bytes (the same SHA-256, whatever their paths) share one compiled
//!   [`waven_runtime::Module`] and its copy-on-write memory image; each
//!   still has its own instance, limits and memory. The report counts them
//!   ([`Report::modules`]).
//! * **Regions of the manifest** are created by the host and filled from
//!   their `contents` file before anything runs. A host-owned region is
//!   `host/name` in the registry; a region the manifest gives a tenant is
//!   in that tenant's namespace (it opens it as `name`, others as
//!   `tenant/name`) and the tenant maps it with up to the region's
//!   `max_rights`, but it cannot grant or revoke it itself: its grants are
//!   the manifest's ([`Platform::create_region_for`]).
//! * **Policy.** The manifest's grants were checked against the policy by
//!   [`Manifest::load`] with the owner the manifest names; the platform's
//!   policy hook applies `[policy]` to every grant a guest makes at run time
//!   (the granting side is the tenant of the region's owner).
//! * **Instances.** Each tenant has its own store with WASI preview 1 (argv
//!   = the module's file name, then `args`; `env`; `dirs`; an empty stdin)
//!   and the `waven` ABI; the instance is named after the tenant. Its entry
//!   is `entry` or `_start` and must take no parameters. The store has the
//!   runtime's default [`waven_runtime::StoreLimits`] (1,000,000 table
//!   elements, 10,000 tables, memories and instances). With fuel on (any
//!   tenant has `fuel`), a tenant without `fuel` gets unlimited fuel.
//! * **Output.** Each tenant's stdout and stderr are cut into lines and
//!   passed to [`Options::output`] line by line as they come, so that
//!   concurrent tenants never interleave within a line; a last line without
//!   a newline is passed on when the tenant ends. Lines are passed on as
//!   the guest wrote them; [`print_prefixed`] escapes control characters
//!   ([`escape_text`]) before they reach a terminal.
//! * **Ends.** A tenant ends when its entry function returns (status 0),
//!   calls `proc_exit`, or traps. Its memory is then released (regions it
//!   shared keep their frames: they belong to the region). In a pipeline, a
//!   tenant that does not exit with status 0 stops the pipeline; the rest
//!   are reported as skipped.

#![forbid(unsafe_code)]

mod escape;
mod output;
mod report;
mod setup;
mod tenant;

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use waven_runtime::Watchdog;

pub use escape::{escape_bytes, escape_text};
pub use output::{print_prefixed, LineSink, Stream, MAX_LINE};
pub use report::{
    GrantInfo, HostMemory, MapEntry, ModuleSharing, Outcome, PoolReport, RegionInfo, Report,
    TenantReport, TrapReport,
};
pub use setup::{measure, measurement_text};

use crate::manifest::{Manifest, MemoryKind, RunMode, TenantSpec};
use crate::registry::Platform;
use setup::Setup;
use tenant::{Prepared, RunContext};

/// A point in a run that a host may want to see (for example to check,
/// with `strace`, that guests run without the process mapping memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Everything is reserved, loaded, instantiated and (for a parallel
    /// run) every tenant's thread exists; no guest code has run yet.
    StartupComplete,
    /// Every guest has returned, trapped or exited; its instance is gone.
    /// Threads have not exited yet.
    GuestsFinished,
}

/// Called at each [`Phase`] of a run, on the thread that called [`run`].
pub type PhaseHook = Arc<dyn Fn(Phase) + Send + Sync>;

/// How to run a manifest.
#[derive(Clone)]
pub struct Options {
    /// Where the tenants' output lines go.
    pub output: LineSink,
    /// Whether to record each instance's memory map when it ends
    /// ([`TenantReport::memory_map`]).
    pub memory_maps: bool,
    /// Called at the start and the end of the guests' part of the run.
    pub phases: Option<PhaseHook>,
}

impl Default for Options {
    /// Lines printed with [`print_prefixed`] (stdout to stdout, stderr to
    /// stderr), no memory maps.
    fn default() -> Options {
        Options {
            output: print_prefixed(false),
            memory_maps: false,
            phases: None,
        }
    }
}

/// Why a manifest could not be started, or a tenant could not be prepared.
/// When [`run`] returns it, nothing ran; [`RunError::Module`] and
/// [`RunError::Instance`] it reports as the tenant's [`Outcome::Failed`]
/// instead, and runs the other tenants.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The linker of WASI and the `waven` ABI could not be made.
    #[error("cannot create the engine: {0}")]
    Engine(waven_runtime::Error),
    /// The engine could not be created as the manifest sets it up: the
    /// host cannot reserve a frame pool of `frame_budget` bytes, or the
    /// build does not support the `memory` backend.
    #[error("cannot create the engine with the manifest's {key} ({value}): {error}")]
    EngineSetting {
        /// The manifest key: `frame_budget` or `memory`.
        key: &'static str,
        /// Its value.
        value: String,
        /// Why the engine could not be created.
        error: waven_runtime::Error,
    },
    /// A tenant's module could not be read, parsed or compiled.
    #[error("tenant `{tenant}`: module {}: {message}", path.display())]
    Module {
        /// The tenant.
        tenant: String,
        /// The module file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A region of the manifest could not be created or filled.
    #[error("region `{region}`: {message}")]
    Region {
        /// The region.
        region: String,
        /// What went wrong.
        message: String,
    },
    /// The registry refused a grant of the manifest.
    #[error("grant of region `{region}` to `{grantee}`: {message}")]
    Grant {
        /// The region.
        region: String,
        /// The grantee.
        grantee: String,
        /// What went wrong.
        message: String,
    },
    /// A tenant could not be instantiated (its start function trapped, an
    /// import is missing, a store limit was reached) or has no usable entry
    /// point; or `order` names a tenant that is not declared.
    #[error("tenant `{tenant}`: {message}")]
    Instance {
        /// The tenant.
        tenant: String,
        /// What went wrong.
        message: String,
    },
}

/// Runs every tenant of `manifest` to its end and reports.
///
/// # Errors
///
/// A [`RunError`] if the run could not start; a tenant that could not be
/// prepared, and whatever tenants do once they run (trap, exit with an
/// error, run out of fuel), is in the report.
pub fn run(manifest: &Manifest, options: &Options) -> Result<Report, RunError> {
    let mut setup = Setup::new(manifest)?;
    let linker = tenant::linker().map_err(RunError::Engine)?;
    // Interrupts tenants at their deadlines; made before any guest runs,
    // like every thread of a run.
    let watchdog = Watchdog::start().map_err(|error| {
        RunError::Engine(waven_runtime::Error::Limit(format!(
            "cannot start the deadline thread: {error}"
        )))
    })?;
    let mut prepared = Vec::with_capacity(manifest.order.len());
    for name in &manifest.order {
        let spec = tenant_spec(manifest, name)?;
        if let Some((measurement, error)) = setup.failed.get(name) {
            let report = tenant::failed(spec, measurement.as_ref(), error);
            prepared.push(Slot::Failed(Box::new(report)));
            continue;
        }
        let Some((module, measurement)) = setup.modules.get(name) else {
            return Err(missing(name));
        };
        let context = RunContext {
            engine: &setup.engine,
            platform: &setup.platform,
            linker: &linker,
            sink: &options.output,
            watchdog: &watchdog,
        };
        let tenant = Prepared::new(spec, module, *measurement, &context);
        prepared.push(match tenant {
            Ok(tenant) => Slot::Ready(Box::new(tenant)),
            Err(error) => {
                let report = tenant::failed(spec, Some(measurement), &error);
                Slot::Failed(Box::new(report))
            }
        });
    }
    let phase = |phase| {
        if let Some(hook) = &options.phases {
            hook(phase);
        }
    };
    let started = Instant::now();
    let tenants = match manifest.run {
        RunMode::Parallel => run_parallel(prepared, &setup.platform, options.memory_maps, &phase),
        RunMode::Pipeline => {
            phase(Phase::StartupComplete);
            let reports = run_pipeline(prepared, &setup.platform, options.memory_maps);
            phase(Phase::GuestsFinished);
            reports
        }
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    // The modules hold their memory images (copy-on-write instantiation):
    // let those frames go, so that the pool counts what the run left.
    let modules = setup.release_modules();
    Ok(Report {
        run: match manifest.run {
            RunMode::Parallel => "parallel",
            RunMode::Pipeline => "pipeline",
        },
        memory: match manifest.memory {
            MemoryKind::Virtual => "virtual",
            MemoryKind::Plain => "plain",
        },
        success: tenants.iter().all(|t| t.outcome.is_success()),
        wall_ms,
        tenants,
        regions: regions(&setup),
        pool: setup.engine.frame_pool().stats().into(),
        modules,
        host_memory: None,
    })
}

/// A tenant of the run: ready to start, or failed before it could.
enum Slot {
    Ready(Box<Prepared>),
    Failed(Box<TenantReport>),
}

fn tenant_spec<'m>(manifest: &'m Manifest, name: &str) -> Result<&'m TenantSpec, RunError> {
    manifest
        .tenants
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| missing(name))
}

/// A name in `order` without a tenant: [`Manifest::load`] never lets that
/// through, but a hand-built manifest might.
fn missing(name: &str) -> RunError {
    RunError::Instance {
        tenant: name.to_owned(),
        message: "listed in `order` but not declared as a [[tenant]]".to_owned(),
    }
}

/// Every tenant on its own thread, all at once.
///
/// Every thread is created first, says it is ready (so the thread library
/// and std have set it up: stack, signal stack, thread-local storage) and
/// waits at a gate, so that a run creates no thread and maps no memory for
/// one once guests execute; each thread waits again after sending its
/// report, so that none exits before every guest has finished.
fn run_parallel(
    prepared: Vec<Slot>,
    platform: &Platform,
    maps: bool,
    phase: &dyn Fn(Phase),
) -> Vec<TenantReport> {
    let start = Gate::default();
    let exit = Gate::default();
    let mut reports: Vec<Option<TenantReport>> = Vec::with_capacity(prepared.len());
    std::thread::scope(|scope| {
        // If this thread unwinds (a phase hook panics), the tenants must
        // not wait at a gate for ever: the scope would wait for them.
        let _open_on_unwind = OpenOnDrop(&start, &exit);
        let (sender, receiver) = mpsc::channel();
        let (ready_sender, ready) = mpsc::channel();
        let mut threads = Vec::new();
        for (index, slot) in prepared.into_iter().enumerate() {
            let tenant = match slot {
                Slot::Ready(tenant) => tenant,
                Slot::Failed(report) => {
                    reports.push(Some(*report));
                    continue;
                }
            };
            let base = tenant.report_base();
            let sender = sender.clone();
            let ready_sender = ready_sender.clone();
            let (start, exit) = (&start, &exit);
            let spawned = std::thread::Builder::new()
                .name(format!("tenant {}", base.name))
                .spawn_scoped(scope, move || {
                    let _ = ready_sender.send(());
                    drop(ready_sender);
                    start.wait();
                    let report = tenant.run(platform, maps);
                    // Dropping the sender (here, or by unwinding if the
                    // tenant panicked) is what ends the receiver's loop.
                    let _ = sender.send((index, report));
                    drop(sender);
                    exit.wait();
                });
            reports.push(None);
            match spawned {
                Ok(handle) => threads.push((index, base, handle)),
                Err(error) => {
                    let error = format!("cannot start a thread for the tenant: {error}");
                    reports[index] = Some(failed(base, error));
                }
            }
        }
        drop(sender);
        drop(ready_sender);
        // Ends when every thread has said it is ready (or died).
        ready.iter().for_each(drop);
        phase(Phase::StartupComplete);
        start.open();
        for (index, report) in receiver {
            reports[index] = Some(report);
        }
        phase(Phase::GuestsFinished);
        exit.open();
        for (index, base, handle) in threads {
            if handle.join().is_err() || reports[index].is_none() {
                let error = "the host thread running the tenant panicked".to_owned();
                reports[index] = Some(failed(base, error));
            }
        }
    });
    reports.into_iter().flatten().collect()
}

fn failed(base: TenantReport, error: String) -> TenantReport {
    TenantReport {
        outcome: Outcome::Failed { error },
        ..base
    }
}

/// Opens both gates when dropped.
struct OpenOnDrop<'g>(&'g Gate, &'g Gate);

impl Drop for OpenOnDrop<'_> {
    fn drop(&mut self) {
        self.0.open();
        self.1.open();
    }
}

/// A one-way gate: threads wait until it is opened, once.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while !*open {
            open = self
                .opened
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.opened.notify_all();
    }
}

/// One tenant after another; the first that does not exit 0 (or that
/// failed before it could start) stops the rest.
fn run_pipeline(prepared: Vec<Slot>, platform: &Platform, maps: bool) -> Vec<TenantReport> {
    let mut reports: Vec<TenantReport> = Vec::with_capacity(prepared.len());
    for slot in prepared {
        let failed = reports.iter().any(|r| !r.outcome.is_success());
        reports.push(match slot {
            Slot::Failed(report) => *report,
            Slot::Ready(tenant) if failed => tenant.skip(platform),
            Slot::Ready(tenant) => tenant.run(platform, maps),
        });
    }
    reports
}

/// The registry's regions, and whether the manifest declared them.
fn regions(setup: &Setup) -> Vec<RegionInfo> {
    setup
        .platform
        .regions()
        .into_iter()
        .map(|region| {
            // Names are scoped by owner: a guest's region may share its
            // name with a manifest region of another owner.
            let owner = region.owner.name().to_owned();
            let declared = setup.region_owners.get(&region.name) == Some(&owner);
            let grants = region
                .grants
                .iter()
                .map(|(grantee, rights)| GrantInfo {
                    grantee: grantee.clone(),
                    rights: rights.to_string(),
                })
                .collect();
            RegionInfo {
                origin: if declared { "manifest" } else { "guest" },
                name: region.name,
                size: region.size,
                owner,
                max_rights: region.max_rights.to_string(),
                grants,
            }
        })
        .collect()
}

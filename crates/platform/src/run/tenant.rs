//! One tenant: its instance (WASI and the `waven` ABI), the call of its
//! entry point, and its report.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use waven_mmu::{AddressSpace, MemoryLimits, MemoryQuota, PageKind, RegionId};
use waven_runtime::{Engine, Func, Linker, Memory, Module, Store, StoreLimits, Val, Watchdog};
use waven_wasi::{Input, WasiCtx, WasiCtxBuilder};

use super::output::{LineBuffer, LineSink, Stream};
use super::report::{MapEntry, Outcome, TenantReport};
use super::setup::measurement_text;
use super::RunError;
use crate::abi::{self, GuestContext};
use crate::manifest::TenantSpec;
use crate::registry::{Measurement, Platform};

/// The host state of a tenant's store.
pub(crate) struct Host {
    wasi: WasiCtx,
    guest: GuestContext,
}

/// A linker with WASI preview 1 and the `waven` ABI.
pub(crate) fn linker() -> Result<Linker<Host>, waven_runtime::Error> {
    let mut linker = Linker::new();
    waven_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    abi::add_to_linker(&mut linker, |host: &mut Host| &mut host.guest)?;
    Ok(linker)
}

/// A tenant instantiated and ready to start.
pub(crate) struct Prepared {
    name: String,
    module_path: String,
    measurement: Measurement,
    entry_name: String,
    fuel: Option<u64>,
    /// The wall-clock limit of the entry call (`limits.timeout`).
    timeout: Option<Duration>,
    store: Store<Host>,
    entry: Func,
    memory: Option<Memory>,
    space: Option<AddressSpace>,
    lines: [Arc<LineBuffer>; 2],
}

/// What every tenant of a run is prepared with.
pub(crate) struct RunContext<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) platform: &'a Platform,
    pub(crate) linker: &'a Linker<Host>,
    /// Where tenants' output lines go.
    pub(crate) sink: &'a LineSink,
    /// Interrupts tenants at their deadlines.
    pub(crate) watchdog: &'a Watchdog,
}

impl Prepared {
    /// Builds the tenant's WASI context, instantiates its module (running
    /// its start function), finds its entry function and attaches its
    /// address space to the platform. On failure, what the guest wrote
    /// until then is passed on, and nothing of the tenant is left attached.
    pub(crate) fn new(
        spec: &TenantSpec,
        module: &Module,
        measurement: Measurement,
        context: &RunContext<'_>,
    ) -> Result<Prepared, RunError> {
        let lines = [
            LineBuffer::new(&spec.name, Stream::Stdout, Arc::clone(context.sink)),
            LineBuffer::new(&spec.name, Stream::Stderr, Arc::clone(context.sink)),
        ];
        let prepared = Prepared::instantiate(spec, module, measurement, context, lines.clone());
        match prepared {
            Ok(prepared) => Ok(prepared),
            Err(error) => {
                // A start function that trapped may have printed why.
                for lines in &lines {
                    lines.finish();
                }
                Err(error)
            }
        }
    }

    fn instantiate(
        spec: &TenantSpec,
        module: &Module,
        measurement: Measurement,
        context: &RunContext<'_>,
        lines: [Arc<LineBuffer>; 2],
    ) -> Result<Prepared, RunError> {
        let RunContext {
            engine,
            platform,
            linker,
            watchdog,
            ..
        } = *context;
        let error = |message: String| RunError::Instance {
            tenant: spec.name.clone(),
            message,
        };
        // argv[0] is the module's file name, as `waven run` passes it.
        let program = spec.module.file_name().map_or_else(
            || spec.module.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let limits = &spec.limits;
        let mut builder = WasiCtxBuilder::new()
            .max_fds(limits.wasi_fds)
            .args(std::iter::once(program).chain(spec.args.iter().cloned()))
            .stdin(Input::Empty)
            .stdout(lines[0].output())
            .stderr(lines[1].output());
        for (key, value) in &spec.env {
            builder = builder.env(key, value);
        }
        for (host, guest) in &spec.dirs {
            builder = builder
                .preopened_dir(host, guest.as_str())
                .map_err(|e| error(format!("directory {}: {e}", host.display())))?;
        }
        let host = Host {
            wasi: builder.build(),
            guest: GuestContext::new(platform.clone(), spec.name.as_str()),
        };
        let mut store = Store::new(engine, host);
        if store.engine().config().fuel {
            store.set_fuel(spec.fuel.unwrap_or(u64::MAX));
        }
        store.set_limits(StoreLimits {
            table_elements: limits.table_elements,
            ..StoreLimits::default()
        });
        if let Some(bytes) = limits.memory {
            store.set_memory_quota(MemoryQuota::new(bytes));
        }
        // The deadline covers the start function too; the entry call gets
        // the whole timeout again when it begins (Prepared::run).
        let interrupt = store.interrupt_handle().clone();
        if let Some(timeout) = limits.timeout {
            interrupt.set_deadline(Instant::now() + timeout);
            watchdog.watch(&interrupt);
        }
        platform
            .attach_interrupt(&spec.name, interrupt)
            .map_err(|e| error(format!("cannot register its interrupt handle: {e}")))?;
        let instance = linker
            .instantiate(&mut store, module)
            .map_err(|e| error(format!("cannot instantiate: {e}")))?;
        let entry_name = spec.entry.clone().unwrap_or_else(|| "_start".to_owned());
        let entry = instance
            .get_func(&store, &entry_name)
            .ok_or_else(|| error(format!("the module exports no function `{entry_name}`")))?;
        if !entry.ty(&store).params().is_empty() {
            let message = format!("the entry function `{entry_name}` must take no parameters");
            return Err(error(message));
        }
        // Attached last, so that a tenant that fails leaves no memory with
        // the platform.
        let memory = instance.memory(&store);
        let space = memory.and_then(|memory| memory.address_space(&store));
        if let Some(space) = &space {
            platform
                .attach_space(&spec.name, space.clone())
                .map_err(|e| error(format!("cannot attach its memory: {e}")))?;
        }
        Ok(Prepared {
            name: spec.name.clone(),
            module_path: spec.module.display().to_string(),
            measurement,
            entry_name,
            fuel: spec.fuel,
            timeout: limits.timeout,
            store,
            entry,
            memory,
            space,
            lines,
        })
    }

    /// Calls the entry function to its end, then reports (with the memory
    /// map if `memory_map`) and releases the instance's memory.
    pub(crate) fn run(mut self, platform: &Platform, memory_map: bool) -> TenantReport {
        let ty = self.entry.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for(t)).collect();
        let started = Instant::now();
        if let Some(timeout) = self.timeout {
            // Only extended: the watchdog already watches this handle.
            self.store
                .interrupt_handle()
                .set_deadline(started + timeout);
        }
        let result = self.entry.call(&mut self.store, &[], &mut results);
        let wall_ms = started.elapsed().as_secs_f64() * 1e3;
        for lines in &self.lines {
            lines.finish();
        }
        let outcome = Outcome::of(result);
        let results = if outcome.is_success() {
            results.iter().map(format_val).collect()
        } else {
            Vec::new()
        };
        let map = match (&self.space, memory_map) {
            (Some(space), true) => {
                let names = region_names(platform);
                let name_of = |kind: &PageKind| match kind {
                    PageKind::Shared(id) => names.get(id).cloned(),
                    _ => None,
                };
                Some(
                    space
                        .memory_map()
                        .into_iter()
                        .map(|run| MapEntry::new(run, name_of))
                        .collect(),
                )
            }
            _ => None,
        };
        let report = TenantReport {
            outcome,
            wall_ms,
            memory_bytes: self.memory.map_or(0, |m| m.size_bytes(&self.store)),
            resident_pages: self.space.as_ref().map(AddressSpace::resident_pages),
            table_bytes: self.space.as_ref().map(AddressSpace::table_bytes),
            fuel_used: self.fuel.map(|fuel| fuel.saturating_sub(self.store.fuel())),
            results,
            memory_map: map,
            ..self.report_base()
        };
        self.release(platform);
        report
    }

    /// The report of a tenant that never started.
    pub(crate) fn skip(self, platform: &Platform) -> TenantReport {
        let report = TenantReport {
            memory_bytes: self.memory.map_or(0, |m| m.size_bytes(&self.store)),
            resident_pages: self.space.as_ref().map(AddressSpace::resident_pages),
            table_bytes: self.space.as_ref().map(AddressSpace::table_bytes),
            ..self.report_base()
        };
        self.release(platform);
        report
    }

    /// The report's fields that do not depend on the run (the outcome
    /// says skipped).
    pub(crate) fn report_base(&self) -> TenantReport {
        TenantReport {
            measurement: measurement_text(&self.measurement),
            entry: self.entry_name.clone(),
            ..base(&self.name, self.module_path.clone(), Outcome::Skipped)
        }
    }

    /// Drops the instance, and replaces the address space the platform
    /// holds for it by an empty one, so that its private frames return to
    /// the pool now rather than when the platform ends. The instance stays
    /// registered ([`Platform::remove_instance`] would take the regions
    /// it shared with it, which other tenants may still open and the
    /// report lists); regions it shared keep their frames.
    fn release(self, platform: &Platform) {
        let pool = self.space.as_ref().map(|space| space.pool().clone());
        drop(self.store);
        if let Some(pool) = pool {
            if let Ok(empty) = AddressSpace::new(&pool, MemoryLimits::new(0, Some(0))) {
                let _ = platform.attach_space(&self.name, empty);
            }
        }
    }
}

/// The report of a tenant that could not be prepared (its module could not
/// be loaded, it could not be instantiated, or its start function trapped):
/// failed, with why.
pub(crate) fn failed(
    spec: &TenantSpec,
    measurement: Option<&Measurement>,
    error: &RunError,
) -> TenantReport {
    // The report is the tenant's already: its name need not be repeated.
    let error = match error {
        RunError::Module { path, message, .. } => {
            format!("module {}: {message}", path.display())
        }
        RunError::Instance { message, .. } => message.clone(),
        other => other.to_string(),
    };
    TenantReport {
        measurement: measurement.map(measurement_text).unwrap_or_default(),
        entry: spec.entry.clone().unwrap_or_else(|| "_start".to_owned()),
        ..base(
            &spec.name,
            spec.module.display().to_string(),
            Outcome::Failed { error },
        )
    }
}

/// A report of a tenant that did not run: no time, memory or results.
fn base(name: &str, module: String, outcome: Outcome) -> TenantReport {
    TenantReport {
        name: name.to_owned(),
        module,
        measurement: String::new(),
        entry: String::new(),
        outcome,
        wall_ms: 0.0,
        memory_bytes: 0,
        resident_pages: None,
        table_bytes: None,
        fuel_used: None,
        results: Vec::new(),
        memory_map: None,
    }
}

/// Region ids to names, for the memory map.
fn region_names(platform: &Platform) -> HashMap<RegionId, String> {
    platform
        .regions()
        .into_iter()
        .filter_map(|report| {
            let region = platform.region(&report.path())?;
            Some((region.id(), report.name))
        })
        .collect()
}

/// A result value as `waven run --invoke` prints it.
fn format_val(value: &Val) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_owned(),
        Val::FuncRef(Some(_)) => "<funcref>".to_owned(),
        Val::ExternRef(Some(r)) => format!("<externref {}>", r.0),
    }
}

//! The demo's tenants on one engine and platform: the embedded guest
//! modules with their code measurements, instances with WASI (output
//! captured) and the `waven` ABI, and how each run ended.
//!
//! This is what `waven platform` does for a manifest, cut down to what
//! the demo needs and with the host in control between the steps: each
//! way of handing out the data set (sharing, copying) gets a [`Stage`] of
//! its own, so that its frame pool counts only its own frames.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use waven_mmu::{AddressSpace, PoolStats};
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::{Measurement, Platform};
use waven_platform::run::measure;
use waven_platform::TenantLimits;
use waven_runtime::{
    Config, Engine, EngineKind, Error, Func, Linker, Module, Store, Trap, TrapKind,
};
use waven_wasi::{Input, Output, WasiCtx, WasiCtxBuilder};

/// `(name, file, bytes)` of the committed module of tenant `$name`.
macro_rules! embedded {
    ($name:literal) => {
        (
            $name,
            concat!("marketplace-", $name, ".wasm"),
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../demos/build/marketplace-",
                $name,
                ".wasm"
            )),
        )
    };
}

/// The guest modules of the demo (the provider is the host; its module
/// is for `examples/marketplace.toml` only): the tenant's name, and the
/// module's file name under `demos/build/` and bytes.
const EMBEDDED: [(&str, &str, &[u8]); 5] = [
    embedded!("hist"),
    embedded!("stats"),
    embedded!("topk"),
    embedded!("mallory"),
    embedded!("consumer"),
];

/// One guest module.
pub struct Guest {
    /// The tenant's (and its instance's) name.
    pub name: &'static str,
    /// The module file's name.
    pub file: &'static str,
    /// The module's bytes.
    wasm: Cow<'static, [u8]>,
    /// The SHA-256 of the bytes.
    pub measurement: Measurement,
}

/// Every guest of the demo.
pub struct Guests {
    guests: Vec<Guest>,
    /// Where they were read from, for messages.
    pub origin: String,
}

impl Guests {
    /// The modules built into this binary.
    pub fn embedded() -> Guests {
        Guests {
            guests: EMBEDDED
                .iter()
                .map(|&(name, file, wasm)| Guest {
                    name,
                    file,
                    wasm: Cow::Borrowed(wasm),
                    measurement: measure(wasm),
                })
                .collect(),
            origin: "embedded in waven".to_owned(),
        }
    }

    /// The modules `marketplace-*.wasm` of directory `dir` (as
    /// `demos/build-marketplace.sh DIR` writes them).
    pub fn from_dir(dir: &Path) -> Result<Guests> {
        let guests = EMBEDDED
            .iter()
            .map(|&(name, file, _)| {
                let path = dir.join(file);
                let wasm = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let measurement = measure(&wasm);
                Ok(Guest {
                    name,
                    file,
                    wasm: Cow::Owned(wasm),
                    measurement,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Guests {
            guests,
            origin: format!("from {}", dir.display()),
        })
    }

    /// The guest of that name.
    pub fn get(&self, name: &str) -> Result<&Guest> {
        self.guests
            .iter()
            .find(|guest| guest.name == name)
            .ok_or_else(|| anyhow!("no guest module named `{name}`"))
    }
}

/// The host state of a tenant's store.
struct Host {
    wasi: WasiCtx,
    guest: GuestContext,
}

/// One engine (with its frame pool), one platform, the compiled guests.
pub struct Stage {
    engine: Engine,
    platform: Platform,
    linker: Linker<Host>,
    /// Each guest's compiled module, file name and measurement.
    modules: HashMap<&'static str, (Module, &'static str, Measurement)>,
}

impl Stage {
    /// A fresh engine of `frame_budget` bytes whose memories may grow to
    /// `max_memory` bytes, a platform with `policy`, and every guest
    /// compiled.
    pub fn new(
        engine: EngineKind,
        guests: &Guests,
        frame_budget: u64,
        max_memory: u64,
        policy: fn(&str, &str) -> bool,
    ) -> Result<Stage> {
        let engine = Engine::new(Config {
            engine,
            frame_budget,
            max_memory_bytes: Some(max_memory),
            ..Config::default()
        })
        .context("cannot create the engine")?;
        let platform = Platform::new(engine.frame_pool(), Box::new(policy));
        let mut linker = Linker::new();
        waven_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
        abi::add_to_linker(&mut linker, |host: &mut Host| &mut host.guest)?;
        let mut modules = HashMap::new();
        for guest in &guests.guests {
            let module = Module::new(&engine, &guest.wasm)
                .with_context(|| format!("cannot compile {} ({})", guest.file, guests.origin))?;
            modules.insert(guest.name, (module, guest.file, guest.measurement));
        }
        Ok(Stage {
            engine,
            platform,
            linker,
            modules,
        })
    }

    /// The platform (regions, grants).
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// The frame pool's counters.
    pub fn pool(&self) -> PoolStats {
        self.engine.frame_pool().stats()
    }

    /// Registers the instance `name` of the guest of that name, with its
    /// code measurement, and instantiates it with `args` after the
    /// program name.
    pub fn instance(&self, name: &str, args: &[&str]) -> Result<Prepared> {
        let (module, file, measurement) = self
            .modules
            .get(name)
            .ok_or_else(|| anyhow!("no guest module named `{name}`"))?;
        self.platform
            .add_instance(name, name, *measurement, TenantLimits::default())
            .map_err(|errno| anyhow!("cannot register the instance {name}: {errno}"))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let wasi = WasiCtxBuilder::new()
            .args(std::iter::once(*file).chain(args.iter().copied()))
            .stdin(Input::Empty)
            .stdout(Output::Capture(Arc::clone(&stdout)))
            .stderr(Output::Capture(Arc::clone(&stderr)))
            .build();
        let host = Host {
            wasi,
            guest: GuestContext::new(self.platform.clone(), name),
        };
        let mut store = Store::new(&self.engine, host);
        let instance = self
            .linker
            .instantiate(&mut store, module)
            .with_context(|| format!("cannot instantiate {name}"))?;
        let space = instance
            .memory(&store)
            .and_then(|memory| memory.address_space(&store));
        if let Some(space) = &space {
            self.platform
                .attach_space(name, space.clone())
                .map_err(|errno| anyhow!("cannot attach the memory of {name}: {errno}"))?;
        }
        let entry = instance
            .get_func(&store, "_start")
            .ok_or_else(|| anyhow!("{file} exports no _start"))?;
        Ok(Prepared {
            name: name.to_owned(),
            store,
            entry,
            space,
            stdout,
            stderr,
        })
    }
}

/// An instance ready to start.
pub struct Prepared {
    name: String,
    store: Store<Host>,
    entry: Func,
    space: Option<AddressSpace>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// How a tenant's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `_start` returned (0) or the guest called `proc_exit`.
    Exited(i32),
    /// Execution trapped; the trap as the runtime words it.
    Trapped(String),
    /// The host could not run it.
    Failed(String),
}

impl Outcome {
    /// Whether the tenant exited with status 0.
    pub fn is_success(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    /// A short description: `exit 0`, `trap: ...`, `failed: ...`.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Exited(code) => format!("exit {code}"),
            Outcome::Trapped(message) => format!("trap: {message}"),
            Outcome::Failed(message) => format!("failed: {message}"),
        }
    }
}

/// A tenant after its run.
pub struct Finished {
    /// The instance's name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long `_start` ran.
    pub wall: Duration,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
    /// Its address space, as it was at the end (for the host's checks).
    pub space: Option<AddressSpace>,
}

impl Prepared {
    /// Calls `_start` to its end. The instance is dropped; its address
    /// space stays reachable through [`Finished::space`] until that is
    /// dropped too.
    pub fn run(mut self) -> Finished {
        let started = Instant::now();
        let result = self.entry.call(&mut self.store, &[], &mut []);
        let wall = started.elapsed();
        let outcome = match result {
            Ok(()) => Outcome::Exited(0),
            Err(Error::Trap(Trap {
                kind: TrapKind::Exit(code),
                ..
            })) => Outcome::Exited(code),
            Err(Error::Trap(trap)) => Outcome::Trapped(trap.kind.to_string()),
            Err(error) => Outcome::Failed(error.to_string()),
        };
        drop(self.store);
        let take = |buffer: &Mutex<Vec<u8>>| {
            std::mem::take(&mut *buffer.lock().unwrap_or_else(PoisonError::into_inner))
        };
        Finished {
            name: self.name,
            outcome,
            wall,
            stdout: take(&self.stdout),
            stderr: take(&self.stderr),
            space: self.space,
        }
    }
}

/// Runs every prepared tenant on a thread of its own, all at once; returns
/// them in the same order, with the wall time from the first start to the
/// last end.
pub fn run_parallel(tenants: Vec<Prepared>) -> (Vec<Finished>, Duration) {
    let started = Instant::now();
    let finished = std::thread::scope(|scope| {
        let handles: Vec<_> = tenants
            .into_iter()
            .map(|tenant| {
                let name = tenant.name.clone();
                let handle = std::thread::Builder::new()
                    .name(format!("tenant {name}"))
                    .spawn_scoped(scope, move || tenant.run());
                (name, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let error = match handle {
                    Ok(handle) => match handle.join() {
                        Ok(finished) => return finished,
                        Err(_) => "the host thread running it panicked".to_owned(),
                    },
                    Err(error) => format!("cannot start a thread for it: {error}"),
                };
                Finished {
                    name,
                    outcome: Outcome::Failed(error),
                    wall: Duration::ZERO,
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                    space: None,
                }
            })
            .collect()
    });
    (finished, started.elapsed())
}

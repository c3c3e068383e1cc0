//! Copy-on-write start-up: many instances of one function, each started
//! from the module's initialized memory image (`cow_instantiation`) or by
//! writing its data segments, on two engines that differ only in that.
//!
//! A start is `Store::new` and `Linker::instantiate` (WASI and the `waven`
//! ABI, as the platform links its tenants). After each start the instance
//! serves one request (`faas_price`), whose answer is checked, and the
//! frames it then holds are counted; then it is dropped, so every start
//! finds the same pool. Both engines get one warm-up start first (on the
//! copy-on-write engine, the one that makes the image), and the measured
//! starts alternate between the engines.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use waven_platform::registry::Platform;
use waven_runtime::{Config, Engine, EngineKind, Linker, Module, Store, Val};
use waven_wasi::Output;

use super::guests::Guest;
use super::host::{linker, Host};
use super::reference::price;

/// Items in the function's catalog.
const ITEMS: u32 = 1 << 19;

/// How the starts of one engine went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Starts {
    /// Time of every start, summed.
    pub time: Duration,
    /// Frames the instances held after their request, summed.
    pub frames: usize,
    /// Requests answered wrong.
    pub wrong: u32,
}

/// The result of the copy-on-write part.
pub struct CowRun {
    /// Starts measured per engine.
    pub starts: u32,
    /// From the image.
    pub cow: Starts,
    /// Writing the data segments.
    pub copy: Starts,
    /// Frames the image holds (shared by the instances).
    pub image_frames: usize,
    /// The function's memory at start and its declared maximum, in bytes.
    pub memory: (u64, Option<u64>),
}

/// One engine and the function compiled for it.
struct Function {
    engine: Engine,
    module: Module,
    platform: Platform,
    linker: Linker<Host>,
}

impl Function {
    fn new(kind: EngineKind, guest: &Guest, cow: bool) -> Result<Function> {
        let engine = Engine::new(Config {
            engine: kind,
            cow_instantiation: cow,
            frame_budget: 256 << 20,
            ..Config::default()
        })?;
        let module =
            Module::new(&engine, &guest.bytes).map_err(|e| anyhow!("{}: {e}", guest.file))?;
        let platform = Platform::new(engine.frame_pool(), Box::new(|_, _| false));
        Ok(Function {
            engine,
            module,
            platform,
            linker: linker()?,
        })
    }

    /// Starts an instance, asks it the price of `sku`, drops it; adds to
    /// `starts`. Returns the instance's memory size and maximum.
    fn start(&self, sku: u32, starts: &mut Starts) -> Result<(u64, Option<u64>)> {
        let host = Host::new(&self.platform, "price", Output::Discard);
        let pool = self.engine.frame_pool();
        let before = pool.stats().in_use;
        let started = Instant::now();
        let mut store = Store::new(&self.engine, host);
        let instance = self.linker.instantiate(&mut store, &self.module)?;
        starts.time += started.elapsed();
        let func = instance
            .get_func(&store, "faas_price")
            .ok_or_else(|| anyhow!("the function exports no `faas_price`"))?;
        let mut result = [Val::I32(0)];
        func.call(&mut store, &[Val::I32(sku as i32)], &mut result)?;
        if result[0] != Val::I32(price(sku) as i32) {
            starts.wrong += 1;
        }
        starts.frames += pool.stats().in_use.saturating_sub(before);
        let space = instance
            .memory(&store)
            .and_then(|memory| memory.address_space(&store));
        Ok(space.map_or((0, None), |space| {
            let max = space.max_wasm_pages() << 16;
            (space.size_bytes(), Some(max))
        }))
    }
}

/// Starts `starts` instances of `guest` on each engine.
///
/// # Errors
///
/// If an engine cannot be made, or an instance cannot start or traps.
pub fn run(engine: EngineKind, guest: &Guest, starts: u32) -> Result<CowRun> {
    let cow = Function::new(engine, guest, true)?;
    let copy = Function::new(engine, guest, false)?;
    let before = cow.engine.frame_pool().stats().in_use;
    let mut warm_up = Starts::default();
    let memory = cow.start(0, &mut warm_up)?;
    let image_frames = cow.engine.frame_pool().stats().in_use - before;
    copy.start(0, &mut warm_up)?;
    let mut result = CowRun {
        starts,
        cow: Starts {
            wrong: warm_up.wrong,
            ..Starts::default()
        },
        copy: Starts::default(),
        image_frames,
        memory,
    };
    for i in 0..starts {
        let sku = i.wrapping_mul(7919) % ITEMS;
        if i % 2 == 0 {
            cow.start(sku, &mut result.cow)?;
            copy.start(sku, &mut result.copy)?;
        } else {
            copy.start(sku, &mut result.copy)?;
            cow.start(sku, &mut result.cow)?;
        }
    }
    Ok(result)
}

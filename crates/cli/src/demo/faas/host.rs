//! One guest instance as the demo drives it: WASI preview 1 and the
//! `waven` ABI, its output captured, its exports called by name.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{anyhow, Context, Result};
use waven_mmu::{AddressSpace, Errno};
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::Platform;
use waven_runtime::{Engine, Instance, Linker, Memory, Module, Store, Val, ValType};
use waven_wasi::{Input, Output, WasiCtx, WasiCtxBuilder};

/// The host state of an instance's store.
pub struct Host {
    wasi: WasiCtx,
    guest: GuestContext,
}

impl Host {
    /// The state of instance `name` of `platform`, with its stdout (and
    /// stderr) going to `output`.
    pub fn new(platform: &Platform, name: &str, output: Output) -> Host {
        Host {
            wasi: WasiCtxBuilder::new()
                .args([name])
                .stdin(Input::Empty)
                .stdout(output.clone())
                .stderr(output)
                .build(),
            guest: GuestContext::new(platform.clone(), name),
        }
    }
}

/// A linker with WASI preview 1 and the `waven` ABI, as `waven platform`
/// gives its tenants.
///
/// # Errors
///
/// Never in practice (the two sets of names are disjoint).
pub fn linker() -> Result<Linker<Host>> {
    let mut linker = Linker::new();
    waven_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    abi::add_to_linker(&mut linker, |host: &mut Host| &mut host.guest)?;
    Ok(linker)
}

/// An instance of one guest module, registered on a platform.
pub struct GuestInstance {
    /// The instance's name (also its tenant's).
    pub name: &'static str,
    store: Store<Host>,
    instance: Instance,
    memory: Memory,
    /// Its memory's address space.
    pub space: AddressSpace,
    output: Arc<Mutex<Vec<u8>>>,
}

impl GuestInstance {
    /// Instantiates `module` as `name` and attaches its memory to
    /// `platform` (which must know the instance already).
    ///
    /// # Errors
    ///
    /// If the module cannot be instantiated, has no memory, or the
    /// platform does not know `name`.
    pub fn new(
        engine: &Engine,
        linker: &Linker<Host>,
        platform: &Platform,
        name: &'static str,
        module: &Module,
    ) -> Result<GuestInstance> {
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = Arc::clone(&output);
        let write = Output::Callback(Arc::new(move |data: &[u8]| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(data);
        }));
        let mut store = Store::new(engine, Host::new(platform, name, write));
        let instance = linker
            .instantiate(&mut store, module)
            .with_context(|| format!("cannot instantiate {name}"))?;
        let memory = instance
            .memory(&store)
            .ok_or_else(|| anyhow!("{name} has no memory"))?;
        let space = memory
            .address_space(&store)
            .ok_or_else(|| anyhow!("{name}'s memory is not virtual"))?;
        platform
            .attach_space(name, space.clone())
            .map_err(|errno| anyhow!("cannot attach {name}'s memory: {}", errno_name(errno)))?;
        Ok(GuestInstance {
            name,
            store,
            instance,
            memory,
            space,
            output,
        })
    }

    /// Calls the export `export`, which takes `args` and returns one
    /// `i32`; the runtime's error (a trap) is the inner one.
    ///
    /// # Errors
    ///
    /// The outer error if there is no such export or it has another type.
    pub fn call_raw(
        &mut self,
        export: &str,
        args: &[Val],
    ) -> Result<Result<i32, waven_runtime::Error>> {
        let func = self
            .instance
            .get_func(&self.store, export)
            .ok_or_else(|| anyhow!("{} exports no function `{export}`", self.name))?;
        let ty = func.ty(&self.store);
        let params: Vec<ValType> = args.iter().map(Val::ty).collect();
        if ty.params() != params.as_slice() || ty.results() != [ValType::I32] {
            return Err(anyhow!(
                "{}: `{export}` has type {ty:?}, not ({params:?}) -> i32",
                self.name
            ));
        }
        let mut result = [Val::I32(0)];
        Ok(func
            .call(&mut self.store, args, &mut result)
            .map(|()| match result[0] {
                Val::I32(value) => value,
                _ => 0, // the type was checked above
            }))
    }

    /// Calls `export` and returns its `i32` result as it is (an address,
    /// for example).
    ///
    /// # Errors
    ///
    /// No such export, or a trap.
    pub fn call(&mut self, export: &str, args: &[Val]) -> Result<i32> {
        let name = self.name;
        self.call_raw(export, args)?
            .with_context(|| format!("{name}: `{export}` failed"))
    }

    /// Calls `export`, whose negative results are waven errors.
    ///
    /// # Errors
    ///
    /// No such export, a trap, or a negative result.
    pub fn check(&mut self, export: &str, args: &[Val]) -> Result<i32> {
        let value = self.call(export, args)?;
        if value < 0 {
            let errno = Errno(value.unsigned_abs() as u16);
            return Err(anyhow!(
                "{}: `{export}` returned {value} ({})",
                self.name,
                errno_name(errno)
            ));
        }
        Ok(value)
    }

    /// Reads `buf.len()` bytes of the instance's memory at `addr`, with
    /// its rights.
    ///
    /// # Errors
    ///
    /// A memory fault.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.memory
            .read(&self.store, addr, buf)
            .with_context(|| format!("cannot read {}'s memory at {addr:#x}", self.name))
    }

    /// The lines the guest wrote since the last call (the last one may lack
    /// its newline).
    pub fn take_lines(&self) -> Vec<String> {
        let bytes =
            std::mem::take(&mut *self.output.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// An errno with its name: `EACCES (2)`.
pub fn errno_name(errno: Errno) -> String {
    match errno.name() {
        Some(name) => format!("{name} ({})", errno.0),
        None => errno.to_string(),
    }
}

//! Functions: host functions, the caller handle they receive, and calls
//! from the host into the store.

use std::sync::Arc;

use crate::compiled;
use crate::engine::{EngineKind, MemoryBackend};
use crate::error::{Error, Trap};
use crate::interp::exec::{self, PlainBackend, VirtualBackend};
use crate::store::{Extern, FuncEntity, Instance, Memory, Store};
use crate::value::{Func, FuncType, Val};

/// A host function: receives the caller, the arguments, and the result
/// slots to fill.
pub type HostFunc<T> =
    Arc<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync>;

/// What a host function sees of its caller: the store (host state, other
/// objects) and the calling instance's exports and memory.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut Store<T>,
    pub(crate) instance: Option<Instance>,
}

impl<T> Caller<'_, T> {
    /// The store's host state.
    pub fn data(&self) -> &T {
        self.store.data()
    }

    /// The store's host state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// The handle that stops the store: blocking host calls wait through
    /// it so that a deadline or a shutdown ends them.
    pub fn interrupt_handle(&self) -> &crate::InterruptHandle {
        self.store.interrupt_handle()
    }

    /// The store.
    pub fn store(&mut self) -> &mut Store<T> {
        self.store
    }

    /// The calling instance (`None` when the host called the function).
    pub fn instance(&self) -> Option<Instance> {
        self.instance
    }

    /// The calling instance's memory, if it has one.
    pub fn memory(&self) -> Option<Memory> {
        self.instance?.memory(self.store)
    }

    /// An export of the calling instance.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.instance?.get_export(self.store, name)
    }
}

impl Func {
    /// A host function of type `ty`.
    pub fn new<T>(
        store: &mut Store<T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        Func::from_host(store, ty, Arc::new(func))
    }

    pub(crate) fn from_host<T>(store: &mut Store<T>, ty: FuncType, call: HostFunc<T>) -> Func {
        let index = store.inner.funcs.len() as u32;
        store.inner.vm.push_func(&ty, index);
        store.inner.funcs.push(FuncEntity::Host { ty, call });
        Func(store.inner.funcs.len() as u32 - 1)
    }

    /// The function's type.
    pub fn ty<T>(&self, store: &Store<T>) -> FuncType {
        store.inner.funcs[self.0 as usize].ty().clone()
    }

    /// Calls the function with `args`, writing its results to `results`.
    ///
    /// # Errors
    ///
    /// [`Error::TypeMismatch`] if the arguments or result count do not fit
    /// the type; [`Error::Trap`] if execution traps.
    pub fn call<T>(
        &self,
        store: &mut Store<T>,
        args: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let ty = self.ty(store);
        let arg_types: Vec<_> = args.iter().map(Val::ty).collect();
        if arg_types != ty.params() || results.len() != ty.results().len() {
            return Err(Error::TypeMismatch(format!(
                "function of type {ty} called with {} arguments {:?} and {} result slots",
                args.len(),
                arg_types,
                results.len()
            )));
        }
        match (store.engine.config.engine, store.engine.config.memory) {
            (EngineKind::Compiled, _) => compiled::invoke::invoke(store, *self, args, results)?,
            (EngineKind::Interpreter, MemoryBackend::Virtual) => {
                exec::invoke::<T, VirtualBackend>(store, *self, args, results)?
            }
            (EngineKind::Interpreter, MemoryBackend::Plain) => {
                exec::invoke::<T, PlainBackend>(store, *self, args, results)?
            }
        }
        Ok(())
    }
}

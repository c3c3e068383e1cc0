//! What the ABI test suites share: an instance of a platform with the
//! `waven` guest ABI linked and its memory attached, as the runner makes
//! one. Each suite adds the calls it needs on top.
//!
//! Every test binary compiles this module on its own and uses part of it.
#![allow(dead_code)]

use waven_mmu::AddressSpace;
use waven_platform::abi::{self, GuestContext};
use waven_platform::registry::Platform;
use waven_platform::TenantLimits;
use waven_runtime::{Engine, Error, Func, Instance, Linker, Module, Store, Val};

/// An instance of `module` registered with a platform.
pub struct AbiGuest {
    /// The instance's name.
    pub name: String,
    pub store: Store<GuestContext>,
    pub instance: Instance,
    /// Its memory (virtual memory only).
    pub space: AddressSpace,
}

impl AbiGuest {
    /// Registers instance `name` of `tenant` with `limits`, instantiates
    /// `module` with the ABI linked, and attaches its memory.
    pub fn instantiate(
        engine: &Engine,
        platform: &Platform,
        module: &Module,
        name: &str,
        tenant: &str,
        limits: TenantLimits,
    ) -> AbiGuest {
        platform
            .add_instance(name, tenant, [0; 32], limits)
            .unwrap();
        let mut store = Store::new(engine, GuestContext::new(platform.clone(), name));
        let mut linker = Linker::new();
        abi::add_to_linker(&mut linker, |ctx: &mut GuestContext| ctx).unwrap();
        let instance = linker.instantiate(&mut store, module).unwrap();
        let space = instance
            .memory(&store)
            .unwrap()
            .address_space(&store)
            .unwrap();
        platform.attach_space(name, space.clone()).unwrap();
        AbiGuest {
            name: name.to_owned(),
            store,
            instance,
            space,
        }
    }

    /// Calls export `func` with `args`; its results.
    pub fn call_export(&mut self, func: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        let f: Func = self
            .instance
            .get_func(&self.store, func)
            .unwrap_or_else(|| panic!("{}: no export {func}", self.name));
        let mut results = vec![Val::I32(0); f.ty(&self.store).results().len()];
        f.call(&mut self.store, args, &mut results)?;
        Ok(results)
    }
}

/// An engine of this run's kind (see `waven_test_support`) with the rest
/// of `config`.
pub fn engine(config: waven_runtime::Config) -> Engine {
    waven_test_support::engine(config)
}

/// See `waven_test_support::rerun_on_the_compiled_engine`.
pub fn rerun_on_the_compiled_engine(this_test: &str) {
    waven_test_support::rerun_on_the_compiled_engine(this_test);
}

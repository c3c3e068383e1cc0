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

/// The environment variable that selects the engine of a suite's run:
/// `compiled` for the compiled engine, anything else (or nothing) for the
/// interpreter.
pub const ENGINE_VAR: &str = "WAVEN_TEST_ENGINE";

/// The engine this run of the suite uses (see [`ENGINE_VAR`]).
pub fn engine_kind() -> waven_runtime::EngineKind {
    match std::env::var(ENGINE_VAR).as_deref() {
        Ok("compiled") => waven_runtime::EngineKind::Compiled,
        _ => waven_runtime::EngineKind::Interpreter,
    }
}

/// An engine of this run's kind with the rest of `config`.
pub fn engine(config: waven_runtime::Config) -> Engine {
    Engine::new(waven_runtime::Config {
        engine: engine_kind(),
        ..config
    })
    .unwrap()
}

/// Runs every other test of this test binary again on the compiled engine
/// (the same binary, with [`ENGINE_VAR`] set) and fails with their output
/// unless all pass: the suite is parametrized over engines without a copy.
/// In that second run, and in builds without a compiler, it does nothing.
pub fn rerun_on_the_compiled_engine(this_test: &str) {
    if std::env::var_os(ENGINE_VAR).is_some() || !waven_runtime::COMPILER_AVAILABLE {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .env(ENGINE_VAR, "compiled")
        .args(["--skip", this_test, "--test-threads", "2"])
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("test result:"))
        .unwrap_or("no summary");
    assert!(
        output.status.success(),
        "on the compiled engine: {summary}\n{stdout}\n{stderr}"
    );
    assert!(
        !summary.contains(" 0 passed"),
        "no test ran on the compiled engine: {summary}"
    );
    println!("compiled engine: {summary}");
}

//! The linker: named definitions that satisfy modules' imports.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Trap, TrapKind};
use crate::func::{Caller, HostFunc};
use crate::module::{ImportKind, Module};
use crate::store::{Extern, Instance, Store};
use crate::value::{Func, FuncType, Val};

enum Definition<T> {
    Extern(Extern),
    Host(FuncType, HostFunc<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::Host(ty, f) => Definition::Host(ty.clone(), f.clone()),
        }
    }
}

/// Definitions by (module, name), used to instantiate modules.
pub struct Linker<T> {
    definitions: HashMap<(String, String), Definition<T>>,
}

impl<T> Default for Linker<T> {
    fn default() -> Self {
        Linker {
            definitions: HashMap::new(),
        }
    }
}

impl<T> Linker<T> {
    /// An empty linker.
    pub fn new() -> Linker<T> {
        Linker::default()
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<(), Error> {
        let key = (module.to_owned(), name.to_owned());
        if self.definitions.contains_key(&key) {
            return Err(Error::DuplicateDefinition {
                module: module.to_owned(),
                name: name.to_owned(),
            });
        }
        self.definitions.insert(key, def);
        Ok(())
    }

    /// Defines `module::name` as an object of a store.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateDefinition`].
    pub fn define(&mut self, module: &str, name: &str, item: Extern) -> Result<(), Error> {
        self.insert(module, name, Definition::Extern(item))
    }

    /// Defines `module::name` as a host function, created in each store
    /// that instantiates a module importing it.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateDefinition`].
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Result<(), Error> {
        self.insert(module, name, Definition::Host(ty, Arc::new(func)))
    }

    /// Defines every export of `instance` under the module name `module`.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateDefinition`].
    pub fn instance(
        &mut self,
        store: &Store<T>,
        module: &str,
        instance: Instance,
    ) -> Result<(), Error> {
        let exports: Vec<_> = store.inner.instances[instance.0 as usize]
            .data
            .exports
            .iter()
            .map(|(name, item)| (name.clone(), *item))
            .collect();
        for (name, item) in exports {
            self.define(module, &name, item)?;
        }
        Ok(())
    }

    /// Defines every function import of `module` that the linker does not
    /// define yet as a host function of the import's type that traps when
    /// called (`host error: unknown import MODULE::NAME was called`), so
    /// that the module instantiates and fails only if it calls one. Other
    /// imports (memories, tables, globals) are left undefined:
    /// instantiation still reports them.
    ///
    /// Definitions added afterwards for the same names are
    /// [`Error::DuplicateDefinition`]s, so call this last.
    ///
    /// # Errors
    ///
    /// None for now; the `Result` keeps room for checks such as a module
    /// of another engine.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<(), Error> {
        let info = &module.inner.info;
        for import in &info.imports {
            let ImportKind::Func(type_index) = &import.kind else {
                continue;
            };
            let key = (import.module.clone(), import.name.clone());
            if self.definitions.contains_key(&key) {
                continue;
            }
            // A validated module's type indices are in range; an import
            // that somehow is not keeps its "not defined" link error.
            let Some(ty) = info.types.get(*type_index as usize) else {
                continue;
            };
            let message = format!("unknown import {}::{} was called", key.0, key.1);
            let trap: HostFunc<T> =
                Arc::new(move |_, _, _| Err(Trap::from(TrapKind::Host(message.clone()))));
            self.definitions
                .insert(key, Definition::Host(ty.clone(), trap));
        }
        Ok(())
    }

    /// Instantiates `module`, resolving its imports by name.
    ///
    /// # Errors
    ///
    /// [`Error::Link`] for missing or mismatched imports, and the errors of
    /// [`Instance::new`].
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance, Error> {
        let mut imports = Vec::new();
        for (module_name, name, _) in module.imports() {
            let key = (module_name.to_owned(), name.to_owned());
            let item = match self.definitions.get(&key) {
                Some(Definition::Extern(item)) => *item,
                Some(Definition::Host(ty, func)) => {
                    Extern::Func(Func::from_host(store, ty.clone(), func.clone()))
                }
                None => {
                    return Err(Error::Link {
                        module: module_name.to_owned(),
                        name: name.to_owned(),
                        reason: "not defined".into(),
                    })
                }
            };
            imports.push(item);
        }
        Instance::new(store, module, &imports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Config, Engine};
    use crate::value::ValType;

    #[test]
    fn unknown_function_imports_trap_only_when_called() {
        let engine = Engine::new(Config::default()).unwrap();
        let wasm = wat::parse_str(
            r#"(module
                (import "env" "known" (func $known (result i32)))
                (import "env" "missing" (func $missing (param i64) (result f32)))
                (func (export "fine") (result i32) (call $known))
                (func (export "calls_missing") (result f32) (call $missing (i64.const 1))))"#,
        )
        .unwrap();
        let module = Module::new(&engine, &wasm).unwrap();
        let mut linker = Linker::<()>::new();
        let ty = FuncType::new([], [ValType::I32]);
        linker
            .func_new("env", "known", ty, |_, _, results| {
                results[0] = Val::I32(42);
                Ok(())
            })
            .unwrap();
        let mut store = Store::new(&engine, ());
        let error = linker.instantiate(&mut store, &module).err().unwrap();
        assert!(matches!(error, Error::Link { ref name, .. } if name == "missing"));

        linker.define_unknown_imports_as_traps(&module).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let mut result = [Val::I32(0)];
        let fine = instance.get_func(&store, "fine").unwrap();
        fine.call(&mut store, &[], &mut result).unwrap();
        assert_eq!(result[0], Val::I32(42), "a defined import is kept");
        let missing = instance.get_func(&store, "calls_missing").unwrap();
        let mut result = [Val::F32(0)];
        let Err(Error::Trap(trap)) = missing.call(&mut store, &[], &mut result) else {
            panic!("calling an unknown import must trap");
        };
        assert_eq!(
            trap.kind.to_string(),
            "host error: unknown import env::missing was called"
        );
    }
}

//! The linker: named definitions that satisfy modules' imports.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Trap};
use crate::func::{Caller, HostFunc};
use crate::module::Module;
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

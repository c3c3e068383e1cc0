//! Modules: validated, with every function translated at load time.

use std::sync::Arc;

pub(crate) use waven_environ::module::{
    ConstExpr, DataMode, ElementMode, ExternKind, ImportKind, MemoryDecl, ModuleInfo, TableDecl,
};

use crate::compiled::{self, CompiledModule};
use crate::engine::{Engine, EngineKind};
use crate::error::Error;
use crate::interp::ir::CompiledFunc;
use crate::interp::translate::Translator;

/// A validated and compiled module, ready to be instantiated any number of
/// times. Cloning gives another handle to the same module.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) info: ModuleInfo,
    /// The interpreter's code of each defined function (empty for
    /// compiled modules).
    pub(crate) code: Vec<Arc<CompiledFunc>>,
    /// The machine code (compiled engine only).
    pub(crate) compiled: Option<Arc<CompiledModule>>,
    pub(crate) engine: Engine,
    /// The module's memory right after its data segments were written,
    /// kept (virtual memory only) so that later instances start from a
    /// copy-on-write clone instead of writing the segments again.
    pub(crate) memory_image: std::sync::OnceLock<waven_mmu::AddressSpace>,
}

/// The kind of an import or export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
}

impl Module {
    /// Validates `bytes` (a binary module) and translates its functions.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidModule`] with the validator's message and the byte
    /// offset; [`Error::Unsupported`] for features waven lacks.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        let info = ModuleInfo::parse(bytes)?;
        let (code, compiled) = match engine.config.engine {
            EngineKind::Interpreter => {
                let code = (0..info.bodies.len())
                    .map(|i| Translator::translate(&info, i, engine.config.fuel).map(Arc::new))
                    .collect::<Result<Vec<_>, Error>>()?;
                (code, None)
            }
            EngineKind::Compiled => (
                Vec::new(),
                Some(Arc::new(compiled::compile(&info, &engine.config)?)),
            ),
        };
        Ok(Module {
            inner: Arc::new(ModuleInner {
                info,
                code,
                compiled,
                engine: engine.clone(),
                memory_image: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Loads a precompiled artifact (made by [`Module::precompile`] or
    /// `waven compile`) into an engine of kind [`EngineKind::Compiled`]
    /// with the settings it was compiled for (memory backend, fuel).
    ///
    /// Everything is checked before any code is made executable: magic,
    /// format and waven version, target and CPU features, settings,
    /// sizes, the artifact's own SHA-256, the SHA-256 of the module it
    /// carries, and the module itself (validated again).
    ///
    /// # Errors
    ///
    /// [`Error::Code`] naming the first check that failed;
    /// [`Error::Unsupported`] for an interpreter engine.
    pub fn deserialize(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        if engine.config.engine != EngineKind::Compiled {
            return Err(Error::Unsupported(
                "a precompiled artifact runs on the compiled engine only".into(),
            ));
        }
        let (info, compiled) = compiled::load_artifact(bytes, &engine.config)?;
        Ok(Module {
            inner: Arc::new(ModuleInner {
                info,
                code: Vec::new(),
                compiled: Some(Arc::new(compiled)),
                engine: engine.clone(),
                memory_image: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Validates `bytes` and compiles them ahead of time into an artifact
    /// for this host and `engine`'s settings (what `waven compile`
    /// writes), to load later with [`Module::deserialize`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidModule`] and [`Error::Unsupported`] as
    /// [`Module::new`]; [`Error::Unsupported`] in a build without a
    /// compiler (feature `jit`).
    pub fn precompile(engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        let info = ModuleInfo::parse(bytes)?;
        compiled::precompile(&info, &engine.config)
    }

    /// Whether `bytes` look like a precompiled artifact (its magic).
    pub fn is_artifact(bytes: &[u8]) -> bool {
        bytes.starts_with(&waven_environ::artifact::MAGIC)
    }

    /// The SHA-256 of the module's WebAssembly bytes (for an artifact,
    /// of the module it was compiled from): the module's measurement.
    pub fn sha256(&self) -> [u8; 32] {
        waven_environ::artifact::Artifact::file_sha256(&self.inner.info.bytes)
    }

    /// The imports: module name, field name and kind.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternType)> + '_ {
        self.inner.info.imports.iter().map(|import| {
            let kind = match import.kind {
                ImportKind::Func(_) => ExternType::Func,
                ImportKind::Table(_) => ExternType::Table,
                ImportKind::Memory(_) => ExternType::Memory,
                ImportKind::Global(_) => ExternType::Global,
            };
            (import.module.as_str(), import.name.as_str(), kind)
        })
    }

    /// The exports: name and kind.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> + '_ {
        self.inner.info.exports.iter().map(|export| {
            let kind = match export.kind {
                ExternKind::Func => ExternType::Func,
                ExternKind::Table => ExternType::Table,
                ExternKind::Memory => ExternType::Memory,
                ExternKind::Global => ExternType::Global,
            };
            (export.name.as_str(), kind)
        })
    }

    /// The function's name: from the name section, else the name it is
    /// exported under, if any.
    pub fn func_name(&self, index: u32) -> Option<&str> {
        let info = &self.inner.info;
        info.func_names.get(&index).map(String::as_str).or_else(|| {
            info.exports
                .iter()
                .find(|e| e.kind == ExternKind::Func && e.index == index)
                .map(|e| e.name.as_str())
        })
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("functions", &self.inner.info.funcs.len())
            .finish()
    }
}

//! Instantiation: matching imports, allocating the module's objects,
//! running element and data segments, and the start function, in the
//! order of the WebAssembly 2.0 specification.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Trap, TrapKind};
use crate::module::{
    ConstExpr, DataMode, ElementMode, ExternKind, ImportKind, MemoryDecl, Module, TableDecl,
};
use crate::store::{
    Extern, FuncEntity, Global, GlobalEntity, Instance, InstanceData, InstanceEntity, Memory,
    Store, Table, MAX_TABLE_ENTRIES,
};
use crate::value::{Func, Val};

fn link_error(module: &str, name: &str, reason: impl Into<String>) -> Error {
    Error::Link {
        module: module.to_owned(),
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Whether limits `(initial, maximum)` of an object satisfy an import's.
fn limits_match(actual: (u64, Option<u64>), wanted: (u64, Option<u64>)) -> bool {
    actual.0 >= wanted.0
        && match (actual.1, wanted.1) {
            (_, None) => true,
            (Some(have), Some(want)) => have <= want,
            (None, Some(_)) => false,
        }
}

impl Instance {
    /// Instantiates `module` with `imports` (one per import, in order).
    ///
    /// Objects created before a trap in an element or data segment or the
    /// start function stay in the store, as the specification says.
    ///
    /// # Errors
    ///
    /// [`Error::Link`] when an import is missing or does not match its
    /// declaration; [`Error::StoreLimit`] (with nothing allocated) when the
    /// store would exceed one of its [`crate::StoreLimits`];
    /// [`Error::Trap`] when a segment is out of bounds or the start
    /// function traps; [`Error::Memory`] when a memory cannot be made.
    pub fn new<T>(
        store: &mut Store<T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, Error> {
        let info = &module.inner.info;
        if !std::sync::Arc::ptr_eq(&module.inner.engine.config, &store.engine.config) {
            return Err(Error::Unsupported(
                "the module was compiled by another engine than the store's".into(),
            ));
        }
        if imports.len() != info.imports.len() {
            return Err(Error::Link {
                module: String::new(),
                name: String::new(),
                reason: format!(
                    "{} imports given, {} expected",
                    imports.len(),
                    info.imports.len()
                ),
            });
        }
        let mut funcs = Vec::new();
        let mut tables = Vec::new();
        let mut memories = Vec::new();
        let mut globals = Vec::new();
        for (import, item) in info.imports.iter().zip(imports) {
            let (m, n) = (&import.module, &import.name);
            match (&import.kind, item) {
                (ImportKind::Func(type_index), Extern::Func(func)) => {
                    let want = &info.types[*type_index as usize];
                    let have = func.ty(store);
                    if &have != want {
                        return Err(link_error(
                            m,
                            n,
                            format!("function type {have} is not {want}"),
                        ));
                    }
                    funcs.push(func.0);
                }
                (
                    ImportKind::Table(TableDecl {
                        element,
                        initial,
                        maximum,
                    }),
                    Extern::Table(table),
                ) => {
                    let (have_element, size, have_max) = table.ty(store);
                    if have_element != *element
                        || !limits_match((size, have_max), (*initial, *maximum))
                    {
                        return Err(link_error(m, n, "incompatible table"));
                    }
                    tables.push(table.0);
                }
                (ImportKind::Memory(MemoryDecl { initial, maximum }), Extern::Memory(memory)) => {
                    if !limits_match(memory.limits(store), (*initial, *maximum)) {
                        return Err(link_error(m, n, "incompatible memory"));
                    }
                    memories.push(memory.0);
                }
                (ImportKind::Global(decl), Extern::Global(global)) => {
                    if global.ty(store) != (decl.ty, decl.mutable) {
                        return Err(link_error(m, n, "incompatible global type"));
                    }
                    globals.push(global.0);
                }
                _ => return Err(link_error(m, n, "incompatible import type")),
            }
        }

        // Every store limit is checked before anything is allocated, so
        // that a module over a limit leaves the store as it was.
        let defined_tables = &info.tables[info.num_imported_tables as usize..];
        let elements = defined_tables
            .iter()
            .fold(0u64, |sum, table| sum.saturating_add(table.initial));
        let defined_memories = info.memories.len() - info.num_imported_memories as usize;
        store.check_limits(
            defined_tables.len() as u64,
            elements,
            defined_memories as u64,
            1,
        )?;

        // Allocation. Function indices are known before globals and
        // elements are evaluated, since both may refer to functions.
        let instance_index = store.inner.instances.len() as u32;
        let first_func = store.inner.funcs.len() as u32;
        for i in 0..info.bodies.len() {
            let index = info.num_imported_funcs + i as u32;
            let ty = info.func_type(index).clone();
            funcs.push(first_func + i as u32);
            store.inner.vm.push_func(&ty, first_func + i as u32);
            let entity = match module.inner.code.get(i) {
                Some(code) => FuncEntity::Wasm {
                    ty,
                    instance: instance_index,
                    code: code.clone(),
                },
                None => FuncEntity::Compiled {
                    ty,
                    instance: instance_index,
                    defined: i as u32,
                },
            };
            store.inner.funcs.push(entity);
        }
        for table in defined_tables {
            let init = Val::default_for(table.element);
            tables.push(Table::new(store, table.element, table.initial, table.maximum, init)?.0);
        }
        // With a memory image, the memory starts as its copy-on-write clone
        // (data segments are then not written again). Should instantiation
        // trap before the data segments, this memory is unreachable anyway:
        // it belongs to an instance that is never returned.
        let image = image_use(store, module);
        for memory in &info.memories[info.num_imported_memories as usize..] {
            let index = match &image {
                ImageUse::Clone(image) => {
                    let clone = image.try_clone_with_quota(store.memory_quota())?;
                    store.push_memory(clone, memory.maximum)
                }
                _ => Memory::new(store, memory.initial, memory.maximum)?,
            };
            memories.push(index.0);
        }
        let eval = |store: &Store<T>, globals: &[u32], expr: &ConstExpr| -> u64 {
            match *expr {
                ConstExpr::I32(v) => v as u32 as u64,
                ConstExpr::I64(v) => v as u64,
                ConstExpr::F32(bits) => bits as u64,
                ConstExpr::F64(bits) => bits,
                ConstExpr::RefNull(_) => 0,
                ConstExpr::RefFunc(index) => funcs[index as usize] as u64 + 1,
                ConstExpr::GlobalGet(index) => {
                    store.inner.globals[globals[index as usize] as usize].cell()
                }
            }
        };
        for (decl, init) in info.globals[info.num_imported_globals as usize..]
            .iter()
            .zip(&info.global_inits)
        {
            let cell = eval(store, &globals, init);
            store
                .inner
                .globals
                .push(GlobalEntity::new(cell, decl.ty, decl.mutable));
            globals.push(store.inner.globals.len() as u32 - 1);
        }
        let exports = info
            .exports
            .iter()
            .map(|export| {
                let i = export.index as usize;
                let item = match export.kind {
                    ExternKind::Func => Extern::Func(Func(funcs[i])),
                    ExternKind::Table => Extern::Table(Table(tables[i])),
                    ExternKind::Memory => Extern::Memory(Memory(memories[i])),
                    ExternKind::Global => Extern::Global(Global(globals[i])),
                };
                (export.name.clone(), item)
            })
            .collect::<HashMap<_, _>>();
        let elems: Vec<Arc<[u64]>> = info
            .elements
            .iter()
            .map(|segment| {
                segment
                    .items
                    .iter()
                    .map(|e| eval(store, &globals, e))
                    .collect()
            })
            .collect();
        // Active segments are dropped once written (or never written, if
        // instantiation fails first and the instance is never returned):
        // they start dropped, with one shared empty slice.
        let dropped: Arc<[u8]> = Arc::new([]);
        let datas = info
            .data
            .iter()
            .map(|segment| match segment.mode {
                DataMode::Passive => segment.bytes.clone(),
                DataMode::Active { .. } => dropped.clone(),
            })
            .collect();
        let data = InstanceData {
            module: module.clone(),
            funcs: funcs.into_boxed_slice(),
            tables: tables.into_boxed_slice(),
            memory: memories.first().copied(),
            globals: globals.into_boxed_slice(),
            types: info.types.clone().into_boxed_slice(),
            exports,
        };
        store.inner.instances.push(InstanceEntity {
            data: Arc::new(data),
            elems,
            datas,
            vm: None,
        });
        let instance = Instance(instance_index);
        crate::compiled::context::build(store, instance_index)?;
        instance.initialize(store, image)?;
        Ok(instance)
    }

    /// Runs the active element and data segments, then the start function.
    fn initialize<T>(self, store: &mut Store<T>, image: ImageUse) -> Result<(), Error> {
        let data = store.inner.instances[self.0 as usize].data.clone();
        let info = &data.module.inner.info;
        let eval_offset = |store: &Store<T>, expr: &ConstExpr| -> u64 {
            match *expr {
                ConstExpr::I32(v) => v as u32 as u64,
                ConstExpr::GlobalGet(index) => {
                    store.inner.globals[data.globals[index as usize] as usize].cell() as u32 as u64
                }
                _ => 0,
            }
        };
        for (index, segment) in info.elements.iter().enumerate() {
            match &segment.mode {
                ElementMode::Active { table, offset } => {
                    let offset = eval_offset(store, offset);
                    let items = store.inner.instances[self.0 as usize].elems[index].clone();
                    let table = &mut store.inner.tables[data.tables[*table as usize] as usize];
                    let end = offset.checked_add(items.len() as u64);
                    match end {
                        Some(end)
                            if end <= table.cells.len() as u64 && end <= MAX_TABLE_ENTRIES =>
                        {
                            table.cells[offset as usize..end as usize].copy_from_slice(&items);
                        }
                        _ => return Err(Trap::from(TrapKind::TableOutOfBounds).into()),
                    }
                    store.inner.instances[self.0 as usize].elems[index] = Arc::new([]);
                }
                ElementMode::Declared => {
                    store.inner.instances[self.0 as usize].elems[index] = Arc::new([]);
                }
                ElementMode::Passive => {}
            }
        }
        // A clone of the memory image holds what the segments wrote.
        if !matches!(image, ImageUse::Clone(_)) {
            for segment in &info.data {
                if let DataMode::Active { memory, offset } = &segment.mode {
                    let offset = eval_offset(store, offset);
                    let memory = Memory(store_memory(&data, *memory));
                    memory.write(store, offset, &segment.bytes)?;
                }
            }
        }
        if let ImageUse::Record = image {
            let memory = Memory(store_memory(&data, 0));
            if let Some(space) = memory.address_space(store) {
                // Another thread may have recorded one first; either is fine.
                // The image belongs to the module, not to this tenant: a
                // frozen snapshot, promising only its frames, against the
                // pool alone.
                let _ = data.module.inner.memory_image.set(space.snapshot()?);
            }
        }
        if let Some(start) = info.start {
            let func = Func(data.funcs[start as usize]);
            func.call(store, &[], &mut [])?;
        }
        Ok(())
    }
}

/// Whether instantiation starts from the module's memory image.
enum ImageUse {
    /// No image for this module (imported memory, plain memory, offsets
    /// that depend on imports, or disabled).
    None,
    /// Write the segments, then record the result as the image.
    Record,
    /// Clone the image instead of writing the segments.
    Clone(waven_mmu::AddressSpace),
}

/// Whether `module` is instantiated from its memory image.
fn image_use<T>(store: &Store<T>, module: &Module) -> ImageUse {
    let info = &module.inner.info;
    let eligible = store.engine.config.cow_instantiation
        && store.engine.config.memory == crate::engine::MemoryBackend::Virtual
        && info.num_imported_memories == 0
        && !info.memories.is_empty()
        && info.data.iter().all(|segment| match &segment.mode {
            DataMode::Active { offset, .. } => matches!(offset, ConstExpr::I32(_)),
            DataMode::Passive => true,
        });
    if !eligible {
        return ImageUse::None;
    }
    match module.inner.memory_image.get() {
        Some(image) => ImageUse::Clone(image.clone()),
        None => ImageUse::Record,
    }
}

fn store_memory(data: &InstanceData, index: u32) -> u32 {
    debug_assert_eq!(index, 0, "WebAssembly 2.0 has one memory");
    data.memory
        .expect("validated: an active data segment needs a memory")
}

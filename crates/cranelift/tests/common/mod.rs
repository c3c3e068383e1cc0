//! A minimal runtime for compiled code, written from the contract of
//! `waven_environ::vm` alone: a store of instances with memories (whose
//! virtual tables leave page 1 to the slow path, and which move when they
//! grow), tables, globals, host functions and every libcall. Tests only:
//! everything is leaked or boxed for stable addresses, and nothing is
//! freed before the store.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ptr;
use std::sync::Arc;

use waven_cranelift::Compiler;
use waven_environ::code::{CompiledCode, MathFunc, RelocKind, RelocTarget};
use waven_environ::module::{ConstExpr, DataMode, ElementMode, ExternKind, ImportKind, ModuleInfo};
use waven_environ::vm::*;
use waven_environ::{FuncType, ValType};

/// The page the virtual tables leave to the slow path.
pub const HOLE_PAGE: usize = 1;
/// The depth limit of a store.
pub const DEPTH: u64 = 1000;
/// Memories never grow beyond this many Wasm pages here.
const MAX_PAGES: u64 = 1024;
/// Store function slots (the array must never move).
const MAX_STORE_FUNCS: usize = 1 << 16;

/// Compiled code mapped executable.
pub struct Code {
    ptr: *mut u8,
    len: usize,
}

impl Drop for Code {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `map_code`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

fn math_address(f: MathFunc) -> usize {
    match f {
        MathFunc::CeilF32 => ceil_f32 as *const () as usize,
        MathFunc::CeilF64 => ceil_f64 as *const () as usize,
        MathFunc::FloorF32 => floor_f32 as *const () as usize,
        MathFunc::FloorF64 => floor_f64 as *const () as usize,
        MathFunc::TruncF32 => trunc_f32 as *const () as usize,
        MathFunc::TruncF64 => trunc_f64 as *const () as usize,
        MathFunc::NearestF32 => nearest_f32 as *const () as usize,
        MathFunc::NearestF64 => nearest_f64 as *const () as usize,
        MathFunc::FmaF32 => fma_f32 as *const () as usize,
        MathFunc::FmaF64 => fma_f64 as *const () as usize,
    }
}

/// Maps `code` executable, applying its relocations.
pub fn map_code(code: &CompiledCode) -> Code {
    let len = code.text.len().next_multiple_of(4096).max(4096);
    // SAFETY: a fresh anonymous mapping, written before it is made
    // executable; relocations stay inside the text (slice indexing).
    unsafe {
        let ptr = libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(ptr, libc::MAP_FAILED);
        let text = std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len);
        text[..code.text.len()].copy_from_slice(&code.text);
        let base = ptr as usize;
        for reloc in &code.relocs {
            let target = match reloc.target {
                RelocTarget::Func(i) => base + code.funcs[i as usize].start as usize,
                RelocTarget::Math(f) => math_address(f),
            };
            let at = reloc.offset as usize;
            let value = (target as i64).wrapping_add(reloc.addend);
            match reloc.kind {
                RelocKind::X86PcRel4 => {
                    let rel = value.wrapping_sub((base + at) as i64);
                    let rel = i32::try_from(rel).expect("in range");
                    text[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
                RelocKind::Abs8 => text[at..at + 8].copy_from_slice(&value.to_le_bytes()),
                RelocKind::Arm64Call26 => panic!("not on x86-64"),
            }
        }
        assert_eq!(
            libc::mprotect(ptr, len, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        Code {
            ptr: ptr.cast(),
            len,
        }
    }
}

/// A host function: arguments in, results out of the value slots.
pub type HostFn = fn(&mut [VMVal]) -> Result<(), ()>;

/// A memory: its `VMMemory` first, so that the pointers are the same.
#[repr(C)]
pub struct Memory {
    pub vm: VMMemory,
    pub bytes: Vec<u8>,
    read_table: Vec<usize>,
    write_table: Vec<usize>,
    pub maximum: u64,
    pub safepoint: Box<VMSafepoint>,
}

impl Memory {
    fn new(pages: u64, maximum: Option<u64>) -> *mut Memory {
        let mut memory = Box::new(Memory {
            vm: VMMemory {
                read_table: ptr::null(),
                write_table: ptr::null(),
                table_pages: 0,
                base: ptr::null_mut(),
                bound: 0,
                safepoint: ptr::null(),
            },
            bytes: vec![0; (pages * 65536) as usize],
            read_table: Vec::new(),
            write_table: Vec::new(),
            maximum: maximum.unwrap_or(65536).min(MAX_PAGES),
            safepoint: Box::new(VMSafepoint {
                requested: 0,
                acked: 0,
            }),
        });
        memory.update();
        Box::into_raw(memory)
    }

    /// Rebuilds what compiled code reads after the bytes moved.
    fn update(&mut self) {
        let base = self.bytes.as_mut_ptr();
        let pages = self.bytes.len() / 4096;
        self.read_table = (0..pages)
            .map(|vpn| {
                if vpn == HOLE_PAGE {
                    0
                } else {
                    base as usize + vpn * 4096
                }
            })
            .collect();
        self.write_table = self.read_table.clone();
        self.vm = VMMemory {
            read_table: self.read_table.as_ptr(),
            write_table: self.write_table.as_ptr(),
            table_pages: pages as u64,
            base,
            bound: self.bytes.len() as u64,
            safepoint: &*self.safepoint,
        };
    }

    fn grow(&mut self, delta: u64) -> u64 {
        let old = self.bytes.len() as u64 / 65536;
        if delta > self.maximum || old + delta > self.maximum {
            return u64::MAX;
        }
        // A new vector: the memory moves, as it may in the runtime.
        let mut bytes = vec![0; ((old + delta) * 65536) as usize];
        bytes[..self.bytes.len()].copy_from_slice(&self.bytes);
        self.bytes = bytes;
        self.update();
        old
    }

    fn range(&self, at: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let end = at.checked_add(len)?;
        (end <= self.bytes.len() as u64).then_some(at as usize..end as usize)
    }
}

/// A table: its `VMTable` first.
#[repr(C)]
pub struct Table {
    pub vm: VMTable,
    pub elems: Vec<u64>,
    pub maximum: u64,
}

impl Table {
    fn new(len: u64, maximum: Option<u64>) -> *mut Table {
        let mut table = Box::new(Table {
            vm: VMTable {
                base: ptr::null_mut(),
                len: 0,
            },
            elems: vec![0; len as usize],
            maximum: maximum.unwrap_or(u64::from(u32::MAX)).min(1 << 20),
        });
        table.update();
        Box::into_raw(table)
    }

    fn update(&mut self) {
        self.vm = VMTable {
            base: self.elems.as_mut_ptr(),
            len: self.elems.len() as u64,
        };
    }

    fn range(&self, at: u32, len: u32) -> Option<std::ops::Range<usize>> {
        let end = u64::from(at) + u64::from(len);
        (end <= self.elems.len() as u64).then_some(at as usize..end as usize)
    }
}

/// An exported entity.
#[derive(Clone, Copy)]
pub enum Extern {
    Func(u32),
    Memory(*mut Memory),
    Table(*mut Table),
    Global(*mut VMGlobal, ValType),
}

/// The context compiled code sees, followed by the test's pointers.
#[repr(C)]
struct TestContext {
    ctx: VMContext,
    instance: *mut Instance,
    store: *mut Store,
}

/// One instance.
pub struct Instance {
    pub info: ModuleInfo,
    code: Code,
    compiled: CompiledCode,
    context: *mut TestContext,
    funcs: Vec<VMFuncRef>,
    memories: Vec<*mut VMMemory>,
    globals: Vec<*mut VMGlobal>,
    tables: Vec<*mut VMTable>,
    sig_ids: Vec<u32>,
    data: Vec<Option<Arc<[u8]>>>,
    elems: Vec<Vec<u64>>,
    pub exports: HashMap<String, Extern>,
}

/// A store of instances.
pub struct Store {
    pub runtime: Box<VMRuntime>,
    pub interrupt: Box<u8>,
    funcrefs: Vec<VMFuncRef>,
    /// By store index: the host function, or the instance and function
    /// index of a compiled one.
    owners: Vec<Owner>,
    types: Vec<FuncType>,
    libcalls: Vec<usize>,
    /// Boxed: contexts point to their instance, which must not move.
    #[allow(clippy::vec_box)]
    pub instances: Vec<Box<Instance>>,
    /// Named instances' exports (`register`).
    pub registered: HashMap<String, HashMap<String, Extern>>,
    /// A fixed `stack_limit` instead of 512 KiB below the caller's stack.
    pub stack_limit: Option<usize>,
}

enum Owner {
    Host(HostFn, FuncType),
    Wasm(usize, u32),
}

/// Why instantiation failed.
#[derive(Debug)]
pub enum InstantiateError {
    Link(String),
    Trap(u32),
}

/// The store behind a `vmctx`.
///
/// # Safety
///
/// `vmctx` must be a `TestContext` of a live store.
unsafe fn parts<'a>(vmctx: *mut VMContext) -> (&'a mut Store, &'a mut Instance) {
    let ctx = vmctx.cast::<TestContext>();
    unsafe { (&mut *(*ctx).store, &mut *(*ctx).instance) }
}

impl Store {
    pub fn new() -> Box<Store> {
        let mut libcalls = vec![0usize; Libcall::COUNT];
        let table: [(Libcall, usize); Libcall::COUNT] = [
            (Libcall::LoadSlow, load_slow as *const () as usize),
            (Libcall::StoreSlow, store_slow as *const () as usize),
            (Libcall::MemorySize, memory_size as *const () as usize),
            (Libcall::MemoryGrow, memory_grow as *const () as usize),
            (Libcall::MemoryFill, memory_fill as *const () as usize),
            (Libcall::MemoryCopy, memory_copy as *const () as usize),
            (Libcall::MemoryInit, memory_init as *const () as usize),
            (Libcall::DataDrop, data_drop as *const () as usize),
            (Libcall::MemoryDiscard, memory_discard as *const () as usize),
            (Libcall::TableGrow, table_grow as *const () as usize),
            (Libcall::TableFill, table_fill as *const () as usize),
            (Libcall::TableCopy, table_copy as *const () as usize),
            (Libcall::TableInit, table_init as *const () as usize),
            (Libcall::ElemDrop, elem_drop as *const () as usize),
            (Libcall::HostCall, host_call as *const () as usize),
            (Libcall::TrapFrame, trap_frame as *const () as usize),
        ];
        for (call, address) in table {
            libcalls[call as usize] = address;
        }
        let interrupt = Box::new(0u8);
        let mut store = Box::new(Store {
            runtime: Box::new(VMRuntime {
                fuel: u64::MAX,
                depth_left: DEPTH,
                stack_limit: 0,
                interrupt: &*interrupt,
                trap: 0,
                _pad: 0,
                funcrefs: ptr::null(),
                libcalls: ptr::null(),
            }),
            interrupt,
            funcrefs: Vec::with_capacity(MAX_STORE_FUNCS),
            owners: Vec::new(),
            types: Vec::new(),
            libcalls,
            instances: Vec::new(),
            registered: HashMap::new(),
            stack_limit: None,
        });
        store.runtime.funcrefs = store.funcrefs.as_ptr();
        store.runtime.libcalls = store.libcalls.as_ptr();
        store
    }

    fn sig_id(&mut self, ty: &FuncType) -> u32 {
        match self.types.iter().position(|t| t == ty) {
            Some(i) => i as u32,
            None => {
                self.types.push(ty.clone());
                self.types.len() as u32 - 1
            }
        }
    }

    fn push_func(&mut self, funcref: VMFuncRef, owner: Owner) -> u32 {
        assert!(self.funcrefs.len() < MAX_STORE_FUNCS);
        self.funcrefs.push(funcref);
        self.owners.push(owner);
        self.funcrefs.len() as u32 - 1
    }

    /// A host function of type `ty`.
    pub fn host_func(&mut self, ty: FuncType, f: HostFn) -> Extern {
        let sig = self.sig_id(&ty);
        let index = self.funcrefs.len() as u32;
        let funcref = VMFuncRef {
            code: ptr::null(),
            vmctx: ptr::null_mut(),
            sig,
            store_index: index,
        };
        Extern::Func(self.push_func(funcref, Owner::Host(f, ty)))
    }

    pub fn memory(&mut self, pages: u64, maximum: Option<u64>) -> Extern {
        Extern::Memory(Memory::new(pages, maximum))
    }

    pub fn table(&mut self, len: u64, maximum: Option<u64>) -> Extern {
        Extern::Table(Table::new(len, maximum))
    }

    pub fn global(&mut self, ty: ValType, bits: u64) -> Extern {
        Extern::Global(Box::into_raw(Box::new(VMGlobal { bits: [bits, 0] })), ty)
    }

    fn resolve(&self, module: &str, name: &str) -> Result<Extern, InstantiateError> {
        self.registered
            .get(module)
            .and_then(|exports| exports.get(name))
            .copied()
            .ok_or_else(|| InstantiateError::Link(format!("unknown import {module}.{name}")))
    }

    /// Compiles and instantiates `wasm`; returns the instance index.
    pub fn instantiate(
        &mut self,
        compiler: &Compiler,
        info: ModuleInfo,
    ) -> Result<usize, InstantiateError> {
        let compiled = compiler
            .compile(&info)
            .map_err(|e| InstantiateError::Link(e.to_string()))?;
        let code = map_code(&compiled);
        let index = self.instances.len();
        let context = Box::into_raw(Box::new(TestContext {
            ctx: VMContext {
                runtime: &mut *self.runtime,
                memory0: ptr::null_mut(),
                memories: ptr::null(),
                globals: ptr::null(),
                funcs: ptr::null(),
                tables: ptr::null(),
                sig_ids: ptr::null(),
            },
            instance: ptr::null_mut(),
            store: self,
        }));
        let mut funcs = Vec::new();
        let mut memories = Vec::new();
        let mut globals = Vec::new();
        let mut tables = Vec::new();
        for import in &info.imports {
            let ext = self.resolve(&import.module, &import.name)?;
            match (&import.kind, ext) {
                (ImportKind::Func(_), Extern::Func(f)) => funcs.push(self.funcrefs[f as usize]),
                (ImportKind::Memory(_), Extern::Memory(m)) => memories.push(m.cast()),
                (ImportKind::Table(_), Extern::Table(t)) => tables.push(t.cast()),
                (ImportKind::Global(_), Extern::Global(g, _)) => globals.push(g),
                _ => return Err(InstantiateError::Link("import kind".into())),
            }
        }
        let sig_ids: Vec<u32> = info.types.clone().iter().map(|t| self.sig_id(t)).collect();
        for (i, range) in compiled.funcs.iter().enumerate() {
            let f = info.num_imported_funcs + i as u32;
            let funcref = VMFuncRef {
                // SAFETY: inside the mapping.
                code: unsafe { code.ptr.add(range.start as usize) },
                vmctx: context.cast(),
                sig: sig_ids[info.funcs[f as usize] as usize],
                store_index: self.funcrefs.len() as u32,
            };
            self.push_func(funcref, Owner::Wasm(index, f));
            funcs.push(funcref);
        }
        for decl in &info.memories[memories.len()..] {
            memories.push(Memory::new(decl.initial, decl.maximum).cast());
        }
        for decl in &info.tables[tables.len()..] {
            tables.push(Table::new(decl.initial, decl.maximum).cast());
        }
        let mut instance = Box::new(Instance {
            code,
            compiled,
            context,
            funcs,
            memories,
            globals,
            tables,
            sig_ids,
            data: info.data.iter().map(|d| Some(d.bytes.clone())).collect(),
            elems: Vec::new(),
            exports: HashMap::new(),
            info,
        });
        let eval = |instance: &Instance, expr: ConstExpr| -> u64 {
            match expr {
                ConstExpr::I32(v) => u64::from(v as u32),
                ConstExpr::I64(v) => v as u64,
                ConstExpr::F32(v) => u64::from(v),
                ConstExpr::F64(v) => v,
                ConstExpr::RefNull(_) => 0,
                ConstExpr::RefFunc(f) => u64::from(instance.funcs[f as usize].store_index) + 1,
                // SAFETY: a global cell of this instance.
                ConstExpr::GlobalGet(g) => unsafe { (*instance.globals[g as usize]).bits[0] },
            }
        };
        for (i, &init) in instance.info.global_inits.clone().iter().enumerate() {
            let _ = i;
            let bits = eval(&instance, init);
            let cell = Box::into_raw(Box::new(VMGlobal { bits: [bits, 0] }));
            instance.globals.push(cell);
        }
        instance.elems = instance
            .info
            .elements
            .iter()
            .map(|e| e.items.iter().map(|&item| eval(&instance, item)).collect())
            .collect();
        let instance_ptr: *mut Instance = &mut *instance;
        // SAFETY: the context made above; the instance is boxed.
        unsafe {
            (*context).instance = instance_ptr;
            (*context).ctx.funcs = instance.funcs.as_ptr();
            (*context).ctx.memories = instance.memories.as_ptr();
            (*context).ctx.memory0 = instance
                .memories
                .first()
                .copied()
                .unwrap_or(ptr::null_mut());
            (*context).ctx.globals = instance.globals.as_ptr();
            (*context).ctx.tables = instance.tables.as_ptr();
            (*context).ctx.sig_ids = instance.sig_ids.as_ptr();
        }
        for export in &instance.info.exports {
            let i = export.index as usize;
            let ext = match export.kind {
                ExternKind::Func => Extern::Func(instance.funcs[i].store_index),
                ExternKind::Memory => Extern::Memory(instance.memories[i].cast()),
                ExternKind::Table => Extern::Table(instance.tables[i].cast()),
                ExternKind::Global => {
                    Extern::Global(instance.globals[i], instance.info.globals[i].ty)
                }
            };
            instance.exports.insert(export.name.clone(), ext);
        }
        // Keep the instance (and its code) even if a segment traps: the
        // elements written before stay callable.
        self.instances.push(instance);
        let instance = &mut self.instances[index];
        // Active segments (bounds checked per segment, in order).
        for (i, segment) in instance.info.elements.iter().enumerate() {
            match &segment.mode {
                ElementMode::Active { table, offset } => {
                    let at = eval(instance, *offset) as u32;
                    // SAFETY: a table of this instance.
                    let table = unsafe { &mut *instance.tables[*table as usize].cast::<Table>() };
                    let items = &instance.elems[i];
                    let Some(range) = table.range(at, items.len() as u32) else {
                        return Err(InstantiateError::Trap(TrapCode::TableOutOfBounds as u32));
                    };
                    table.elems[range].copy_from_slice(items);
                    instance.elems[i] = Vec::new();
                }
                ElementMode::Declared => instance.elems[i] = Vec::new(),
                ElementMode::Passive => {}
            }
        }
        for (i, segment) in instance.info.data.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &segment.mode {
                let at = eval(instance, *offset);
                // SAFETY: a memory of this instance.
                let memory = unsafe { &mut *instance.memories[*memory as usize].cast::<Memory>() };
                let Some(range) = memory.range(at, segment.bytes.len() as u64) else {
                    return Err(InstantiateError::Trap(TrapCode::MemoryOutOfBounds as u32));
                };
                memory.bytes[range].copy_from_slice(&segment.bytes);
                instance.data[i] = None;
            }
        }
        let start = instance.info.start;
        if let Some(start) = start {
            let store_index = self.instances[index].funcs[start as usize].store_index;
            self.call(store_index, &[])
                .map_err(InstantiateError::Trap)?;
        }
        Ok(index)
    }

    /// Calls store function `store_index` with raw argument bits; the
    /// result bits (masked to their width) or the trap code.
    pub fn call(&mut self, store_index: u32, args: &[u64]) -> Result<Vec<u64>, u32> {
        let (instance, func) = match self.owners[store_index as usize] {
            Owner::Wasm(instance, func) => (instance, func),
            Owner::Host(f, ref ty) => {
                let mut values = vec![VMVal::default(); ty.params().len().max(ty.results().len())];
                for (v, &a) in values.iter_mut().zip(args) {
                    v.bits[0] = a;
                }
                f(&mut values).map_err(|()| TrapCode::Host as u32)?;
                return Ok(values[..ty.results().len()]
                    .iter()
                    .map(|v| v.bits[0])
                    .collect());
            }
        };
        let instance = &self.instances[instance];
        let type_index = instance.info.funcs[func as usize];
        let ty = instance.info.types[type_index as usize].clone();
        assert_eq!(args.len(), ty.params().len());
        let mut values = vec![VMVal::default(); ty.params().len().max(ty.results().len()).max(1)];
        for (value, &arg) in values.iter_mut().zip(args) {
            value.bits = [arg, 0];
        }
        let funcref = self.funcrefs[store_index as usize];
        let trampoline = instance.compiled.trampolines[type_index as usize] as usize;
        let caller = instance.context;
        self.runtime.trap = 0;
        // Leave compiled code 512 KiB of this thread's stack.
        let here = 0u8;
        self.runtime.stack_limit = self
            .stack_limit
            .unwrap_or((&raw const here as usize).saturating_sub(512 << 10));
        // SAFETY: the trampoline of the function's type in the mapped code,
        // with the contexts built by `instantiate`.
        unsafe {
            let trampoline: EntryTrampoline =
                std::mem::transmute(instance.code.ptr.add(trampoline) as *const u8);
            trampoline(
                funcref.code,
                funcref.vmctx,
                caller.cast(),
                values.as_mut_ptr(),
            );
        }
        assert_eq!(self.runtime.depth_left, DEPTH, "depth restored");
        if self.runtime.trap != 0 {
            return Err(self.runtime.trap);
        }
        Ok(ty
            .results()
            .iter()
            .zip(&values)
            .map(|(t, v)| match t {
                ValType::I32 | ValType::F32 => v.bits[0] & 0xffff_ffff,
                _ => v.bits[0],
            })
            .collect())
    }

    /// The store index of function `func` of instance `instance`.
    pub fn func(&self, instance: usize, func: u32) -> u32 {
        self.instances[instance].funcs[func as usize].store_index
    }

    /// The type of store function `store_index`.
    pub fn func_type(&self, store_index: u32) -> FuncType {
        match self.owners[store_index as usize] {
            Owner::Host(_, ref ty) => ty.clone(),
            Owner::Wasm(instance, func) => self.instances[instance].info.func_type(func).clone(),
        }
    }
}

unsafe fn set_trap(vmctx: *mut VMContext, code: TrapCode) {
    let (store, _) = unsafe { parts(vmctx) };
    if store.runtime.trap == 0 {
        store.runtime.trap = code as u32;
    }
}

unsafe fn memory<'a>(vmctx: *mut VMContext, index: u32) -> &'a mut Memory {
    let (_, instance) = unsafe { parts(vmctx) };
    unsafe { &mut *instance.memories[index as usize].cast::<Memory>() }
}

unsafe fn table<'a>(vmctx: *mut VMContext, index: u32) -> &'a mut Table {
    let (_, instance) = unsafe { parts(vmctx) };
    unsafe { &mut *instance.tables[index as usize].cast::<Table>() }
}

unsafe extern "C" fn load_slow(vmctx: *mut VMContext, mem: u32, addr: u64, size: u32) -> u64 {
    let memory = unsafe { memory(vmctx, mem) };
    let Some(range) = memory.range(addr, u64::from(size)) else {
        unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) };
        return 0;
    };
    let mut bits = [0u8; 8];
    bits[..size as usize].copy_from_slice(&memory.bytes[range]);
    u64::from_le_bytes(bits)
}

unsafe extern "C" fn store_slow(vmctx: *mut VMContext, mem: u32, addr: u64, size: u32, value: u64) {
    let memory = unsafe { memory(vmctx, mem) };
    let Some(range) = memory.range(addr, u64::from(size)) else {
        unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) };
        return;
    };
    memory.bytes[range].copy_from_slice(&value.to_le_bytes()[..size as usize]);
}

unsafe extern "C" fn memory_size(vmctx: *mut VMContext, mem: u32) -> u64 {
    unsafe { memory(vmctx, mem) }.bytes.len() as u64 / 65536
}

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, mem: u32, delta: u64) -> u64 {
    unsafe { memory(vmctx, mem) }.grow(delta)
}

unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, mem: u32, dst: u64, value: u32, len: u64) {
    let memory = unsafe { memory(vmctx, mem) };
    match memory.range(dst, len) {
        Some(range) => memory.bytes[range].fill(value as u8),
        None => unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) },
    }
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    assert_eq!((dst_mem, src_mem), (0, 0));
    let memory = unsafe { memory(vmctx, dst_mem) };
    match (memory.range(dst, len), memory.range(src, len)) {
        (Some(d), Some(s)) => memory.bytes.copy_within(s, d.start),
        _ => unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) },
    }
}

unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    mem: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    let (_, instance) = unsafe { parts(vmctx) };
    let bytes: &[u8] = instance.data[data as usize].as_deref().unwrap_or(&[]);
    let memory = unsafe { memory(vmctx, mem) };
    let src_end = u64::from(src) + u64::from(len);
    match memory.range(dst, u64::from(len)) {
        Some(d) if src_end <= bytes.len() as u64 => {
            memory.bytes[d].copy_from_slice(&bytes[src as usize..src_end as usize])
        }
        _ => unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) },
    }
}

unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    let (_, instance) = unsafe { parts(vmctx) };
    instance.data[data as usize] = None;
}

unsafe extern "C" fn memory_discard(vmctx: *mut VMContext, mem: u32, addr: u64, len: u64) {
    let memory = unsafe { memory(vmctx, mem) };
    match memory.range(addr, len) {
        Some(range) => memory.bytes[range].fill(0),
        None => unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) },
    }
}

unsafe extern "C" fn table_grow(vmctx: *mut VMContext, t: u32, delta: u32, init: u64) -> u32 {
    let table = unsafe { table(vmctx, t) };
    let old = table.elems.len() as u64;
    if old + u64::from(delta) > table.maximum {
        return u32::MAX;
    }
    table.elems.resize((old + u64::from(delta)) as usize, init);
    table.update();
    old as u32
}

unsafe extern "C" fn table_fill(vmctx: *mut VMContext, t: u32, dst: u32, value: u64, len: u32) {
    let table = unsafe { table(vmctx, t) };
    match table.range(dst, len) {
        Some(range) => table.elems[range].fill(value),
        None => unsafe { set_trap(vmctx, TrapCode::TableOutOfBounds) },
    }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_t: u32,
    src_t: u32,
    dst: u32,
    src: u32,
    len: u32,
) {
    let src_table = unsafe { table(vmctx, src_t) };
    let Some(s) = src_table.range(src, len) else {
        unsafe { set_trap(vmctx, TrapCode::TableOutOfBounds) };
        return;
    };
    let items = src_table.elems[s].to_vec();
    let dst_table = unsafe { table(vmctx, dst_t) };
    match dst_table.range(dst, len) {
        Some(d) => dst_table.elems[d].copy_from_slice(&items),
        None => unsafe { set_trap(vmctx, TrapCode::TableOutOfBounds) },
    }
}

unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    t: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) {
    let (_, instance) = unsafe { parts(vmctx) };
    let items = instance.elems[elem as usize].clone();
    let table = unsafe { table(vmctx, t) };
    let src_end = u64::from(src) + u64::from(len);
    match table.range(dst, len) {
        Some(d) if src_end <= items.len() as u64 => {
            table.elems[d].copy_from_slice(&items[src as usize..src_end as usize])
        }
        _ => unsafe { set_trap(vmctx, TrapCode::TableOutOfBounds) },
    }
}

unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    let (_, instance) = unsafe { parts(vmctx) };
    instance.elems[elem as usize] = Vec::new();
}

/// Backtraces are the runtime's business: frames are not recorded here.
extern "C" fn trap_frame(_vmctx: *mut VMContext, _func: u32) {}

unsafe extern "C" fn host_call(vmctx: *mut VMContext, store_func: u32, values: *mut VMVal) {
    let (store, _) = unsafe { parts(vmctx) };
    let ty = store.func_type(store_func);
    let n = ty.params().len().max(ty.results().len());
    let args: Vec<u64> = (0..ty.params().len())
        // SAFETY: compiled code passes room for max(params, results).
        .map(|i| unsafe { (*values.add(i)).bits[0] })
        .collect();
    let _ = n;
    let Owner::Host(f, _) = store.owners[store_func as usize] else {
        // A Wasm function called as a host function: not in these tests.
        unsafe { set_trap(vmctx, TrapCode::Host) };
        return;
    };
    let mut slots = vec![VMVal::default(); n];
    for (slot, a) in slots.iter_mut().zip(args) {
        slot.bits[0] = a;
    }
    match f(&mut slots) {
        Ok(()) => {
            for (i, slot) in slots.iter().enumerate().take(ty.results().len()) {
                // SAFETY: as above.
                unsafe { *values.add(i) = *slot };
            }
        }
        Err(()) => unsafe { set_trap(vmctx, TrapCode::Host) },
    }
}

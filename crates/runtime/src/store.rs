//! The store: everything instances own (functions, memories, tables,
//! globals), and the handles the embedding API gives out for them.
//!
//! ```text
//!  Store<T> ── data: T (host state, reachable from host functions)
//!     └── StoreInner ── funcs[]      Wasm (instance, code) | Host (closure)
//!                    ├─ instances[]  index maps into the vectors below
//!                    ├─ memories[]   Virtual(AddressSpace) | Plain(PlainMemory)
//!                    ├─ tables[]     cells (0 = null, else index + 1)
//!                    ├─ globals[]    cells
//!                    └─ limits       StoreLimits, and the TableBudget that
//!                                    every table charges its elements to
//! ```
//!
//! Handles ([`Func`], [`Memory`], [`Table`], [`Global`], [`Instance`]) are
//! indices into one store; using a handle with another store is an error
//! the API cannot detect, as in other runtimes.

use std::collections::HashMap;
use std::sync::Arc;

use waven_mmu::{AddressSpace, MemoryFault, MemoryQuota, PlainMemory};

use crate::engine::{Engine, MemoryBackend};
use crate::error::{Error, Trap, TrapKind};
use crate::func::HostFunc;
use crate::interp::ir::CompiledFunc;
use crate::interrupt::InterruptHandle;
use crate::limits::{self, StoreLimit, StoreLimits, TableBudget};
use crate::module::Module;
use crate::value::{Func, FuncType, Val, ValType};
use crate::vm_box::VmBox;
use crate::vm_store::{InstanceVm, StoreVm};
use waven_environ::vm::{VMGlobal, VMMemory, VMTable};

/// Holds instances and their objects, plus host state `T`.
pub struct Store<T> {
    pub(crate) engine: Engine,
    data: T,
    pub(crate) inner: StoreInner<T>,
}

pub(crate) struct StoreInner<T> {
    pub(crate) funcs: Vec<FuncEntity<T>>,
    pub(crate) instances: Vec<InstanceEntity>,
    pub(crate) memories: Vec<MemoryEntity>,
    pub(crate) tables: Vec<TableEntity>,
    pub(crate) globals: Vec<GlobalEntity>,
    /// Fuel left, when the engine consumes fuel.
    pub(crate) fuel: u64,
    /// The value stack, kept between calls (taken by the running executor).
    pub(crate) stack: Vec<u64>,
    /// Stops running code and blocking host calls (deadline, shutdown).
    pub(crate) interrupt: InterruptHandle,
    /// The quota the frames of this store's virtual memories count against.
    pub(crate) memory_quota: Option<MemoryQuota>,
    /// What the store may hold.
    pub(crate) limits: StoreLimits,
    /// The elements of all `tables`, shared with each of them.
    pub(crate) table_budget: Arc<TableBudget>,
    /// What compiled code reads of the store.
    pub(crate) vm: StoreVm,
}

pub(crate) enum FuncEntity<T> {
    Wasm {
        ty: FuncType,
        instance: u32,
        code: Arc<CompiledFunc>,
    },
    Host {
        ty: FuncType,
        call: HostFunc<T>,
    },
    /// A function of a compiled module: defined function `defined` of
    /// instance `instance`'s module.
    Compiled {
        ty: FuncType,
        instance: u32,
        defined: u32,
    },
}

impl<T> FuncEntity<T> {
    pub(crate) fn ty(&self) -> &FuncType {
        match self {
            FuncEntity::Wasm { ty, .. }
            | FuncEntity::Host { ty, .. }
            | FuncEntity::Compiled { ty, .. } => ty,
        }
    }
}

/// What an instance refers to, by store index.
pub(crate) struct InstanceData {
    pub(crate) module: Module,
    pub(crate) funcs: Box<[u32]>,
    pub(crate) tables: Box<[u32]>,
    pub(crate) memory: Option<u32>,
    pub(crate) globals: Box<[u32]>,
    /// Function types by type index, for `call_indirect`.
    pub(crate) types: Box<[FuncType]>,
    pub(crate) exports: HashMap<String, Extern>,
}

pub(crate) struct InstanceEntity {
    pub(crate) data: Arc<InstanceData>,
    /// Element segments (cells); a dropped segment is empty.
    pub(crate) elems: Vec<Arc<[u64]>>,
    /// Data segments; a dropped segment is empty.
    pub(crate) datas: Vec<Arc<[u8]>>,
    /// The context compiled code runs with (compiled modules only).
    pub(crate) vm: Option<VmBox<InstanceVm>>,
}

pub(crate) struct MemoryEntity {
    pub(crate) backing: Backing,
    /// Where compiled code finds the memory (filled while it runs).
    pub(crate) vm: VmBox<VMMemory>,
    /// The declared maximum in Wasm pages (for import matching).
    pub(crate) maximum: Option<u64>,
}

pub(crate) enum Backing {
    Virtual(AddressSpace),
    Plain(PlainMemory),
    /// A plain memory lent to the running executor.
    Lent,
}

pub(crate) struct TableEntity {
    pub(crate) cells: Vec<u64>,
    /// Where compiled code finds `cells` (kept in step by `sync_vm`).
    pub(crate) vm: VmBox<VMTable>,
    pub(crate) element: ValType,
    pub(crate) maximum: Option<u64>,
    /// The store's count of table elements, which every grow is charged to.
    pub(crate) budget: Arc<TableBudget>,
}

/// The most entries a table may have.
pub(crate) const MAX_TABLE_ENTRIES: u64 = 10_000_000;

impl TableEntity {
    /// `table.grow`: the old size, or `None` if the table cannot grow.
    pub(crate) fn grow(&mut self, delta: u64, init: u64) -> Option<u64> {
        let old = self.cells.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.maximum.unwrap_or(u32::MAX as u64) || new > MAX_TABLE_ENTRIES {
            return None;
        }
        // Past the store's limit, or with a host heap that cannot hold the
        // entries, the grow fails (-1), as the spec allows, instead of
        // taking memory from other tenants or aborting the process.
        self.budget.charge(delta).ok()?;
        if self.cells.try_reserve_exact(delta as usize).is_err() {
            self.budget.refund(delta);
            return None;
        }
        self.cells.resize(new as usize, init);
        self.sync_vm();
        Some(old)
    }

    /// Points the compiled-code view at the cells (after they moved).
    pub(crate) fn sync_vm(&mut self) {
        let vm = self.vm.get_mut();
        vm.base = self.cells.as_mut_ptr();
        vm.len = self.cells.len() as u64;
    }
}

impl GlobalEntity {
    /// A global holding `cell`.
    pub(crate) fn new(cell: u64, ty: ValType, mutable: bool) -> GlobalEntity {
        GlobalEntity {
            vm: VmBox::new(VMGlobal { bits: [cell, 0] }),
            ty,
            mutable,
        }
    }

    /// The value's cell.
    pub(crate) fn cell(&self) -> u64 {
        self.vm.get().bits[0]
    }

    /// Sets the value's cell.
    pub(crate) fn set_cell(&mut self, cell: u64) {
        self.vm.get_mut().bits[0] = cell;
    }
}

pub(crate) struct GlobalEntity {
    /// The value as a cell, where compiled code reads and writes it.
    pub(crate) vm: VmBox<VMGlobal>,
    pub(crate) ty: ValType,
    pub(crate) mutable: bool,
}

/// An export or import: a function, table, memory or global of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
}

/// An instance of a module in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance(pub(crate) u32);

/// A linear memory in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory(pub(crate) u32);

/// A table in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table(pub(crate) u32);

/// A global in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global(pub(crate) u32);

impl<T> Store<T> {
    /// An empty store of `engine` holding host state `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let store = Store {
            engine: engine.clone(),
            data,
            inner: StoreInner {
                funcs: Vec::new(),
                instances: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                fuel: 0,
                stack: Vec::new(),
                interrupt: InterruptHandle::new(),
                memory_quota: None,
                limits: StoreLimits::default(),
                table_budget: Arc::new(TableBudget::new(StoreLimits::DEFAULT_TABLE_ELEMENTS)),
                vm: StoreVm::new(),
            },
        };
        store.inner.interrupt.attach(&store.inner.vm.doorbell);
        store
    }

    /// Sets what the store may hold from now on. Objects it already holds
    /// stay, even beyond the new limits; only new ones and growth are
    /// refused.
    pub fn set_limits(&mut self, limits: StoreLimits) {
        self.inner.limits = limits;
        self.inner.table_budget.set_limit(limits.table_elements);
    }

    /// What the store may hold.
    pub fn limits(&self) -> StoreLimits {
        self.inner.limits
    }

    /// Elements of all the store's tables together (what
    /// [`StoreLimits::table_elements`] bounds).
    pub fn table_elements(&self) -> u64 {
        self.inner.table_budget.used()
    }

    /// Checks that the store may take `tables` more tables holding
    /// `elements` elements, `memories` more memories and `instances` more
    /// instances.
    pub(crate) fn check_limits(
        &self,
        tables: u64,
        elements: u64,
        memories: u64,
        instances: u64,
    ) -> Result<(), Error> {
        let limits = &self.inner.limits;
        let inner = &self.inner;
        limits::check(
            StoreLimit::Instances,
            inner.instances.len() as u64,
            instances,
            limits.instances,
        )?;
        limits::check(
            StoreLimit::Memories,
            inner.memories.len() as u64,
            memories,
            limits.memories,
        )?;
        limits::check(
            StoreLimit::Tables,
            inner.tables.len() as u64,
            tables,
            limits.tables,
        )?;
        limits::check(
            StoreLimit::TableElements,
            inner.table_budget.used(),
            elements,
            limits.table_elements,
        )
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The host state.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The host state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Sets the fuel left for execution (when the engine consumes fuel).
    pub fn set_fuel(&mut self, fuel: u64) {
        self.inner.fuel = fuel;
    }

    /// Fuel left.
    pub fn fuel(&self) -> u64 {
        self.inner.fuel
    }

    /// The handle that stops this store (deadline, shutdown); blocking host
    /// calls wait through it.
    pub fn interrupt_handle(&self) -> &InterruptHandle {
        &self.inner.interrupt
    }

    /// Replaces the store's interrupt handle, for example with one that the
    /// platform also uses to stop the tenant's other stores.
    pub fn set_interrupt_handle(&mut self, handle: InterruptHandle) {
        handle.attach(&self.inner.vm.doorbell);
        self.inner.interrupt = handle;
    }

    /// Makes the frames of virtual memories created from now on (by
    /// instantiation and [`Memory::new`]) count against `quota`, which the
    /// store's tenant may share with other stores: instantiation fails and
    /// `memory.grow` returns -1 beyond it.
    pub fn set_memory_quota(&mut self, quota: MemoryQuota) {
        self.inner.memory_quota = Some(quota);
    }

    /// The memory quota, if one is set.
    pub fn memory_quota(&self) -> Option<&MemoryQuota> {
        self.inner.memory_quota.as_ref()
    }

    /// A new memory of this store's backend.
    pub(crate) fn alloc_memory(
        &mut self,
        initial: u64,
        maximum: Option<u64>,
    ) -> Result<Memory, Error> {
        self.check_limits(0, 0, 1, 0)?;
        // The engine's limit caps the maximum this memory can grow to.
        let declared = maximum;
        let maximum = match self.engine.config.max_memory_bytes {
            Some(limit) => {
                let pages = limit >> 16;
                if initial > pages {
                    return Err(Error::Limit(format!(
                        "a memory of {initial} Wasm pages exceeds the limit of {limit} bytes"
                    )));
                }
                Some(maximum.map_or(pages, |max| max.min(pages)))
            }
            None => maximum,
        };
        let backing = match self.engine.config.memory {
            MemoryBackend::Virtual => {
                let limits = waven_mmu::MemoryLimits::new(initial, maximum);
                let quota = self.inner.memory_quota.as_ref();
                Backing::Virtual(AddressSpace::with_quota(&self.engine.pool, limits, quota)?)
            }
            MemoryBackend::Plain => Backing::Plain(PlainMemory::new(initial, maximum)?),
        };
        self.inner.memories.push(MemoryEntity {
            backing,
            vm: crate::vm_store::empty_memory(),
            maximum: declared,
        });
        Ok(Memory(self.inner.memories.len() as u32 - 1))
    }
}

impl<T> Store<T> {
    /// Adds an existing address space as a memory of this store. The
    /// caller has checked [`StoreLimits::memories`].
    pub(crate) fn push_memory(&mut self, space: AddressSpace, maximum: Option<u64>) -> Memory {
        self.inner.memories.push(MemoryEntity {
            backing: Backing::Virtual(space),
            vm: crate::vm_store::empty_memory(),
            maximum,
        });
        Memory(self.inner.memories.len() as u32 - 1)
    }
}

impl Memory {
    /// A new memory of `initial` Wasm pages, growing to at most `maximum`.
    ///
    /// # Errors
    ///
    /// [`Error::Memory`] for invalid limits; [`Error::StoreLimit`] if the
    /// store holds [`StoreLimits::memories`] memories already.
    pub fn new<T>(
        store: &mut Store<T>,
        initial: u64,
        maximum: Option<u64>,
    ) -> Result<Memory, Error> {
        store.alloc_memory(initial, maximum)
    }

    fn backing<'a, T>(&self, store: &'a Store<T>) -> &'a Backing {
        &store.inner.memories[self.0 as usize].backing
    }

    /// `memory.size` in bytes.
    pub fn size_bytes<T>(&self, store: &Store<T>) -> u64 {
        match self.backing(store) {
            Backing::Virtual(space) => space.size_bytes(),
            Backing::Plain(plain) => plain.size_bytes(),
            Backing::Lent => 0,
        }
    }

    /// Current size and declared maximum in Wasm pages (import matching).
    pub(crate) fn limits<T>(&self, store: &Store<T>) -> (u64, Option<u64>) {
        let pages = self.size_bytes(store) >> 16;
        (pages, store.inner.memories[self.0 as usize].maximum)
    }

    /// `memory.grow` by `delta` Wasm pages: the old size in pages.
    ///
    /// # Errors
    ///
    /// [`Error::Memory`] if the memory cannot grow.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u64) -> Result<u64, Error> {
        Ok(match &mut store.inner.memories[self.0 as usize].backing {
            Backing::Virtual(space) => space.grow(delta)?,
            Backing::Plain(plain) => plain.grow(delta)?,
            Backing::Lent => return Err(Error::Limit("memory is in use".into())),
        })
    }

    /// Reads guest memory with the guest's rights.
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`] (as a trap) if any byte cannot be read.
    pub fn read<T>(&self, store: &Store<T>, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        match self.backing(store) {
            Backing::Virtual(space) => space.read_bytes(addr, buf)?,
            Backing::Plain(plain) => plain.read_bytes(addr, buf)?,
            Backing::Lent => return Err(lent()),
        }
        Ok(())
    }

    /// Writes guest memory with the guest's rights.
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`] (as a trap) if any byte cannot be written; nothing
    /// is written then.
    pub fn write<T>(&self, store: &mut Store<T>, addr: u64, data: &[u8]) -> Result<(), Trap> {
        match &mut store.inner.memories[self.0 as usize].backing {
            Backing::Virtual(space) => space.write_bytes(addr, data)?,
            Backing::Plain(plain) => plain.write_bytes(addr, data)?,
            Backing::Lent => return Err(lent()),
        }
        Ok(())
    }

    /// A view of the memory for host code, together with the host state
    /// (both borrowed from the store at once).
    pub fn view<'a, T>(&self, store: &'a mut Store<T>) -> (MemoryView<'a>, &'a mut T) {
        let backing = &mut store.inner.memories[self.0 as usize].backing;
        (MemoryView { backing }, &mut store.data)
    }

    /// The address space behind a virtual memory (`None` for plain memory).
    pub fn address_space<T>(&self, store: &Store<T>) -> Option<AddressSpace> {
        match self.backing(store) {
            Backing::Virtual(space) => Some(space.clone()),
            _ => None,
        }
    }
}

/// Guest memory as host code sees it, borrowed next to the host state
/// (see [`Memory::view`]). Every access goes through the guest's rights.
pub struct MemoryView<'a> {
    backing: &'a mut Backing,
}

impl MemoryView<'_> {
    /// `memory.size` in bytes.
    pub fn size_bytes(&self) -> u64 {
        match &*self.backing {
            Backing::Virtual(space) => space.size_bytes(),
            Backing::Plain(plain) => plain.size_bytes(),
            Backing::Lent => 0,
        }
    }

    /// Checks that `addr..addr + len` may be accessed, changing nothing.
    ///
    /// # Errors
    ///
    /// The fault the access would raise.
    pub fn check(&self, addr: u64, len: u64, access: waven_mmu::Access) -> Result<(), MemoryFault> {
        match &*self.backing {
            Backing::Virtual(space) => space.check_access(addr, len, access),
            Backing::Plain(plain) => plain.check_access(addr, len, access),
            Backing::Lent => Err(lent_fault(addr, access)),
        }
    }

    /// Makes the ranges (`(addr, len)` pairs) ready for writing, all or
    /// none, so that writes into them afterwards cannot run out of frames:
    /// on virtual memory every zero or copy-on-write page in them gets a
    /// frame of its own ([`AddressSpace::prepare_writes`]); plain memory
    /// only checks. Contents do not change. Host functions call it before
    /// a side effect, such as consuming input, that a failed write could
    /// not undo.
    ///
    /// # Errors
    ///
    /// The fault a write would raise (bounds, rights, frames); nothing
    /// changed then.
    pub fn prepare_writes(&mut self, ranges: &[(u64, u64)]) -> Result<(), MemoryFault> {
        match &mut *self.backing {
            Backing::Virtual(space) => space.prepare_writes(ranges),
            Backing::Plain(plain) => {
                ranges
                    .iter()
                    .filter(|(_, len)| *len > 0)
                    .try_for_each(|&(addr, len)| {
                        plain.check_access(addr, len, waven_mmu::Access::Write)
                    })
            }
            Backing::Lent => match ranges.iter().find(|(_, len)| *len > 0) {
                Some(&(addr, _)) => Err(lent_fault(addr, waven_mmu::Access::Write)),
                None => Ok(()),
            },
        }
    }

    /// Reads `buf.len()` bytes at `addr`.
    ///
    /// # Errors
    ///
    /// The fault, if any byte may not be read; `buf` is unchanged then.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryFault> {
        match &*self.backing {
            Backing::Virtual(space) => space.read_bytes(addr, buf),
            Backing::Plain(plain) => plain.read_bytes(addr, buf),
            Backing::Lent => Err(lent_fault(addr, waven_mmu::Access::Read)),
        }
    }

    /// Writes `data` at `addr`.
    ///
    /// # Errors
    ///
    /// The fault, if any byte may not be written; nothing is written then.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        match &mut *self.backing {
            Backing::Virtual(space) => space.write_bytes(addr, data),
            Backing::Plain(plain) => plain.write_bytes(addr, data),
            Backing::Lent => Err(lent_fault(addr, waven_mmu::Access::Write)),
        }
    }
}

fn lent_fault(addr: u64, access: waven_mmu::Access) -> MemoryFault {
    MemoryFault {
        addr,
        access,
        reason: waven_mmu::FaultReason::OutOfBounds,
    }
}

fn lent() -> Trap {
    Trap::from(TrapKind::Host("memory is in use by running code".into()))
}

impl Global {
    /// A new global holding `value`.
    pub fn new<T>(store: &mut Store<T>, value: Val, mutable: bool) -> Global {
        store
            .inner
            .globals
            .push(GlobalEntity::new(value.to_cell(), value.ty(), mutable));
        Global(store.inner.globals.len() as u32 - 1)
    }

    /// The global's value.
    pub fn get<T>(&self, store: &Store<T>) -> Val {
        let global = &store.inner.globals[self.0 as usize];
        Val::from_cell(global.ty, global.cell())
    }

    /// Sets a mutable global.
    ///
    /// # Errors
    ///
    /// [`Error::TypeMismatch`] if the global is immutable or the value of
    /// another type.
    pub fn set<T>(&self, store: &mut Store<T>, value: Val) -> Result<(), Error> {
        let global = &mut store.inner.globals[self.0 as usize];
        if !global.mutable || global.ty != value.ty() {
            return Err(Error::TypeMismatch(format!(
                "cannot set a {} global to {value:?}",
                if global.mutable {
                    "mutable"
                } else {
                    "immutable"
                }
            )));
        }
        global.set_cell(value.to_cell());
        Ok(())
    }

    /// The global's type and mutability.
    pub fn ty<T>(&self, store: &Store<T>) -> (ValType, bool) {
        let global = &store.inner.globals[self.0 as usize];
        (global.ty, global.mutable)
    }
}

impl Table {
    /// A new table of `initial` entries of `element` type, all `init`.
    ///
    /// # Errors
    ///
    /// [`Error::Limit`] if `initial` is too large; [`Error::StoreLimit`]
    /// if the store would exceed [`StoreLimits::tables`] or
    /// [`StoreLimits::table_elements`]; [`Error::TypeMismatch`] if `init`
    /// is not a reference of `element` type.
    pub fn new<T>(
        store: &mut Store<T>,
        element: ValType,
        initial: u64,
        maximum: Option<u64>,
        init: Val,
    ) -> Result<Table, Error> {
        if init.ty() != element {
            return Err(Error::TypeMismatch(format!(
                "{init:?} in a {element} table"
            )));
        }
        if initial > MAX_TABLE_ENTRIES {
            return Err(Error::Limit(format!("table of {initial} entries")));
        }
        store.check_limits(1, 0, 0, 0)?;
        let budget = Arc::clone(&store.inner.table_budget);
        budget.charge(initial)?;
        let mut cells = Vec::new();
        if cells.try_reserve_exact(initial as usize).is_err() {
            budget.refund(initial);
            return Err(Error::Limit(format!(
                "no host memory for a table of {initial} entries"
            )));
        }
        cells.resize(initial as usize, init.to_cell());
        let mut table = TableEntity {
            cells,
            vm: VmBox::new(VMTable {
                base: std::ptr::null_mut(),
                len: 0,
            }),
            element,
            maximum,
            budget,
        };
        table.sync_vm();
        store.inner.tables.push(table);
        Ok(Table(store.inner.tables.len() as u32 - 1))
    }

    /// Number of entries.
    pub fn size<T>(&self, store: &Store<T>) -> u64 {
        store.inner.tables[self.0 as usize].cells.len() as u64
    }

    /// Entry `index`, if in bounds.
    pub fn get<T>(&self, store: &Store<T>, index: u64) -> Option<Val> {
        let table = &store.inner.tables[self.0 as usize];
        let cell = *table.cells.get(usize::try_from(index).ok()?)?;
        Some(Val::from_cell(table.element, cell))
    }

    /// Sets entry `index`.
    ///
    /// # Errors
    ///
    /// [`Error::TypeMismatch`] if `value` is not a reference of the table's
    /// type; [`Error::Trap`] (out of bounds table access) if `index` is
    /// beyond the table.
    pub fn set<T>(&self, store: &mut Store<T>, index: u64, value: Val) -> Result<(), Error> {
        let table = &mut store.inner.tables[self.0 as usize];
        if value.ty() != table.element {
            return Err(Error::TypeMismatch(format!(
                "{value:?} in a {} table",
                table.element
            )));
        }
        let cell = usize::try_from(index)
            .ok()
            .and_then(|i| table.cells.get_mut(i))
            .ok_or(Trap::from(TrapKind::TableOutOfBounds))?;
        *cell = value.to_cell();
        Ok(())
    }

    /// Grows the table by `delta` entries set to `init`; returns the old
    /// size.
    ///
    /// # Errors
    ///
    /// [`Error::TypeMismatch`] for an `init` of another type;
    /// [`Error::StoreLimit`] beyond the store's
    /// [`StoreLimits::table_elements`]; [`Error::Limit`] beyond the
    /// table's maximum or the host heap.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u64, init: Val) -> Result<u64, Error> {
        // Checked here too, so that the host learns which limit it met.
        store.check_limits(0, delta, 0, 0)?;
        let table = &mut store.inner.tables[self.0 as usize];
        if init.ty() != table.element {
            return Err(Error::TypeMismatch(format!(
                "{init:?} in a {} table",
                table.element
            )));
        }
        table
            .grow(delta, init.to_cell())
            .ok_or_else(|| Error::Limit(format!("table cannot grow by {delta}")))
    }

    pub(crate) fn ty<T>(&self, store: &Store<T>) -> (ValType, u64, Option<u64>) {
        let table = &store.inner.tables[self.0 as usize];
        (table.element, table.cells.len() as u64, table.maximum)
    }
}

impl Instance {
    /// The export named `name`.
    pub fn get_export<T>(&self, store: &Store<T>, name: &str) -> Option<Extern> {
        store.inner.instances[self.0 as usize]
            .data
            .exports
            .get(name)
            .copied()
    }

    /// The exported function named `name`.
    pub fn get_func<T>(&self, store: &Store<T>, name: &str) -> Option<Func> {
        match self.get_export(store, name)? {
            Extern::Func(func) => Some(func),
            _ => None,
        }
    }

    /// The exported memory named `name`.
    pub fn get_memory<T>(&self, store: &Store<T>, name: &str) -> Option<Memory> {
        match self.get_export(store, name)? {
            Extern::Memory(memory) => Some(memory),
            _ => None,
        }
    }

    /// The exported global named `name`.
    pub fn get_global<T>(&self, store: &Store<T>, name: &str) -> Option<Global> {
        match self.get_export(store, name)? {
            Extern::Global(global) => Some(global),
            _ => None,
        }
    }

    /// The exported table named `name`.
    pub fn get_table<T>(&self, store: &Store<T>, name: &str) -> Option<Table> {
        match self.get_export(store, name)? {
            Extern::Table(table) => Some(table),
            _ => None,
        }
    }

    /// The instance's memory, if it has one.
    pub fn memory<T>(&self, store: &Store<T>) -> Option<Memory> {
        store.inner.instances[self.0 as usize]
            .data
            .memory
            .map(Memory)
    }

    /// The instance's module.
    pub fn module<T>(&self, store: &Store<T>) -> Module {
        store.inner.instances[self.0 as usize].data.module.clone()
    }
}

impl From<MemoryFault> for Error {
    fn from(fault: MemoryFault) -> Error {
        Error::Trap(fault.into())
    }
}

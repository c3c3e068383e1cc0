//! What a store keeps for compiled code (engine-neutral bookkeeping that
//! the compiled engine reads): the runtime block, one function reference
//! per store function, canonical signature ids, and the per-instance
//! contexts. See `waven_environ::vm` for the layouts.
//!
//! The interpreter never reads these; keeping them costs a few words per
//! object, so every store keeps them whatever its engine.

use std::collections::HashMap;
use std::sync::Arc;

use waven_mmu::Doorbell;

use waven_environ::vm::{VMContext, VMFuncRef, VMGlobal, VMMemory, VMRuntime, VMTable};

use crate::error::Trap;
use crate::value::FuncType;
use crate::vm_box::VmBox;

/// The store's runtime block: what compiled code reads (`vm`, first, so
/// that a `*mut VMRuntime` is a `*mut RuntimeBlock`), then what only the
/// runtime's libcalls use.
#[repr(C)]
pub(crate) struct RuntimeBlock {
    /// The block compiled code reads and writes.
    pub(crate) vm: VMRuntime,
    /// The running store (`*mut Store<T>`), set while compiled code runs.
    pub(crate) store: *mut (),
    /// The trap a libcall raised with [`waven_environ::vm::TrapCode::Host`].
    pub(crate) pending: Option<Trap>,
    /// The frames a pending trap left so far, innermost first: instance
    /// and function index (see `Libcall::TrapFrame`).
    pub(crate) trap_frames: Vec<(u32, u32)>,
    /// How many entries into compiled code are active (host calls can
    /// re-enter).
    pub(crate) entries: u32,
    /// The pins of the innermost active entry (a local of its frame), so
    /// that host calls can drop them and pin again.
    pub(crate) pins: *mut Vec<waven_mmu::Pinned>,
}

/// A context of an instance of a compiled module: the header compiled code
/// reads, then the arrays it points into.
#[repr(C)]
pub(crate) struct InstanceVm {
    /// What compiled code reads.
    pub(crate) header: VMContext,
    /// The instance's store index.
    pub(crate) instance: u32,
    pub(crate) memories: Box<[*mut VMMemory]>,
    pub(crate) globals: Box<[*mut VMGlobal]>,
    pub(crate) funcs: Box<[VMFuncRef]>,
    pub(crate) tables: Box<[*mut VMTable]>,
    pub(crate) sig_ids: Box<[u32]>,
}

/// The store's compiled-code bookkeeping.
pub(crate) struct StoreVm {
    /// The runtime block.
    pub(crate) runtime: VmBox<RuntimeBlock>,
    /// One reference per store function, by store index.
    pub(crate) funcrefs: Vec<VMFuncRef>,
    /// Canonical signature ids.
    signatures: HashMap<FuncType, u32>,
    /// Libcall addresses by `Libcall` discriminant (empty until the
    /// compiled engine fills it).
    pub(crate) libcalls: Box<[usize]>,
    /// The store's doorbell: the MMU rings it when it asks the store's
    /// pins for a shootdown, the interrupt handle when it stops the store;
    /// compiled code polls it at every safepoint.
    pub(crate) doorbell: Arc<Doorbell>,
}

// SAFETY: `funcrefs` holds addresses of compiled code (immutable, kept
// alive by the store's modules) and of the store's own contexts; they
// travel between threads with the store, used by one thread at a time.
unsafe impl Send for StoreVm {}

impl StoreVm {
    /// Empty bookkeeping.
    pub(crate) fn new() -> StoreVm {
        StoreVm {
            runtime: VmBox::new(RuntimeBlock {
                vm: VMRuntime {
                    fuel: 0,
                    depth_left: 0,
                    stack_limit: 0,
                    doorbell: std::ptr::null(),
                    trap: 0,
                    _pad: 0,
                    funcrefs: std::ptr::null(),
                    libcalls: std::ptr::null(),
                    slow_result: 0,
                },
                store: std::ptr::null_mut(),
                pending: None,
                trap_frames: Vec::new(),
                entries: 0,
                pins: std::ptr::null_mut(),
            }),
            funcrefs: Vec::new(),
            signatures: HashMap::new(),
            libcalls: Box::new([]),
            doorbell: Arc::new(Doorbell::new()),
        }
    }

    /// The canonical id of `ty` in this store.
    pub(crate) fn signature(&mut self, ty: &FuncType) -> u32 {
        let next = self.signatures.len() as u32;
        *self.signatures.entry(ty.clone()).or_insert(next)
    }

    /// Adds the reference of a new store function (a host function, or a
    /// compiled one whose code and context are filled in later).
    pub(crate) fn push_func(&mut self, ty: &FuncType, store_index: u32) {
        let sig = self.signature(ty);
        self.funcrefs.push(VMFuncRef {
            code: std::ptr::null(),
            vmctx: std::ptr::null_mut(),
            sig,
            store_index,
        });
    }
}

/// A memory's compiled-code view, empty until compiled code runs on it.
pub(crate) fn empty_memory() -> VmBox<VMMemory> {
    VmBox::new(VMMemory {
        directory: std::ptr::null(),
        base: std::ptr::null_mut(),
        bound: 0,
    })
}

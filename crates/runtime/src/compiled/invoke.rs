//! Entering compiled code from the host, and the memory activation that
//! surrounds it.
//!
//! While compiled code runs, every memory of the store is *active*: a
//! virtual memory is pinned (its tables and the pin's handshake words are
//! in its `VMMemory`), a plain memory has its bytes' address and size
//! there. Host calls deactivate them (dropping the pins, so that a
//! blocking host call never holds up another thread's revocation) and
//! activate them again afterwards, with fresh addresses.

use std::sync::Arc;

use waven_environ::vm::{EntryTrampoline, TrapCode, VMContext, VMVal};
use waven_mmu::Pinned;

use crate::error::{Trap, TrapKind};
use crate::func::Caller;
use crate::store::{Backing, FuncEntity, Store};
use crate::value::{Func, FuncType, Val};

// The table layout that compiled code assumes (`waven_environ::vm`) is the
// MMU's.
const _: () = {
    use waven_environ::vm as abi;
    assert!(1 << abi::TABLE_DIRECTORY_SHIFT == waven_mmu::LEAF_PAGES * waven_mmu::PAGE_SIZE);
    assert!(abi::TABLE_DIRECTORY_SHIFT == waven_mmu::DIRECTORY_SHIFT);
    assert!(abi::TABLE_LEAF_PAGES == waven_mmu::LEAF_PAGES as u64);
    assert!(abi::TABLE_LEAF_WRITE_OFFSET as usize == waven_mmu::LEAF_WRITE_OFFSET);
    // Every address of a 32-bit memory's access (below 2^33) has an entry.
    assert!(waven_mmu::DIRECTORY_ENTRIES << abi::TABLE_DIRECTORY_SHIFT == 1 << 33);
};

/// Bytes of native stack compiled code may use below the point where the
/// host first enters it; every function's prologue checks its frame
/// against this limit (`VMRuntime::stack_limit`).
const NATIVE_STACK_BUDGET: usize = 1 << 20;

/// Bytes of native stack beyond the budget for what runs below compiled
/// code without a check of its own: host functions, libcalls, the MMU's
/// slow path.
const HOST_STACK_HEADROOM: usize = 256 << 10;

/// Stack the outermost entry needs: when the calling thread has less left
/// (a small thread stack, a deep host), compiled code runs on a new stack
/// segment of this size instead, so that exhausting the budget is always
/// the explicit trap, never an overflow of the thread's stack.
const ENTRY_STACK: usize = NATIVE_STACK_BUDGET + HOST_STACK_HEADROOM;

/// The pins of the active virtual memories of one entry.
pub(crate) type Pins = Vec<Pinned>;

/// Calls `func` of a compiled store with `args` (type-checked), writing
/// its results.
pub(crate) fn invoke<T>(
    store: &mut Store<T>,
    func: Func,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    if store.inner.vm.runtime.get_mut().entries > 0 {
        // A host function called back: its stack is the outermost entry's.
        return invoke_here(store, func, args, results);
    }
    stacker::maybe_grow(ENTRY_STACK, ENTRY_STACK, || {
        invoke_here(store, func, args, results)
    })
}

/// [`invoke`] on the current stack, which has room for the entry.
fn invoke_here<T>(
    store: &mut Store<T>,
    func: Func,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let (ty, instance, defined) = match &store.inner.funcs[func.0 as usize] {
        FuncEntity::Compiled {
            ty,
            instance,
            defined,
        } => (ty.clone(), *instance, *defined),
        FuncEntity::Host { ty, call } => {
            let (ty, call) = (ty.clone(), call.clone());
            call(
                Caller {
                    store,
                    instance: None,
                },
                args,
                results,
            )?;
            return check_results(&ty, results);
        }
        FuncEntity::Wasm { .. } => {
            return Err(TrapKind::Host("interpreted code in a compiled store".into()).into())
        }
    };
    let data = store.inner.instances[instance as usize].data.clone();
    let module = &data.module.inner;
    let compiled = module
        .compiled
        .as_ref()
        .ok_or_else(|| Trap::from(TrapKind::Host("module has no compiled code".into())))?;
    let type_index = module.info.funcs[(module.info.num_imported_funcs + defined) as usize];
    let (Some(trampoline), Some(code)) = (
        compiled.code.trampoline_ptr(type_index),
        compiled.code.func_ptr(defined),
    ) else {
        return Err(TrapKind::Host("compiled code lacks a function".into()).into());
    };
    let vmctx = match &store.inner.instances[instance as usize].vm {
        Some(vm) => vm.as_ptr().cast::<VMContext>(),
        None => return Err(TrapKind::Host("instance has no context".into()).into()),
    };
    let mut values = vec![VMVal::default(); ty.params().len().max(ty.results().len())];
    for (slot, arg) in values.iter_mut().zip(args) {
        slot.bits[0] = arg.to_cell();
    }

    let mut pins = Pins::new();
    let saved = enter(store, &mut pins);
    // SAFETY: `trampoline` is the entry trampoline of `type_index` in
    // loaded, executable code, and `code` a function of that type in the
    // same code (the compiler emits both for the module; the loader
    // checked their offsets). `vmctx` is this instance's live context,
    // whose pointers all lead into `store`, which outlives the call and
    // which no Rust code touches while it runs except through the
    // runtime block's store pointer, set by `enter` (libcalls). `values`
    // has room for max(params, results) slots, as the trampoline needs.
    unsafe {
        let entry: EntryTrampoline = std::mem::transmute::<*const u8, EntryTrampoline>(trampoline);
        entry(code, vmctx, vmctx, values.as_mut_ptr());
    }
    let outcome = leave(store, &mut pins, saved);
    outcome?;
    for ((slot, value), ty) in results.iter_mut().zip(&values).zip(ty.results()) {
        *slot = Val::from_cell(*ty, value.bits[0]);
    }
    Ok(())
}

/// What an entry changes in the runtime block, to restore when it leaves.
pub(crate) struct Saved {
    store: *mut (),
    trap_frames: Vec<(u32, u32)>,
    pins: *mut Pins,
    depth_left: u64,
    stack_limit: usize,
}

/// Prepares the runtime block and activates the memories for an entry
/// into compiled code.
fn enter<T>(store: &mut Store<T>, pins: &mut Pins) -> Saved {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    let max_depth = store.engine.config.max_call_depth as u64;
    let store_ptr = std::ptr::from_mut(store).cast::<()>();
    let fuel = store.inner.fuel;
    let block = store.inner.vm.runtime.get_mut();
    let saved = Saved {
        store: block.store,
        trap_frames: std::mem::take(&mut block.trap_frames),
        pins: block.pins,
        depth_left: block.vm.depth_left,
        stack_limit: block.vm.stack_limit,
    };
    if block.entries == 0 {
        block.vm.depth_left = max_depth;
        block.vm.stack_limit = here.saturating_sub(NATIVE_STACK_BUDGET);
    }
    block.entries += 1;
    block.store = store_ptr;
    block.pins = std::ptr::from_mut(pins);
    block.vm.fuel = fuel;
    block.vm.trap = 0;
    block.pending = None;
    refresh(store);
    activate(store, pins);
    saved
}

/// Deactivates the memories and restores the runtime block after an entry;
/// the trap compiled code left, if any.
fn leave<T>(store: &mut Store<T>, pins: &mut Pins, saved: Saved) -> Result<(), Trap> {
    pins.clear();
    let block = store.inner.vm.runtime.get_mut();
    let code = std::mem::replace(&mut block.vm.trap, 0);
    let pending = block.pending.take();
    let frames = std::mem::replace(&mut block.trap_frames, saved.trap_frames);
    let fuel = block.vm.fuel;
    block.entries -= 1;
    block.store = saved.store;
    block.pins = saved.pins;
    block.vm.depth_left = saved.depth_left;
    block.vm.stack_limit = saved.stack_limit;
    store.inner.fuel = fuel;
    if code == 0 {
        return Ok(());
    }
    let mut trap = match (TrapCode::from_u32(code), pending) {
        (Some(TrapCode::Host), Some(trap)) => trap,
        (Some(code), _) => Trap::from(trap_kind(code)),
        (None, _) => Trap::from(TrapKind::Host(format!("unknown trap code {code}"))),
    };
    trap.backtrace = frames
        .iter()
        .map(|&(instance, func)| {
            let module = &store.inner.instances[instance as usize].data.module;
            match module.func_name(func) {
                Some(name) => name.to_string(),
                None => format!("func[{func}]"),
            }
        })
        .collect();
    Err(trap)
}

/// Points the runtime block at the store's current function references,
/// libcalls and doorbell (they may have moved since the last entry or
/// during a host call).
pub(crate) fn refresh<T>(store: &mut Store<T>) {
    if store.inner.vm.libcalls.is_empty() {
        store.inner.vm.libcalls = super::libcalls::table::<T>();
    }
    let doorbell = store.inner.vm.doorbell.as_ptr();
    let funcrefs = store.inner.vm.funcrefs.as_ptr();
    let libcalls = store.inner.vm.libcalls.as_ptr();
    let block = store.inner.vm.runtime.get_mut();
    block.vm.doorbell = doorbell;
    block.vm.funcrefs = funcrefs;
    block.vm.libcalls = libcalls;
}

/// Activates every memory of the store: pins virtual memories, and
/// records where each memory's bytes or tables are.
pub(crate) fn activate<T>(store: &mut Store<T>, pins: &mut Pins) {
    let doorbell = &store.inner.vm.doorbell;
    for memory in &mut store.inner.memories {
        let vm = memory.vm.get_mut();
        match &mut memory.backing {
            Backing::Virtual(space) => {
                // Shootdowns asked of this pin ring the store's doorbell,
                // which compiled code polls at its safepoints.
                let pin = space.pin_with_doorbell(Arc::clone(doorbell));
                let raw = pin.raw_translation();
                vm.directory = raw.directory;
                pins.push(pin);
            }
            Backing::Plain(plain) => {
                let (base, bound) = plain.raw_bytes();
                vm.base = base;
                vm.bound = bound;
            }
            Backing::Lent => {
                vm.base = std::ptr::null_mut();
                vm.bound = 0;
            }
        }
    }
}

/// The trap kind of a trap code.
fn trap_kind(code: TrapCode) -> TrapKind {
    match code {
        TrapCode::Unreachable => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::UndefinedElement => TrapKind::UndefinedElement,
        TrapCode::UninitializedElement => TrapKind::UninitializedElement,
        TrapCode::IndirectCallTypeMismatch => TrapKind::IndirectCallTypeMismatch,
        TrapCode::IntegerDivideByZero => TrapKind::IntegerDivideByZero,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::InvalidConversionToInteger => TrapKind::InvalidConversionToInteger,
        TrapCode::StackExhausted => TrapKind::CallStackExhausted,
        TrapCode::OutOfFuel => TrapKind::OutOfFuel,
        TrapCode::Interrupted => TrapKind::Interrupted,
        TrapCode::Host => TrapKind::Host("trap without its cause".into()),
    }
}

/// Checks that a host function filled its results with the right types.
pub(crate) fn check_results(ty: &FuncType, results: &[Val]) -> Result<(), Trap> {
    if results.iter().map(Val::ty).eq(ty.results().iter().copied()) {
        Ok(())
    } else {
        Err(TrapKind::Host(format!("host function returned {results:?} for type {ty}")).into())
    }
}

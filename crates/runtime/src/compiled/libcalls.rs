//! The runtime functions compiled code calls (`waven_environ::vm::Libcall`):
//! the MMU's slow path, memory and table operations, host calls, and the
//! math routines the code generator may need.
//!
//! Each libcall finds its store through the calling instance's context
//! (`vmctx` → runtime block → store), which the entry that is running set.
//! A failing libcall records the trap in the runtime block and returns 0;
//! compiled code tests the block after the call.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use waven_environ::vm::{Libcall, TrapCode, VMContext, VMVal};
use waven_mmu::Doorbell;

use crate::error::{Trap, TrapKind};
use crate::func::Caller;
use crate::interrupt::DOORBELL_INTERRUPT;
use crate::store::{Backing, FuncEntity, Instance, Store};
use crate::value::Val;
use crate::vm_store::{InstanceVm, RuntimeBlock};

use super::invoke::{activate, check_results, refresh};

/// The libcall table of stores with host state `T`, by discriminant.
pub(crate) fn table<T>() -> Box<[usize]> {
    let mut table = vec![0usize; Libcall::COUNT];
    let mut set = |call: Libcall, address: usize| table[call as usize] = address;
    set(Libcall::LoadSlow, load_slow::<T> as *const () as usize);
    set(Libcall::StoreSlow, store_slow::<T> as *const () as usize);
    set(Libcall::MemorySize, memory_size::<T> as *const () as usize);
    set(Libcall::MemoryGrow, memory_grow::<T> as *const () as usize);
    set(Libcall::MemoryFill, memory_fill::<T> as *const () as usize);
    set(Libcall::MemoryCopy, memory_copy::<T> as *const () as usize);
    set(Libcall::MemoryInit, memory_init::<T> as *const () as usize);
    set(Libcall::DataDrop, data_drop::<T> as *const () as usize);
    set(
        Libcall::MemoryDiscard,
        memory_discard::<T> as *const () as usize,
    );
    set(Libcall::TableGrow, table_grow::<T> as *const () as usize);
    set(Libcall::TableFill, table_fill::<T> as *const () as usize);
    set(Libcall::TableCopy, table_copy::<T> as *const () as usize);
    set(Libcall::TableInit, table_init::<T> as *const () as usize);
    set(Libcall::ElemDrop, elem_drop::<T> as *const () as usize);
    set(Libcall::HostCall, host_call::<T> as *const () as usize);
    set(Libcall::TrapFrame, trap_frame::<T> as *const () as usize);
    set(Libcall::Safepoint, safepoint::<T> as *const () as usize);
    table.into_boxed_slice()
}

/// The store and instance index of a libcall's caller.
///
/// # Safety
///
/// `vmctx` must be the context of an instance of a store with host state
/// `T` that is running compiled code now (an entry set the runtime block's
/// store pointer), on this thread.
unsafe fn caller<'a, T>(vmctx: *mut VMContext) -> (&'a mut Store<T>, u32) {
    // SAFETY: per the contract, `vmctx` is the header of a live
    // `InstanceVm` (repr(C), header first) and its runtime pointer the
    // header of the store's `RuntimeBlock` (repr(C), `vm` first). Only
    // plain fields are copied out before the store is borrowed.
    let (instance, block) = unsafe {
        let context = vmctx.cast::<InstanceVm>();
        (
            (*context).instance,
            (*context).header.runtime.cast::<RuntimeBlock>(),
        )
    };
    // SAFETY: the running entry set `store` to the `&mut Store<T>` it was
    // given and does not use that borrow until compiled code returns; the
    // compiled code calling us holds no Rust references.
    let store = unsafe { &mut *(*block).store.cast::<Store<T>>() };
    (store, instance)
}

/// Records `trap` as the pending trap of the running entry.
fn raise<T>(store: &mut Store<T>, trap: impl Into<Trap>) {
    let block = store.inner.vm.runtime.get_mut();
    if block.vm.trap == 0 {
        block.vm.trap = TrapCode::Host as u32;
        block.pending = Some(trap.into());
    }
}

/// The store index of the caller's memory `memory` (0: the only one).
fn memory_index<T>(store: &Store<T>, instance: u32, _memory: u32) -> Option<usize> {
    store.inner.instances[instance as usize]
        .data
        .memory
        .map(|m| m as usize)
}

/// Runs `op` on the caller's memory, raising its trap.
fn with_memory<T, R: Default>(
    vmctx: *mut VMContext,
    memory: u32,
    op: impl FnOnce(&mut Backing) -> Result<R, TrapKind>,
) -> R {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let Some(index) = memory_index(store, instance, memory) else {
        raise(store, TrapKind::MemoryOutOfBounds);
        return R::default();
    };
    let outcome = op(&mut store.inner.memories[index].backing);
    // A memory that moved (plain memory grew) is found anew.
    if let Backing::Plain(plain) = &mut store.inner.memories[index].backing {
        let (base, bound) = plain.raw_bytes();
        let vm = store.inner.memories[index].vm.get_mut();
        vm.base = base;
        vm.bound = bound;
    }
    match outcome {
        Ok(value) => value,
        Err(kind) => {
            raise(store, kind);
            R::default()
        }
    }
}

extern "C" fn load_slow<T>(vmctx: *mut VMContext, memory: u32, addr: u64, size: u32) -> u64 {
    with_memory::<T, u64>(vmctx, memory, |backing| {
        let mut bytes = [0u8; 8];
        let buf = &mut bytes[..(size as usize).min(8)];
        match backing {
            Backing::Virtual(space) => space.read_bytes(addr, buf)?,
            Backing::Plain(plain) => plain.read_bytes(addr, buf)?,
            Backing::Lent => return Err(TrapKind::MemoryOutOfBounds),
        }
        Ok(u64::from_le_bytes(bytes))
    })
}

extern "C" fn store_slow<T>(vmctx: *mut VMContext, memory: u32, addr: u64, size: u32, value: u64) {
    with_memory::<T, ()>(vmctx, memory, |backing| {
        let bytes = value.to_le_bytes();
        let data = &bytes[..(size as usize).min(8)];
        match backing {
            Backing::Virtual(space) => space.write_bytes(addr, data)?,
            Backing::Plain(plain) => plain.write_bytes(addr, data)?,
            Backing::Lent => return Err(TrapKind::MemoryOutOfBounds),
        }
        Ok(())
    })
}

extern "C" fn memory_size<T>(vmctx: *mut VMContext, memory: u32) -> u64 {
    with_memory::<T, u64>(vmctx, memory, |backing| {
        Ok(match backing {
            Backing::Virtual(space) => space.size_bytes() >> 16,
            Backing::Plain(plain) => plain.size_bytes() >> 16,
            Backing::Lent => 0,
        })
    })
}

extern "C" fn memory_grow<T>(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
    with_memory::<T, u64>(vmctx, memory, |backing| {
        let old = match backing {
            Backing::Virtual(space) => space.grow(delta).ok(),
            Backing::Plain(plain) => plain.grow(delta).ok(),
            Backing::Lent => None,
        };
        Ok(old.unwrap_or(u64::MAX))
    })
}

extern "C" fn memory_fill<T>(vmctx: *mut VMContext, memory: u32, dst: u64, value: u32, len: u64) {
    with_memory::<T, ()>(vmctx, memory, |backing| {
        match backing {
            Backing::Virtual(space) => space.fill(dst, value as u8, len)?,
            Backing::Plain(plain) => plain.fill(dst, value as u8, len)?,
            Backing::Lent => return Err(TrapKind::MemoryOutOfBounds),
        }
        Ok(())
    })
}

extern "C" fn memory_copy<T>(
    vmctx: *mut VMContext,
    _dst_memory: u32,
    src_memory: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    with_memory::<T, ()>(vmctx, src_memory, |backing| {
        match backing {
            Backing::Virtual(space) => space.copy_within(dst, src, len)?,
            Backing::Plain(plain) => plain.copy_within(dst, src, len)?,
            Backing::Lent => return Err(TrapKind::MemoryOutOfBounds),
        }
        Ok(())
    })
}

extern "C" fn memory_init<T>(
    vmctx: *mut VMContext,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let bytes = store.inner.instances[instance as usize].datas[data as usize].clone();
    let (src, len) = (src as u64, len as u64);
    if src + len > bytes.len() as u64 {
        raise(store, TrapKind::MemoryOutOfBounds);
        return;
    }
    let segment = &bytes[src as usize..(src + len) as usize];
    with_memory::<T, ()>(vmctx, memory, |backing| {
        let size = match backing {
            Backing::Virtual(space) => space.size_bytes(),
            Backing::Plain(plain) => plain.size_bytes(),
            Backing::Lent => 0,
        };
        if dst.checked_add(len).is_none_or(|end| end > size) {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        match backing {
            Backing::Virtual(space) => space.write_bytes(dst, segment)?,
            Backing::Plain(plain) => plain.write_bytes(dst, segment)?,
            Backing::Lent => return Err(TrapKind::MemoryOutOfBounds),
        }
        Ok(())
    })
}

extern "C" fn data_drop<T>(vmctx: *mut VMContext, data: u32) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    store.inner.instances[instance as usize].datas[data as usize] = Arc::new([]);
}

extern "C" fn memory_discard<T>(vmctx: *mut VMContext, memory: u32, addr: u64, len: u64) {
    with_memory::<T, ()>(vmctx, memory, |backing| match backing {
        Backing::Virtual(space) => space.discard(addr, len).map_err(|error| match error {
            waven_mmu::MmuError::Unaligned { .. } | waven_mmu::MmuError::OutOfRange { .. } => {
                TrapKind::MemoryOutOfBounds
            }
            other => TrapKind::Host(other.to_string()),
        }),
        Backing::Plain(plain) => {
            let page = waven_mmu::PAGE_SIZE as u64;
            if !addr.is_multiple_of(page) || !len.is_multiple_of(page) {
                return Err(TrapKind::MemoryOutOfBounds);
            }
            Ok(plain.fill(addr, 0, len)?)
        }
        Backing::Lent => Err(TrapKind::MemoryOutOfBounds),
    })
}

/// The store index of the caller's table `table`.
fn table_index<T>(store: &Store<T>, instance: u32, table: u32) -> usize {
    store.inner.instances[instance as usize].data.tables[table as usize] as usize
}

extern "C" fn table_grow<T>(vmctx: *mut VMContext, table: u32, delta: u32, init: u64) -> u32 {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let t = table_index(store, instance, table);
    store.inner.tables[t]
        .grow(delta as u64, init)
        .map_or(u32::MAX, |old| old as u32)
}

extern "C" fn table_fill<T>(vmctx: *mut VMContext, table: u32, dst: u32, value: u64, len: u32) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let t = table_index(store, instance, table);
    let cells = &mut store.inner.tables[t].cells;
    let (d, n) = (dst as usize, len as usize);
    match d.checked_add(n).filter(|&end| end <= cells.len()) {
        Some(end) => cells[d..end].fill(value),
        None => raise(store, TrapKind::TableOutOfBounds),
    }
}

extern "C" fn table_copy<T>(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u32,
    src: u32,
    len: u32,
) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let (dt, st) = (
        table_index(store, instance, dst_table),
        table_index(store, instance, src_table),
    );
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    let tables = &mut store.inner.tables;
    if d + n > tables[dt].cells.len() || s + n > tables[st].cells.len() {
        raise(store, TrapKind::TableOutOfBounds);
        return;
    }
    if dt == st {
        tables[dt].cells.copy_within(s..s + n, d);
    } else {
        let items: Vec<u64> = tables[st].cells[s..s + n].to_vec();
        tables[dt].cells[d..d + n].copy_from_slice(&items);
    }
}

extern "C" fn table_init<T>(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let t = table_index(store, instance, table);
    let items = store.inner.instances[instance as usize].elems[elem as usize].clone();
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    let cells = &mut store.inner.tables[t].cells;
    if s + n > items.len() || d + n > cells.len() {
        raise(store, TrapKind::TableOutOfBounds);
        return;
    }
    cells[d..d + n].copy_from_slice(&items[s..s + n]);
}

extern "C" fn elem_drop<T>(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    store.inner.instances[instance as usize].elems[elem as usize] = Arc::new([]);
}

extern "C" fn host_call<T>(vmctx: *mut VMContext, store_func: u32, values: *mut VMVal) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let FuncEntity::Host { ty, call } = &store.inner.funcs[store_func as usize] else {
        raise(store, TrapKind::Host("host call of a Wasm function".into()));
        return;
    };
    let (ty, call) = (ty.clone(), call.clone());
    let slots = ty.params().len().max(ty.results().len());
    // SAFETY: compiled code passes an array of max(params, results) slots
    // for this function's type, live for the call.
    let values = unsafe { std::slice::from_raw_parts_mut(values, slots) };
    let args: Vec<Val> = ty
        .params()
        .iter()
        .zip(values.iter())
        .map(|(&t, slot)| Val::from_cell(t, slot.bits[0]))
        .collect();
    let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for(t)).collect();
    // Memories are given back for the call: a host function may block, or
    // revoke, or grow; compiled code finds them anew afterwards.
    let block = store.inner.vm.runtime.get_mut();
    let pins = block.pins;
    store.inner.fuel = block.vm.fuel;
    // SAFETY: `pins` points at the running entry's pin list (a local of its
    // frame, below us on this thread's stack); nothing else uses it now.
    unsafe { (*pins).clear() };
    let outcome = call(
        Caller {
            store: &mut *store,
            instance: Some(Instance(instance)),
        },
        &args,
        &mut results,
    );
    refresh(store);
    // SAFETY: as above.
    activate(store, unsafe { &mut *pins });
    let fuel = store.inner.fuel;
    store.inner.vm.runtime.get_mut().vm.fuel = fuel;
    match outcome.and_then(|()| check_results(&ty, &results)) {
        Ok(()) => {
            for (slot, value) in values.iter_mut().zip(&results) {
                slot.bits = [value.to_cell(), 0];
            }
        }
        Err(trap) => raise(store, trap),
    }
}

/// The most frames a trap's backtrace keeps.
const MAX_TRAP_FRAMES: usize = 64;

extern "C" fn trap_frame<T>(vmctx: *mut VMContext, func: u32) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, instance) = unsafe { caller::<T>(vmctx) };
    let frames = &mut store.inner.vm.runtime.get_mut().trap_frames;
    if frames.len() < MAX_TRAP_FRAMES {
        frames.push((instance, func));
    }
}

/// The store's doorbell rang at a safepoint of compiled code: acknowledges
/// the shootdowns asked of the running entry's pins, then traps if the
/// store was interrupted.
extern "C" fn safepoint<T>(vmctx: *mut VMContext) {
    // SAFETY: libcalls are called only by compiled code of a running entry.
    let (store, _) = unsafe { caller::<T>(vmctx) };
    let doorbell = Arc::clone(&store.inner.vm.doorbell);
    // Cleared before the acknowledgement: a shootdown whose ring this
    // clears asked before it, so the acknowledgement below covers it; a
    // later ring stays for the next safepoint (`waven_mmu::Doorbell`).
    doorbell.take(Doorbell::SHOOTDOWN);
    let pins = store.inner.vm.runtime.get_mut().pins;
    // SAFETY: `pins` points at the running entry's pin list (a local of its
    // frame, below us on this thread's stack); nothing else uses it now.
    for pin in unsafe { &*pins } {
        pin.safepoint();
    }
    if !store.inner.interrupt.flag().load(Ordering::SeqCst) {
        // A ring of an interrupt handle this store no longer uses: cleared,
        // unless the current handle interrupts meanwhile (its flag is set
        // before its ring, so the second test sees it).
        doorbell.take(DOORBELL_INTERRUPT);
        if !store.inner.interrupt.flag().load(Ordering::SeqCst) {
            return;
        }
        doorbell.ring(DOORBELL_INTERRUPT);
    }
    raise(store, TrapKind::Interrupted);
}

/// `f32::ceil` for compiled code.
pub(crate) extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
/// `f64::ceil` for compiled code.
pub(crate) extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
/// `f32::floor` for compiled code.
pub(crate) extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
/// `f64::floor` for compiled code.
pub(crate) extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
/// `f32::trunc` for compiled code.
pub(crate) extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
/// `f64::trunc` for compiled code.
pub(crate) extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
/// Round to nearest, ties to even, for compiled code.
pub(crate) extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
/// Round to nearest, ties to even, for compiled code.
pub(crate) extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
/// Fused multiply-add for compiled code.
pub(crate) extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
/// Fused multiply-add for compiled code.
pub(crate) extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

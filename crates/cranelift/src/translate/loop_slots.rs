//! The stack slots in which accesses in loops keep their translation from
//! one pass to the next (the access itself is `slotted_access` in
//! `memory.rs`; which accesses qualify, `streams.rs`; the protocol,
//! docs/ARCHITECTURE.md).
//!
//! Each access of a loop nest that qualifies owns one slot while the nest
//! runs. Entering the nest's outermost loop voids them all, and so does
//! every call, libcall and slow-path stub inside the nest, before any
//! later access.

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    InstBuilder, MemFlagsData, StackSlot, StackSlotData, StackSlotKind, Value,
};
use waven_environ::code::MemoryLowering;

use super::{FrameKind, FuncTranslator};

/// The bytes of a slot: the guest address of the page negated (so that
/// an access finds its offset in the page with one addition), then its
/// table entry.
const SLOT_BYTES: u32 = 16;

/// The negated page address of a void slot: no effective address (below
/// 2^34) plus it lies in a page (the sum is at least 2^63, unsigned).
const VOID_PAGE_BASE: i64 = i64::MIN;

/// The open outermost loop, if its accesses own slots.
#[derive(Clone, Copy)]
pub(super) struct SlotNest {
    /// The number of open blocks outside the loop.
    outside: usize,
    /// Slots `0..count` belong to the nest; accesses took `used` so far.
    count: usize,
    used: usize,
}

impl FuncTranslator<'_> {
    /// At a `loop`: if it is outermost, the slots of its nest, void.
    pub(super) fn enter_loop_slots(&mut self) {
        if self.settings.memory != MemoryLowering::Virtual
            || self
                .frames
                .iter()
                .any(|frame| matches!(frame.kind, FrameKind::Loop { .. }))
        {
            return;
        }
        let count = self
            .slot_nests
            .binary_search_by_key(&self.position, |&(at, _)| at)
            .map_or(0, |i| self.slot_nests[i].1 as usize);
        if count == 0 {
            return;
        }
        while self.loop_slots.len() < count {
            let slot = self.b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                SLOT_BYTES,
                3,
            ));
            self.loop_slots.push(slot);
        }
        self.slot_nest = Some(SlotNest {
            outside: self.frames.len(),
            count,
            used: 0,
        });
        self.void_loop_slots();
    }

    /// After an `end`: the nest's slots are no longer in use once its
    /// outermost loop is closed.
    pub(super) fn leave_loop_slots(&mut self) {
        if self
            .slot_nest
            .is_some_and(|nest| self.frames.len() <= nest.outside)
        {
            self.slot_nest = None;
        }
    }

    /// A slot for the access being translated, if it qualifies and its
    /// nest has one left.
    pub(super) fn take_loop_slot(&mut self) -> Option<StackSlot> {
        if self.loop_sites.binary_search(&self.position).is_err() {
            return None;
        }
        let nest = self.slot_nest.as_mut()?;
        if nest.used == nest.count {
            return None;
        }
        nest.used += 1;
        Some(self.loop_slots[nest.used - 1])
    }

    /// After a call or slow path, which may have changed the tables, and
    /// at the nest's entry: every slot of the open nest is void.
    pub(super) fn void_loop_slots(&mut self) {
        let Some(nest) = self.slot_nest else { return };
        let void = self.b.ins().iconst(I64, VOID_PAGE_BASE);
        let flags = self.slot_flags();
        for &slot in &self.loop_slots[..nest.count] {
            let addr = self.b.ins().stack_addr(I64, slot, 0);
            self.b.ins().store(flags, void, addr, 0);
        }
    }

    fn slot_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.regions.loop_slots))
    }

    /// Loads the `i64` at `offset` of `slot`.
    pub(super) fn slot_load(&mut self, slot: StackSlot, offset: i32) -> Value {
        let flags = self.slot_flags();
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        self.b.ins().load(I64, flags, addr, offset)
    }

    /// Stores `value` at `offset` of `slot`.
    pub(super) fn slot_store(&mut self, value: Value, slot: StackSlot, offset: i32) {
        let flags = self.slot_flags();
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        self.b.ins().store(flags, value, addr, offset);
    }
}

//! The value stack and access to the current frame's slots.
//!
//! This is the interpreter's only `unsafe`: slot reads and writes without
//! bounds checks. They are sound because of two checks made elsewhere:
//!
//! * [`verify`](super::verify) proves, once per function at load time, that
//!   every slot an instruction names is below the function's `max_slots`;
//! * [`ValueStack::frame`] hands out a [`FramePtr`] only if the frame's
//!   `max_slots` cells fit in the stack, and the stack is never resized
//!   while execution runs.

use crate::interp::ir::Slot;

/// The cells of all frames of one execution.
pub(crate) struct ValueStack {
    cells: Box<[u64]>,
}

impl ValueStack {
    /// A stack of `len` cells, reusing `cells` if they are enough; `None`
    /// if the host heap cannot hold a new one.
    pub(crate) fn new(cells: Vec<u64>, len: usize) -> Option<ValueStack> {
        let cells = if cells.len() >= len {
            cells
        } else {
            // Zeroed by the allocator, so that with the system allocator
            // its pages cost nothing until a deep call touches them.
            let mut fresh = Vec::new();
            fresh.try_reserve_exact(len).ok()?;
            fresh.resize(len, 0);
            fresh
        };
        Some(ValueStack {
            cells: cells.into_boxed_slice(),
        })
    }

    /// Gives the cells back for reuse.
    pub(crate) fn into_vec(self) -> Vec<u64> {
        self.cells.into_vec()
    }

    /// The frame of `max_slots` cells from `base`, if it fits.
    pub(crate) fn frame(&mut self, base: usize, max_slots: u32) -> Option<FramePtr> {
        let end = base.checked_add(max_slots as usize)?;
        if end > self.cells.len() {
            return None;
        }
        Some(FramePtr {
            // In bounds: checked above.
            ptr: self.cells[base..end].as_mut_ptr(),
        })
    }

    /// The cells `from..from + len` (for arguments and results).
    pub(crate) fn cells(&mut self, from: usize, len: usize) -> &mut [u64] {
        &mut self.cells[from..from + len]
    }
}

/// The slots of one frame.
#[derive(Clone, Copy)]
pub(crate) struct FramePtr {
    ptr: *mut u64,
}

impl FramePtr {
    /// The cell of `slot`.
    #[inline(always)]
    pub(crate) fn get(self, slot: Slot) -> u64 {
        // SAFETY: `slot < max_slots` of the running function (verified at
        // load time), and the frame's `max_slots` cells lie inside the
        // value stack, which outlives the execution and is not resized
        // (see the module documentation).
        unsafe { *self.ptr.add(slot as usize) }
    }

    /// Sets the cell of `slot`.
    #[inline(always)]
    pub(crate) fn set(self, slot: Slot, value: u64) {
        // SAFETY: as in `get`.
        unsafe { *self.ptr.add(slot as usize) = value }
    }
}

//! The value stack and access to the current frame's slots.
//!
//! This is the interpreter's only `unsafe`: slot reads and writes without
//! bounds checks. They are sound because of two checks made elsewhere:
//!
//! * [`verify`](super::verify) proves, once per function at load time, that
//!   every slot an instruction names is below the function's `max_slots`;
//! * [`ValueStack::frame`] and [`ValueStack::enter`] hand out a
//!   [`FramePtr`] only if the frame's `max_slots` cells fit in the stack;
//! * the stack is resized only by [`ValueStack::enter`], when a call enters
//!   a function: the executor then replaces its only `FramePtr` (the
//!   caller's) by the callee's, and derives the caller's again from its
//!   base when the call returns, so no `FramePtr` outlives a resize.
//!
//! The stack starts small and doubles as calls need it, up to the
//! engine's `max_stack_cells`: an instance that never recurses deeply
//! keeps 64 KiB of host heap for it, not the 8 MiB of the limit (a
//! thousand tenants of an enclave share one fixed heap).

use crate::error::TrapKind;
use crate::interp::ir::Slot;

/// Cells a new stack starts with (64 KiB), if the limit allows as many.
const INITIAL_CELLS: usize = 8 << 10;

/// The cells of all frames of one execution.
pub(crate) struct ValueStack {
    cells: Box<[u64]>,
    /// The most cells the stack may grow to.
    max: usize,
}

impl ValueStack {
    /// A stack that may grow to `max` cells, reusing `cells` if there are
    /// any (and no more than `max`); `None` if the host heap cannot hold a
    /// new one.
    pub(crate) fn new(cells: Vec<u64>, max: usize) -> Option<ValueStack> {
        let cells = if !cells.is_empty() && cells.len() <= max {
            cells
        } else {
            zeroed(max.min(INITIAL_CELLS))?
        };
        Some(ValueStack {
            cells: cells.into_boxed_slice(),
            max,
        })
    }

    /// The frame of a function entered with `max_slots` cells from
    /// `base`, growing the stack (to twice its size or more, at most the
    /// limit) if they do not fit. Every `FramePtr` handed out before is
    /// invalid afterwards (see the module documentation).
    ///
    /// # Errors
    ///
    /// [`TrapKind::CallStackExhausted`] beyond the limit, a host trap if
    /// the host heap cannot hold the larger stack.
    #[inline]
    pub(crate) fn enter(&mut self, base: usize, max_slots: u32) -> Result<FramePtr, TrapKind> {
        if let Some(frame) = self.frame(base, max_slots) {
            return Ok(frame);
        }
        self.grow(base, max_slots)
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, base: usize, max_slots: u32) -> Result<FramePtr, TrapKind> {
        let end = base
            .checked_add(max_slots as usize)
            .filter(|&end| end <= self.max)
            .ok_or(TrapKind::CallStackExhausted)?;
        let len = end.max(self.cells.len().saturating_mul(2)).min(self.max);
        let Some(mut cells) = zeroed(len) else {
            return Err(TrapKind::Host(format!(
                "no host memory to grow the value stack to {} bytes",
                len.saturating_mul(8)
            )));
        };
        cells[..self.cells.len()].copy_from_slice(&self.cells);
        self.cells = cells.into_boxed_slice();
        self.frame(base, max_slots)
            .ok_or(TrapKind::CallStackExhausted)
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

/// `len` zeroed cells, or `None` if the host heap cannot hold them.
fn zeroed(len: usize) -> Option<Vec<u64>> {
    let mut cells = Vec::new();
    cells.try_reserve_exact(len).ok()?;
    cells.resize(len, 0);
    Some(cells)
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
        // while this `FramePtr` is in use (see the module documentation).
        unsafe { *self.ptr.add(slot as usize) }
    }

    /// Sets the cell of `slot`.
    #[inline(always)]
    pub(crate) fn set(self, slot: Slot, value: u64) {
        // SAFETY: as in `get`.
        unsafe { *self.ptr.add(slot as usize) = value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_grows_on_entry_and_keeps_its_cells() {
        let mut stack = ValueStack::new(Vec::new(), 100_000).unwrap();
        assert_eq!(stack.cells.len(), INITIAL_CELLS);
        stack.enter(0, 4).unwrap().set(3, 77);
        // A frame beyond the initial cells doubles the stack.
        stack.enter(INITIAL_CELLS, 10).unwrap().set(9, 5);
        assert_eq!(stack.cells.len(), 2 * INITIAL_CELLS);
        assert_eq!(stack.frame(0, 4).unwrap().get(3), 77, "copied");
        // One far beyond grows to what it needs, at most the limit.
        stack.enter(90_000, 10).unwrap();
        assert_eq!(stack.cells.len(), 90_010);
        stack.enter(99_990, 10).unwrap();
        assert_eq!(stack.cells.len(), 100_000);
        assert!(matches!(
            stack.enter(99_991, 10),
            Err(TrapKind::CallStackExhausted)
        ));
        assert!(matches!(
            stack.enter(usize::MAX, 10),
            Err(TrapKind::CallStackExhausted)
        ));
        // Reused as it is by the next execution.
        let stack = ValueStack::new(stack.into_vec(), 100_000).unwrap();
        assert_eq!(stack.cells.len(), 100_000);
        // A limit below the initial size is the size.
        let small = ValueStack::new(Vec::new(), 16).unwrap();
        assert_eq!(small.cells.len(), 16);
    }
}

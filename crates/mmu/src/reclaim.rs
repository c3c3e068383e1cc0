//! When a frame reference dropped by an address space may really be dropped.
//!
//! Accesses on the fast path read a table entry and then touch the frame
//! without taking a lock. Another thread may meanwhile clear that entry
//! (revoke, unmap, protect, copy-on-write). The frame must not be released
//! to the pool, zeroed and reused while such an access is in flight.
//!
//! The protocol, per address space:
//!
//! * A thread that accesses through the tables first *pins* the space
//!   (`readers += 1`, then a SeqCst fence) and unpins when done
//!   (`readers -= 1`, fence, then it looks at `pending`).
//! * A mutator (always holding the space's state lock) first clears or
//!   changes the entries, then puts the references it drops into the
//!   space's *limbo* instead of releasing them, sets `pending`, issues a
//!   SeqCst fence and reads `readers`. If it reads 0 it releases the limbo.
//! * An unpin that brings `readers` to 0 and sees `pending` takes the state
//!   lock and releases the limbo if `readers` is still 0.
//!
//! Why it is sound: both sides write, fence, then read the other's word
//! (the store-buffering pattern), so at least one of them sees the other.
//! A pin that the mutator did not see started after the mutator's fence,
//! hence after the entry was cleared, so it cannot obtain the old address.
//! A pin the mutator did see keeps the references in limbo until a moment
//! when no pin is active: every pin active at retirement has ended by then,
//! and its accesses happen-before the release (the count is decremented
//! with Release and read with Acquire).
//!
//! Limbo is drained whenever the count is observed at zero, so a space whose
//! pins always overlap keeps its limbo (memory is kept, never reused
//! unsafely). Engines pin while they run guest code and unpin around host
//! calls, which is also where they drop cached translations.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

use crate::frame_pool::{FrameId, FramePool};

/// The reader count and limbo flag of one address space.
#[derive(Default)]
pub(crate) struct Readers {
    active: AtomicUsize,
    pending: AtomicBool,
}

impl Readers {
    /// Marks the start of lock-free access through the tables.
    #[inline]
    pub(crate) fn pin(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Marks the end of lock-free access. Returns whether the caller must
    /// drain the limbo (take the state lock and call [`Readers::settle`]).
    #[inline]
    pub(crate) fn unpin(&self) -> bool {
        let was = self.active.fetch_sub(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        was == 1 && self.pending.load(Ordering::SeqCst)
    }

    /// Releases the references in `limbo` if no pin is active. The caller
    /// holds the space's state lock (which `limbo` lives under) and has
    /// already cleared every table entry that reached these frames.
    pub(crate) fn settle(&self, limbo: &mut Vec<FrameId>, pool: &FramePool) {
        if limbo.is_empty() {
            return;
        }
        self.pending.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.active.load(Ordering::SeqCst) != 0 {
            return;
        }
        self.pending.store(false, Ordering::SeqCst);
        for frame in limbo.drain(..) {
            pool.release(frame);
        }
    }
}

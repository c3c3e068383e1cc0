//! Frame reservations: a tenant within its quota never faults for lack of
//! frames.
//!
//! ```text
//!  FramePool ── reserved ≤ budget (frames promised to spaces and regions)
//!     ▲
//!     │ try_reserve / unreserve
//!  MemoryQuota (per tenant) ── used ≤ limit
//!     ▲
//!  Reservation (RAII) ── held by an address space (its pages that may need
//!                        a frame: zero, private, copy-on-write, plus frames
//!                        in limbo) or by a region (its frames)
//! ```
//!
//! Frames are promised when a space grows or maps anonymous pages, when a
//! region is made, and when a space is cloned; the promise fails there
//! (`memory.grow` returns -1) rather than when a page is first written.
//! Every frame in use is covered by some reservation, so a write to a
//! reserved page always finds a frame: pages of a space are covered by the
//! space, frames of a region by the region (which lives while any space
//! maps it), frames in limbo by the space that gave them up. Pages mapped
//! from a region cost the mapping space nothing: lending a data set does
//! not eat the borrower's quota.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::frame_pool::FramePool;
use crate::{MmuError, PAGE_SIZE};

/// A memory quota, shared by every address space and region of one tenant.
///
/// Clones are handles to the same quota.
#[derive(Clone, Debug)]
pub struct MemoryQuota {
    inner: Arc<QuotaInner>,
}

#[derive(Debug)]
struct QuotaInner {
    limit_frames: u64,
    used_frames: AtomicU64,
}

impl MemoryQuota {
    /// A quota of `limit_bytes` (rounded down to whole 4 KiB frames).
    pub fn new(limit_bytes: u64) -> MemoryQuota {
        MemoryQuota {
            inner: Arc::new(QuotaInner {
                limit_frames: limit_bytes / PAGE_SIZE as u64,
                used_frames: AtomicU64::new(0),
            }),
        }
    }

    /// The quota in bytes.
    pub fn limit_bytes(&self) -> u64 {
        self.inner.limit_frames * PAGE_SIZE as u64
    }

    /// Bytes currently reserved against the quota.
    pub fn used_bytes(&self) -> u64 {
        self.inner.used_frames.load(Ordering::Relaxed) * PAGE_SIZE as u64
    }

    fn try_take(&self, frames: u64) -> bool {
        let limit = self.inner.limit_frames;
        self.inner
            .used_frames
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(frames).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    fn give_back(&self, frames: u64) {
        self.inner.used_frames.fetch_sub(frames, Ordering::AcqRel);
    }
}

/// Frames promised to one owner (a space or a region), given back when it
/// is dropped.
pub(crate) struct Reservation {
    pool: FramePool,
    quota: Option<MemoryQuota>,
    frames: u64,
}

impl Reservation {
    /// An empty reservation against `pool` and, if given, `quota`.
    pub(crate) fn new(pool: &FramePool, quota: Option<&MemoryQuota>) -> Reservation {
        Reservation {
            pool: pool.clone(),
            quota: quota.cloned(),
            frames: 0,
        }
    }

    /// Frames held.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Promises `frames` more, from the quota and then the pool.
    ///
    /// # Errors
    ///
    /// [`MmuError::QuotaExceeded`] or [`MmuError::OutOfFrames`]; nothing
    /// is taken then.
    pub(crate) fn grow(&mut self, frames: u64) -> Result<(), MmuError> {
        if frames == 0 {
            return Ok(());
        }
        if let Some(quota) = &self.quota {
            if !quota.try_take(frames) {
                return Err(MmuError::QuotaExceeded {
                    requested: frames * PAGE_SIZE as u64,
                    used: quota.used_bytes(),
                    limit: quota.limit_bytes(),
                });
            }
        }
        if !self.pool.try_reserve(frames) {
            if let Some(quota) = &self.quota {
                quota.give_back(frames);
            }
            return Err(MmuError::OutOfFrames);
        }
        self.frames += frames;
        Ok(())
    }

    /// Grows the reservation to at least `frames`.
    ///
    /// # Errors
    ///
    /// As [`Reservation::grow`].
    pub(crate) fn ensure(&mut self, frames: u64) -> Result<(), MmuError> {
        self.grow(frames.saturating_sub(self.frames))
    }

    /// Gives back what exceeds `frames`.
    pub(crate) fn trim_to(&mut self, frames: u64) {
        let excess = self.frames.saturating_sub(frames);
        self.release(excess);
    }

    /// Moves `frames` of this reservation into a new one (same pool and
    /// quota), for a region made of pages this owner held.
    pub(crate) fn split_off(&mut self, frames: u64) -> Reservation {
        let frames = frames.min(self.frames);
        self.frames -= frames;
        Reservation {
            pool: self.pool.clone(),
            quota: self.quota.clone(),
            frames,
        }
    }

    /// The quota this reservation counts against.
    pub(crate) fn quota(&self) -> Option<&MemoryQuota> {
        self.quota.as_ref()
    }

    fn release(&mut self, frames: u64) {
        if frames == 0 {
            return;
        }
        self.frames -= frames;
        self.pool.unreserve(frames);
        if let Some(quota) = &self.quota {
            quota.give_back(frames);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release(self.frames);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_bounds_reservations_and_gets_everything_back() {
        let pool = FramePool::new(64 * PAGE_SIZE as u64).unwrap();
        let quota = MemoryQuota::new(10 * PAGE_SIZE as u64);
        let mut a = Reservation::new(&pool, Some(&quota));
        a.grow(8).unwrap();
        let mut b = Reservation::new(&pool, Some(&quota));
        assert!(matches!(b.grow(3), Err(MmuError::QuotaExceeded { .. })));
        b.grow(2).unwrap();
        assert_eq!(quota.used_bytes(), 10 * PAGE_SIZE as u64);
        a.trim_to(5);
        assert_eq!(quota.used_bytes(), 7 * PAGE_SIZE as u64);
        drop((a, b));
        assert_eq!(quota.used_bytes(), 0);
        assert_eq!(pool.stats().reserved, 0);
    }

    #[test]
    fn the_pool_bounds_reservations_of_every_quota() {
        let pool = FramePool::new(16 * PAGE_SIZE as u64).unwrap();
        let mut a = Reservation::new(&pool, None);
        a.grow(12).unwrap();
        let quota = MemoryQuota::new(1 << 30);
        let mut b = Reservation::new(&pool, Some(&quota));
        assert!(matches!(b.grow(5), Err(MmuError::OutOfFrames)));
        assert_eq!(quota.used_bytes(), 0, "a refused reservation takes nothing");
        b.grow(4).unwrap();
    }
}

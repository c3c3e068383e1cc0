//! The frame pool: the only source of guest memory.
//!
//! ```text
//!  budget (bytes) ──► one or a few large zeroed host allocations ("chunks")
//!                     ┌──────────┬──────────┬─────┬──────────┐
//!                     │ frame 0  │ frame 1  │ ... │ frame n-1│   4 KiB each
//!                     └──────────┴──────────┴─────┴──────────┘
//!  refcounts[n]  — one atomic count per frame (mappings + regions + limbo)
//!  free list     — recycled frame numbers, then never-used ones
//! ```
//!
//! Frames are handed out zeroed: never-used frames come zeroed from the
//! host allocation, and a frame is zeroed when its last reference goes away,
//! before it is put back on the free list. Nothing is requested from the
//! host allocator after [`FramePool::new`].
//!
//! The chunks come from the operating system's allocator ([`System`]), not
//! from the process's global allocator: in the enclave profile the global
//! allocator is a fixed host heap for the runtime's own data, and guest
//! memory is reserved beside it, once, at start-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{MmuError, PAGE_SIZE};

/// Frames per host allocation: 1 GiB chunks keep each allocation moderate.
const FRAMES_PER_CHUNK: usize = 1 << 18;

/// The number of a frame in its pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FrameId(u32);

impl FrameId {
    /// The frame's number in its pool.
    pub(crate) fn index(self) -> u32 {
        self.0
    }
}

/// Frame counters of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Frames the pool holds in all.
    pub budget_frames: usize,
    /// Frames currently referenced by a mapping or a region.
    pub in_use: usize,
    /// The largest `in_use` seen since the pool was created.
    pub peak: usize,
    /// Frames promised to address spaces and regions (see
    /// [`crate::MemoryQuota`]); never above `budget_frames` unless the
    /// pool overcommits.
    pub reserved: usize,
}

impl PoolStats {
    /// Frames that can still be handed out.
    pub fn free(&self) -> usize {
        self.budget_frames - self.in_use
    }
}

/// A fixed budget of 4 KiB frames, shared by every address space and
/// region made from it. Cloning the pool clones a handle to the same frames.
#[derive(Clone)]
pub struct FramePool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    chunks: Box<[Chunk]>,
    refcounts: Box<[AtomicU32]>,
    free: Mutex<FreeList>,
    in_use: AtomicUsize,
    peak: AtomicUsize,
    reserved: AtomicU64,
    /// Promises are recorded but never refused: frames are found on first
    /// write or not at all.
    overcommit: bool,
}

/// Frames that can be handed out: recycled ones first (they are zeroed on
/// release), then frames never handed out, so that untouched parts of the
/// host allocation stay untouched.
struct FreeList {
    recycled: Vec<u32>,
    next_fresh: u32,
}

/// One zeroed host allocation holding a run of page-aligned frames.
struct Chunk {
    /// The first frame: `allocation` rounded up to the page size.
    base: NonNull<u8>,
    /// What the system allocator returned, for `dealloc`.
    allocation: NonNull<u8>,
    layout: Layout,
}

impl Chunk {
    /// A zeroed chunk of `count` frames, or `None` if the host refuses.
    ///
    /// The allocation asks for the allocator's minimum alignment and one
    /// page more than needed, then starts at the first page boundary in
    /// it: with that alignment a large zeroed request is served by
    /// `calloc`, i.e. fresh zero pages from the kernel that cost nothing
    /// until touched. (A page-aligned zeroed request would be allocated
    /// and then zeroed byte by byte, committing the whole budget.)
    fn new(count: usize) -> Option<Chunk> {
        let size = count.checked_mul(PAGE_SIZE)?.checked_add(PAGE_SIZE)?;
        let layout = Layout::from_size_align(size, 16).ok()?;
        // SAFETY: `layout` has a non-zero size.
        let allocation = NonNull::new(unsafe { System.alloc_zeroed(layout) })?;
        let offset = allocation.as_ptr().align_offset(PAGE_SIZE);
        // SAFETY: `offset < PAGE_SIZE`, and the allocation is PAGE_SIZE
        // bytes longer than the `count` frames that start there.
        let base = unsafe { allocation.add(offset) };
        Some(Chunk {
            base,
            allocation,
            layout,
        })
    }
}

// SAFETY: a chunk is plain memory owned by the pool; which thread touches
// which frame, and when, is governed by the frame reference counts and the
// reclamation protocol of the address spaces (see `reclaim`).
unsafe impl Send for Chunk {}
// SAFETY: as above; the chunk itself is never mutated after creation.
unsafe impl Sync for Chunk {}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: `allocation` came from `System.alloc_zeroed(self.layout)`
        // in `Chunk::new` and is freed exactly once, here.
        unsafe { System.dealloc(self.allocation.as_ptr(), self.layout) }
    }
}

impl FramePool {
    /// Creates a pool of `budget_bytes / 4096` frames (rounded down).
    ///
    /// # Errors
    ///
    /// [`MmuError::PoolReservation`] if the budget has more than `u32::MAX`
    /// frames or the host cannot allocate it.
    pub fn new(budget_bytes: u64) -> Result<FramePool, MmuError> {
        FramePool::create(budget_bytes, false)
    }

    /// A pool that overcommits: growing memory and mapping zero pages never
    /// fail for lack of frames; a write that needs a frame when none is
    /// left faults instead ([`crate::FaultReason::OutOfFrames`]). For hosts
    /// that prefer density to the guarantee [`FramePool::new`] gives (a
    /// tenant within its quota never faults for lack of frames).
    ///
    /// # Errors
    ///
    /// As [`FramePool::new`].
    pub fn new_overcommitted(budget_bytes: u64) -> Result<FramePool, MmuError> {
        FramePool::create(budget_bytes, true)
    }

    fn create(budget_bytes: u64, overcommit: bool) -> Result<FramePool, MmuError> {
        let frames = budget_bytes / PAGE_SIZE as u64;
        if frames > u64::from(u32::MAX) {
            return Err(MmuError::PoolReservation(budget_bytes));
        }
        let frames = frames as usize;
        let mut chunks = Vec::new();
        let mut left = frames;
        while left > 0 {
            let count = left.min(FRAMES_PER_CHUNK);
            chunks.push(Chunk::new(count).ok_or(MmuError::PoolReservation(budget_bytes))?);
            left -= count;
        }
        // The bookkeeping is reserved up front too, and fallibly: a budget
        // the host cannot hold is an error, not an abort, and releasing
        // frames later never allocates.
        let reservation = MmuError::PoolReservation(budget_bytes);
        let mut refcounts = Vec::new();
        refcounts
            .try_reserve_exact(frames)
            .map_err(|_| reservation.clone())?;
        refcounts.extend((0..frames).map(|_| AtomicU32::new(0)));
        let mut recycled = Vec::new();
        recycled
            .try_reserve_exact(frames)
            .map_err(|_| reservation)?;
        Ok(FramePool {
            inner: Arc::new(PoolInner {
                chunks: chunks.into_boxed_slice(),
                refcounts: refcounts.into_boxed_slice(),
                free: Mutex::new(FreeList {
                    recycled,
                    next_fresh: 0,
                }),
                in_use: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                reserved: AtomicU64::new(0),
                overcommit,
            }),
        })
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            budget_frames: self.inner.refcounts.len(),
            in_use: self.inner.in_use.load(Ordering::Relaxed),
            peak: self.inner.peak.load(Ordering::Relaxed),
            reserved: self.inner.reserved.load(Ordering::Relaxed) as usize,
        }
    }

    /// Whether this pool overcommits (see [`FramePool::new_overcommitted`]).
    pub fn overcommits(&self) -> bool {
        self.inner.overcommit
    }

    /// Promises `frames` frames if the budget still has them unpromised
    /// (always, when the pool overcommits).
    pub(crate) fn try_reserve(&self, frames: u64) -> bool {
        if self.inner.overcommit {
            self.inner.reserved.fetch_add(frames, Ordering::AcqRel);
            return true;
        }
        let budget = self.inner.refcounts.len() as u64;
        self.inner
            .reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |reserved| {
                reserved
                    .checked_add(frames)
                    .filter(|&total| total <= budget)
            })
            .is_ok()
    }

    /// Takes back a promise of `frames` frames.
    pub(crate) fn unreserve(&self, frames: u64) {
        self.inner.reserved.fetch_sub(frames, Ordering::AcqRel);
    }

    /// Whether two handles name the same pool.
    pub fn same_pool(&self, other: &FramePool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Takes `count` zeroed frames, each with one reference, or none at all.
    pub(crate) fn alloc_many(&self, count: usize) -> Result<Vec<FrameId>, MmuError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let inner = &*self.inner;
        let mut free = inner.free.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh_left = inner.refcounts.len() - free.next_fresh as usize;
        if free.recycled.len() + fresh_left < count {
            return Err(MmuError::OutOfFrames);
        }
        let mut frames = Vec::with_capacity(count);
        while frames.len() < count {
            let id = match free.recycled.pop() {
                Some(id) => id,
                None => {
                    free.next_fresh += 1;
                    free.next_fresh - 1
                }
            };
            inner.refcounts[id as usize].store(1, Ordering::Relaxed);
            frames.push(FrameId(id));
        }
        drop(free);
        let now = inner.in_use.fetch_add(count, Ordering::Relaxed) + count;
        inner.peak.fetch_max(now, Ordering::Relaxed);
        Ok(frames)
    }

    /// Takes one zeroed frame with one reference.
    #[cfg(test)]
    pub(crate) fn alloc(&self) -> Result<FrameId, MmuError> {
        Ok(self.alloc_many(1)?[0])
    }

    /// Adds a reference to a frame that already has one.
    pub(crate) fn retain(&self, frame: FrameId) {
        self.inner.refcounts[frame.0 as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The current number of references to `frame`.
    pub(crate) fn refcount(&self, frame: FrameId) -> u32 {
        self.inner.refcounts[frame.0 as usize].load(Ordering::Acquire)
    }

    /// Drops one reference; the last one zeroes the frame and frees it.
    ///
    /// The caller guarantees that no translation table entry that could
    /// still be used points at the frame on behalf of this reference (the
    /// address spaces' reclamation protocol establishes that).
    pub(crate) fn release(&self, frame: FrameId) {
        let inner = &*self.inner;
        if inner.refcounts[frame.0 as usize].fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Pairs with the releases of every other reference holder, so that
        // all their accesses to the frame happen before it is zeroed.
        fence(Ordering::Acquire);
        // SAFETY: the count reached zero, so nobody holds a reference and,
        // by the reclamation protocol, no table entry reaches the frame; the
        // pointer covers exactly one frame inside its chunk.
        unsafe { self.frame_ptr(frame).write_bytes(0, PAGE_SIZE) };
        inner
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recycled
            .push(frame.0);
        inner.in_use.fetch_sub(1, Ordering::Relaxed);
    }

    /// The host address of a frame's first byte.
    pub(crate) fn frame_ptr(&self, frame: FrameId) -> *mut u8 {
        let index = frame.0 as usize;
        let chunk = &self.inner.chunks[index / FRAMES_PER_CHUNK];
        // The offset stays inside the chunk: frame numbers are below the
        // pool's frame count, and every chunk but the last is full.
        chunk
            .base
            .as_ptr()
            .wrapping_add((index % FRAMES_PER_CHUNK) * PAGE_SIZE)
    }

    /// Copies a whole frame's contents into another frame.
    pub(crate) fn copy_frame(&self, from: FrameId, to: FrameId) {
        debug_assert_ne!(from, to);
        // SAFETY: both pointers cover one whole frame of this pool; the
        // frames differ, so the ranges do not overlap. The caller holds a
        // reference to both, so neither is freed meanwhile.
        unsafe {
            std::ptr::copy_nonoverlapping(self.frame_ptr(from), self.frame_ptr(to), PAGE_SIZE)
        }
    }
}

impl std::fmt::Debug for FramePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramePool")
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_counted_in_frames_and_exhaustion_is_an_error() {
        let pool = FramePool::new(3 * PAGE_SIZE as u64 + 100).unwrap();
        assert_eq!(pool.stats().budget_frames, 3);
        let frames = pool.alloc_many(3).unwrap();
        assert_eq!(pool.stats().in_use, 3);
        assert_eq!(pool.alloc(), Err(MmuError::OutOfFrames));
        assert_eq!(pool.alloc_many(2), Err(MmuError::OutOfFrames));
        pool.release(frames[1]);
        assert_eq!(pool.stats().in_use, 2);
        assert_eq!(pool.stats().peak, 3);
        assert_eq!(pool.alloc().unwrap(), frames[1]);
    }

    #[test]
    fn all_or_nothing_allocation_takes_nothing_on_failure() {
        let pool = FramePool::new(4 * PAGE_SIZE as u64).unwrap();
        let _held = pool.alloc_many(2).unwrap();
        assert_eq!(pool.alloc_many(3), Err(MmuError::OutOfFrames));
        assert_eq!(pool.stats().in_use, 2);
        assert_eq!(pool.alloc_many(2).unwrap().len(), 2);
    }

    #[test]
    fn frames_are_zeroed_before_reuse_and_freed_only_at_the_last_reference() {
        let pool = FramePool::new(PAGE_SIZE as u64).unwrap();
        let frame = pool.alloc().unwrap();
        // SAFETY: the frame is ours and one frame long.
        unsafe { pool.frame_ptr(frame).write_bytes(0xab, PAGE_SIZE) };
        pool.retain(frame);
        pool.release(frame);
        assert_eq!(pool.stats().in_use, 1, "one reference is left");
        pool.release(frame);
        assert_eq!(pool.stats().in_use, 0);
        let again = pool.alloc().unwrap();
        assert_eq!(again, frame);
        let mut bytes = [1u8; PAGE_SIZE];
        // SAFETY: the frame is ours and one frame long.
        unsafe {
            std::ptr::copy_nonoverlapping(pool.frame_ptr(again), bytes.as_mut_ptr(), PAGE_SIZE)
        };
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn empty_and_huge_budgets() {
        let pool = FramePool::new(100).unwrap();
        assert_eq!(pool.stats().budget_frames, 0);
        assert_eq!(pool.alloc(), Err(MmuError::OutOfFrames));
        assert!(matches!(
            FramePool::new(u64::MAX),
            Err(MmuError::PoolReservation(_))
        ));
    }

    #[test]
    fn a_pool_larger_than_one_chunk_addresses_every_frame() {
        let frames = FRAMES_PER_CHUNK + 2;
        let pool = FramePool::new((frames * PAGE_SIZE) as u64).unwrap();
        assert_eq!(pool.inner.chunks.len(), 2);
        let last = FrameId(frames as u32 - 1);
        let expected = pool.inner.chunks[1].base.as_ptr().wrapping_add(PAGE_SIZE);
        assert_eq!(pool.frame_ptr(last), expected);
    }
}

//! The host heap of the enclave profile.
//!
//! With the `enclave` feature, the process's global allocator is `talc`
//! over a fixed arena: a small bootstrap array in `.bss` for what runs
//! before the command line is understood, then one region reserved from
//! the operating system by [`reserve`] at start-up, sized by the frame
//! budget's companion `host_heap`. After that, no allocation of the
//! runtime (translation tables, interpreter stacks, modules, WASI state)
//! asks the operating system for memory; in an SGX enclave without
//! dynamic memory management, that is the only way memory can work.
//! Guest frames are not in this heap: the frame pool reserves them beside
//! it (see `waven_mmu::FramePool`).
//!
//! The heap counts the bytes its allocations hold, and the most they held
//! at once ([`usage`]), so that `waven platform` can report the run's peak
//! of host memory.
//!
//! Without the feature (and in this crate's unit tests), [`reserve`]
//! does nothing, the system allocator is used and [`usage`] is `None`.

/// What the host heap holds: bytes reserved for it (the bootstrap array
/// and the reservation), bytes allocations hold now, and the most they
/// held at once since the process started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUse {
    /// Bytes the allocator can hand out in all.
    pub reserved: u64,
    /// Bytes held by live allocations.
    pub in_use: u64,
    /// The largest `in_use` so far.
    pub peak: u64,
}

/// The host heap's counters; `None` without the enclave profile (the
/// system allocator keeps no such count).
#[cfg(any(not(feature = "enclave"), test))]
pub fn usage() -> Option<HeapUse> {
    None
}

/// Reserves `bytes` of host heap for the rest of the process (enclave
/// profile; a no-op otherwise).
///
/// # Errors
///
/// When the operating system refuses the reservation, or a heap was
/// already reserved.
#[cfg(any(not(feature = "enclave"), test))]
pub fn reserve(bytes: u64) -> anyhow::Result<()> {
    let _ = bytes;
    Ok(())
}

// Unit tests of this crate run in the test harness's process, which keeps
// the system allocator; the tests in `tests/` run the real binary.
#[cfg(all(feature = "enclave", not(test)))]
pub use arena::{reserve, usage};

#[cfg(all(feature = "enclave", not(test)))]
mod arena {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    use anyhow::{bail, Result};
    use spinning_top::RawSpinlock;
    use talc::source::Claim;
    use talc::TalcLock;

    use super::HeapUse;

    /// Bytes available before [`reserve`]: argument parsing and reading
    /// the manifest.
    const BOOTSTRAP_BYTES: usize = 8 << 20;

    /// The smallest host heap that can run one instance: its 8 MiB value
    /// stack and room for a module and tables.
    const MINIMUM: u64 = 16 << 20;

    static mut BOOTSTRAP: [u8; BOOTSTRAP_BYTES] = [0; BOOTSTRAP_BYTES];

    #[global_allocator]
    static HEAP: CountedHeap = CountedHeap {
        talc: TalcLock::new(
            // SAFETY: `BOOTSTRAP` is referred to nowhere else, so the
            // allocator is the only user of those bytes for the whole
            // process, and a static array is valid for reads and writes
            // for that long.
            unsafe { Claim::array(&raw mut BOOTSTRAP) },
        ),
        in_use: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    };

    static RESERVED: AtomicBool = AtomicBool::new(false);

    /// Bytes given to the allocator by [`reserve`].
    static RESERVED_BYTES: AtomicU64 = AtomicU64::new(0);

    /// The talc heap, counting the bytes of live allocations (as their
    /// layouts ask, not talc's own overhead) and their peak.
    struct CountedHeap {
        talc: TalcLock<RawSpinlock, Claim>,
        in_use: AtomicUsize,
        peak: AtomicUsize,
    }

    impl CountedHeap {
        fn add(&self, bytes: usize) {
            let now = self.in_use.fetch_add(bytes, Ordering::Relaxed) + bytes;
            self.peak.fetch_max(now, Ordering::Relaxed);
        }

        fn sub(&self, bytes: usize) {
            self.in_use.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    // SAFETY: every method forwards to talc's `GlobalAlloc` with the
    // caller's arguments unchanged, so talc's guarantees are the heap's;
    // the counters only observe sizes.
    unsafe impl GlobalAlloc for CountedHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees (a layout of
            // non-zero size).
            let ptr = unsafe { self.talc.alloc(layout) };
            if !ptr.is_null() {
                self.add(layout.size());
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as for `alloc`.
            let ptr = unsafe { self.talc.alloc_zeroed(layout) };
            if !ptr.is_null() {
                self.add(layout.size());
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` was allocated by this heap (hence by talc) with
            // `layout`, as the caller guarantees.
            unsafe { self.talc.dealloc(ptr, layout) };
            self.sub(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: as for `dealloc`, and `new_size` is valid for
            // `layout`'s alignment, as the caller guarantees.
            let moved = unsafe { self.talc.realloc(ptr, layout, new_size) };
            if !moved.is_null() {
                match new_size.checked_sub(layout.size()) {
                    Some(grown) => self.add(grown),
                    None => self.sub(layout.size() - new_size),
                }
            }
            moved
        }
    }

    /// The heap's counters.
    pub fn usage() -> Option<HeapUse> {
        Some(HeapUse {
            reserved: BOOTSTRAP_BYTES as u64 + RESERVED_BYTES.load(Ordering::Relaxed),
            in_use: HEAP.in_use.load(Ordering::Relaxed) as u64,
            peak: HEAP.peak.load(Ordering::Relaxed) as u64,
        })
    }

    /// Reserves `bytes` from the operating system and gives them to the
    /// global allocator, for the rest of the process.
    pub fn reserve(bytes: u64) -> Result<()> {
        let mib = bytes >> 20;
        if bytes < MINIMUM {
            bail!(
                "a host heap of {bytes} bytes is too small: the enclave profile needs at least {} MiB",
                MINIMUM >> 20
            );
        }
        let Ok(size) = usize::try_from(bytes) else {
            bail!("cannot reserve the host heap of {mib} MiB: too large for this host");
        };
        let Ok(layout) = Layout::from_size_align(size.max(1), 4096) else {
            bail!("cannot reserve the host heap of {mib} MiB: too large for this host");
        };
        if RESERVED.swap(true, Ordering::SeqCst) {
            bail!("the host heap is already reserved");
        }
        // SAFETY: `layout` has a non-zero size.
        let base = unsafe { System.alloc(layout) };
        if base.is_null() {
            bail!("cannot reserve the host heap of {mib} MiB: the operating system refused");
        }
        // SAFETY: `base..base + size` was just allocated for this purpose,
        // is never freed (the heap lives as long as the process), and no
        // other arena of the allocator overlaps it (the bootstrap array is
        // a static of its own).
        let claimed = unsafe { HEAP.talc.lock().claim(base, size) };
        if claimed.is_none() {
            bail!("cannot reserve the host heap of {mib} MiB: the allocator could not use it");
        }
        RESERVED_BYTES.store(bytes, Ordering::Relaxed);
        Ok(())
    }
}

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
//! Without the feature (and in this crate's unit tests), [`reserve`]
//! does nothing and the system allocator is used.

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
pub use arena::reserve;

#[cfg(all(feature = "enclave", not(test)))]
mod arena {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, Ordering};

    use anyhow::{bail, Result};
    use spinning_top::RawSpinlock;
    use talc::source::Claim;
    use talc::TalcLock;

    /// Bytes available before [`reserve`]: argument parsing and reading
    /// the manifest.
    const BOOTSTRAP_BYTES: usize = 8 << 20;

    /// The smallest host heap that can run one instance: its 8 MiB value
    /// stack and room for a module and tables.
    const MINIMUM: u64 = 16 << 20;

    static mut BOOTSTRAP: [u8; BOOTSTRAP_BYTES] = [0; BOOTSTRAP_BYTES];

    #[global_allocator]
    static HEAP: TalcLock<RawSpinlock, Claim> = TalcLock::new(
        // SAFETY: `BOOTSTRAP` is referred to nowhere else, so the allocator
        // is the only user of those bytes for the whole process, and a
        // static array is valid for reads and writes for that long.
        unsafe { Claim::array(&raw mut BOOTSTRAP) },
    );

    static RESERVED: AtomicBool = AtomicBool::new(false);

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
        let claimed = unsafe { HEAP.lock().claim(base, size) };
        if claimed.is_none() {
            bail!("cannot reserve the host heap of {mib} MiB: the allocator could not use it");
        }
        Ok(())
    }
}

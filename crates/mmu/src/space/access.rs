//! Loads and stores: the lock-free fast path and the way to the slow path.
//!
//! A load of `N` bytes at `addr` takes the fast path when it stays inside
//! one page and the page's read entry is non-zero; a store likewise with the
//! write entry. Everything else (page-crossing accesses, zero and
//! copy-on-write pages, faults, out-of-bounds) goes to the bulk routines in
//! `bulk.rs`, which take the state lock and decide.

use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;

use super::{AddressSpace, SpaceInner};
use crate::shootdown::{Accessor, Doorbell};
use crate::tables::DirectoryView;
use crate::{MemoryFault, PAGE_SIZE};

const PAGE_MASK: u64 = PAGE_SIZE as u64 - 1;
const PAGE_SHIFT: u32 = PAGE_SIZE.trailing_zeros();

/// A pin on an address space: while it lives, frames reachable through the
/// space's tables are not reused (see [`crate::reclaim`]), so loads and
/// stores can go through the tables without a lock.
///
/// Hold a pin while running guest code; drop it around host calls and at
/// other points where a long-running thread can let revoked frames go.
///
/// A pin holds its own handle to the space, so it can be kept next to the
/// state that uses it (an engine's frame, for example).
///
/// A pin belongs to the thread that made it (it is not `Send`): operations
/// that take rights away wait until every pin of another thread has passed
/// a [`Pinned::safepoint`] (see [`crate::shootdown`]), so a thread that
/// holds a pin must call it regularly between accesses, or drop the pin.
pub struct Pinned {
    owner: AddressSpace,
    /// The owner's directory, one load closer to every access.
    directory: DirectoryView,
    accessor: Arc<Accessor>,
    /// Not `Send`: shootdowns skip the pins of the thread that asks for
    /// them, which is right only if a pin stays on its thread.
    _thread_bound: PhantomData<*const ()>,
}

impl AddressSpace {
    /// Pins the space for lock-free access.
    pub fn pin(&self) -> Pinned {
        self.pin_with(None)
    }

    /// Pins the space for lock-free access; a shootdown that asks this
    /// pin for a safepoint also rings `doorbell` (see [`Doorbell`]).
    pub fn pin_with_doorbell(&self, doorbell: Arc<Doorbell>) -> Pinned {
        self.pin_with(Some(doorbell))
    }

    fn pin_with(&self, doorbell: Option<Arc<Doorbell>>) -> Pinned {
        self.inner.readers.pin();
        Pinned {
            accessor: self.inner.accessors.register(doorbell),
            directory: self.inner.tables.view(),
            owner: self.clone(),
            _thread_bound: PhantomData,
        }
    }

    /// Loads `N` bytes at `addr` (pins for this one access).
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`]: out of bounds, unmapped, or no read right.
    pub fn read<const N: usize>(&self, addr: u64) -> Result<[u8; N], MemoryFault> {
        self.pin().read(addr)
    }

    /// Stores `N` bytes at `addr` (pins for this one access).
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`]: out of bounds, unmapped, no write right, or no
    /// frame left for a zero or copy-on-write page. Nothing is written then.
    pub fn write<const N: usize>(&self, addr: u64, bytes: [u8; N]) -> Result<(), MemoryFault> {
        self.pin().write(addr, bytes)
    }
}

/// Where compiled code finds a pinned space's translation. Valid while
/// the [`Pinned`] it came from lives.
///
/// The tables are two-level: `directory[addr >> DIRECTORY_SHIFT]` is the
/// address of a leaf (never null; [`crate::DIRECTORY_ENTRIES`] words,
/// enough for every address below 2^33); the leaf's word
/// `(addr >> 12) % LEAF_PAGES` is the read entry of the page, the word
/// [`crate::LEAF_WRITE_OFFSET`] bytes after it its write entry. An entry is
/// the host address of the page, or 0 (take the slow path). Entries are
/// `usize` words, read atomically (a plain aligned load on the hosts waven
/// supports).
#[derive(Clone, Copy, Debug)]
pub struct RawTranslation {
    /// The directory of leaves.
    pub directory: *const usize,
}

impl Pinned {
    /// The tables for code that translates inline (a compiled engine).
    /// The same contract as [`Pinned::read`] and [`Pinned::write`] holds:
    /// a non-zero entry may be accessed within its page while this pin
    /// lives, and only until the next [`Pinned::safepoint`] after a
    /// shootdown was requested (which such code learns from the pin's
    /// [`Doorbell`]).
    pub fn raw_translation(&self) -> RawTranslation {
        RawTranslation {
            directory: self.inner().tables.raw_directory(),
        }
    }

    /// The pinned space.
    pub fn space(&self) -> &AddressSpace {
        &self.owner
    }

    /// A safepoint of the thread holding this pin: no access it began
    /// before this call is still in flight, and accesses after it see every
    /// change whose shootdown asked for it. Engines call it at every loop
    /// header and function entry; a revocation waits for it.
    #[inline(always)]
    pub fn safepoint(&self) {
        self.accessor.safepoint();
    }

    fn inner(&self) -> &SpaceInner {
        &self.owner.inner
    }

    /// Loads `N` bytes (`N <= 16`) at `addr`.
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`]: out of bounds, unmapped, or no read right on any
    /// page the access touches.
    #[inline(always)]
    pub fn read<const N: usize>(&self, addr: u64) -> Result<[u8; N], MemoryFault> {
        const { assert!(N <= 16) };
        let offset = (addr & PAGE_MASK) as usize;
        if offset <= PAGE_SIZE - N {
            // SAFETY: `owner` keeps the space, and so its tables, alive.
            let base = unsafe { self.directory.read_entry(addr >> PAGE_SHIFT) };
            if base != 0 {
                // SAFETY: a non-zero read entry is the address of a readable
                // page (a frame of the pool, or the static zero page), and
                // `offset + N <= PAGE_SIZE` keeps the access inside it. The
                // pin keeps the frame from being reused while we use it, even
                // if the entry is cleared meanwhile (crate::reclaim). Loads
                // may race with other instances' stores to a shared frame;
                // the bytes read are then unspecified, never out of bounds.
                return Ok(unsafe { ptr::read_unaligned((base + offset) as *const [u8; N]) });
            }
        }
        let mut bytes = [0u8; N];
        self.inner().read_bytes(addr, &mut bytes)?;
        Ok(bytes)
    }

    /// Stores `N` bytes (`N <= 16`) at `addr`.
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`]: out of bounds, unmapped, no write right on any page
    /// the access touches, or no frame left for a zero or copy-on-write
    /// page. Nothing is written then.
    #[inline(always)]
    pub fn write<const N: usize>(&self, addr: u64, bytes: [u8; N]) -> Result<(), MemoryFault> {
        const { assert!(N <= 16) };
        let offset = (addr & PAGE_MASK) as usize;
        if offset <= PAGE_SIZE - N {
            // SAFETY: `owner` keeps the space, and so its tables, alive.
            let base = unsafe { self.directory.write_entry(addr >> PAGE_SHIFT) };
            if base != 0 {
                // SAFETY: a non-zero write entry is the address of a frame
                // this space may write (never the zero page), and
                // `offset + N <= PAGE_SIZE` keeps the access inside it. The
                // pin keeps the frame from being reused meanwhile.
                unsafe { ptr::write_unaligned((base + offset) as *mut [u8; N], bytes) };
                return Ok(());
            }
        }
        self.inner().write_bytes(addr, &bytes)
    }

    /// Loads a little-endian `u8`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::read`].
    #[inline(always)]
    pub fn read_u8(&self, addr: u64) -> Result<u8, MemoryFault> {
        self.read::<1>(addr).map(|b| b[0])
    }

    /// Loads a little-endian `u16`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::read`].
    #[inline(always)]
    pub fn read_u16(&self, addr: u64) -> Result<u16, MemoryFault> {
        self.read(addr).map(u16::from_le_bytes)
    }

    /// Loads a little-endian `u32`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::read`].
    #[inline(always)]
    pub fn read_u32(&self, addr: u64) -> Result<u32, MemoryFault> {
        self.read(addr).map(u32::from_le_bytes)
    }

    /// Loads a little-endian `u64`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::read`].
    #[inline(always)]
    pub fn read_u64(&self, addr: u64) -> Result<u64, MemoryFault> {
        self.read(addr).map(u64::from_le_bytes)
    }

    /// Stores a `u8`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::write`].
    #[inline(always)]
    pub fn write_u8(&self, addr: u64, value: u8) -> Result<(), MemoryFault> {
        self.write(addr, [value])
    }

    /// Stores a little-endian `u16`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::write`].
    #[inline(always)]
    pub fn write_u16(&self, addr: u64, value: u16) -> Result<(), MemoryFault> {
        self.write(addr, value.to_le_bytes())
    }

    /// Stores a little-endian `u32`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::write`].
    #[inline(always)]
    pub fn write_u32(&self, addr: u64, value: u32) -> Result<(), MemoryFault> {
        self.write(addr, value.to_le_bytes())
    }

    /// Stores a little-endian `u64`.
    ///
    /// # Errors
    ///
    /// As [`Pinned::write`].
    #[inline(always)]
    pub fn write_u64(&self, addr: u64, value: u64) -> Result<(), MemoryFault> {
        self.write(addr, value.to_le_bytes())
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let space = self.inner();
        space.accessors.retire(&self.accessor);
        if space.readers.unpin() {
            let mut state = space.lock();
            space.settle(&mut state);
        }
    }
}

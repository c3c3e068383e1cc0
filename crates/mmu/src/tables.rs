//! The translation fast path: per address space, a directory of leaves,
//! each leaf the read entries and then the write entries of 512 pages
//! (2 MiB of guest memory); an entry is the host address of the page's
//! frame, or 0.
//!
//! ```text
//!   addr ──► directory[addr >> 21] ──► leaf ──► leaf.read[(addr >> 12) & 511]
//!                                                 │ 0: slow path
//!                                                 ▼ p
//!                                    load from p + (addr & 0xfff)
//! ```
//!
//! The directory has [`DIRECTORY_ENTRIES`] entries, enough for every
//! address a 32-bit memory's access can form (a 32-bit index plus a 32-bit
//! offset, below 2^33), so compiled code needs no bounds check for it.
//! Entries that no page was set in point at [`ZERO_LEAF`], a static leaf
//! of zeros that is never written: a space's tables cost the directory
//! (32 KiB) plus one leaf (8 KiB) per 2 MiB stretch in which a page was
//! ever mapped, whatever its declared maximum. Leaves are allocated under
//! the space's state lock and live as long as the space, so a leaf that a
//! thread found through the directory stays valid without a lock.
//!
//! Rights live in the entries: a page without the read right has 0 as its
//! read entry, a page without the write right (or a zero or copy-on-write
//! page, whose first write must go through the slow path) has 0 as its
//! write entry. Readable zero pages point at [`ZERO_PAGE`], which is never
//! written. Entries are single atomic words, so they are never torn. An
//! entry of 0 is always correct, only slower: the slow path decides from
//! the space's canonical page state, never from the tables; so when the
//! host cannot allocate a leaf, its entries simply stay 0.

use std::alloc::{self, Layout};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::{MmuError, PAGE_SIZE};

/// Pages per leaf.
pub const LEAF_PAGES: usize = 512;

/// Bytes from a leaf's first read entry to its first write entry.
pub const LEAF_WRITE_OFFSET: usize = LEAF_PAGES * std::mem::size_of::<usize>();

/// The shift from a guest address to its directory index (the bits of a
/// page offset and of a leaf index).
pub const DIRECTORY_SHIFT: u32 = PAGE_SIZE.trailing_zeros() + LEAF_PAGES.trailing_zeros();

/// Entries of every directory: addresses below 2^33 (a 32-bit index plus
/// a 32-bit static offset).
pub const DIRECTORY_ENTRIES: usize = 1 << (33 - DIRECTORY_SHIFT);

/// A page of zeros that every readable zero page is translated to for
/// reads. It is immutable: no write entry ever points at it.
#[repr(C, align(4096))]
pub(crate) struct ZeroPage([u8; PAGE_SIZE]);

/// The shared page of zeros.
pub(crate) static ZERO_PAGE: ZeroPage = ZeroPage([0; PAGE_SIZE]);

impl ZeroPage {
    /// The host address of the zero page.
    pub(crate) fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

/// The entries of [`LEAF_PAGES`] consecutive pages: reads, then writes.
#[repr(C, align(4096))]
struct Leaf {
    read: [AtomicUsize; LEAF_PAGES],
    write: [AtomicUsize; LEAF_PAGES],
}

/// The leaf of every directory entry without pages: all zeros, never
/// written ([`Tables::set`] allocates a leaf of the space's own first).
static ZERO_LEAF: Leaf = Leaf {
    read: [const { AtomicUsize::new(0) }; LEAF_PAGES],
    write: [const { AtomicUsize::new(0) }; LEAF_PAGES],
};

fn zero_leaf() -> *mut Leaf {
    std::ptr::from_ref(&ZERO_LEAF).cast_mut()
}

/// The translation tables of one address space.
pub(crate) struct Tables {
    directory: Box<[AtomicPtr<Leaf>]>,
    /// Leaves allocated (not counting [`ZERO_LEAF`]).
    leaves: AtomicUsize,
}

impl Tables {
    /// Tables in which every entry is 0.
    ///
    /// # Errors
    ///
    /// [`MmuError::HostMemory`] if the host cannot allocate the directory.
    pub(crate) fn new() -> Result<Tables, MmuError> {
        let mut directory = Vec::new();
        directory
            .try_reserve_exact(DIRECTORY_ENTRIES)
            .map_err(|_| MmuError::HostMemory(Tables::DIRECTORY_BYTES as u64))?;
        directory.resize_with(DIRECTORY_ENTRIES, || AtomicPtr::new(zero_leaf()));
        Ok(Tables {
            directory: directory.into_boxed_slice(),
            leaves: AtomicUsize::new(0),
        })
    }

    const DIRECTORY_BYTES: usize = DIRECTORY_ENTRIES * std::mem::size_of::<usize>();

    /// The host address that reads of page `vpn` go to, or 0.
    #[cfg(test)]
    pub(crate) fn read_entry(&self, vpn: u64) -> usize {
        // SAFETY: the view's tables are `self`, alive for this call.
        unsafe { self.view().read_entry(vpn) }
    }

    /// The host address that writes of page `vpn` go to, or 0.
    #[cfg(test)]
    pub(crate) fn write_entry(&self, vpn: u64) -> usize {
        // SAFETY: as in `read_entry`.
        unsafe { self.view().write_entry(vpn) }
    }

    /// The directory as a pin keeps it, so that an access follows no
    /// handle to reach it (see [`DirectoryView`]).
    pub(crate) fn view(&self) -> DirectoryView {
        DirectoryView {
            entries: self.directory.as_ptr(),
        }
    }

    /// The directory, for code that translates inline: entry `addr >> 21`
    /// is the address of a leaf; the leaf's word `(addr >> 12) & 511` is
    /// the read entry, the word [`LEAF_WRITE_OFFSET`] bytes after it the
    /// write entry.
    pub(crate) fn raw_directory(&self) -> *const usize {
        self.directory.as_ptr().cast()
    }

    /// Host bytes these tables hold: the directory and the leaves.
    pub(crate) fn host_bytes(&self) -> u64 {
        let leaves = self.leaves.load(Ordering::Relaxed);
        (Tables::DIRECTORY_BYTES + leaves * std::mem::size_of::<Leaf>()) as u64
    }

    /// Sets both entries of `vpn`. Called under the space's state lock
    /// (one caller at a time allocates leaves). Where the host cannot
    /// allocate the leaf, the entries stay 0 (see the module docs).
    pub(crate) fn set(&self, vpn: usize, read: usize, write: usize) {
        let Some(slot) = self.directory.get(vpn / LEAF_PAGES) else {
            return;
        };
        let mut leaf = slot.load(Ordering::Acquire);
        if leaf == zero_leaf() {
            if read == 0 && write == 0 {
                return;
            }
            let Some(fresh) = allocate_leaf() else { return };
            self.leaves.fetch_add(1, Ordering::Relaxed);
            // Release: a thread that finds the leaf sees it zeroed.
            slot.store(fresh, Ordering::Release);
            leaf = fresh;
        }
        // SAFETY: not the zero leaf, so a leaf this directory owns, alive
        // while `self` is.
        let leaf = unsafe { &*leaf };
        leaf.read[vpn % LEAF_PAGES].store(read, Ordering::Release);
        leaf.write[vpn % LEAF_PAGES].store(write, Ordering::Release);
    }
}

/// The directory of a [`Tables`] by its address: the lookups of
/// [`Tables::read_entry`] and [`Tables::write_entry`] without the load of
/// the directory's address and length from the tables first (the
/// interpreter's accesses pay for every load on their dependency chain).
/// Valid while the tables live; a [`crate::Pinned`] holds the space, and
/// so its tables, for as long as it keeps a view.
#[derive(Clone, Copy)]
pub(crate) struct DirectoryView {
    /// [`DIRECTORY_ENTRIES`] entries.
    entries: *const AtomicPtr<Leaf>,
}

impl DirectoryView {
    /// The leaf of page `vpn` (the zero leaf beyond the directory).
    ///
    /// # Safety
    ///
    /// The tables this view came from are alive, and stay alive while the
    /// caller uses the leaf (the lifetime is the caller's to bound: both
    /// callers read one entry and let the leaf go).
    #[inline(always)]
    unsafe fn leaf<'a>(self, vpn: u64) -> &'a Leaf {
        let index = vpn / LEAF_PAGES as u64;
        if index >= DIRECTORY_ENTRIES as u64 {
            return &ZERO_LEAF;
        }
        // SAFETY: `index` is below the directory's length, and the
        // directory is alive (the caller's contract); a directory entry is
        // the zero leaf or a leaf the tables own, alive as long as they
        // are. Acquire pairs with the Release that published the leaf.
        unsafe { &*(*self.entries.add(index as usize)).load(Ordering::Acquire) }
    }

    /// As [`Tables::read_entry`].
    ///
    /// # Safety
    ///
    /// The tables this view came from are alive.
    #[inline(always)]
    pub(crate) unsafe fn read_entry(self, vpn: u64) -> usize {
        // SAFETY: the caller's contract.
        let leaf = unsafe { self.leaf(vpn) };
        leaf.read[vpn as usize % LEAF_PAGES].load(Ordering::Acquire)
    }

    /// As [`Tables::write_entry`].
    ///
    /// # Safety
    ///
    /// The tables this view came from are alive.
    #[inline(always)]
    pub(crate) unsafe fn write_entry(self, vpn: u64) -> usize {
        // SAFETY: the caller's contract.
        let leaf = unsafe { self.leaf(vpn) };
        leaf.write[vpn as usize % LEAF_PAGES].load(Ordering::Acquire)
    }
}

/// A zeroed leaf from the host allocator, or `None` if it has no memory.
fn allocate_leaf() -> Option<*mut Leaf> {
    let layout = Layout::new::<Leaf>();
    // SAFETY: the layout has a non-zero size; all-zero bytes are a valid
    // `Leaf` (atomics with the representation of `usize`).
    let raw = unsafe { alloc::alloc_zeroed(layout) };
    (!raw.is_null()).then_some(raw.cast())
}

impl Drop for Tables {
    fn drop(&mut self) {
        let layout = Layout::new::<Leaf>();
        for slot in self.directory.iter_mut() {
            let leaf = *slot.get_mut();
            if leaf != zero_leaf() {
                // SAFETY: allocated by `allocate_leaf` with this layout,
                // owned by this directory only, freed once.
                unsafe { alloc::dealloc(leaf.cast(), layout) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_start_empty_and_out_of_range_reads_are_empty() {
        let tables = Tables::new().unwrap();
        assert_eq!(tables.read_entry(0), 0);
        tables.set(3, 0x1000, 0x2000);
        assert_eq!(
            (tables.read_entry(3), tables.write_entry(3)),
            (0x1000, 0x2000)
        );
        assert_eq!(tables.read_entry(4), 0);
        assert_eq!(tables.write_entry(u64::MAX), 0);
        let last = (DIRECTORY_ENTRIES * LEAF_PAGES - 1) as u64;
        assert_eq!(tables.read_entry(last), 0);
        tables.set(last as usize + 1, 0x1000, 0x1000);
        assert_eq!(tables.read_entry(last + 1), 0);
    }

    #[test]
    fn leaves_are_allocated_where_pages_are_set_and_never_for_zeros() {
        let tables = Tables::new().unwrap();
        let empty = tables.host_bytes();
        assert_eq!(empty, Tables::DIRECTORY_BYTES as u64);
        tables.set(5, 0, 0);
        tables.set(LEAF_PAGES * 100, 0, 0);
        assert_eq!(tables.host_bytes(), empty);
        assert!(ZERO_LEAF
            .read
            .iter()
            .all(|e| e.load(Ordering::Relaxed) == 0));
        tables.set(5, 0x5000, 0);
        tables.set(6, 0x6000, 0x6000);
        assert_eq!(tables.host_bytes(), empty + 8192);
        tables.set(LEAF_PAGES * 100 + 7, 0x7000, 0x7000);
        assert_eq!(tables.host_bytes(), empty + 2 * 8192);
        assert_eq!(tables.read_entry(5), 0x5000);
        assert_eq!(tables.write_entry(5), 0);
        assert_eq!(tables.write_entry((LEAF_PAGES * 100 + 7) as u64), 0x7000);
        assert_eq!(tables.read_entry((LEAF_PAGES * 100 + 8) as u64), 0);
        assert!(ZERO_LEAF
            .read
            .iter()
            .all(|e| e.load(Ordering::Relaxed) == 0));
        assert!(ZERO_LEAF
            .write
            .iter()
            .all(|e| e.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn the_raw_layout_is_the_documented_one() {
        let tables = Tables::new().unwrap();
        let vpn = LEAF_PAGES * 3 + 17;
        tables.set(vpn, 0xa000, 0xb000);
        let addr = (vpn * PAGE_SIZE + 5) as u64;
        let directory = tables.raw_directory();
        // SAFETY: the directory has DIRECTORY_ENTRIES words and addr is
        // below 2^33; the leaf has 2 * LEAF_PAGES words.
        let (read, write) = unsafe {
            let leaf = *directory.add((addr >> DIRECTORY_SHIFT) as usize) as *const usize;
            let index = (addr as usize / PAGE_SIZE) % LEAF_PAGES;
            (
                *leaf.add(index),
                *leaf.add(index + LEAF_WRITE_OFFSET / std::mem::size_of::<usize>()),
            )
        };
        assert_eq!((read, write), (0xa000, 0xb000));
    }

    #[test]
    fn the_zero_page_is_page_aligned_zeros() {
        assert_eq!(ZERO_PAGE.addr() % PAGE_SIZE, 0);
        assert!(ZERO_PAGE.0.iter().all(|&b| b == 0));
    }
}

//! The translation fast path: a read table and a write table per address
//! space, indexed by virtual page number, each entry the host address of
//! the page's frame or 0.
//!
//! ```text
//!   addr ──► vpn = addr >> 12 ──► read[vpn]  ──► 0: slow path
//!                                  │ p          (fault, or out of bounds)
//!                                  ▼
//!                             load from p + (addr & 0xfff)
//! ```
//!
//! Rights live in the tables: a page without the read right has 0 in the
//! read table, a page without the write right (or a zero or copy-on-write
//! page, whose first write must go through the slow path) has 0 in the
//! write table. Readable zero pages point at [`ZERO_PAGE`], which is never
//! written. The tables are sized for the memory's maximum when the space is
//! created and never move, so an entry can be read without a lock; entries
//! are single atomic words, so they are never torn.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{MmuError, PAGE_SIZE};

/// A page of zeros that every readable zero page is translated to for
/// reads. It is immutable: no write-table entry ever points at it.
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

/// The read and write tables of one address space.
pub(crate) struct Tables {
    read: EntryArray,
    write: EntryArray,
}

impl Tables {
    /// Tables for `pages` pages, every entry 0.
    pub(crate) fn new(pages: usize) -> Result<Tables, MmuError> {
        Ok(Tables {
            read: EntryArray::new(pages)?,
            write: EntryArray::new(pages)?,
        })
    }

    /// The host address that reads of page `vpn` go to, or 0.
    #[inline(always)]
    pub(crate) fn read_entry(&self, vpn: u64) -> usize {
        self.read.get(vpn)
    }

    /// The host address that writes of page `vpn` go to, or 0.
    #[inline(always)]
    pub(crate) fn write_entry(&self, vpn: u64) -> usize {
        self.write.get(vpn)
    }

    /// The first entry of the read table, of the write table, and the
    /// number of entries of each.
    pub(crate) fn raw(&self) -> (*const usize, *const usize, u64) {
        (
            self.read.entries.as_ptr().cast_const().cast(),
            self.write.entries.as_ptr().cast_const().cast(),
            self.read.len as u64,
        )
    }

    /// Sets both entries of `vpn` (which must be below the tables' length).
    pub(crate) fn set(&self, vpn: usize, read: usize, write: usize) {
        self.read.set(vpn, read);
        self.write.set(vpn, write);
    }
}

/// A fixed array of atomic entries, zero-initialized by the host allocator
/// so that tables for a large maximum cost nothing until entries are set.
struct EntryArray {
    entries: NonNull<AtomicUsize>,
    len: usize,
}

// SAFETY: the array is only accessed through atomic operations.
unsafe impl Send for EntryArray {}
// SAFETY: as above.
unsafe impl Sync for EntryArray {}

impl EntryArray {
    fn new(len: usize) -> Result<EntryArray, MmuError> {
        if len == 0 {
            return Ok(EntryArray {
                entries: NonNull::dangling(),
                len: 0,
            });
        }
        let layout = Layout::array::<AtomicUsize>(len)
            .map_err(|_| MmuError::HostMemory((len * 8) as u64))?;
        // SAFETY: the layout has a non-zero size; an all-zero `AtomicUsize`
        // is a valid value (it has the representation of `usize`).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let entries = NonNull::new(raw.cast::<AtomicUsize>())
            .ok_or(MmuError::HostMemory((len * 8) as u64))?;
        Ok(EntryArray { entries, len })
    }

    #[inline(always)]
    fn get(&self, vpn: u64) -> usize {
        if vpn >= self.len as u64 {
            return 0;
        }
        // SAFETY: `vpn < len`, the array has `len` initialized entries that
        // live as long as `self`.
        let entry = unsafe { &*self.entries.as_ptr().add(vpn as usize) };
        // Acquire pairs with the Release in `set`: whoever sees a frame's
        // address also sees the frame's contents (zeroed or copied) that
        // were written before the entry was published.
        entry.load(Ordering::Acquire)
    }

    fn set(&self, vpn: usize, value: usize) {
        assert!(vpn < self.len, "table index out of range");
        // SAFETY: checked just above.
        let entry = unsafe { &*self.entries.as_ptr().add(vpn) };
        entry.store(value, Ordering::Release);
    }
}

impl Drop for EntryArray {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        let layout = Layout::array::<AtomicUsize>(self.len).expect("layout was valid at creation");
        // SAFETY: allocated in `new` with exactly this layout, freed once.
        unsafe { alloc::dealloc(self.entries.as_ptr().cast(), layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_start_empty_and_out_of_range_reads_are_empty() {
        let tables = Tables::new(4).unwrap();
        assert_eq!(tables.read_entry(0), 0);
        tables.set(3, 0x1000, 0x2000);
        assert_eq!(
            (tables.read_entry(3), tables.write_entry(3)),
            (0x1000, 0x2000)
        );
        assert_eq!(tables.read_entry(4), 0);
        assert_eq!(tables.write_entry(u64::MAX), 0);
        assert_eq!(Tables::new(0).unwrap().read_entry(0), 0);
    }

    #[test]
    fn the_zero_page_is_page_aligned_zeros() {
        assert_eq!(ZERO_PAGE.addr() % PAGE_SIZE, 0);
        assert!(ZERO_PAGE.0.iter().all(|&b| b == 0));
    }
}

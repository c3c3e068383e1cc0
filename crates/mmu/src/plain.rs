//! The `plain` memory backend: one contiguous, bounds-checked byte array,
//! as runtimes inside SGX use today. It has no pages and no rights; it is
//! the baseline that tells what virtualization costs.

use crate::{
    Access, FaultReason, MemoryFault, MmuError, MAX_WASM_PAGES, PAGES_PER_WASM_PAGE, PAGE_SIZE,
};

const WASM_PAGE: u64 = (PAGES_PER_WASM_PAGE * PAGE_SIZE) as u64;

/// A contiguous linear memory with a bounds check on every access.
#[derive(Debug)]
pub struct PlainMemory {
    bytes: Vec<u8>,
    max_wasm_pages: u64,
}

impl PlainMemory {
    /// A zeroed memory of `initial` Wasm pages that may grow to `maximum`
    /// (4 GiB if `None`).
    ///
    /// # Errors
    ///
    /// [`MmuError::InvalidLimits`] if `initial` exceeds the maximum or the
    /// maximum exceeds 4 GiB.
    pub fn new(initial: u64, maximum: Option<u64>) -> Result<PlainMemory, MmuError> {
        let max_wasm_pages = maximum.unwrap_or(MAX_WASM_PAGES);
        if initial > max_wasm_pages || max_wasm_pages > MAX_WASM_PAGES {
            return Err(MmuError::InvalidLimits {
                initial,
                maximum: max_wasm_pages,
            });
        }
        Ok(PlainMemory {
            bytes: vec![0; (initial * WASM_PAGE) as usize],
            max_wasm_pages,
        })
    }

    /// `memory.size` in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The first byte and the size in bytes, for code that checks bounds
    /// inline (a compiled engine). Valid until the memory grows, moves or
    /// is dropped; accesses below the size are in bounds.
    pub fn raw_bytes(&mut self) -> (*mut u8, u64) {
        (self.bytes.as_mut_ptr(), self.bytes.len() as u64)
    }

    /// `memory.grow`: returns the old size in Wasm pages.
    ///
    /// # Errors
    ///
    /// [`MmuError::GrowBeyondMaximum`]; nothing changes then.
    pub fn grow(&mut self, delta: u64) -> Result<u64, MmuError> {
        let current = self.bytes.len() as u64 / WASM_PAGE;
        let new = current
            .checked_add(delta)
            .filter(|&new| new <= self.max_wasm_pages)
            .ok_or(MmuError::GrowBeyondMaximum {
                current,
                delta,
                maximum: self.max_wasm_pages,
            })?;
        self.bytes.resize((new * WASM_PAGE) as usize, 0);
        Ok(current)
    }

    fn span(
        &self,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<std::ops::Range<usize>, MemoryFault> {
        match addr.checked_add(len) {
            Some(end) if end <= self.bytes.len() as u64 => Ok(addr as usize..end as usize),
            _ => Err(MemoryFault {
                addr,
                access,
                reason: FaultReason::OutOfBounds,
            }),
        }
    }

    /// Checks that `addr..addr + len` is in bounds.
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`].
    pub fn check_access(&self, addr: u64, len: u64, access: Access) -> Result<(), MemoryFault> {
        self.span(addr, len, access).map(|_| ())
    }

    /// Loads `N` bytes at `addr`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`].
    #[inline(always)]
    pub fn read<const N: usize>(&self, addr: u64) -> Result<[u8; N], MemoryFault> {
        let span = self.span(addr, N as u64, Access::Read)?;
        Ok(self.bytes[span].try_into().expect("span has N bytes"))
    }

    /// Stores `N` bytes at `addr`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`]; nothing is written then.
    #[inline(always)]
    pub fn write<const N: usize>(&mut self, addr: u64, bytes: [u8; N]) -> Result<(), MemoryFault> {
        let span = self.span(addr, N as u64, Access::Write)?;
        self.bytes[span].copy_from_slice(&bytes);
        Ok(())
    }

    /// Copies `buf.len()` bytes at `addr` into `buf`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`].
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryFault> {
        let span = self.span(addr, buf.len() as u64, Access::Read)?;
        buf.copy_from_slice(&self.bytes[span]);
        Ok(())
    }

    /// Copies `data` to `addr`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`]; nothing is written then.
    pub fn write_bytes(&mut self, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        let span = self.span(addr, data.len() as u64, Access::Write)?;
        self.bytes[span].copy_from_slice(data);
        Ok(())
    }

    /// `memory.fill`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`]; nothing is written then.
    pub fn fill(&mut self, addr: u64, value: u8, len: u64) -> Result<(), MemoryFault> {
        let span = self.span(addr, len, Access::Write)?;
        self.bytes[span].fill(value);
        Ok(())
    }

    /// `memory.copy` (the ranges may overlap).
    ///
    /// # Errors
    ///
    /// An out-of-bounds [`MemoryFault`] (source checked first); nothing is
    /// written then.
    pub fn copy_within(&mut self, dst: u64, src: u64, len: u64) -> Result<(), MemoryFault> {
        let from = self.span(src, len, Access::Read)?;
        let to = self.span(dst, len, Access::Write)?;
        self.bytes.copy_within(from, to.start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_without_overflow() {
        let mut mem = PlainMemory::new(1, Some(2)).unwrap();
        mem.write(65532, 7u32.to_le_bytes()).unwrap();
        assert_eq!(u32::from_le_bytes(mem.read(65532).unwrap()), 7);
        let fault = mem.read::<4>(65533).unwrap_err();
        assert_eq!(fault.reason, FaultReason::OutOfBounds);
        assert!(mem.read::<8>(u64::MAX - 3).is_err());
        assert_eq!(mem.grow(1).unwrap(), 1);
        assert!(mem.grow(1).is_err());
        assert_eq!(mem.size_bytes(), 2 * WASM_PAGE);
        mem.fill(10, 9, 5).unwrap();
        mem.copy_within(12, 10, 5).unwrap();
        let mut buf = [0; 8];
        mem.read_bytes(10, &mut buf).unwrap();
        assert_eq!(buf, [9, 9, 9, 9, 9, 9, 9, 0]);
    }
}

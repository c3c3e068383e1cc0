//! Guest memory as WASI functions see it: every pointer and length comes
//! from the guest and is untrusted, so every access goes through the
//! instance's [`MemoryView`] (the software MMU with the guest's rights, or
//! the plain bounds-checked memory) and a refused access becomes an errno.
//!
//! ```text
//!  guest (ptr, len) ──► GuestMemory ──► MemoryView::{check, read, write}
//!                           │                  │ fault
//!                           └── Err(FAULT / NOMEM) ◄┘
//! ```
//!
//! Functions that have a side effect before they write guest memory
//! (`fd_read` consumes input) or write several ranges first ready every
//! destination ([`GuestMemory::check_write`] and friends): rights are
//! checked and, on the software MMU, every zero or copy-on-write page gets
//! its frame then, all or none ([`MemoryView::prepare_writes`]). A bad
//! buffer or an exhausted frame pool thus fails the call before anything
//! happens, and the writes after it cannot fail half way (short of a
//! concurrent change of the pages). Zero-length ranges access nothing and
//! never fault.

use waven_mmu::Access;
use waven_runtime::MemoryView;

use crate::abi::IOVEC_SIZE;
use crate::errno::{self, Errno};

/// The most bytes one call moves between the guest and a file: larger
/// requests are served in part (a short read or write, as POSIX allows).
pub(crate) const MAX_IO_BYTES: u64 = 16 << 20;

/// The most iovecs one call accepts (`IOV_MAX` of wasi-libc).
pub(crate) const MAX_IOVECS: u32 = 1024;

/// The longest path a guest may pass (`PATH_MAX`).
pub(crate) const MAX_PATH_BYTES: u32 = 4096;

/// One guest buffer of a scatter/gather list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoVec {
    /// Guest address of the buffer.
    pub(crate) addr: u64,
    /// Length of the buffer in bytes.
    pub(crate) len: u64,
}

/// The calling instance's memory, or none (a module without memory, or a
/// call from the host): then every non-empty access faults.
pub(crate) struct GuestMemory<'a> {
    view: Option<MemoryView<'a>>,
}

impl<'a> GuestMemory<'a> {
    /// Wraps the caller's memory view.
    pub(crate) fn new(view: Option<MemoryView<'a>>) -> GuestMemory<'a> {
        GuestMemory { view }
    }

    fn view(&self) -> Result<&MemoryView<'a>, Errno> {
        self.view.as_ref().ok_or(errno::FAULT)
    }

    /// Checks that `len` bytes at `addr` may be accessed, changing nothing.
    fn check(&self, addr: u64, len: u64, access: Access) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        self.view()?
            .check(addr, len, access)
            .map_err(errno::from_fault)
    }

    /// Readies `len` bytes at `addr` for writing (rights and frames).
    pub(crate) fn check_write(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.check_write_ranges(&[(addr, len)])
    }

    /// Readies every `(addr, len)` range for writing, all or none: checks
    /// bounds and write rights, then takes the frames every later write
    /// into them needs. Nothing changes on error.
    pub(crate) fn check_write_ranges(&mut self, ranges: &[(u64, u64)]) -> Result<(), Errno> {
        if ranges.iter().all(|(_, len)| *len == 0) {
            return Ok(());
        }
        match self.view.as_mut() {
            Some(view) => view.prepare_writes(ranges).map_err(errno::from_fault),
            None => Err(errno::FAULT),
        }
    }

    /// Checks that `len` bytes at `addr` may be read.
    pub(crate) fn check_read(&self, addr: u64, len: u64) -> Result<(), Errno> {
        self.check(addr, len, Access::Read)
    }

    /// Readies a scatter list and the `others` ranges (result pointers)
    /// for writing, all or none: every buffer of `iovs` must be writable in
    /// full, and frames are taken for the bytes one call can move (at most
    /// [`MAX_IO_BYTES`], from the front) and for `others`.
    pub(crate) fn check_write_all(
        &mut self,
        iovs: &[IoVec],
        others: &[(u64, u64)],
    ) -> Result<(), Errno> {
        iovs.iter()
            .try_for_each(|iov| self.check(iov.addr, iov.len, Access::Write))?;
        let mut left = capped_total(iovs) as u64;
        let mut ranges = Vec::with_capacity(iovs.len() + others.len());
        for iov in iovs {
            let take = iov.len.min(left);
            ranges.push((iov.addr, take));
            left -= take;
        }
        ranges.extend_from_slice(others);
        self.check_write_ranges(&ranges)
    }

    /// Reads `buf.len()` bytes at `addr`.
    pub(crate) fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.is_empty() {
            return Ok(());
        }
        self.view()?.read(addr, buf).map_err(errno::from_fault)
    }

    /// Writes `data` at `addr`; nothing is written if any byte may not be.
    pub(crate) fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        match self.view.as_mut() {
            Some(view) => view.write(addr, data).map_err(errno::from_fault),
            None => Err(errno::FAULT),
        }
    }

    /// Writes a little-endian `u32` at `addr`.
    pub(crate) fn write_u32(&mut self, addr: u64, value: u32) -> Result<(), Errno> {
        self.write(addr, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64` at `addr`.
    pub(crate) fn write_u64(&mut self, addr: u64, value: u64) -> Result<(), Errno> {
        self.write(addr, &value.to_le_bytes())
    }

    /// Reads an array of `count` iovecs at `addr`.
    ///
    /// `INVAL` for more than [`MAX_IOVECS`]; the fault's errno if the
    /// array cannot be read.
    pub(crate) fn read_iovecs(&self, addr: u64, count: u32) -> Result<Vec<IoVec>, Errno> {
        if count > MAX_IOVECS {
            return Err(errno::INVAL);
        }
        let mut raw = vec![0u8; count as usize * IOVEC_SIZE as usize];
        self.read_into(addr, &mut raw)?;
        Ok(raw
            .chunks_exact(IOVEC_SIZE as usize)
            .map(|entry| IoVec {
                addr: u64::from(u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]])),
                len: u64::from(u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]])),
            })
            .collect())
    }

    /// Reads the sources of a gather list: every buffer must be readable
    /// in full, and at most [`MAX_IO_BYTES`] are copied (from the front).
    pub(crate) fn gather(&self, iovs: &[IoVec]) -> Result<Vec<u8>, Errno> {
        iovs.iter()
            .try_for_each(|iov| self.check_read(iov.addr, iov.len))?;
        let total = capped_total(iovs);
        let mut data = vec![0u8; total];
        let mut filled = 0usize;
        for iov in iovs {
            let take = (iov.len as usize).min(total - filled);
            self.read_into(iov.addr, &mut data[filled..filled + take])?;
            filled += take;
            if filled == total {
                break;
            }
        }
        Ok(data)
    }

    /// Writes `data` across the buffers of a scatter list, in order.
    /// `data` must not be longer than the buffers together.
    pub(crate) fn scatter(&mut self, iovs: &[IoVec], data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        for iov in iovs {
            if done == data.len() {
                break;
            }
            let take = (iov.len as usize).min(data.len() - done);
            self.write(iov.addr, &data[done..done + take])?;
            done += take;
        }
        Ok(())
    }

    /// Reads a path argument: at most [`MAX_PATH_BYTES`] (`NAMETOOLONG`),
    /// UTF-8 (`ILSEQ`) and without NUL bytes (`INVAL`).
    pub(crate) fn read_path(&self, addr: u64, len: u32) -> Result<String, Errno> {
        if len > MAX_PATH_BYTES {
            return Err(errno::NAMETOOLONG);
        }
        let mut raw = vec![0u8; len as usize];
        self.read_into(addr, &mut raw)?;
        let path = String::from_utf8(raw).map_err(|_| errno::ILSEQ)?;
        if path.contains('\0') {
            return Err(errno::INVAL);
        }
        Ok(path)
    }
}

/// The bytes a scatter/gather list moves in one call: its total length,
/// capped at [`MAX_IO_BYTES`].
pub(crate) fn capped_total(iovs: &[IoVec]) -> usize {
    let total = iovs
        .iter()
        .fold(0u64, |sum, iov| sum.saturating_add(iov.len));
    total.min(MAX_IO_BYTES) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_capped() {
        let iovs = [
            IoVec {
                addr: 0,
                len: u64::from(u32::MAX),
            },
            IoVec {
                addr: 0,
                len: u64::from(u32::MAX),
            },
        ];
        assert_eq!(capped_total(&iovs), MAX_IO_BYTES as usize);
        assert_eq!(capped_total(&iovs[..0]), 0);
    }

    #[test]
    fn without_memory_every_access_faults_but_empty_ones() {
        let mut memory = GuestMemory::new(None);
        assert_eq!(memory.read_into(0, &mut [0u8; 4]), Err(errno::FAULT));
        assert_eq!(memory.write(0, b"x"), Err(errno::FAULT));
        assert_eq!(memory.write(0, b""), Ok(()));
        assert_eq!(memory.check_write(8, 0), Ok(()));
        assert_eq!(memory.read_iovecs(0, MAX_IOVECS + 1), Err(errno::INVAL));
        assert_eq!(
            memory.read_path(0, MAX_PATH_BYTES + 1),
            Err(errno::NAMETOOLONG)
        );
    }
}

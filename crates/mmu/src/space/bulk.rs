//! Accesses that take the state lock: the slow path of loads and stores,
//! bulk copy and fill, and host reads and writes of byte slices.
//!
//! Every routine checks its whole range before it changes a byte, in this
//! order: bounds of each operand (source first), read rights of the source,
//! write rights of the destination, then frames for the destination's zero
//! and copy-on-write pages (all allocated at once, or none). The first
//! failing check is the fault reported; nothing has changed then.
//!
//! While the state lock is held no reference of this space can be given
//! up, so every frame its pages name stays valid without a pin.

use std::collections::HashSet;
use std::ptr;

use super::pages::CHUNK_PAGES;
use super::{AddressSpace, SpaceInner, SpaceState};
use crate::frame_pool::FrameId;
use crate::page::{Mapping, PageKind};
use crate::{Access, FaultReason, MemoryFault, PAGE_SIZE};

/// Splits `addr..addr + len` into (page, offset in page, length) pieces.
fn pieces(addr: u64, len: u64) -> impl Iterator<Item = (usize, usize, usize)> {
    let page = PAGE_SIZE as u64;
    let mut at = addr;
    let end = addr + len;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let offset = at % page;
        let n = (page - offset).min(end - at);
        let piece = ((at / page) as usize, offset as usize, n as usize);
        at += n;
        Some(piece)
    })
}

/// The pages a first touch of `addr..addr + len` (in bounds: checked)
/// sets: every page of the chunks it touches ([`CHUNK_PAGES`], one table
/// leaf), so that a walk over a lazily mapped region takes the slow path
/// once per 2 MiB, not once per page.
fn touched(addr: u64, len: u64) -> std::ops::Range<usize> {
    let page = PAGE_SIZE as u64;
    let first = (addr / page) as usize;
    let end = (addr + len).div_ceil(page) as usize;
    first / CHUNK_PAGES * CHUNK_PAGES..end.div_ceil(CHUNK_PAGES) * CHUNK_PAGES
}

impl SpaceInner {
    /// Faults if `addr..addr + len` reaches beyond `memory.size`.
    fn check_bounds(
        &self,
        state: &SpaceState,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<(), MemoryFault> {
        let size = state.pages.len() as u64 * PAGE_SIZE as u64;
        match addr.checked_add(len) {
            Some(end) if end <= size => Ok(()),
            _ => Err(MemoryFault {
                addr,
                access,
                reason: FaultReason::OutOfBounds,
            }),
        }
    }

    /// Faults at the first page of an in-bounds range that is unmapped or
    /// lacks the right for `access`.
    fn check_rights(
        &self,
        state: &SpaceState,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<(), MemoryFault> {
        for (vpn, offset, _) in pieces(addr, len) {
            let reason = match state.pages.get(vpn) {
                None => FaultReason::Unmapped,
                Some(m) if !m.rights.allows(access) => FaultReason::Denied,
                Some(_) => continue,
            };
            return Err(MemoryFault {
                addr: (vpn * PAGE_SIZE + offset) as u64,
                access,
                reason,
            });
        }
        Ok(())
    }

    /// Gives every zero or copy-on-write page of `pages` a frame of its own
    /// (the page becomes private), allocating all frames first.
    ///
    /// # Errors
    ///
    /// The first page that needed a frame, if the pool has too few; nothing
    /// changed then.
    pub(crate) fn own_frames(
        &self,
        state: &mut SpaceState,
        pages: impl Iterator<Item = usize> + Clone,
    ) -> Result<(), usize> {
        // A copy-on-write frame whose only reference is ours is taken over
        // without a copy. Counts only fall while we hold the lock (clones
        // of this space are made under it), so this may overestimate. A
        // page deferred to an image run holds no reference: its frame is
        // the snapshot's, never ours to take.
        let taken_over = |state: &SpaceState, vpn: usize| {
            let resolved = state.pages.resolve(vpn);
            resolved.held
                && resolved.page.is_some_and(|m| {
                    m.kind == PageKind::CopyOnWrite
                        && m.frame.is_some_and(|f| self.pool.refcount(f) == 1)
                })
        };
        let needs_new = |state: &SpaceState, vpn: usize| {
            state.pages.get(vpn).is_some_and(|m| match m.kind {
                PageKind::Zero => true,
                PageKind::CopyOnWrite => !taken_over(state, vpn),
                _ => false,
            })
        };
        let mut first = None;
        let mut count = 0;
        for vpn in pages.clone() {
            if needs_new(state, vpn) {
                first.get_or_insert(vpn);
                count += 1;
            }
        }
        // A snapshot promised no frame for its pages: it gets none.
        if state.frozen && count > 0 {
            return Err(first.unwrap_or_default());
        }
        let mut fresh = match self.pool.alloc_many(count) {
            Ok(frames) => frames,
            Err(_) => return Err(first.unwrap_or_default()),
        };
        for vpn in pages {
            let Some(m) = state.pages.get(vpn) else {
                continue;
            };
            let frame = match (m.kind, m.frame) {
                (PageKind::Zero, _) => fresh.pop().expect("counted above"),
                (PageKind::CopyOnWrite, Some(old)) if taken_over(state, vpn) => old,
                (PageKind::CopyOnWrite, Some(old)) => {
                    let new = fresh.pop().expect("counted above");
                    self.pool.copy_frame(old, new);
                    new
                }
                _ => continue,
            };
            self.set_page(state, vpn, Some(Mapping::private(frame, m.rights)));
        }
        // Frames left over because a count fell to one meanwhile.
        for frame in fresh {
            self.pool.release(frame);
        }
        Ok(())
    }

    /// Checks a write range and gives its pages frames of their own.
    fn prepare_write(
        &self,
        state: &mut SpaceState,
        addr: u64,
        len: u64,
    ) -> Result<(), MemoryFault> {
        self.check_rights(state, addr, len, Access::Write)?;
        if len == 0 {
            return Ok(());
        }
        let first = (addr / PAGE_SIZE as u64) as usize;
        let last = ((addr + len - 1) / PAGE_SIZE as u64) as usize;
        self.own_frames(state, first..last + 1)
            .map_err(|vpn| MemoryFault {
                addr: addr.max((vpn * PAGE_SIZE) as u64),
                access: Access::Write,
                reason: FaultReason::OutOfFrames,
            })
    }

    /// Checks every range for writing, then gives all their pages frames
    /// of their own at once: afterwards writes into the ranges cannot run
    /// out of frames (until the pages change again).
    fn prepare_writes(&self, ranges: &[(u64, u64)]) -> Result<(), MemoryFault> {
        let mut state = self.lock();
        let page = PAGE_SIZE as u64;
        let mut pages = Vec::with_capacity(ranges.len());
        for &(addr, len) in ranges.iter().filter(|(_, len)| *len > 0) {
            self.check_bounds(&state, addr, len, Access::Write)?;
            self.check_rights(&state, addr, len, Access::Write)?;
            pages.push((addr / page) as usize..((addr + len - 1) / page) as usize + 1);
        }
        // Ranges may share pages; each page must be counted once, or the
        // pool could be found short when it is not.
        pages.sort_by_key(|r| r.start);
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(pages.len());
        for range in pages {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let result = self
            .own_frames(&mut state, merged.iter().flat_map(Clone::clone))
            .map_err(|vpn| MemoryFault {
                addr: (vpn * PAGE_SIZE) as u64,
                access: Access::Write,
                reason: FaultReason::OutOfFrames,
            });
        self.settle(&mut state);
        result
    }

    /// The host address of byte `offset` of page `vpn`, which is mapped.
    fn byte_addr(&self, state: &SpaceState, vpn: usize, offset: usize) -> *mut u8 {
        let mapping = state.pages.get(vpn).expect("checked mapped");
        self.page_addr(&mapping).wrapping_add(offset)
    }

    /// Copies the bytes at `addr..addr + buf.len()` into `buf`. The caller
    /// holds the lock and has checked the range readable.
    fn copy_out(&self, state: &SpaceState, addr: u64, buf: &mut [u8]) {
        let mut at = 0;
        for (vpn, offset, n) in pieces(addr, buf.len() as u64) {
            // SAFETY: the page is mapped and readable (checked by the
            // caller), its frame is held by this space and stays valid under
            // the lock; the piece lies inside the page and inside `buf`, and
            // host buffers never overlap guest frames.
            unsafe {
                ptr::copy_nonoverlapping(
                    self.byte_addr(state, vpn, offset),
                    buf.as_mut_ptr().add(at),
                    n,
                )
            };
            at += n;
        }
    }

    /// Copies `data` to `addr`. The caller holds the lock and has prepared
    /// the range for writing (`prepare_write`).
    fn copy_in(&self, state: &SpaceState, addr: u64, data: &[u8]) {
        let mut at = 0;
        for (vpn, offset, n) in pieces(addr, data.len() as u64) {
            // SAFETY: the page is writable and has a frame of its own
            // (prepare_write), valid under the lock; the piece lies inside
            // the page and inside `data`.
            unsafe {
                ptr::copy_nonoverlapping(
                    data.as_ptr().add(at),
                    self.byte_addr(state, vpn, offset),
                    n,
                )
            };
            at += n;
        }
    }

    /// Reads `buf.len()` bytes at `addr` into `buf`, and sets the lazily
    /// mapped pages it read (their first touch).
    pub(crate) fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryFault> {
        let mut state = self.lock();
        let len = buf.len() as u64;
        self.check_bounds(&state, addr, len, Access::Read)?;
        self.check_rights(&state, addr, len, Access::Read)?;
        self.copy_out(&state, addr, buf);
        self.materialize(&mut state, touched(addr, len));
        Ok(())
    }

    /// Writes `data` at `addr`, and sets the lazily mapped pages it wrote
    /// (their first touch).
    pub(crate) fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        let mut state = self.lock();
        let len = data.len() as u64;
        self.check_bounds(&state, addr, len, Access::Write)?;
        self.prepare_write(&mut state, addr, len)?;
        self.copy_in(&state, addr, data);
        self.materialize(&mut state, touched(addr, len));
        self.settle(&mut state);
        Ok(())
    }

    fn fill(&self, addr: u64, value: u8, len: u64) -> Result<(), MemoryFault> {
        let mut state = self.lock();
        self.check_bounds(&state, addr, len, Access::Write)?;
        self.prepare_write(&mut state, addr, len)?;
        for (vpn, offset, n) in pieces(addr, len) {
            // SAFETY: as in `write_bytes`.
            unsafe { self.byte_addr(&state, vpn, offset).write_bytes(value, n) };
        }
        self.settle(&mut state);
        Ok(())
    }

    /// `memory.copy` within this space, with `memmove` semantics.
    fn copy_within(&self, dst: u64, src: u64, len: u64) -> Result<(), MemoryFault> {
        let mut state = self.lock();
        self.check_bounds(&state, src, len, Access::Read)?;
        self.check_bounds(&state, dst, len, Access::Write)?;
        self.check_rights(&state, src, len, Access::Read)?;
        self.prepare_write(&mut state, dst, len)?;
        // Pieces bounded by page ends on both sides. No two pages of one
        // space share a writable frame (a region maps at most once per
        // space), so copying pieces front to back when dst <= src, and back
        // to front otherwise, gives memmove's result.
        let page = PAGE_SIZE as u64;
        let backwards = dst > src;
        let mut done = 0;
        while done < len {
            let n = if backwards {
                // The piece that ends `done` bytes before the end.
                let (s_end, d_end) = (src + len - done, dst + len - done);
                let in_page = |end: u64| (end - 1) % page + 1;
                in_page(s_end).min(in_page(d_end)).min(len - done)
            } else {
                let (s, d) = (src + done, dst + done);
                (page - s % page).min(page - d % page).min(len - done)
            };
            let (s, d) = if backwards {
                (src + len - done - n, dst + len - done - n)
            } else {
                (src + done, dst + done)
            };
            let from = self.byte_addr(&state, (s / page) as usize, (s % page) as usize);
            let to = self.byte_addr(&state, (d / page) as usize, (d % page) as usize);
            // SAFETY: both pieces lie inside one page each, mapped with the
            // needed rights (checked), whose frames stay valid under the
            // lock; `ptr::copy` allows the pieces to overlap.
            unsafe { ptr::copy(from, to, n as usize) };
            done += n;
        }
        self.settle(&mut state);
        Ok(())
    }
}

impl AddressSpace {
    /// Checks, without changing anything, that `addr..addr + len` is in
    /// bounds and every page allows `access`. Host functions use it before
    /// an operation with side effects elsewhere (reading a file into guest
    /// memory), so that a bad buffer fails before anything happens. A later
    /// write can still fail if the pool runs out of frames.
    ///
    /// # Errors
    ///
    /// The [`MemoryFault`] the access would raise.
    pub fn check_access(&self, addr: u64, len: u64, access: Access) -> Result<(), MemoryFault> {
        let state = self.inner.lock();
        self.inner.check_bounds(&state, addr, len, access)?;
        self.inner.check_rights(&state, addr, len, access)
    }

    /// Makes every range of `ranges` (`(addr, len)` pairs, which may
    /// overlap) ready for host writes, all or none: checks bounds and write
    /// rights, then gives every zero or copy-on-write page in them a frame
    /// of its own. Host functions call it before a side effect (consuming
    /// input) so that the writes after it cannot fail for want of frames.
    /// Contents do not change. Only a concurrent change of the pages
    /// (`protect`, `discard`, ...) can make a later write fail.
    ///
    /// # Errors
    ///
    /// The first failing check's [`MemoryFault`] (bounds, rights, then
    /// `OutOfFrames` at a page that needed a frame); no page changed then.
    pub fn prepare_writes(&self, ranges: &[(u64, u64)]) -> Result<(), MemoryFault> {
        self.inner.prepare_writes(ranges)
    }

    /// Host read: copies `buf.len()` bytes at `addr` into `buf`, with this
    /// space's rights.
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`] if any byte is out of bounds, unmapped or not
    /// readable; `buf` is not written then.
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryFault> {
        self.inner.read_bytes(addr, buf)
    }

    /// Host write: copies `data` to `addr`, with this space's rights.
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`] if any byte is out of bounds, unmapped or not
    /// writable, or frames ran out; nothing is written then.
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        self.inner.write_bytes(addr, data)
    }

    /// `memory.fill`: sets `len` bytes at `addr` to `value`.
    ///
    /// # Errors
    ///
    /// As [`AddressSpace::write_bytes`].
    pub fn fill(&self, addr: u64, value: u8, len: u64) -> Result<(), MemoryFault> {
        self.inner.fill(addr, value, len)
    }

    /// `memory.copy`: copies `len` bytes from `src` to `dst` as if through
    /// a temporary buffer (the ranges may overlap).
    ///
    /// # Errors
    ///
    /// A [`MemoryFault`] for the first failing check (bounds of `src`, of
    /// `dst`, read rights of `src`, write rights of `dst`, frames); nothing
    /// is written then.
    pub fn copy_within(&self, dst: u64, src: u64, len: u64) -> Result<(), MemoryFault> {
        self.inner.copy_within(dst, src, len)
    }

    /// Host copy between two spaces: `len` bytes from `src` in `from` to
    /// `dst` in `self`, with each space's rights (the same space is allowed
    /// and behaves as [`AddressSpace::copy_within`]).
    ///
    /// # Errors
    ///
    /// As [`AddressSpace::copy_within`]; nothing is written on error.
    pub fn copy_from(
        &self,
        dst: u64,
        from: &AddressSpace,
        src: u64,
        len: u64,
    ) -> Result<(), MemoryFault> {
        if std::sync::Arc::ptr_eq(&self.inner, &from.inner) {
            return self.copy_within(dst, src, len);
        }
        let (to, from) = (&*self.inner, &*from.inner);
        // Lock in a global order (by id) so two opposite copies cannot
        // deadlock.
        let (mut dst_state, src_state);
        if to.id < from.id {
            dst_state = to.lock();
            src_state = from.lock();
        } else {
            src_state = from.lock();
            dst_state = to.lock();
        }
        from.check_bounds(&src_state, src, len, Access::Read)?;
        to.check_bounds(&dst_state, dst, len, Access::Write)?;
        from.check_rights(&src_state, src, len, Access::Read)?;
        to.prepare_write(&mut dst_state, dst, len)?;
        // Two spaces may map the same frame (a shared region); then go
        // through a buffer so that the result is the one of a copy.
        let frames_of = |state: &SpaceState, addr: u64| -> HashSet<FrameId> {
            pieces(addr, len)
                .filter_map(|(vpn, _, _)| state.pages.get(vpn).and_then(|m| m.frame))
                .collect()
        };
        let aliased = !frames_of(&dst_state, dst).is_disjoint(&frames_of(&src_state, src));
        if aliased {
            let mut buf = vec![0u8; len as usize];
            from.copy_out(&src_state, src, &mut buf);
            to.copy_in(&dst_state, dst, &buf);
        } else {
            let mut done = 0;
            while done < len {
                let (s, d) = (src + done, dst + done);
                let page = PAGE_SIZE as u64;
                let n = (page - s % page).min(page - d % page).min(len - done);
                let from_addr =
                    from.byte_addr(&src_state, (s / page) as usize, (s % page) as usize);
                let to_addr = to.byte_addr(&dst_state, (d / page) as usize, (d % page) as usize);
                // SAFETY: pieces inside one page each, with the rights
                // checked, valid under both locks; the frames differ
                // (not aliased), so the pieces do not overlap.
                unsafe { ptr::copy_nonoverlapping(from_addr, to_addr, n as usize) };
                done += n;
            }
        }
        to.settle(&mut dst_state);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{AddressSpace, FramePool, MemoryLimits, PageKind};

    use super::*;

    fn kind(space: &AddressSpace, addr: u64) -> PageKind {
        space.page_info(addr).expect("mapped").kind
    }

    #[test]
    fn prepare_writes_gives_frames_to_all_ranges_or_none() {
        // Three frames; the space's 16 pages are zero pages.
        let pool = FramePool::new_overcommitted(3 * PAGE_SIZE as u64).unwrap();
        let space = AddressSpace::new(&pool, MemoryLimits::new(1, Some(1))).unwrap();
        let page = PAGE_SIZE as u64;
        // Four pages asked for: nothing is allocated, nothing changes.
        let fault = space
            .prepare_writes(&[(0, 2 * page), (4 * page, 2 * page)])
            .unwrap_err();
        assert_eq!(fault.reason, FaultReason::OutOfFrames);
        assert_eq!(pool.stats().in_use, 0);
        assert_eq!(kind(&space, 0), PageKind::Zero);
        // Overlapping ranges count their pages once: three fit.
        space
            .prepare_writes(&[(0, 2 * page), (page + 8, 16), (5 * page, 1), (0, 0)])
            .unwrap();
        assert_eq!(pool.stats().in_use, 3);
        assert_eq!(kind(&space, 0), PageKind::Private);
        assert_eq!(kind(&space, 5 * page), PageKind::Private);
        // Contents are kept; prepared pages take writes without frames.
        let mut byte = [9u8];
        space.read_bytes(page, &mut byte).unwrap();
        assert_eq!(byte, [0]);
        space.write_bytes(page, &[1; 16]).unwrap();
        // Bounds and rights fail before frames, as for any write.
        let fault = space.prepare_writes(&[(16 * page, 1)]).unwrap_err();
        assert_eq!(fault.reason, FaultReason::OutOfBounds);
    }
}

//! Control operations: map, protect, unmap, discard, share, map a region,
//! and copy-on-write clones. Each checks all its pages before it changes
//! one, so an error leaves the space as it was. Those that can take rights
//! away (everything but `share` and `try_clone`) end with a shootdown
//! ([`crate::shootdown`]): when they return, no access of another thread
//! still completes with the old translation.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::pages::{Image, LazyRun};
use super::{AddressSpace, SpaceInner, SpaceState};
use crate::page::{Mapping, PageKind};
use crate::quota::MemoryQuota;
use crate::region::{Region, RegionOwner};
use crate::{MmuError, RegionId, Rights, PAGE_SIZE};

fn page_addr(vpn: usize) -> u64 {
    (vpn * PAGE_SIZE) as u64
}

/// The pages `first..first + count` that lie below `len`: empty if none
/// do, never a range that runs backwards (which a run lookup would reject
/// with a panic).
fn page_span(first: usize, count: usize, len: usize) -> Range<usize> {
    let end = first.saturating_add(count).min(len);
    first.min(end)..end
}

impl AddressSpace {
    /// Maps fresh zero pages with `rights` at `addr..addr + len`, replacing
    /// whatever was there (private frames are released, shared pages
    /// unmapped). A frame is allocated for a page on its first write.
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`].
    pub fn map_anon(&self, addr: u64, len: u64, rights: Rights) -> Result<(), MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, len)?;
        // Every page becomes a zero page that may need a frame, and the
        // frames given up stay counted until they are released.
        let (mut newly_needing, mut given_up) = (0, 0);
        for page in pages.clone().map(|vpn| state.pages.get(vpn)) {
            match page {
                Some(m) if !matches!(m.kind, PageKind::Shared(_)) => {}
                _ => newly_needing += 1,
            }
            given_up += u64::from(page.is_some_and(|m| m.frame.is_some()));
        }
        let needed = state.needing + state.limbo.len() as u64 + newly_needing + given_up;
        state.reservation.ensure(needed)?;
        state.pages.reserve(pages.clone())?;
        let limbo_start = state.limbo.len();
        for vpn in pages.clone() {
            inner.set_page(&mut state, vpn, Some(Mapping::zero(rights)));
        }
        inner.cut_runs(&mut state, pages);
        inner.finish_change(state, limbo_start);
        Ok(())
    }

    /// Sets the rights of mapped pages. On a shared page the rights may not
    /// exceed those the page was mapped with.
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`],
    /// [`MmuError::NotMapped`], [`MmuError::RightsExceedMapping`].
    pub fn protect(&self, addr: u64, len: u64, rights: Rights) -> Result<(), MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, len)?;
        for vpn in pages.clone() {
            match state.pages.get(vpn) {
                None => {
                    return Err(MmuError::NotMapped {
                        addr: page_addr(vpn),
                    })
                }
                Some(m) if rights > m.cap => {
                    return Err(MmuError::RightsExceedMapping {
                        addr: page_addr(vpn),
                        requested: rights,
                        allowed: m.cap,
                    })
                }
                Some(_) => {}
            }
        }
        // Pages of lazy runs are materialized with the new rights.
        state.pages.reserve(pages.clone())?;
        let limbo_start = state.limbo.len();
        for vpn in pages {
            let m = state.pages.get(vpn).expect("checked mapped");
            inner.set_page(&mut state, vpn, Some(Mapping { rights, ..m }));
        }
        inner.finish_change(state, limbo_start);
        Ok(())
    }

    /// Unmaps pages (unmapped pages in the range are left as they are).
    /// Private frames are released once nothing can reach them.
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`].
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, len)?;
        let limbo_start = state.limbo.len();
        inner.clear(&mut state, pages);
        inner.finish_change(state, limbo_start);
        Ok(())
    }

    /// Makes private pages read as zero again and releases their frames
    /// (`memory.discard`); rights are kept.
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`],
    /// [`MmuError::NotMapped`], [`MmuError::SharedPage`].
    pub fn discard(&self, addr: u64, len: u64) -> Result<(), MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, len)?;
        for vpn in pages.clone() {
            match state.pages.get(vpn) {
                None => {
                    return Err(MmuError::NotMapped {
                        addr: page_addr(vpn),
                    })
                }
                Some(Mapping {
                    kind: PageKind::Shared(_),
                    ..
                }) => {
                    return Err(MmuError::SharedPage {
                        addr: page_addr(vpn),
                    })
                }
                Some(_) => {}
            }
        }
        let limbo_start = state.limbo.len();
        for vpn in pages {
            let m = state.pages.get(vpn).expect("checked mapped");
            if m.kind != PageKind::Zero {
                inner.set_page(&mut state, vpn, Some(Mapping::zero(m.rights)));
            }
        }
        inner.finish_change(state, limbo_start);
        Ok(())
    }

    /// Makes the pages at `addr..addr + len` a new region owned by this
    /// space, without copying: the pages stay mapped here with their rights
    /// and become [`PageKind::Shared`]. Zero and copy-on-write pages get
    /// frames of their own first. Grants of the region may give at most
    /// `max_rights`.
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`],
    /// [`MmuError::InvalidSize`] (empty range), [`MmuError::NotMapped`],
    /// [`MmuError::AlreadyShared`], [`MmuError::OutOfFrames`].
    pub fn share(
        &self,
        addr: u64,
        len: u64,
        name: &str,
        max_rights: Rights,
    ) -> Result<Region, MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, len)?;
        if pages.is_empty() {
            return Err(MmuError::InvalidSize(len));
        }
        for vpn in pages.clone() {
            match state.pages.get(vpn) {
                None => {
                    return Err(MmuError::NotMapped {
                        addr: page_addr(vpn),
                    })
                }
                Some(Mapping {
                    kind: PageKind::Shared(region),
                    ..
                }) => {
                    return Err(MmuError::AlreadyShared {
                        addr: page_addr(vpn),
                        region,
                    })
                }
                Some(_) => {}
            }
        }
        inner
            .own_frames(&mut state, pages.clone())
            .map_err(|_| MmuError::OutOfFrames)?;
        // The pages keep their references; the region takes one of its own.
        let frames: Vec<_> = pages
            .clone()
            .map(|vpn| {
                state
                    .pages
                    .get(vpn)
                    .and_then(|m| m.frame)
                    .expect("owned above")
            })
            .inspect(|&frame| inner.pool.retain(frame))
            .collect();
        // The pages stop counting against this space's reservation (shared
        // pages need no frame of the space's own); the region takes their
        // share of it, against the same quota.
        let reservation = state.reservation.split_off(pages.len() as u64);
        let region = Region::from_frames(
            &inner.pool,
            name,
            frames,
            max_rights,
            RegionOwner::Space(inner.id),
            reservation,
        );
        region.record_mapping(inner.id, Arc::downgrade(&self.inner), pages.start);
        inner.hold_region(&mut state, &region);
        for vpn in pages.clone() {
            let m = state.pages.get(vpn).expect("checked mapped");
            let kind = PageKind::Shared(region.id());
            inner.set_page(&mut state, vpn, Some(Mapping { kind, ..m }));
        }
        // Every page of the range is set now; an image run under it must
        // not show through when the region's pages are removed later.
        inner.cut_runs(&mut state, pages);
        // Copy-on-write pages that got frames of their own gave up the old
        // references.
        inner.settle(&mut state);
        Ok(region)
    }

    /// Maps the whole region at `addr` with `rights`, replacing what was
    /// there. The region's owner may map it with any rights; any other
    /// space needs a grant of at least `rights`. The mapping's rights are
    /// also the most `protect` can give these pages.
    ///
    /// The mapping is recorded as one lazy run: its pages are set, with
    /// their table entries, on their first access (or by
    /// [`AddressSpace::prefault`]), so mapping costs the same for any size
    /// (plus the pages it replaces).
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`],
    /// [`MmuError::ForeignPool`], [`MmuError::AlreadyMapped`],
    /// [`MmuError::NotGranted`].
    pub fn map_region(&self, region: &Region, addr: u64, rights: Rights) -> Result<(), MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, region.size())?;
        if !region.pool().same_pool(&inner.pool) {
            return Err(MmuError::ForeignPool);
        }
        if state.regions.contains_key(&region.id()) {
            return Err(MmuError::AlreadyMapped(region.id()));
        }
        region.admit(inner.id, rights, Arc::downgrade(&self.inner), pages.start)?;
        let limbo_start = state.limbo.len();
        inner.clear(&mut state, pages.clone());
        inner.hold_region(&mut state, region);
        state
            .pages
            .add_run(pages.start, LazyRun::region(region, pages.len(), rights));
        inner.generation.fetch_add(1, Ordering::Release);
        inner.finish_change(state, limbo_start);
        Ok(())
    }

    /// Sets the pages of `addr..addr + len` that a mapped region has not
    /// set yet (see [`AddressSpace::map_region`]), with their table
    /// entries, so that their first accesses take the fast path too: the
    /// prefault a host may want after mapping. Other pages are left as
    /// they are.
    ///
    /// # Errors
    ///
    /// [`MmuError::Unaligned`], [`MmuError::OutOfRange`],
    /// [`MmuError::HostMemory`] (nothing was set then).
    pub fn prefault(&self, addr: u64, len: u64) -> Result<(), MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let pages = inner.page_range(&state, addr, len)?;
        state.pages.reserve(pages.clone())?;
        inner.materialize(&mut state, pages);
        Ok(())
    }

    /// A copy-on-write clone: a new space of the same size and limits whose
    /// pages have the same contents and rights. Private pages are not
    /// copied: both spaces share their frames copy-on-write, and a write on
    /// either side copies just that page. Shared pages are copied into
    /// private pages of the clone (the clone holds no grant).
    ///
    /// # Errors
    ///
    /// [`MmuError::OutOfFrames`] (frames for shared pages),
    /// [`MmuError::HostMemory`] (tables); nothing changes then.
    pub fn try_clone(&self) -> Result<AddressSpace, MmuError> {
        let quota = self.quota();
        self.try_clone_with_quota(quota.as_ref())
    }

    /// Like [`AddressSpace::try_clone`], with the clone's frames reserved
    /// against `quota` (for example a new tenant's) instead of this
    /// space's quota.
    ///
    /// # Errors
    ///
    /// As [`AddressSpace::try_clone`], and [`MmuError::QuotaExceeded`].
    pub fn try_clone_with_quota(
        &self,
        quota: Option<&MemoryQuota>,
    ) -> Result<AddressSpace, MmuError> {
        self.clone_space(quota, false)
    }

    /// A frozen copy-on-write snapshot: what [`AddressSpace::try_clone`]
    /// makes, except that it can never be written, grown or mapped (such
    /// operations fail: writes fault with "frame pool exhausted", control
    /// operations with [`MmuError::Frozen`]), so it promises only the
    /// frames it holds, against the pool alone. For a module's initialized
    /// memory, which instances are cloned from.
    ///
    /// # Errors
    ///
    /// As [`AddressSpace::try_clone`].
    pub fn snapshot(&self) -> Result<AddressSpace, MmuError> {
        self.clone_space(None, true)
    }

    fn clone_space(
        &self,
        quota: Option<&MemoryQuota>,
        frozen: bool,
    ) -> Result<AddressSpace, MmuError> {
        let inner = &*self.inner;
        let mut state = inner.lock();
        if state.frozen && !frozen {
            return self.clone_image(&state, quota);
        }
        let shared = state
            .pages
            .iter()
            .filter(|p| p.is_some_and(|m| matches!(m.kind, PageKind::Shared(_))))
            .count();
        let clone = SpaceInner::empty(inner.pool.clone(), inner.max_wasm_pages, quota)?;
        let mut clone_state = clone.lock();
        // A clone may write every mapped page; a snapshot keeps only the
        // frames it shares or copies.
        let promised = state
            .pages
            .iter()
            .filter(|p| p.is_some_and(|m| !frozen || m.frame.is_some()))
            .count() as u64;
        clone_state.reservation.grow(promised)?;
        clone_state.frozen = frozen;
        let len = state.pages.len();
        clone_state.pages.grow_to(len, false)?;
        for (vpn, page) in state.pages.iter().enumerate() {
            if page.is_some() {
                clone_state.pages.reserve(vpn..vpn + 1)?;
            }
        }
        let mut copies = inner.pool.alloc_many(shared)?;
        for vpn in 0..len {
            let Some(m) = state.pages.get(vpn) else {
                continue;
            };
            let page = match (m.kind, m.frame) {
                (PageKind::Shared(_), Some(frame)) => {
                    let copy = copies.pop().expect("counted above");
                    inner.pool.copy_frame(frame, copy);
                    let private = Mapping::private(copy, m.rights);
                    if frozen {
                        // Every frame of a snapshot is copy-on-write: no
                        // write through it can reach what clones read.
                        Mapping {
                            kind: PageKind::CopyOnWrite,
                            ..private
                        }
                    } else {
                        private
                    }
                }
                (PageKind::Private | PageKind::CopyOnWrite, Some(frame)) => {
                    inner.pool.retain(frame);
                    let cow = Mapping {
                        kind: PageKind::CopyOnWrite,
                        ..m
                    };
                    if m.kind == PageKind::Private {
                        inner.set_page(&mut state, vpn, Some(cow));
                    }
                    cow
                }
                _ => Mapping::zero(m.rights),
            };
            clone.set_page(&mut clone_state, vpn, Some(page));
        }
        drop(clone_state);
        Ok(clone.into_space(inner.size_bytes()))
    }

    /// A clone of this frozen snapshot in time independent of its size:
    /// the clone's pages are one image run over the snapshot's, set on
    /// their first touch (see [`SpaceInner::materialize`]), and every
    /// frame it may write is reserved at once.
    fn clone_image(
        &self,
        state: &SpaceState,
        quota: Option<&MemoryQuota>,
    ) -> Result<AddressSpace, MmuError> {
        let inner = &*self.inner;
        // The snapshot's state never changes, so one copy of it, made
        // under its lock the first time, serves every clone.
        let (pages, needing) = match inner.image.get() {
            Some(image) => image.clone(),
            None => {
                let (copy, needing) = state.pages.frozen_copy()?;
                let image = (Arc::new(copy), needing);
                let _ = inner.image.set(image.clone());
                image
            }
        };
        let clone = SpaceInner::empty(inner.pool.clone(), inner.max_wasm_pages, quota)?;
        let mut clone_state = clone.lock();
        // Each page that may need a frame of the clone's own counts, set
        // or deferred (see `SpaceState::needing`).
        clone_state.reservation.grow(needing)?;
        clone_state.needing = needing;
        let len = pages.len();
        clone_state.pages.grow_to(len, false)?;
        if len > 0 {
            let image = Image::new(pages, self.clone());
            clone_state.pages.add_run(0, LazyRun::image(image));
        }
        drop(clone_state);
        Ok(clone.into_space(inner.size_bytes()))
    }
}

impl SpaceInner {
    /// A handle to this new space (a clone), `size` bytes large.
    fn into_space(self, size: u64) -> AddressSpace {
        self.size.store(size, Ordering::Release);
        AddressSpace {
            inner: Arc::new(self),
        }
    }

    /// Unmaps this space's pages of `region` among the `count` pages from
    /// `first` (revocation).
    pub(crate) fn remove_region_pages(&self, region: RegionId, first: usize, count: usize) {
        let mut state = self.lock();
        let limbo_start = state.limbo.len();
        let range = page_span(first, count, state.pages.len());
        state.pages.cut_region_runs(range.clone(), region);
        let unmapped = self.update_region_pages(&mut state, region, range, |_| None);
        state.pages.defer_each(&unmapped);
        self.release_if_unused(&mut state, region);
        self.finish_change(state, limbo_start);
    }

    /// Lowers the rights of this space's pages of `region` to at most
    /// `rights` (a grant was reduced).
    pub(crate) fn limit_region_pages(
        &self,
        region: RegionId,
        first: usize,
        count: usize,
        rights: Rights,
    ) {
        let mut state = self.lock();
        let limbo_start = state.limbo.len();
        let range = page_span(first, count, state.pages.len());
        state.pages.limit_region_runs(range.clone(), region, rights);
        let _ = self.update_region_pages(&mut state, region, range, |m| {
            Some(Mapping {
                rights: m.rights.min(rights),
                cap: m.cap.min(rights),
                ..m
            })
        });
        self.finish_change(state, limbo_start);
    }

    /// Replaces each set page of `region` in `range` by `update` of it,
    /// and returns their page numbers.
    fn update_region_pages(
        &self,
        state: &mut SpaceState,
        region: RegionId,
        range: Range<usize>,
        update: impl Fn(Mapping) -> Option<Mapping>,
    ) -> Vec<usize> {
        let set: Vec<_> = state
            .pages
            .set_pages(range)
            .filter(|(_, m)| m.kind == PageKind::Shared(region))
            .collect();
        for &(vpn, m) in &set {
            self.set_page(state, vpn, update(m));
        }
        set.into_iter().map(|(vpn, _)| vpn).collect()
    }

    /// Unmaps every page of `range`: set pages give their references up,
    /// lazy runs lose the range, and the page state of the range is freed.
    fn clear(&self, state: &mut SpaceState, range: Range<usize>) {
        let set: Vec<_> = state
            .pages
            .set_pages(range.clone())
            .map(|(vpn, _)| vpn)
            .collect();
        for vpn in set {
            self.set_page(state, vpn, None);
        }
        self.cut_runs(state, range.clone());
        state.pages.defer(range);
    }

    /// Takes `range` out of every lazy run, forgetting regions no longer
    /// mapped and image pages no longer counted.
    fn cut_runs(&self, state: &mut SpaceState, range: Range<usize>) {
        let cut = state.pages.cut_runs(range);
        state.needing -= cut.needing;
        for region in cut.regions {
            self.release_if_unused(state, region);
        }
    }
}

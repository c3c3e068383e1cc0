//! Regions: named sets of frames that several address spaces can map,
//! and the grants that say who may map them with which rights.
//!
//! ```text
//!   Region ── frames[0..n] (one reference each, held by the region)
//!     │       grants: SpaceId → Rights  (each ≤ max_rights)
//!     └────── mappings: (SpaceId, Weak<space>, first page)  for revoke
//! ```
//!
//! Lock order: a space's state lock may be held while taking a region's
//! lock (`map_region`), never the other way round: `grant` and `revoke`
//! collect what they must change under the region's lock, release it, and
//! only then lock the spaces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::{collections::HashMap, fmt, ptr};

use crate::frame_pool::{FrameId, FramePool};
use crate::quota::Reservation;
use crate::space::{SpaceId, SpaceInner};
use crate::{MmuError, Rights, PAGE_SIZE};

/// The identity of a region, unique in the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(u64);

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "region#{}", self.0)
    }
}

/// Who owns a region: the host, or the address space it was made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionOwner {
    /// Made by the host ([`Region::new`]).
    Host,
    /// Made from pages of this space ([`crate::AddressSpace::share`]).
    Space(SpaceId),
}

/// A handle to a region. Clones are handles to the same region; its frames
/// are released when the last handle and the last mapping are gone.
#[derive(Clone)]
pub struct Region {
    inner: Arc<RegionInner>,
}

struct RegionInner {
    id: RegionId,
    name: String,
    owner: RegionOwner,
    max_rights: Rights,
    pool: FramePool,
    frames: Box<[FrameId]>,
    state: Mutex<RegionState>,
    /// The frames' promise against the pool (and the owner's quota), held
    /// as long as any handle or any space's mapping keeps the region.
    _reservation: Reservation,
}

#[derive(Default)]
struct RegionState {
    grants: HashMap<SpaceId, Rights>,
    mappings: Vec<MappingRecord>,
}

/// Where a space has mapped the region (at most once per space).
struct MappingRecord {
    space: SpaceId,
    handle: Weak<SpaceInner>,
    first_page: usize,
}

impl Region {
    /// A host-owned region of `size` bytes of zeros, with frames taken from
    /// `pool` now.
    ///
    /// # Errors
    ///
    /// [`MmuError::InvalidSize`] if `size` is zero, not page aligned or
    /// above 4 GiB; [`MmuError::OutOfFrames`].
    pub fn new(
        pool: &FramePool,
        name: &str,
        size: u64,
        max_rights: Rights,
    ) -> Result<Region, MmuError> {
        if size == 0 || !size.is_multiple_of(PAGE_SIZE as u64) || size > 1 << 32 {
            return Err(MmuError::InvalidSize(size));
        }
        let count = size / PAGE_SIZE as u64;
        let mut reservation = Reservation::new(pool, None);
        reservation.grow(count)?;
        let frames = pool.alloc_many(count as usize)?;
        Ok(Region::from_frames(
            pool,
            name,
            frames,
            max_rights,
            RegionOwner::Host,
            reservation,
        ))
    }

    /// A region made of frames the caller holds one reference to each
    /// (they pass to the region), reserved by `reservation`.
    pub(crate) fn from_frames(
        pool: &FramePool,
        name: &str,
        frames: Vec<FrameId>,
        max_rights: Rights,
        owner: RegionOwner,
        reservation: Reservation,
    ) -> Region {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Region {
            inner: Arc::new(RegionInner {
                id: RegionId(NEXT.fetch_add(1, Ordering::Relaxed)),
                name: name.to_owned(),
                owner,
                max_rights,
                pool: pool.clone(),
                frames: frames.into_boxed_slice(),
                state: Mutex::default(),
                _reservation: reservation,
            }),
        }
    }

    /// The region's identity.
    pub fn id(&self) -> RegionId {
        self.inner.id
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Who owns the region.
    pub fn owner(&self) -> RegionOwner {
        self.inner.owner
    }

    /// The most any grant may give.
    pub fn max_rights(&self) -> Rights {
        self.inner.max_rights
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        (self.inner.frames.len() * PAGE_SIZE) as u64
    }

    pub(crate) fn pool(&self) -> &FramePool {
        &self.inner.pool
    }

    pub(crate) fn frames(&self) -> &[FrameId] {
        &self.inner.frames
    }

    fn lock(&self) -> MutexGuard<'_, RegionState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets `grantee` map the region with at most `rights`. Granting again
    /// replaces the grant; lowering it also lowers the rights of the
    /// grantee's current mapping.
    ///
    /// # Errors
    ///
    /// [`MmuError::AboveMaxRights`] if `rights` exceed the region's maximum.
    pub fn grant(&self, grantee: SpaceId, rights: Rights) -> Result<(), MmuError> {
        if rights > self.inner.max_rights {
            return Err(MmuError::AboveMaxRights {
                requested: rights,
                max: self.inner.max_rights,
            });
        }
        let mut state = self.lock();
        let lowered = state
            .grants
            .insert(grantee, rights)
            .is_some_and(|old| old > rights);
        let to_limit: Vec<_> = if lowered {
            state.mappings_of(grantee).collect()
        } else {
            Vec::new()
        };
        drop(state);
        let pages = self.inner.frames.len();
        for (space, first) in to_limit {
            space.limit_region_pages(self.id(), first, pages, rights);
        }
        Ok(())
    }

    /// Removes `grantee`'s grant and every mapping it has of the region.
    /// When this returns, no access that starts afterwards in `grantee`
    /// reaches the region's frames.
    ///
    /// # Errors
    ///
    /// [`MmuError::NoSuchGrant`] if `grantee` holds no grant.
    pub fn revoke(&self, grantee: SpaceId) -> Result<(), MmuError> {
        let mut state = self.lock();
        if state.grants.remove(&grantee).is_none() {
            return Err(MmuError::NoSuchGrant(self.id()));
        }
        let mapped: Vec<_> = state.mappings_of(grantee).collect();
        state.mappings.retain(|record| record.space != grantee);
        drop(state);
        let pages = self.inner.frames.len();
        for (space, first) in mapped {
            space.remove_region_pages(self.id(), first, pages);
        }
        Ok(())
    }

    /// The rights granted to `grantee`, if any.
    pub fn grant_of(&self, grantee: SpaceId) -> Option<Rights> {
        self.lock().grants.get(&grantee).copied()
    }

    /// Every grant, ordered by grantee.
    pub fn grants(&self) -> Vec<(SpaceId, Rights)> {
        let mut grants: Vec<_> = self.lock().grants.iter().map(|(&s, &r)| (s, r)).collect();
        grants.sort();
        grants
    }

    /// Checks that `space` may map the region with `rights` and records
    /// the mapping (replacing an older record of the same space). Called
    /// with the space's state lock held.
    pub(crate) fn admit(
        &self,
        space: SpaceId,
        rights: Rights,
        handle: Weak<SpaceInner>,
        first_page: usize,
    ) -> Result<(), MmuError> {
        let mut state = self.lock();
        let allowed = if self.inner.owner == RegionOwner::Space(space) {
            Rights::ReadWrite
        } else {
            state.grants.get(&space).copied().unwrap_or(Rights::None)
        };
        let granted =
            self.inner.owner == RegionOwner::Space(space) || state.grants.contains_key(&space);
        if !granted || rights > allowed {
            return Err(MmuError::NotGranted {
                region: self.id(),
                requested: rights,
            });
        }
        state.record(space, handle, first_page);
        Ok(())
    }

    /// Records a mapping made without a grant check (the owner's own pages).
    pub(crate) fn record_mapping(&self, space: SpaceId, handle: Weak<SpaceInner>, first: usize) {
        self.lock().record(space, handle, first);
    }

    /// Host write into the region at byte `offset`, ignoring rights (the
    /// host owns what it lends).
    ///
    /// # Errors
    ///
    /// [`MmuError::OutOfRange`] if the bytes do not fit in the region.
    pub fn write_bytes(&self, offset: u64, data: &[u8]) -> Result<(), MmuError> {
        self.check_span(offset, data.len() as u64)?;
        let mut at = 0;
        while at < data.len() {
            let pos = offset as usize + at;
            let (page, in_page) = (pos / PAGE_SIZE, pos % PAGE_SIZE);
            let n = (PAGE_SIZE - in_page).min(data.len() - at);
            let frame = self.inner.pool.frame_ptr(self.inner.frames[page]);
            // SAFETY: the region holds a reference to each of its frames, so
            // the frame is valid; the piece lies inside it and inside `data`.
            unsafe { ptr::copy_nonoverlapping(data.as_ptr().add(at), frame.add(in_page), n) };
            at += n;
        }
        Ok(())
    }

    /// Host read from the region at byte `offset`.
    ///
    /// # Errors
    ///
    /// [`MmuError::OutOfRange`] if the bytes do not fit in the region.
    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), MmuError> {
        self.check_span(offset, buf.len() as u64)?;
        let mut at = 0;
        while at < buf.len() {
            let pos = offset as usize + at;
            let (page, in_page) = (pos / PAGE_SIZE, pos % PAGE_SIZE);
            let n = (PAGE_SIZE - in_page).min(buf.len() - at);
            let frame = self.inner.pool.frame_ptr(self.inner.frames[page]);
            // SAFETY: as in `write_bytes`.
            unsafe { ptr::copy_nonoverlapping(frame.add(in_page), buf.as_mut_ptr().add(at), n) };
            at += n;
        }
        Ok(())
    }

    fn check_span(&self, offset: u64, len: u64) -> Result<(), MmuError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size() => Ok(()),
            _ => Err(MmuError::OutOfRange {
                addr: offset,
                len,
                size: self.size(),
            }),
        }
    }
}

impl RegionState {
    /// The live spaces where `grantee` has mapped the region, with the
    /// first page of each mapping.
    fn mappings_of(&self, grantee: SpaceId) -> impl Iterator<Item = (Arc<SpaceInner>, usize)> + '_ {
        self.mappings
            .iter()
            .filter(move |record| record.space == grantee)
            .filter_map(|record| Some((record.handle.upgrade()?, record.first_page)))
    }

    fn record(&mut self, space: SpaceId, handle: Weak<SpaceInner>, first_page: usize) {
        self.mappings
            .retain(|record| record.space != space && record.handle.strong_count() > 0);
        self.mappings.push(MappingRecord {
            space,
            handle,
            first_page,
        });
    }
}

impl Drop for RegionInner {
    fn drop(&mut self) {
        for &frame in self.frames.iter() {
            self.pool.release(frame);
        }
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("id", &self.inner.id)
            .field("name", &self.inner.name)
            .field("size", &self.size())
            .field("max_rights", &self.inner.max_rights)
            .finish()
    }
}

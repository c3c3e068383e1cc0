//! Address spaces: one per linear memory.
//!
//! ```text
//!  AddressSpace ─┬─ state (Mutex): pages = canonical page state (set pages
//!                │                  and lazy runs, see `pages.rs`), region use, limbo
//!                ├─ tables: directory of leaves, read and write host addresses
//!                │          per page (lock-free reads; see `tables.rs`)
//!                ├─ readers: pin count for the reclamation protocol
//!                ├─ accessors: active pins, for shootdowns (revocation is final)
//!                └─ size, generation (atomics)
//! ```
//!
//! Invariants, all established under the state lock:
//!
//! * `tables` is a function of the pages that are set (see
//!   [`SpaceInner::entries_for`]); pages deferred to a lazy run have
//!   entries of 0. Every change to a page goes through
//!   [`SpaceInner::set_page`], which updates both entries and bumps the
//!   generation.
//! * Pages at or beyond `memory.size` are never in the tables, so the fast
//!   path needs no bounds check of its own.
//! * Each set mapping with a frame holds one reference to it; a page
//!   deferred to a lazy run holds none (the run's region handle keeps the
//!   frame alive) until it is materialized. A reference that
//!   a page gives up goes to limbo first (see [`crate::reclaim`]).
//! * A region is mapped at most once per space, and pages of a space never
//!   share a writable frame, so copies within one space can use `memmove`.

mod access;
mod bulk;
mod control;
mod pages;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::frame_pool::{FrameId, FramePool};
use crate::page::{MapRun, Mapping, Page, PageInfo, PageKind};
use crate::quota::{MemoryQuota, Reservation};
use crate::reclaim::Readers;
use crate::region::Region;
use crate::shootdown::Accessors;
use crate::tables::{Tables, ZERO_PAGE};
use crate::{MmuError, RegionId, Rights, MAX_WASM_PAGES, PAGES_PER_WASM_PAGE, PAGE_SIZE};
use pages::PageMap;

pub use access::{Pinned, RawTranslation};

/// The identity of an address space, unique in the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpaceId(u64);

impl SpaceId {
    fn fresh() -> SpaceId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SpaceId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for SpaceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "space#{}", self.0)
    }
}

/// Size limits of a linear memory, in Wasm pages of 64 KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimits {
    /// Size at creation.
    pub initial: u64,
    /// Largest size `grow` may reach; `None` means 4 GiB.
    pub maximum: Option<u64>,
}

impl MemoryLimits {
    /// Limits with the given initial size and maximum.
    pub fn new(initial: u64, maximum: Option<u64>) -> MemoryLimits {
        MemoryLimits { initial, maximum }
    }
}

/// The virtual linear memory of one instance: pages of 4 KiB translated to
/// frames of a [`FramePool`], each with its rights.
///
/// Clones are handles to the same address space.
///
/// All methods take `&self` and may be called from several threads: control
/// operations serialize on the space's lock, accesses through [`Pinned`]
/// take no lock on the fast path.
#[derive(Clone)]
pub struct AddressSpace {
    pub(crate) inner: Arc<SpaceInner>,
}

pub(crate) struct SpaceInner {
    pub(crate) id: SpaceId,
    pub(crate) pool: FramePool,
    pub(crate) tables: Tables,
    pub(crate) readers: Readers,
    /// Threads accessing through the tables, for shootdowns.
    pub(crate) accessors: Accessors,
    /// `memory.size` in bytes; changes only under the state lock.
    size: AtomicU64,
    max_wasm_pages: u64,
    generation: AtomicU64,
    state: Mutex<SpaceState>,
    /// A frozen snapshot's page state as clones read it, with how many of
    /// its pages need a frame (made on the first clone, see
    /// [`pages::Image`]).
    image: OnceLock<(Arc<PageMap>, u64)>,
}

pub(crate) struct SpaceState {
    /// The pages below `memory.size`.
    pub(crate) pages: PageMap,
    /// How many set pages of each region are mapped here (pages of its
    /// lazy runs are not counted), and a handle that keeps the region (and
    /// the frames it reserved) alive while it has such pages or runs.
    pub(crate) regions: HashMap<RegionId, RegionUse>,
    /// Frame references given up while a pin may still use them.
    pub(crate) limbo: Vec<FrameId>,
    /// Pages that hold or may need a private frame (zero, private and
    /// copy-on-write pages; not shared or unmapped ones), set or deferred
    /// to an image run.
    pub(crate) needing: u64,
    /// Frames promised to this space: at least `needing` once an
    /// operation completes (see [`crate::quota`]), except in a frozen
    /// snapshot, which promises only the frames it holds.
    pub(crate) reservation: Reservation,
    /// A snapshot ([`AddressSpace::snapshot`]): never written, grown or
    /// mapped, so no page of it will need a frame.
    pub(crate) frozen: bool,
}

/// One region's use by a space.
pub(crate) struct RegionUse {
    pub(crate) pages: usize,
    pub(crate) region: Option<Region>,
}

impl AddressSpace {
    /// A memory of `limits.initial` Wasm pages, every page a zero page with
    /// read-write rights (no frame is used until a page is written).
    ///
    /// # Errors
    ///
    /// [`MmuError::InvalidLimits`] if the initial size exceeds the maximum
    /// or the maximum exceeds 4 GiB; [`MmuError::HostMemory`] if the
    /// host cannot allocate the translation tables.
    pub fn new(pool: &FramePool, limits: MemoryLimits) -> Result<AddressSpace, MmuError> {
        AddressSpace::with_quota(pool, limits, None)
    }

    /// Like [`AddressSpace::new`], with every frame the space may need
    /// reserved against `quota` (a tenant's) as well as the pool.
    ///
    /// # Errors
    ///
    /// As [`AddressSpace::new`], and [`MmuError::QuotaExceeded`] or
    /// [`MmuError::OutOfFrames`] if the initial size cannot be reserved.
    pub fn with_quota(
        pool: &FramePool,
        limits: MemoryLimits,
        quota: Option<&MemoryQuota>,
    ) -> Result<AddressSpace, MmuError> {
        let maximum = limits.maximum.unwrap_or(MAX_WASM_PAGES);
        if limits.initial > maximum || maximum > MAX_WASM_PAGES {
            return Err(MmuError::InvalidLimits {
                initial: limits.initial,
                maximum,
            });
        }
        let inner = SpaceInner::empty(pool.clone(), maximum, quota)?;
        inner.grow(limits.initial, Some(Mapping::zero(Rights::ReadWrite)))?;
        Ok(AddressSpace {
            inner: Arc::new(inner),
        })
    }

    /// This space's identity (what grants name).
    pub fn id(&self) -> SpaceId {
        self.inner.id
    }

    /// The pool this space takes its frames from.
    pub fn pool(&self) -> &FramePool {
        &self.inner.pool
    }

    /// `memory.size` in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }

    /// `memory.size` in Wasm pages.
    pub fn size_wasm_pages(&self) -> u64 {
        self.size_bytes() / (PAGES_PER_WASM_PAGE * PAGE_SIZE) as u64
    }

    /// The most Wasm pages this memory may grow to.
    pub fn max_wasm_pages(&self) -> u64 {
        self.inner.max_wasm_pages
    }

    /// Host bytes of this space's translation structures: the tables (a
    /// fixed directory plus a leaf per 2 MiB stretch in which a page was
    /// ever set) and the page state (a chunk per 2 MiB stretch with pages
    /// set, and the lazy runs of mapped regions). Proportional to the pages
    /// used, not to the size or the maximum.
    pub fn table_bytes(&self) -> u64 {
        let state = self.inner.lock();
        self.inner.tables.host_bytes() + state.pages.host_bytes()
    }

    /// A counter that changes whenever a translation changes. Software TLBs
    /// compare it to drop cached translations.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// `memory.grow`: adds `delta` Wasm pages of read-write zero pages and
    /// returns the old size in Wasm pages. Their frames are reserved now,
    /// so the first write to them never fails for lack of frames.
    ///
    /// # Errors
    ///
    /// [`MmuError::GrowBeyondMaximum`] if the result would exceed the
    /// maximum, [`MmuError::QuotaExceeded`] or [`MmuError::OutOfFrames`]
    /// if the frames cannot be reserved; nothing changes then.
    pub fn grow(&self, delta: u64) -> Result<u64, MmuError> {
        self.inner
            .grow(delta, Some(Mapping::zero(Rights::ReadWrite)))
    }

    /// Like [`AddressSpace::grow`], but the new pages map nothing (an
    /// access faults as unmapped), so no frame is reserved for them: room
    /// for a region mapped there next, without holding its size in frames
    /// in between.
    ///
    /// # Errors
    ///
    /// [`MmuError::GrowBeyondMaximum`], [`MmuError::HostMemory`]; nothing
    /// changes then.
    pub fn grow_unmapped(&self, delta: u64) -> Result<u64, MmuError> {
        self.inner.grow(delta, None)
    }

    /// The state of the page holding `addr`, `None` if it is unmapped or at
    /// or beyond `memory.size`.
    pub fn page_info(&self, addr: u64) -> Option<PageInfo> {
        let state = self.inner.lock();
        let page = state
            .pages
            .get(usize::try_from(addr / PAGE_SIZE as u64).ok()?);
        page.map(|m| PageInfo {
            rights: m.rights,
            kind: m.kind,
        })
    }

    /// The memory map: consecutive runs of pages in the same state, covering
    /// `0..memory.size`.
    pub fn memory_map(&self) -> Vec<MapRun> {
        let state = self.inner.lock();
        let mut runs: Vec<MapRun> = Vec::new();
        for (vpn, page) in state.pages.iter().enumerate() {
            let info = page.map(|m| PageInfo {
                rights: m.rights,
                kind: m.kind,
            });
            let start = (vpn * PAGE_SIZE) as u64;
            match runs.last_mut() {
                Some(run) if run.page == info => run.end = start + PAGE_SIZE as u64,
                _ => runs.push(MapRun {
                    start,
                    end: start + PAGE_SIZE as u64,
                    page: info,
                }),
            }
        }
        runs
    }

    /// Whether any page of `region` is mapped in this space (mapping it
    /// again would fail with [`MmuError::AlreadyMapped`]).
    pub fn maps_region(&self, region: RegionId) -> bool {
        self.inner.lock().regions.contains_key(&region)
    }

    /// Bytes of frames reserved for this space (its zero, private and
    /// copy-on-write pages), counted against its quota.
    pub fn reserved_bytes(&self) -> u64 {
        self.inner.lock().reservation.frames() * PAGE_SIZE as u64
    }

    /// The quota this space's reservations count against, if any.
    pub fn quota(&self) -> Option<MemoryQuota> {
        self.inner.lock().reservation.quota().cloned()
    }

    /// Where the byte at `addr` lives physically, as a key that is equal
    /// for two addresses (in any spaces of the pool) exactly when they
    /// reach the same byte of the same frame: what futex-style waits on
    /// shared pages are keyed by. `None` if the page is unmapped, beyond
    /// `memory.size`, or a zero page (not shared with anyone).
    pub fn frame_key(&self, addr: u64) -> Option<u64> {
        let state = self.inner.lock();
        let vpn = usize::try_from(addr / PAGE_SIZE as u64).ok()?;
        let frame = state.pages.get(vpn)?.frame?;
        Some(frame.index() as u64 * PAGE_SIZE as u64 + addr % PAGE_SIZE as u64)
    }

    /// How many pages of this space are backed by a frame (private,
    /// shared or copy-on-write), i.e. not unmapped and not zero pages.
    pub fn resident_pages(&self) -> usize {
        let state = self.inner.lock();
        state
            .pages
            .iter()
            .filter(|page| page.is_some_and(|m| m.frame.is_some()))
            .count()
    }
}

impl std::fmt::Debug for AddressSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressSpace")
            .field("id", &self.inner.id)
            .field("size_bytes", &self.size_bytes())
            .finish()
    }
}

impl SpaceInner {
    /// A space of size 0 whose tables cover `max_wasm_pages`.
    fn empty(
        pool: FramePool,
        max_wasm_pages: u64,
        quota: Option<&MemoryQuota>,
    ) -> Result<SpaceInner, MmuError> {
        let reservation = Reservation::new(&pool, quota);
        Ok(SpaceInner {
            id: SpaceId::fresh(),
            pool,
            tables: Tables::new()?,
            readers: Readers::default(),
            accessors: Accessors::default(),
            size: AtomicU64::new(0),
            max_wasm_pages,
            generation: AtomicU64::new(0),
            image: OnceLock::new(),
            state: Mutex::new(SpaceState {
                pages: PageMap::default(),
                regions: HashMap::new(),
                limbo: Vec::new(),
                needing: 0,
                reservation,
                frozen: false,
            }),
        })
    }

    /// The state lock. A panic while it was held cannot leave the state
    /// half-changed in a way that breaks memory safety (tables are derived
    /// per page), so a poisoned lock is taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SpaceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    fn grow(&self, delta: u64, fill: Page) -> Result<u64, MmuError> {
        let mut state = self.lock();
        if state.frozen {
            return Err(MmuError::Frozen);
        }
        let wasm_page = PAGES_PER_WASM_PAGE as u64;
        let current = state.pages.len() as u64 / wasm_page;
        let new = current
            .checked_add(delta)
            .filter(|&new| new <= self.max_wasm_pages)
            .ok_or(MmuError::GrowBeyondMaximum {
                current,
                delta,
                maximum: self.max_wasm_pages,
            })?;
        let added = ((new - current) * wasm_page) as usize;
        let reserved = if needs_frame_reserved(&fill) {
            added
        } else {
            0
        };
        let needed = state.needing + state.limbo.len() as u64 + reserved as u64;
        state.reservation.ensure(needed)?;
        let range = (current * wasm_page) as usize..(new * wasm_page) as usize;
        state.pages.grow_to(range.end, fill.is_some())?;
        if fill.is_some() {
            for vpn in range {
                self.set_page(&mut state, vpn, fill);
            }
        }
        self.size
            .store(new * wasm_page * PAGE_SIZE as u64, Ordering::Release);
        Ok(current)
    }

    /// The table entries that a page translates to: the host address for
    /// reads and for writes, 0 where the slow path must decide.
    fn entries_for(&self, page: &Page) -> (usize, usize) {
        let Some(mapping) = page else { return (0, 0) };
        let frame_addr = mapping.frame.map_or(ZERO_PAGE.addr(), |frame| {
            self.pool.frame_ptr(frame) as usize
        });
        let read = if mapping.rights.can_read() {
            frame_addr
        } else {
            0
        };
        let write = if mapping.rights.can_write() && !mapping.needs_frame_for_write() {
            frame_addr
        } else {
            0
        };
        (read, write)
    }

    /// Replaces page `vpn` and its table entries.
    ///
    /// Reference accounting: if the new mapping has the same frame as the
    /// old one, the old reference carries over; otherwise the caller gives
    /// the new mapping a reference of its own, and the old one goes to limbo
    /// (the caller settles limbo before releasing the lock).
    ///
    /// A page deferred to a lazy run holds no reference: setting it to a
    /// mapping of the same frame (materializing it) takes one.
    pub(crate) fn set_page(&self, state: &mut SpaceState, vpn: usize, new: Page) {
        let resolved = state.pages.set(vpn, new);
        let (read, write) = self.entries_for(&new);
        self.tables.set(vpn, read, write);
        self.generation.fetch_add(1, Ordering::Release);
        let new_frame = new.and_then(|m| m.frame);
        if !resolved.held {
            if let Some(frame) =
                new_frame.filter(|&f| Some(f) == resolved.page.and_then(|m| m.frame))
            {
                self.pool.retain(frame);
            }
        }
        // What the page held: nothing if it was deferred. What it counted
        // in `needing`: a deferred page counts as it resolves (a page of
        // an image run may need a frame, a region's page never does).
        let old = if resolved.held { resolved.page } else { None };
        match (
            needs_frame_reserved(&resolved.page),
            needs_frame_reserved(&new),
        ) {
            (false, true) => state.needing += 1,
            (true, false) => state.needing -= 1,
            _ => {}
        }
        let old_frame = old.and_then(|m| m.frame);
        if old_frame != new_frame {
            if let Some(frame) = old_frame {
                state.limbo.push(frame);
            }
        }
        if let Some(PageKind::Shared(region)) = old.map(|m| m.kind) {
            if let Some(used) = state.regions.get_mut(&region) {
                used.pages -= 1;
            }
            self.release_if_unused(state, region);
        }
        if let Some(PageKind::Shared(region)) = new.map(|m| m.kind) {
            state
                .regions
                .entry(region)
                .or_insert(RegionUse {
                    pages: 0,
                    region: None,
                })
                .pages += 1;
        }
    }

    /// Keeps `region` alive while this space maps pages of it: its frames
    /// stay reserved (by the region) as long as any space can reach them.
    /// Call before mapping its pages.
    pub(crate) fn hold_region(&self, state: &mut SpaceState, region: &Region) {
        state
            .regions
            .entry(region.id())
            .or_insert(RegionUse {
                pages: 0,
                region: None,
            })
            .region = Some(region.clone());
    }

    /// Forgets `region` (and drops the handle that kept it alive) if no set
    /// page and no lazy run of this space maps it any more.
    pub(crate) fn release_if_unused(&self, state: &mut SpaceState, region: RegionId) {
        let unused = state
            .regions
            .get(&region)
            .is_some_and(|used| used.pages == 0 && !state.pages.has_run_of(region));
        if unused {
            state.regions.remove(&region);
        }
    }

    /// Sets the pages of `range` that are deferred to a lazy run, each
    /// with its own reference and table entries, so that accesses to them
    /// take the fast path. If the host cannot allocate the page state, the
    /// rest stay deferred (still correct, only slower).
    pub(crate) fn materialize(&self, state: &mut SpaceState, range: std::ops::Range<usize>) {
        let range = range.start.min(state.pages.len())..range.end.min(state.pages.len());
        for vpn in state.pages.lazy_pages(range) {
            if state.pages.reserve(vpn..vpn + 1).is_err() {
                return;
            }
            let page = state.pages.get(vpn);
            self.set_page(state, vpn, page);
        }
    }

    /// Ends an operation that changed page states under `state`: waits for
    /// a shootdown (no access of another thread still uses an old
    /// translation, see [`crate::shootdown`]), then releases the frames the
    /// operation gave up (those added to limbo from `limbo_start` on; no
    /// stale translation can reach them any more), then gives back the
    /// reservation they held.
    pub(crate) fn finish_change(&self, mut state: MutexGuard<'_, SpaceState>, limbo_start: usize) {
        let start = limbo_start.min(state.limbo.len());
        let released = state.limbo.split_off(start);
        drop(state);
        self.accessors.shootdown();
        for frame in released {
            self.pool.release(frame);
        }
        let mut state = self.lock();
        self.settle(&mut state);
    }

    /// Gives back reserved frames this space no longer needs.
    pub(crate) fn trim_reservation(&self, state: &mut SpaceState) {
        if state.frozen {
            return;
        }
        let needed = state.needing + state.limbo.len() as u64;
        state.reservation.trim_to(needed);
    }

    /// Releases limbo if no pin is active. Every operation that may have
    /// given up references calls this before it releases the lock.
    pub(crate) fn settle(&self, state: &mut SpaceState) {
        self.readers.settle(&mut state.limbo, &self.pool);
        self.trim_reservation(state);
    }

    /// The host address of a mapped page's contents (the zero page for zero
    /// pages, which callers must only read).
    pub(crate) fn page_addr(&self, mapping: &Mapping) -> *mut u8 {
        mapping.frame.map_or(ZERO_PAGE.addr() as *mut u8, |frame| {
            self.pool.frame_ptr(frame)
        })
    }

    /// Checks that `addr..addr+len` is page aligned and below `memory.size`
    /// and returns its page numbers.
    pub(crate) fn page_range(
        &self,
        state: &SpaceState,
        addr: u64,
        len: u64,
    ) -> Result<std::ops::Range<usize>, MmuError> {
        let page = PAGE_SIZE as u64;
        if !addr.is_multiple_of(page) || !len.is_multiple_of(page) {
            return Err(MmuError::Unaligned { addr, len });
        }
        let size = state.pages.len() as u64 * page;
        match addr.checked_add(len) {
            Some(end) if end <= size => Ok((addr / page) as usize..(end / page) as usize),
            _ => Err(MmuError::OutOfRange { addr, len, size }),
        }
    }
}

/// Whether a page holds or may need a private frame of this space's own
/// (and so counts against its reservation).
pub(crate) fn needs_frame_reserved(page: &Page) -> bool {
    page.is_some_and(|m| !matches!(m.kind, PageKind::Shared(_)))
}

impl Drop for SpaceInner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        // No pin can exist (a pin holds a handle to the space), so every
        // reference can be released at once.
        // Deferred pages hold no reference; set pages one each.
        let len = state.pages.len();
        for frame in state.pages.set_pages(0..len).filter_map(|(_, m)| m.frame) {
            self.pool.release(frame);
        }
        for frame in state.limbo.drain(..) {
            self.pool.release(frame);
        }
    }
}

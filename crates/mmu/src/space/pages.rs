//! The canonical page state of a space, in memory that follows use rather
//! than size: pages set one by one live in chunks of [`CHUNK_PAGES`],
//! allocated where a page was set; a mapped region is one *lazy run* until
//! its pages are touched.
//!
//! ```text
//!   vpn ──► chunk vpn / 512 ──► slot: Set(page) ──► that page
//!                │                  └─ Deferred ──┐
//!                └─ no chunk: every slot Deferred ─┴─► run covering vpn? ── yes: the
//!                                                        │                region's page,
//!                                                        no: unmapped     not yet held
//! ```
//!
//! A deferred page covered by a run reads as the run's region page with the
//! run's rights, but holds no frame reference and has no table entries:
//! the first access takes the slow path, which *materializes* it (sets it,
//! with a reference of its own and its table entries, see
//! [`super::SpaceInner::set_page`]). So mapping a region costs the same for
//! any size, and memory for the page state grows with the pages touched.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use super::{needs_frame_reserved, AddressSpace};
use crate::page::{Mapping, Page, PageKind};
use crate::region::Region;
use crate::{MmuError, RegionId, Rights, LEAF_PAGES};

/// Pages per chunk of explicit page state (as many as a table leaf holds).
pub(crate) const CHUNK_PAGES: usize = LEAF_PAGES;

/// One page's explicit state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Nothing set: the page is what a run covering it says, or unmapped.
    Deferred,
    /// Set explicitly (materialized): the page holds its own frame
    /// reference and has table entries.
    Set(Page),
}

type Chunk = Box<[Slot]>;

/// Pages mapped lazily at `first..first + pages` of a space: pages
/// `source_page..source_page + pages` of their source.
#[derive(Clone, Debug)]
pub(crate) struct LazyRun {
    /// Where the pages come from.
    pub(crate) source: RunSource,
    /// The source page mapped at the run's first page.
    pub(crate) source_page: usize,
    /// Pages in the run.
    pub(crate) pages: usize,
}

/// What a lazy run maps.
#[derive(Clone, Debug)]
pub(crate) enum RunSource {
    /// A region's frames, shared, with the mapping's rights.
    Region {
        /// The region (the handle keeps its frames alive).
        region: Region,
        /// Rights of the mapping.
        rights: Rights,
        /// The most `protect` may raise them to.
        cap: Rights,
    },
    /// The pages of a frozen snapshot this space was cloned from, each
    /// copy-on-write with the snapshot page's rights.
    Image(Image),
}

/// A frozen snapshot's page state, readable without its lock (a snapshot
/// never changes), shared by every clone made of it.
#[derive(Clone)]
pub(crate) struct Image {
    /// The snapshot's pages.
    pages: Arc<PageMap>,
    /// Keeps the snapshot, and so the frame references its pages hold,
    /// alive while a run reads them.
    _owner: AddressSpace,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("pages", &self.pages.len())
            .field("owner", &self._owner)
            .finish()
    }
}

impl Image {
    /// An image of `pages`, the page state of `owner`, a frozen snapshot.
    pub(crate) fn new(pages: Arc<PageMap>, owner: AddressSpace) -> Image {
        Image {
            pages,
            _owner: owner,
        }
    }
}

impl LazyRun {
    /// A run mapping all of `region` with `rights`.
    pub(crate) fn region(region: &Region, pages: usize, rights: Rights) -> LazyRun {
        LazyRun {
            source: RunSource::Region {
                region: region.clone(),
                rights,
                cap: rights,
            },
            source_page: 0,
            pages,
        }
    }

    /// A run mapping every page of `image`.
    pub(crate) fn image(image: Image) -> LazyRun {
        LazyRun {
            pages: image.pages.len(),
            source: RunSource::Image(image),
            source_page: 0,
        }
    }

    /// The region the run maps, if it maps one.
    fn region_id(&self) -> Option<RegionId> {
        match &self.source {
            RunSource::Region { region, .. } => Some(region.id()),
            RunSource::Image(_) => None,
        }
    }

    /// The page the run maps at `offset` pages from its start.
    fn page(&self, offset: usize) -> Page {
        let at = self.source_page + offset;
        match &self.source {
            RunSource::Region {
                region,
                rights,
                cap,
            } => Some(Mapping {
                frame: Some(region.frames()[at]),
                rights: *rights,
                cap: *cap,
                kind: PageKind::Shared(region.id()),
            }),
            // A snapshot's pages with frames are all copy-on-write (see
            // `AddressSpace::snapshot`); zero pages stay zero pages.
            RunSource::Image(image) => image.pages.get(at),
        }
    }

    /// The part of the run from `offset` pages on, `pages` long.
    fn slice(&self, offset: usize, pages: usize) -> LazyRun {
        LazyRun {
            source_page: self.source_page + offset,
            pages,
            ..self.clone()
        }
    }
}

/// What cutting runs took away.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Cut {
    /// The regions whose runs changed.
    pub(crate) regions: Vec<RegionId>,
    /// Deferred pages of image runs that were cut and counted as needing
    /// a frame of the space's own (see `SpaceState::needing`).
    pub(crate) needing: u64,
}

/// A page as the state resolves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The page.
    pub(crate) page: Page,
    /// Whether it is set (holds its references and table entries) rather
    /// than deferred to a run.
    pub(crate) held: bool,
}

/// The page state of a space: `len` pages (`memory.size`).
#[derive(Default)]
pub(crate) struct PageMap {
    len: usize,
    /// The chunks that exist, by chunk index (`vpn / CHUNK_PAGES`),
    /// sorted: an unmapped stretch costs nothing, and operations on a
    /// range visit only the chunks in it.
    chunks: Vec<(usize, Chunk)>,
    /// Lazy runs by first page; they never overlap and lie below `len`.
    runs: BTreeMap<usize, LazyRun>,
}

fn host_memory<T>(count: usize) -> MmuError {
    MmuError::HostMemory((count * std::mem::size_of::<T>()) as u64)
}

fn empty_chunk() -> Chunk {
    vec![Slot::Deferred; CHUNK_PAGES].into_boxed_slice()
}

impl PageMap {
    /// Pages below `memory.size`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Grows to `len` pages. The new pages are unmapped (deferred, no run);
    /// with `reserve`, their chunks are allocated too, so that setting them
    /// cannot fail.
    ///
    /// # Errors
    ///
    /// [`MmuError::HostMemory`]; the length is unchanged then.
    pub(crate) fn grow_to(&mut self, len: usize, reserve: bool) -> Result<(), MmuError> {
        if reserve && len > self.len {
            self.reserve(self.len..len)?;
        }
        self.len = self.len.max(len);
        Ok(())
    }

    /// Where chunk `index` is in `chunks`, or where it would go.
    fn position(&self, index: usize) -> Result<usize, usize> {
        self.chunks.binary_search_by_key(&index, |(i, _)| *i)
    }

    /// The positions in `chunks` of the chunks holding pages of `range`.
    fn positions(&self, range: &Range<usize>) -> Range<usize> {
        if range.is_empty() {
            return 0..0;
        }
        let first = range.start / CHUNK_PAGES;
        let last = (range.end - 1) / CHUNK_PAGES;
        self.chunks.partition_point(|(i, _)| *i < first)
            ..self.chunks.partition_point(|(i, _)| *i <= last)
    }

    /// Allocates the chunks that hold `range`, so that setting its pages
    /// cannot fail.
    ///
    /// # Errors
    ///
    /// [`MmuError::HostMemory`]; chunks allocated before the failure stay
    /// (all deferred, so nothing changes).
    pub(crate) fn reserve(&mut self, range: Range<usize>) -> Result<(), MmuError> {
        if range.is_empty() {
            return Ok(());
        }
        for index in range.start / CHUNK_PAGES..=(range.end - 1) / CHUNK_PAGES {
            if let Err(at) = self.position(index) {
                let mut chunk = Vec::new();
                chunk
                    .try_reserve_exact(CHUNK_PAGES)
                    .map_err(|_| host_memory::<Slot>(CHUNK_PAGES))?;
                self.chunks
                    .try_reserve(1)
                    .map_err(|_| host_memory::<(usize, Chunk)>(1))?;
                chunk.resize(CHUNK_PAGES, Slot::Deferred);
                self.chunks.insert(at, (index, chunk.into_boxed_slice()));
            }
        }
        Ok(())
    }

    /// Host bytes of the page state (chunks, their index and the runs).
    pub(crate) fn host_bytes(&self) -> u64 {
        (self.chunks.len() * CHUNK_PAGES * std::mem::size_of::<Slot>()
            + self.chunks.capacity() * std::mem::size_of::<(usize, Chunk)>()
            + self.runs.len() * std::mem::size_of::<(usize, LazyRun)>()) as u64
    }

    fn slot(&self, vpn: usize) -> Slot {
        match self.position(vpn / CHUNK_PAGES) {
            Ok(at) => self.chunks[at].1[vpn % CHUNK_PAGES],
            Err(_) => Slot::Deferred,
        }
    }

    /// The run covering `vpn`, with its first page.
    fn run_at(&self, vpn: usize) -> Option<(usize, &LazyRun)> {
        let (&first, run) = self.runs.range(..=vpn).next_back()?;
        (vpn < first + run.pages).then_some((first, run))
    }

    /// Page `vpn` (below `len`) as it resolves.
    pub(crate) fn resolve(&self, vpn: usize) -> Resolved {
        match self.slot(vpn) {
            Slot::Set(page) => Resolved { page, held: true },
            Slot::Deferred => Resolved {
                page: self
                    .run_at(vpn)
                    .and_then(|(first, run)| run.page(vpn - first)),
                held: false,
            },
        }
    }

    /// Page `vpn` as it resolves, `None` also beyond `len`.
    pub(crate) fn get(&self, vpn: usize) -> Page {
        if vpn < self.len {
            self.resolve(vpn).page
        } else {
            None
        }
    }

    /// Every page below `len`, resolved, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Page> + '_ {
        (0..self.len).map(|vpn| self.resolve(vpn).page)
    }

    /// Sets page `vpn` and returns what it was. Allocates the chunk if
    /// [`PageMap::reserve`] did not (infallibly: callers reserve first).
    pub(crate) fn set(&mut self, vpn: usize, page: Page) -> Resolved {
        let old = self.resolve(vpn);
        let index = vpn / CHUNK_PAGES;
        let at = self.position(index).unwrap_or_else(|at| {
            self.chunks.insert(at, (index, empty_chunk()));
            at
        });
        self.chunks[at].1[vpn % CHUNK_PAGES] = Slot::Set(page);
        old
    }

    /// Makes the set pages `vpns` deferred again and gives back chunks
    /// left with nothing set. The caller has given their references up,
    /// and no run covers them.
    pub(crate) fn defer_each(&mut self, vpns: &[usize]) {
        for &vpn in vpns {
            debug_assert!(self.run_at(vpn).is_none(), "a run would show through");
            if let Ok(at) = self.position(vpn / CHUNK_PAGES) {
                self.chunks[at].1[vpn % CHUNK_PAGES] = Slot::Deferred;
            }
        }
        self.free_empty_chunks();
    }

    /// Gives back every chunk with nothing set.
    fn free_empty_chunks(&mut self) {
        self.chunks
            .retain(|(_, chunk)| chunk.iter().any(|slot| *slot != Slot::Deferred));
    }

    /// Makes every set page of `range` deferred again. The caller has
    /// given their references up.
    pub(crate) fn defer(&mut self, range: Range<usize>) {
        let positions = self.positions(&range);
        if positions.is_empty() {
            return;
        }
        for (index, chunk) in &mut self.chunks[positions] {
            let base = *index * CHUNK_PAGES;
            for (i, slot) in chunk.iter_mut().enumerate() {
                if range.contains(&(base + i)) {
                    *slot = Slot::Deferred;
                }
            }
        }
        self.free_empty_chunks();
    }

    /// The mapped pages of `range` that are set (not deferred), in order;
    /// only the chunks that exist in the range are visited.
    pub(crate) fn set_pages(
        &self,
        range: Range<usize>,
    ) -> impl Iterator<Item = (usize, Mapping)> + '_ {
        let end = range.end.min(self.len);
        let start = range.start.min(end);
        let positions = self.positions(&(start..end));
        self.chunks[positions]
            .iter()
            .flat_map(move |(index, chunk)| {
                let base = index * CHUNK_PAGES;
                chunk
                    .iter()
                    .enumerate()
                    .map(move |(i, slot)| (base + i, *slot))
                    .filter(move |(vpn, _)| (start..end).contains(vpn))
                    .filter_map(|(vpn, slot)| match slot {
                        Slot::Set(Some(mapping)) => Some((vpn, mapping)),
                        _ => None,
                    })
            })
    }

    /// The deferred pages of `range` that a run covers.
    pub(crate) fn lazy_pages(&self, range: Range<usize>) -> Vec<usize> {
        let mut lazy = Vec::new();
        for (first, run) in self.runs_in(range.clone()) {
            let from = first.max(range.start);
            let to = (first + run.pages).min(range.end);
            lazy.extend((from..to).filter(|&vpn| self.slot(vpn) == Slot::Deferred));
        }
        lazy
    }

    /// The runs overlapping `range`, with their first pages.
    fn runs_in(&self, range: Range<usize>) -> Vec<(usize, LazyRun)> {
        let before = self
            .runs
            .range(..range.start)
            .next_back()
            .filter(|(&first, run)| first + run.pages > range.start);
        before
            .into_iter()
            .chain(self.runs.range(range.start..range.end))
            .map(|(&first, run)| (first, run.clone()))
            .collect()
    }

    /// Adds a run at `first`. The caller has cut every run of its range.
    pub(crate) fn add_run(&mut self, first: usize, run: LazyRun) {
        debug_assert!(self.runs_in(first..first + run.pages).is_empty());
        self.runs.insert(first, run);
    }

    /// Takes the pages of `range` out of every run (splitting runs that
    /// reach beyond it).
    pub(crate) fn cut_runs(&mut self, range: Range<usize>) -> Cut {
        self.cut_runs_where(range, |_| true)
    }

    /// Like [`PageMap::cut_runs`], for the runs of `region` only.
    pub(crate) fn cut_region_runs(&mut self, range: Range<usize>, region: RegionId) {
        self.cut_runs_where(range, |run| run.region_id() == Some(region));
    }

    fn cut_runs_where(&mut self, range: Range<usize>, cut: impl Fn(&LazyRun) -> bool) -> Cut {
        let mut done = Cut::default();
        for (first, run) in self.runs_in(range.clone()) {
            if !cut(&run) {
                continue;
            }
            self.runs.remove(&first);
            let end = first + run.pages;
            if first < range.start {
                self.runs.insert(first, run.slice(0, range.start - first));
            }
            if end > range.end {
                let offset = range.end - first;
                self.runs
                    .insert(range.end, run.slice(offset, end - range.end));
            }
            match run.region_id() {
                Some(region) => done.regions.push(region),
                None => {
                    let inside = first.max(range.start)..end.min(range.end);
                    done.needing += inside
                        .filter(|&vpn| {
                            self.slot(vpn) == Slot::Deferred
                                && needs_frame_reserved(&run.page(vpn - first))
                        })
                        .count() as u64;
                }
            }
        }
        done
    }

    /// Lowers the rights of `region`'s runs in `range` to at most `rights`.
    pub(crate) fn limit_region_runs(
        &mut self,
        range: Range<usize>,
        region: RegionId,
        rights: Rights,
    ) {
        let inside: Vec<_> = self
            .runs_in(range.clone())
            .into_iter()
            .filter(|(_, run)| run.region_id() == Some(region))
            .collect();
        // Only the parts inside `range` are lowered.
        self.cut_region_runs(range.clone(), region);
        for (first, run) in inside {
            let from = first.max(range.start);
            let to = (first + run.pages).min(range.end);
            let mut part = run.slice(from - first, to - from);
            if let RunSource::Region {
                rights: run_rights,
                cap,
                ..
            } = &mut part.source
            {
                *run_rights = (*run_rights).min(rights);
                *cap = (*cap).min(rights);
            }
            self.runs.insert(from, part);
        }
    }

    /// Whether any run maps `region`.
    pub(crate) fn has_run_of(&self, region: RegionId) -> bool {
        self.runs
            .values()
            .any(|run| run.region_id() == Some(region))
    }

    /// A copy of this page state that cannot fail to allocate silently:
    /// for the image of a frozen snapshot (see [`Image`]), with the number
    /// of its pages that need a frame of their own once cloned.
    ///
    /// # Errors
    ///
    /// [`MmuError::HostMemory`].
    pub(crate) fn frozen_copy(&self) -> Result<(PageMap, u64), MmuError> {
        let mut chunks = Vec::new();
        chunks
            .try_reserve_exact(self.chunks.len())
            .map_err(|_| host_memory::<(usize, Chunk)>(self.chunks.len()))?;
        for (index, chunk) in &self.chunks {
            let mut copy = Vec::new();
            copy.try_reserve_exact(CHUNK_PAGES)
                .map_err(|_| host_memory::<Slot>(CHUNK_PAGES))?;
            copy.extend_from_slice(chunk);
            chunks.push((*index, copy.into_boxed_slice()));
        }
        let copy = PageMap {
            len: self.len,
            chunks,
            runs: self.runs.clone(),
        };
        let needing = copy.iter().filter(needs_frame_reserved).count() as u64;
        Ok((copy, needing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FramePool;

    fn region(pages: usize) -> Region {
        let pool = FramePool::new(64 << 20).unwrap();
        Region::new(&pool, "r", (pages * 4096) as u64, Rights::ReadWrite).unwrap()
    }

    fn run(region: &Region, pages: usize) -> LazyRun {
        LazyRun::region(region, pages, Rights::Read)
    }

    #[test]
    fn a_run_resolves_its_pages_without_chunks() {
        let region = region(2000);
        let mut map = PageMap::default();
        map.grow_to(4096, false).unwrap();
        map.add_run(1000, run(&region, 2000));
        assert!(map.chunks.is_empty());
        let page = map.resolve(1500);
        assert!(!page.held);
        assert_eq!(page.page.unwrap().frame, Some(region.frames()[500]));
        assert_eq!(map.get(999), None);
        assert_eq!(map.get(3000), None);
        assert_eq!(map.lazy_pages(998..1002), vec![1000, 1001]);
    }

    #[test]
    fn cutting_splits_a_run_and_keeps_region_offsets() {
        let region = region(100);
        let mut map = PageMap::default();
        map.grow_to(200, false).unwrap();
        map.add_run(50, run(&region, 100));
        assert_eq!(map.cut_runs(60..70).regions, vec![region.id()]);
        assert_eq!(map.get(59).unwrap().frame, Some(region.frames()[9]));
        assert_eq!(map.get(60), None);
        assert_eq!(map.get(69), None);
        assert_eq!(map.get(70).unwrap().frame, Some(region.frames()[20]));
        assert!(map.has_run_of(region.id()));
        map.cut_region_runs(0..200, region.id());
        assert!(!map.has_run_of(region.id()));
    }

    #[test]
    fn limiting_lowers_only_the_range() {
        let region = region(10);
        let mut map = PageMap::default();
        map.grow_to(10, false).unwrap();
        map.add_run(0, LazyRun::region(&region, 10, Rights::ReadWrite));
        map.limit_region_runs(3..5, region.id(), Rights::Read);
        let rights = |vpn| map.get(vpn).unwrap().rights;
        assert_eq!(rights(2), Rights::ReadWrite);
        assert_eq!(rights(3), Rights::Read);
        assert_eq!(rights(4), Rights::Read);
        assert_eq!(rights(5), Rights::ReadWrite);
    }

    #[test]
    fn set_pages_override_runs_and_defer_gives_chunks_back() {
        let region = region(10);
        let mut map = PageMap::default();
        map.grow_to(1024, false).unwrap();
        map.add_run(0, run(&region, 10));
        let old = map.set(3, None);
        assert!(!old.held && old.page.is_some());
        assert_eq!(map.get(3), None);
        assert_eq!(map.lazy_pages(0..10).len(), 9);
        map.defer(0..10);
        assert!(map.get(3).is_some());
        assert!(map.chunks.is_empty());
    }
}

//! Model-based property test of the MMU.
//!
//! Random sequences of operations over 2-4 address spaces (and their clones)
//! run against the real MMU and against a plain reference model in which a
//! page is just rights plus contents, and a clone is a deep copy. After
//! every step both must agree on results, faults, page states and every
//! byte that can be observed (readable pages, and all region contents).
//! Addresses and lengths are random and adversarial: unaligned, crossing
//! pages, near 2^32 and near 2^64 so that `addr + len` overflows.
//!
//! The frame pool is sometimes tiny: when the MMU runs out of frames the
//! model must have expected success, and the state must be unchanged.
//!
//! A second property targets lazily mapped regions: each sequence starts
//! with a region mapped into several spaces at once (the owning space and
//! two or three grantees, or three or four grantees of a host region; two
//! of them with different rights), and the accesses that follow are first
//! touches of its pages, interleaved with revoke, grant lowering, protect,
//! unmap, `map_anon`, remapping and `prefault`. Some sequences work around
//! the 2 MiB boundary of larger spaces, so that a mapping spans two
//! stretches of the tables. Reading a page's bytes would touch it, so there
//! the bytes of spaces are compared only at `Check` steps and at the end;
//! page states, the memory map, frame identities and region contents are
//! compared after every step without touching a page.

use std::collections::HashMap;
use std::rc::Rc;

use proptest::prelude::*;
use waven_mmu::{
    Access, AddressSpace, FaultReason, FramePool, MemoryFault, MemoryLimits, MmuError, PageInfo,
    PageKind, Region, RegionId, Rights, PAGE_SIZE,
};

const PAGES_PER_WASM: usize = 16;
const MAX_WASM_PAGES: u64 = 3;
const MAX_SPACES: usize = 6;

type Bytes = Rc<Vec<u8>>;

/// A page of zeros. Pages share it until written (`Rc::make_mut`).
fn zero_page() -> Bytes {
    thread_local! {
        static ZERO: Bytes = Rc::new(vec![0; PAGE_SIZE]);
    }
    ZERO.with(Rc::clone)
}

/// `len` bytes that differ from page to page and within a page, so that a
/// page mapped at the wrong offset of its region shows.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            seed.wrapping_add(((i / PAGE_SIZE) as u8).wrapping_mul(101))
                .wrapping_add((i % 251) as u8)
        })
        .collect()
}

// ---------------------------------------------------------------- the model

#[derive(Clone, Debug)]
enum Content {
    Own(Bytes),
    Shared { region: usize, page: usize },
}

#[derive(Clone, Debug)]
struct Page {
    rights: Rights,
    cap: Rights,
    content: Content,
}

#[derive(Clone, Debug, Default)]
struct Space {
    pages: Vec<Option<Page>>,
}

#[derive(Clone, Debug)]
struct ModelRegion {
    id: RegionId,
    pages: Vec<Bytes>,
    max: Rights,
    owner: Option<usize>,
    grants: HashMap<usize, Rights>,
}

#[derive(Clone, Debug, Default)]
struct Model {
    spaces: Vec<Space>,
    regions: Vec<ModelRegion>,
    /// The most Wasm pages a space may grow to.
    max_wasm: u64,
    /// The first page operations work on: pages below it stay zero pages
    /// and are compared through the memory map only.
    focus: usize,
}

fn fault(addr: u64, access: Access, reason: FaultReason) -> MemoryFault {
    MemoryFault {
        addr,
        access,
        reason,
    }
}

impl Model {
    fn size(&self, s: usize) -> u64 {
        (self.spaces[s].pages.len() * PAGE_SIZE) as u64
    }

    fn page_range(
        &self,
        s: usize,
        addr: u64,
        len: u64,
    ) -> Result<std::ops::Range<usize>, MmuError> {
        let page = PAGE_SIZE as u64;
        if !addr.is_multiple_of(page) || !len.is_multiple_of(page) {
            return Err(MmuError::Unaligned { addr, len });
        }
        let size = self.size(s);
        match addr.checked_add(len) {
            Some(end) if end <= size => Ok((addr / page) as usize..(end / page) as usize),
            _ => Err(MmuError::OutOfRange { addr, len, size }),
        }
    }

    fn check_bounds(
        &self,
        s: usize,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<(), MemoryFault> {
        match addr.checked_add(len) {
            Some(end) if end <= self.size(s) => Ok(()),
            _ => Err(fault(addr, access, FaultReason::OutOfBounds)),
        }
    }

    fn check_rights(
        &self,
        s: usize,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<(), MemoryFault> {
        let mut at = addr;
        while at < addr + len {
            let vpn = (at / PAGE_SIZE as u64) as usize;
            match &self.spaces[s].pages[vpn] {
                None => return Err(fault(at, access, FaultReason::Unmapped)),
                Some(p) if !p.rights.allows(access) => {
                    return Err(fault(at, access, FaultReason::Denied))
                }
                Some(_) => {}
            }
            at = (vpn as u64 + 1) * PAGE_SIZE as u64;
        }
        Ok(())
    }

    fn page_bytes(&self, s: usize, vpn: usize) -> &[u8] {
        match &self.spaces[s].pages[vpn].as_ref().unwrap().content {
            Content::Own(bytes) => bytes,
            Content::Shared { region, page } => &self.regions[*region].pages[*page],
        }
    }

    fn byte(&self, s: usize, addr: u64) -> u8 {
        let vpn = (addr / PAGE_SIZE as u64) as usize;
        let offset = (addr % PAGE_SIZE as u64) as usize;
        match &self.spaces[s].pages[vpn].as_ref().unwrap().content {
            Content::Own(bytes) => bytes[offset],
            Content::Shared { region, page } => self.regions[*region].pages[*page][offset],
        }
    }

    fn set_byte(&mut self, s: usize, addr: u64, value: u8) {
        let vpn = (addr / PAGE_SIZE as u64) as usize;
        let offset = (addr % PAGE_SIZE as u64) as usize;
        match &mut self.spaces[s].pages[vpn].as_mut().unwrap().content {
            Content::Own(bytes) => Rc::make_mut(bytes)[offset] = value,
            Content::Shared { region, page } => {
                let (region, page) = (*region, *page);
                Rc::make_mut(&mut self.regions[region].pages[page])[offset] = value
            }
        }
    }

    fn read(&self, s: usize, addr: u64, len: u64) -> Result<Vec<u8>, MemoryFault> {
        self.check_bounds(s, addr, len, Access::Read)?;
        self.check_rights(s, addr, len, Access::Read)?;
        Ok((0..len).map(|i| self.byte(s, addr + i)).collect())
    }

    fn write(&mut self, s: usize, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        let len = data.len() as u64;
        self.check_bounds(s, addr, len, Access::Write)?;
        self.check_rights(s, addr, len, Access::Write)?;
        for (i, &b) in data.iter().enumerate() {
            self.set_byte(s, addr + i as u64, b);
        }
        Ok(())
    }

    fn copy(
        &mut self,
        d: usize,
        dst: u64,
        s: usize,
        src: u64,
        len: u64,
    ) -> Result<(), MemoryFault> {
        self.check_bounds(s, src, len, Access::Read)?;
        self.check_bounds(d, dst, len, Access::Write)?;
        self.check_rights(s, src, len, Access::Read)?;
        self.check_rights(d, dst, len, Access::Write)?;
        let data: Vec<u8> = (0..len).map(|i| self.byte(s, src + i)).collect();
        for (i, b) in data.into_iter().enumerate() {
            self.set_byte(d, dst + i as u64, b);
        }
        Ok(())
    }

    fn grow(&mut self, s: usize, delta: u64) -> Result<u64, MmuError> {
        let current = (self.spaces[s].pages.len() / PAGES_PER_WASM) as u64;
        if current + delta > self.max_wasm {
            return Err(MmuError::GrowBeyondMaximum {
                current,
                delta,
                maximum: self.max_wasm,
            });
        }
        for _ in 0..delta as usize * PAGES_PER_WASM {
            self.spaces[s].pages.push(Some(Page {
                rights: Rights::ReadWrite,
                cap: Rights::ReadWrite,
                content: Content::Own(zero_page()),
            }));
        }
        Ok(current)
    }

    fn map_anon(&mut self, s: usize, addr: u64, len: u64, rights: Rights) -> Result<(), MmuError> {
        for vpn in self.page_range(s, addr, len)? {
            self.spaces[s].pages[vpn] = Some(Page {
                rights,
                cap: Rights::ReadWrite,
                content: Content::Own(zero_page()),
            });
        }
        Ok(())
    }

    fn protect(&mut self, s: usize, addr: u64, len: u64, rights: Rights) -> Result<(), MmuError> {
        let range = self.page_range(s, addr, len)?;
        for vpn in range.clone() {
            let addr = (vpn * PAGE_SIZE) as u64;
            match &self.spaces[s].pages[vpn] {
                None => return Err(MmuError::NotMapped { addr }),
                Some(p) if rights > p.cap => {
                    return Err(MmuError::RightsExceedMapping {
                        addr,
                        requested: rights,
                        allowed: p.cap,
                    })
                }
                Some(_) => {}
            }
        }
        for vpn in range {
            self.spaces[s].pages[vpn].as_mut().unwrap().rights = rights;
        }
        Ok(())
    }

    fn unmap(&mut self, s: usize, addr: u64, len: u64) -> Result<(), MmuError> {
        for vpn in self.page_range(s, addr, len)? {
            self.spaces[s].pages[vpn] = None;
        }
        Ok(())
    }

    fn discard(&mut self, s: usize, addr: u64, len: u64) -> Result<(), MmuError> {
        let range = self.page_range(s, addr, len)?;
        for vpn in range.clone() {
            let addr = (vpn * PAGE_SIZE) as u64;
            match &self.spaces[s].pages[vpn] {
                None => return Err(MmuError::NotMapped { addr }),
                Some(Page {
                    content: Content::Shared { .. },
                    ..
                }) => return Err(MmuError::SharedPage { addr }),
                Some(_) => {}
            }
        }
        for vpn in range {
            self.spaces[s].pages[vpn].as_mut().unwrap().content = Content::Own(zero_page());
        }
        Ok(())
    }

    /// Checks a share; on success returns the pages, and `commit_share`
    /// applies it once the real region's id is known.
    fn check_share(
        &self,
        s: usize,
        addr: u64,
        len: u64,
    ) -> Result<std::ops::Range<usize>, MmuError> {
        let range = self.page_range(s, addr, len)?;
        if range.is_empty() {
            return Err(MmuError::InvalidSize(len));
        }
        for vpn in range.clone() {
            let addr = (vpn * PAGE_SIZE) as u64;
            match &self.spaces[s].pages[vpn] {
                None => return Err(MmuError::NotMapped { addr }),
                Some(Page {
                    content: Content::Shared { region, .. },
                    ..
                }) => {
                    return Err(MmuError::AlreadyShared {
                        addr,
                        region: self.regions[*region].id,
                    })
                }
                Some(_) => {}
            }
        }
        Ok(range)
    }

    fn commit_share(&mut self, s: usize, range: std::ops::Range<usize>, id: RegionId, max: Rights) {
        let r = self.regions.len();
        let mut pages = Vec::new();
        for (i, vpn) in range.enumerate() {
            let page = self.spaces[s].pages[vpn].as_mut().unwrap();
            let Content::Own(bytes) =
                std::mem::replace(&mut page.content, Content::Shared { region: r, page: i })
            else {
                unreachable!("checked not shared")
            };
            pages.push(bytes);
        }
        self.regions.push(ModelRegion {
            id,
            pages,
            max,
            owner: Some(s),
            grants: HashMap::new(),
        });
    }

    /// Prefaulting changes nothing that can be observed.
    fn prefault(&self, s: usize, addr: u64, len: u64) -> Result<(), MmuError> {
        self.page_range(s, addr, len).map(|_| ())
    }

    fn host_region(&mut self, id: RegionId, bytes: &[u8], max: Rights) {
        self.regions.push(ModelRegion {
            id,
            pages: bytes
                .chunks(PAGE_SIZE)
                .map(|page| Rc::new(page.to_vec()))
                .collect(),
            max,
            owner: None,
            grants: HashMap::new(),
        });
    }

    /// Whether space `s` maps any page of region `r`.
    fn maps_region(&self, s: usize, r: usize) -> bool {
        self.spaces[s].pages.iter().any(|page| {
            matches!(page, Some(Page { content: Content::Shared { region, .. }, .. }) if *region == r)
        })
    }

    /// Whether what a space reports of a page (`info`) agrees with the
    /// model's page (`check_info` says how they differ).
    fn agrees(&self, info: Option<PageInfo>, page: &Option<Page>) -> bool {
        match (info, page) {
            (None, None) => true,
            (Some(info), Some(page)) => {
                info.rights == page.rights
                    && match page.content {
                        Content::Shared { region, .. } => {
                            info.kind == PageKind::Shared(self.regions[region].id)
                        }
                        Content::Own(_) => !matches!(info.kind, PageKind::Shared(_)),
                    }
            }
            _ => false,
        }
    }

    fn region_pages_in(&self, s: usize, r: usize) -> Vec<usize> {
        (0..self.spaces[s].pages.len())
            .filter(|&vpn| {
                matches!(
                    self.spaces[s].pages[vpn],
                    Some(Page { content: Content::Shared { region, .. }, .. }) if region == r
                )
            })
            .collect()
    }

    fn grant(&mut self, r: usize, grantee: usize, rights: Rights) -> Result<(), MmuError> {
        let region = &mut self.regions[r];
        if rights > region.max {
            return Err(MmuError::AboveMaxRights {
                requested: rights,
                max: region.max,
            });
        }
        let old = region.grants.insert(grantee, rights);
        if old.is_some_and(|old| old > rights) {
            for vpn in self.region_pages_in(grantee, r) {
                let page = self.spaces[grantee].pages[vpn].as_mut().unwrap();
                page.rights = page.rights.min(rights);
                page.cap = page.cap.min(rights);
            }
        }
        Ok(())
    }

    fn revoke(&mut self, r: usize, grantee: usize) -> Result<(), MmuError> {
        if self.regions[r].grants.remove(&grantee).is_none() {
            return Err(MmuError::NoSuchGrant(self.regions[r].id));
        }
        for vpn in self.region_pages_in(grantee, r) {
            self.spaces[grantee].pages[vpn] = None;
        }
        Ok(())
    }

    fn map_region(
        &mut self,
        s: usize,
        r: usize,
        addr: u64,
        rights: Rights,
    ) -> Result<(), MmuError> {
        let len = (self.regions[r].pages.len() * PAGE_SIZE) as u64;
        let range = self.page_range(s, addr, len)?;
        let region = &self.regions[r];
        if !self.region_pages_in(s, r).is_empty() {
            return Err(MmuError::AlreadyMapped(region.id));
        }
        let allowed = if region.owner == Some(s) {
            Some(Rights::ReadWrite)
        } else {
            region.grants.get(&s).copied()
        };
        if allowed.is_none_or(|allowed| rights > allowed) {
            return Err(MmuError::NotGranted {
                region: region.id,
                requested: rights,
            });
        }
        for (i, vpn) in range.enumerate() {
            self.spaces[s].pages[vpn] = Some(Page {
                rights,
                cap: rights,
                content: Content::Shared { region: r, page: i },
            });
        }
        Ok(())
    }

    fn clone_space(&mut self, s: usize) {
        let pages = self.spaces[s]
            .pages
            .iter()
            .map(|page| {
                page.as_ref().map(|p| Page {
                    rights: p.rights,
                    cap: Rights::ReadWrite,
                    content: Content::Own(match &p.content {
                        Content::Own(bytes) => bytes.clone(),
                        Content::Shared { region, page } => {
                            self.regions[*region].pages[*page].clone()
                        }
                    }),
                })
            })
            .collect();
        self.spaces.push(Space { pages });
    }
}

// ------------------------------------------------------------ the operations

#[derive(Clone, Debug)]
enum Op {
    Grow {
        s: usize,
        delta: u64,
    },
    MapAnon {
        s: usize,
        addr: u64,
        len: u64,
        rights: Rights,
    },
    Protect {
        s: usize,
        addr: u64,
        len: u64,
        rights: Rights,
    },
    Unmap {
        s: usize,
        addr: u64,
        len: u64,
    },
    Discard {
        s: usize,
        addr: u64,
        len: u64,
    },
    Share {
        s: usize,
        addr: u64,
        len: u64,
        max: Rights,
    },
    Grant {
        r: usize,
        grantee: usize,
        rights: Rights,
    },
    Revoke {
        r: usize,
        grantee: usize,
    },
    MapRegion {
        s: usize,
        r: usize,
        addr: u64,
        rights: Rights,
    },
    /// A grant followed by the grantee's map with the same rights, the way
    /// regions are used.
    GrantMap {
        r: usize,
        s: usize,
        addr: u64,
        rights: Rights,
    },
    DropRegion {
        r: usize,
    },
    Clone {
        s: usize,
    },
    /// A frozen snapshot of space `s`, `clones` clones of it (each starts
    /// lazily, see `AddressSpace::snapshot`), then the snapshot is dropped.
    CloneSnapshot {
        s: usize,
        clones: usize,
    },
    Read {
        s: usize,
        addr: u64,
        size: usize,
    },
    Write {
        s: usize,
        addr: u64,
        size: usize,
        seed: u8,
    },
    ReadBytes {
        s: usize,
        addr: u64,
        len: u64,
    },
    Fill {
        s: usize,
        addr: u64,
        value: u8,
        len: u64,
    },
    Copy {
        s: usize,
        dst: u64,
        src: u64,
        len: u64,
    },
    CopyFrom {
        d: usize,
        dst: u64,
        s: usize,
        src: u64,
        len: u64,
    },
    /// A host region (`Region::new`) of `pages` pages holding a pattern.
    HostRegion {
        pages: usize,
        max: Rights,
        seed: u8,
    },
    /// A host write of a pattern.
    WriteBytes {
        s: usize,
        addr: u64,
        len: u64,
        seed: u8,
    },
    /// Revokes `s`'s grant, then grants and maps the region again at
    /// `addr`, likely elsewhere.
    RevokeRemap {
        r: usize,
        s: usize,
        addr: u64,
        rights: Rights,
    },
    /// Compares every readable byte of a space (touching its pages).
    Check {
        s: usize,
    },
    /// Sets the translation of a range now (`AddressSpace::prefault`).
    Prefault {
        s: usize,
        addr: u64,
        len: u64,
    },
}

fn rights() -> impl Strategy<Value = Rights> {
    prop_oneof![
        Just(Rights::None),
        Just(Rights::Read),
        Just(Rights::ReadWrite)
    ]
}

fn addr() -> impl Strategy<Value = u64> {
    let page = PAGE_SIZE as u64;
    prop_oneof![
        6 => (0u64..52).prop_map(move |p| p * page),
        4 => 0u64..52 * page,
        2 => (1u64..52, 1u64..16).prop_map(move |(p, d)| p * page - d),
        1 => (0u64..64).prop_map(|d| (1 << 32) - d),
        1 => (0u64..64).prop_map(|d| u64::MAX - d),
    ]
}

fn len() -> impl Strategy<Value = u64> {
    let page = PAGE_SIZE as u64;
    prop_oneof![
        6 => (0u64..6).prop_map(move |p| p * page),
        3 => 0u64..3 * page,
        1 => (0u64..64).prop_map(|d| (1 << 32) - d),
        1 => (0u64..64).prop_map(|d| u64::MAX - d),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let idx = || 0usize..64;
    prop_oneof![
        2 => (idx(), 0u64..3).prop_map(|(s, delta)| Op::Grow { s, delta }),
        3 => (idx(), addr(), len(), rights()).prop_map(|(s, addr, len, rights)| Op::MapAnon { s, addr, len, rights }),
        4 => (idx(), addr(), len(), rights()).prop_map(|(s, addr, len, rights)| Op::Protect { s, addr, len, rights }),
        2 => (idx(), addr(), len()).prop_map(|(s, addr, len)| Op::Unmap { s, addr, len }),
        2 => (idx(), addr(), len()).prop_map(|(s, addr, len)| Op::Discard { s, addr, len }),
        2 => (idx(), addr(), len(), rights()).prop_map(|(s, addr, len, max)| Op::Share { s, addr, len, max }),
        4 => (idx(), 0u64..40, 1u64..4, rights()).prop_map(|(s, page, pages, max)| {
            let page_size = PAGE_SIZE as u64;
            Op::Share { s, addr: page * page_size, len: pages * page_size, max }
        }),
        4 => (idx(), idx(), rights()).prop_map(|(r, grantee, rights)| Op::Grant { r, grantee, rights }),
        2 => (idx(), idx()).prop_map(|(r, grantee)| Op::Revoke { r, grantee }),
        4 => (idx(), idx(), addr(), rights()).prop_map(|(s, r, addr, rights)| Op::MapRegion { s, r, addr, rights }),
        6 => (idx(), idx(), (0u64..48).prop_map(|p| p * PAGE_SIZE as u64), rights()).prop_map(|(r, s, addr, rights)| Op::GrantMap { r, s, addr, rights }),
        1 => idx().prop_map(|r| Op::DropRegion { r }),
        2 => idx().prop_map(|s| Op::Clone { s }),
        2 => (idx(), 1usize..=2).prop_map(|(s, clones)| Op::CloneSnapshot { s, clones }),
        6 => (idx(), addr(), prop::sample::select(vec![1usize, 2, 4, 8, 16])).prop_map(|(s, addr, size)| Op::Read { s, addr, size }),
        6 => (idx(), addr(), prop::sample::select(vec![1usize, 2, 4, 8, 16]), any::<u8>()).prop_map(|(s, addr, size, seed)| Op::Write { s, addr, size, seed }),
        2 => (idx(), addr(), len()).prop_map(|(s, addr, len)| Op::ReadBytes { s, addr, len }),
        3 => (idx(), addr(), any::<u8>(), len()).prop_map(|(s, addr, value, len)| Op::Fill { s, addr, value, len }),
        3 => (idx(), addr(), addr(), len()).prop_map(|(s, dst, src, len)| Op::Copy { s, dst, src, len }),
        2 => (idx(), addr(), idx(), addr(), len()).prop_map(|(d, dst, s, src, len)| Op::CopyFrom { d, dst, s, src, len }),
        2 => (idx(), addr(), len(), any::<u8>()).prop_map(|(s, addr, len, seed)| Op::WriteBytes { s, addr, len, seed }),
        1 => (1usize..4, rights(), any::<u8>()).prop_map(|(pages, max, seed)| Op::HostRegion { pages, max, seed }),
        2 => (idx(), idx(), (0u64..48).prop_map(|p| p * PAGE_SIZE as u64), rights()).prop_map(|(r, s, addr, rights)| Op::RevokeRemap { r, s, addr, rights }),
        2 => (idx(), addr(), len()).prop_map(|(s, addr, len)| Op::Prefault { s, addr, len }),
    ]
}

/// Operations for sequences that start with a lazily mapped region:
/// accesses (most of them first touches) at and around page boundaries,
/// bulk accesses over several pages, and page-aligned control operations
/// over parts of the mappings.
fn lazy_op() -> impl Strategy<Value = Op> {
    let idx = || 0usize..64;
    let page = PAGE_SIZE as u64;
    let near = move || {
        (
            0u64..50,
            prop_oneof![2 => Just(0u64), 2 => 1u64..8, 3 => (page - 16)..page, 3 => 0..page],
        )
            .prop_map(move |(p, offset)| p * page + offset)
    };
    let aligned = move || (0u64..48).prop_map(move |p| p * page);
    let pages = move || (0u64..=8).prop_map(move |p| p * page);
    let bulk = move || prop_oneof![0u64..2 * page, pages()];
    let size = || prop::sample::select(vec![1usize, 2, 4, 8, 16]);
    prop_oneof![
        10 => (idx(), near(), size()).prop_map(|(s, addr, size)| Op::Read { s, addr, size }),
        10 => (idx(), near(), size(), any::<u8>()).prop_map(|(s, addr, size, seed)| Op::Write { s, addr, size, seed }),
        3 => (idx(), near(), bulk()).prop_map(|(s, addr, len)| Op::ReadBytes { s, addr, len }),
        3 => (idx(), near(), bulk(), any::<u8>()).prop_map(|(s, addr, len, seed)| Op::WriteBytes { s, addr, len, seed }),
        2 => (idx(), near(), any::<u8>(), bulk()).prop_map(|(s, addr, value, len)| Op::Fill { s, addr, value, len }),
        2 => (idx(), near(), near(), bulk()).prop_map(|(s, dst, src, len)| Op::Copy { s, dst, src, len }),
        2 => (idx(), near(), idx(), near(), bulk()).prop_map(|(d, dst, s, src, len)| Op::CopyFrom { d, dst, s, src, len }),
        3 => (idx(), idx()).prop_map(|(r, grantee)| Op::Revoke { r, grantee }),
        4 => (idx(), idx(), rights()).prop_map(|(r, grantee, rights)| Op::Grant { r, grantee, rights }),
        4 => (idx(), aligned(), pages(), rights()).prop_map(|(s, addr, len, rights)| Op::Protect { s, addr, len, rights }),
        2 => (idx(), aligned(), pages()).prop_map(|(s, addr, len)| Op::Unmap { s, addr, len }),
        2 => (idx(), aligned(), pages(), rights()).prop_map(|(s, addr, len, rights)| Op::MapAnon { s, addr, len, rights }),
        2 => (idx(), idx(), aligned(), rights()).prop_map(|(r, s, addr, rights)| Op::GrantMap { r, s, addr, rights }),
        3 => (idx(), idx(), aligned(), rights()).prop_map(|(r, s, addr, rights)| Op::RevokeRemap { r, s, addr, rights }),
        1 => (idx(), idx(), aligned(), rights()).prop_map(|(s, r, addr, rights)| Op::MapRegion { s, r, addr, rights }),
        1 => (idx(), aligned(), pages()).prop_map(|(s, addr, len)| Op::Discard { s, addr, len }),
        1 => (idx(), aligned(), pages(), rights()).prop_map(|(s, addr, len, max)| Op::Share { s, addr, len, max }),
        1 => (1usize..=16, rights(), any::<u8>()).prop_map(|(pages, max, seed)| Op::HostRegion { pages, max, seed }),
        1 => idx().prop_map(|r| Op::DropRegion { r }),
        1 => idx().prop_map(|s| Op::Clone { s }),
        1 => (idx(), 1usize..=2).prop_map(|(s, clones)| Op::CloneSnapshot { s, clones }),
        1 => (idx(), 0u64..2).prop_map(|(s, delta)| Op::Grow { s, delta }),
        1 => idx().prop_map(|s| Op::Check { s }),
        2 => (idx(), aligned(), pages()).prop_map(|(s, addr, len)| Op::Prefault { s, addr, len }),
        1 => (idx(), addr(), len()).prop_map(|(s, addr, len)| Op::Prefault { s, addr, len }),
    ]
}

// ----------------------------------------------------------- the real thing

struct Real {
    pool: FramePool,
    spaces: Vec<AddressSpace>,
    regions: Vec<Option<Region>>,
}

fn real_read(space: &AddressSpace, addr: u64, size: usize) -> Result<Vec<u8>, MemoryFault> {
    let pin = space.pin();
    Ok(match size {
        1 => pin.read::<1>(addr)?.to_vec(),
        2 => pin.read::<2>(addr)?.to_vec(),
        4 => pin.read::<4>(addr)?.to_vec(),
        8 => pin.read::<8>(addr)?.to_vec(),
        _ => pin.read::<16>(addr)?.to_vec(),
    })
}

fn real_write(space: &AddressSpace, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
    let pin = space.pin();
    match data.len() {
        1 => pin.write::<1>(addr, data.try_into().unwrap()),
        2 => pin.write::<2>(addr, data.try_into().unwrap()),
        4 => pin.write::<4>(addr, data.try_into().unwrap()),
        8 => pin.write::<8>(addr, data.try_into().unwrap()),
        _ => pin.write::<16>(addr, data.try_into().unwrap()),
    }
}

/// Asserts that the real and model results agree. An out-of-frames result
/// is allowed where the model succeeded; the caller then restores the model.
fn agree<T: PartialEq + std::fmt::Debug, E: PartialEq + std::fmt::Debug>(
    real: &Result<T, E>,
    model: &Result<T, E>,
    out_of_frames: impl Fn(&E) -> bool,
    op: &Op,
) -> Result<bool, TestCaseError> {
    if let Err(e) = real {
        if out_of_frames(e) {
            prop_assert!(
                model.is_ok(),
                "{op:?}: MMU ran out of frames, model says {model:?}"
            );
            return Ok(true);
        }
    }
    prop_assert_eq!(real, model, "{:?}", op);
    Ok(false)
}

fn fault_oof(f: &MemoryFault) -> bool {
    f.reason == FaultReason::OutOfFrames
}

/// Runs one operation on both sides and checks that they agree; with
/// `bytes`, every readable byte of every space is compared afterwards
/// (which touches every page).
/// Adds clones of space `s` to both sides, or checks that making them
/// ran out of frames (then the model is restored: returns true).
fn push_clones(
    real: &mut Real,
    model: &mut Model,
    s: usize,
    made: Result<Vec<AddressSpace>, MmuError>,
) -> Result<bool, TestCaseError> {
    match made {
        Ok(made) => {
            for clone in made {
                real.spaces.push(clone);
                model.clone_space(s);
            }
            Ok(false)
        }
        Err(e) => {
            prop_assert_eq!(e, MmuError::OutOfFrames);
            Ok(true)
        }
    }
}

fn step(real: &mut Real, model: &mut Model, op: &Op, bytes: bool) -> Result<(), TestCaseError> {
    let ns = real.spaces.len();
    let nr = real.regions.len();
    // The model before the operations that may run out of frames, which
    // then change nothing.
    let before = matches!(
        op,
        Op::Write { .. }
            | Op::WriteBytes { .. }
            | Op::Fill { .. }
            | Op::Copy { .. }
            | Op::CopyFrom { .. }
            | Op::Share { .. }
            | Op::Clone { .. }
            | Op::CloneSnapshot { .. }
    )
    .then(|| model.clone());
    let restore = match *op {
        Op::Grow { s, delta } => {
            let s = s % ns;
            agree(
                &real.spaces[s].grow(delta),
                &model.grow(s, delta),
                |_| false,
                op,
            )?
        }
        Op::MapAnon {
            s,
            addr,
            len,
            rights,
        } => {
            let s = s % ns;
            agree(
                &real.spaces[s].map_anon(addr, len, rights),
                &model.map_anon(s, addr, len, rights),
                |_| false,
                op,
            )?
        }
        Op::Protect {
            s,
            addr,
            len,
            rights,
        } => {
            let s = s % ns;
            agree(
                &real.spaces[s].protect(addr, len, rights),
                &model.protect(s, addr, len, rights),
                |_| false,
                op,
            )?
        }
        Op::Unmap { s, addr, len } => {
            let s = s % ns;
            agree(
                &real.spaces[s].unmap(addr, len),
                &model.unmap(s, addr, len),
                |_| false,
                op,
            )?
        }
        Op::Discard { s, addr, len } => {
            let s = s % ns;
            agree(
                &real.spaces[s].discard(addr, len),
                &model.discard(s, addr, len),
                |_| false,
                op,
            )?
        }
        Op::Share { s, addr, len, max } => {
            let s = s % ns;
            let result = real.spaces[s].share(addr, len, "r", max);
            let expected = model.check_share(s, addr, len);
            match (result, expected) {
                (Ok(region), Ok(range)) => {
                    prop_assert_eq!(region.max_rights(), max);
                    model.commit_share(s, range, region.id(), max);
                    real.regions.push(Some(region));
                    false
                }
                (Err(MmuError::OutOfFrames), Ok(_)) => true,
                (real, model) => {
                    prop_assert_eq!(real.map(|r| r.id()).err(), model.err(), "{:?}", op);
                    false
                }
            }
        }
        Op::Grant { r, grantee, rights } if nr > 0 => {
            let (r, grantee) = (r % nr, grantee % ns);
            let Some(region) = &real.regions[r] else {
                return Ok(());
            };
            agree(
                &region.grant(real.spaces[grantee].id(), rights),
                &model.grant(r, grantee, rights),
                |_| false,
                op,
            )?
        }
        Op::Revoke { r, grantee } if nr > 0 => {
            let (r, grantee) = (r % nr, grantee % ns);
            let Some(region) = &real.regions[r] else {
                return Ok(());
            };
            agree(
                &region.revoke(real.spaces[grantee].id()),
                &model.revoke(r, grantee),
                |_| false,
                op,
            )?
        }
        Op::MapRegion { s, r, addr, rights } if nr > 0 => {
            let (s, r) = (s % ns, r % nr);
            let Some(region) = &real.regions[r] else {
                return Ok(());
            };
            agree(
                &real.spaces[s].map_region(region, addr, rights),
                &model.map_region(s, r, addr, rights),
                |_| false,
                op,
            )?
        }
        Op::GrantMap { r, s, addr, rights } if nr > 0 => {
            let (r, s) = (r % nr, s % ns);
            let Some(region) = &real.regions[r] else {
                return Ok(());
            };
            let grantee = real.spaces[s].id();
            agree(
                &region.grant(grantee, rights),
                &model.grant(r, s, rights),
                |_| false,
                op,
            )?;
            compare(real, model, op, bytes)?;
            agree(
                &real.spaces[s].map_region(region, addr, rights),
                &model.map_region(s, r, addr, rights),
                |_| false,
                op,
            )?
        }
        Op::DropRegion { r } if nr > 0 => {
            real.regions[r % nr] = None;
            false
        }
        Op::Clone { s } if ns < MAX_SPACES => {
            let s = s % ns;
            let made = real.spaces[s].try_clone().map(|clone| vec![clone]);
            push_clones(real, model, s, made)?
        }
        Op::CloneSnapshot { s, clones } if ns + clones <= MAX_SPACES => {
            let s = s % ns;
            let made = real.spaces[s].snapshot().and_then(|snapshot| {
                (0..clones)
                    .map(|_| snapshot.try_clone())
                    .collect::<Result<Vec<_>, _>>()
            });
            push_clones(real, model, s, made)?
        }
        Op::Read { s, addr, size } => {
            let s = s % ns;
            agree(
                &real_read(&real.spaces[s], addr, size),
                &model.read(s, addr, size as u64),
                |_| false,
                op,
            )?
        }
        Op::Write {
            s,
            addr,
            size,
            seed,
        } => {
            let s = s % ns;
            let data: Vec<u8> = (0..size as u8)
                .map(|i| seed.wrapping_add(i.wrapping_mul(31)))
                .collect();
            agree(
                &real_write(&real.spaces[s], addr, &data),
                &model.write(s, addr, &data),
                fault_oof,
                op,
            )?
        }
        Op::ReadBytes { s, addr, len } => {
            let s = s % ns;
            let len = len.min(1 << 20);
            let mut buf = vec![0; len as usize];
            let result = real.spaces[s].read_bytes(addr, &mut buf).map(|()| buf);
            agree(&result, &model.read(s, addr, len), |_| false, op)?
        }
        Op::Fill {
            s,
            addr,
            value,
            len,
        } => {
            let s = s % ns;
            let expected = if len < 1 << 20 {
                model.write(s, addr, &vec![value; len as usize])
            } else {
                model.check_bounds(s, addr, len, Access::Write)
            };
            agree(
                &real.spaces[s].fill(addr, value, len),
                &expected,
                fault_oof,
                op,
            )?
        }
        Op::Copy { s, dst, src, len } => {
            let s = s % ns;
            agree(
                &real.spaces[s].copy_within(dst, src, len),
                &model.copy(s, dst, s, src, len),
                fault_oof,
                op,
            )?
        }
        Op::CopyFrom {
            d,
            dst,
            s,
            src,
            len,
        } => {
            let (d, s) = (d % ns, s % ns);
            let result = real.spaces[d].copy_from(dst, &real.spaces[s], src, len);
            agree(&result, &model.copy(d, dst, s, src, len), fault_oof, op)?
        }
        Op::HostRegion { pages, max, seed } => {
            let data = pattern(seed, pages * PAGE_SIZE);
            match Region::new(&real.pool, "host", data.len() as u64, max) {
                Ok(region) => {
                    region.write_bytes(0, &data).unwrap();
                    model.host_region(region.id(), &data, max);
                    real.regions.push(Some(region));
                }
                Err(e) => prop_assert_eq!(e, MmuError::OutOfFrames, "{:?}", op),
            }
            false
        }
        Op::WriteBytes { s, addr, len, seed } => {
            let s = s % ns;
            let data = pattern(seed, len.min(1 << 16) as usize);
            agree(
                &real.spaces[s].write_bytes(addr, &data),
                &model.write(s, addr, &data),
                fault_oof,
                op,
            )?
        }
        Op::RevokeRemap { r, s, addr, rights } => {
            step(real, model, &Op::Revoke { r, grantee: s }, bytes)?;
            return step(real, model, &Op::GrantMap { r, s, addr, rights }, bytes);
        }
        Op::Check { s } => {
            compare_bytes(real, model, s % ns, op)?;
            false
        }
        Op::Prefault { s, addr, len } => {
            let s = s % ns;
            agree(
                &real.spaces[s].prefault(addr, len),
                &model.prefault(s, addr, len),
                |_| false,
                op,
            )?
        }
        _ => false,
    };
    if restore {
        *model = before.expect("kept for operations that may run out of frames");
    }
    compare(real, model, op, bytes)
}

/// Checks what a space reports of a page against the model's page.
fn check_info(
    model: &Model,
    info: Option<PageInfo>,
    page: &Option<Page>,
    addr: u64,
    what: &str,
    op: &Op,
) -> Result<(), TestCaseError> {
    let Some(page) = page else {
        prop_assert_eq!(info, None, "{} of page {:#x} after {:?}", what, addr, op);
        return Ok(());
    };
    prop_assert!(
        info.is_some(),
        "{} says page {:#x} unmapped after {:?}",
        what,
        addr,
        op
    );
    let info = info.unwrap();
    prop_assert_eq!(
        info.rights,
        page.rights,
        "{} of page {:#x} after {:?}",
        what,
        addr,
        op
    );
    match page.content {
        Content::Shared { region, .. } => prop_assert_eq!(
            info.kind,
            PageKind::Shared(model.regions[region].id),
            "{} of page {:#x} after {:?}",
            what,
            addr,
            op
        ),
        Content::Own(_) => prop_assert!(
            matches!(
                info.kind,
                PageKind::Private | PageKind::Zero | PageKind::CopyOnWrite
            ),
            "{} says page {:#x} is {:?} after {:?}",
            what,
            addr,
            info.kind,
            op
        ),
    }
    Ok(())
}

/// Compares every readable byte of space `s` (reading touches its pages).
fn compare_bytes(real: &Real, model: &Model, s: usize, op: &Op) -> Result<(), TestCaseError> {
    let mut buf = vec![0u8; PAGE_SIZE];
    for (vpn, page) in model.spaces[s].pages.iter().enumerate().skip(model.focus) {
        let addr = (vpn * PAGE_SIZE) as u64;
        if page.as_ref().is_some_and(|p| p.rights.can_read()) {
            real.spaces[s].read_bytes(addr, &mut buf).unwrap();
            prop_assert!(
                buf == model.page_bytes(s, vpn),
                "bytes of page {:#x} in space {} differ after {:?}",
                addr,
                s,
                op
            );
        }
    }
    Ok(())
}

/// Compares every space's memory map, its pages from `model.focus` on
/// and their frame identities, every live region, and with `bytes` every
/// readable byte of every space from `model.focus` on. Only the byte
/// comparison touches pages.
fn compare(real: &Real, model: &Model, op: &Op, bytes: bool) -> Result<(), TestCaseError> {
    let stats = real.pool.stats();
    prop_assert!(stats.in_use <= stats.budget_frames);
    // The frame behind each region page, as `frame_key` reports it in any
    // space that maps it: one key per region page, never a private page's.
    let mut region_keys: HashMap<(usize, usize), u64> = HashMap::new();
    let mut own_keys = Vec::new();
    for (s, space) in real.spaces.iter().enumerate() {
        prop_assert_eq!(space.size_bytes(), model.size(s), "after {:?}", op);
        for (vpn, page) in model.spaces[s].pages.iter().enumerate().skip(model.focus) {
            let addr = (vpn * PAGE_SIZE) as u64;
            check_info(model, space.page_info(addr), page, addr, "page_info", op)?;
            match page.as_ref().map(|p| &p.content) {
                Some(&Content::Shared { region, page }) => {
                    let key = space.frame_key(addr);
                    prop_assert!(key.is_some(), "no frame at {:#x} after {:?}", addr, op);
                    let expected = *region_keys.entry((region, page)).or_insert(key.unwrap());
                    prop_assert_eq!(
                        key,
                        Some(expected),
                        "space {} page {:#x} is not on region {}'s page {} after {:?}",
                        s,
                        addr,
                        region,
                        page,
                        op
                    );
                }
                Some(Content::Own(_)) => own_keys.extend(space.frame_key(addr)),
                None => {}
            }
        }
        let map = space.memory_map();
        let mut at = 0;
        for (i, run) in map.iter().enumerate() {
            prop_assert_eq!(run.start, at, "memory map of space {} after {:?}", s, op);
            prop_assert!(
                run.end > run.start && i.checked_sub(1).is_none_or(|j| map[j].page != run.page),
                "memory map of space {} after {:?}: {:?}",
                s,
                op,
                map
            );
            for addr in (run.start..run.end).step_by(PAGE_SIZE) {
                let page = &model.spaces[s].pages[(addr / PAGE_SIZE as u64) as usize];
                if !model.agrees(run.page, page) {
                    check_info(model, run.page, page, addr, "memory_map", op)?;
                }
            }
            at = run.end;
        }
        prop_assert_eq!(
            at,
            model.size(s),
            "memory map of space {} after {:?}",
            s,
            op
        );
        for (r, region) in model.regions.iter().enumerate() {
            prop_assert_eq!(
                space.maps_region(region.id),
                model.maps_region(s, r),
                "space {} maps region {}? after {:?}",
                s,
                r,
                op
            );
        }
        if bytes {
            compare_bytes(real, model, s, op)?;
        }
    }
    let mut keys: Vec<u64> = region_keys.values().copied().collect();
    keys.sort_unstable();
    keys.dedup();
    prop_assert_eq!(keys.len(), region_keys.len(), "region pages share a frame");
    for key in own_keys {
        prop_assert!(
            keys.binary_search(&key).is_err(),
            "a private page is on a region's frame after {:?}",
            op
        );
    }
    let mut buf = vec![0u8; PAGE_SIZE];
    for (r, region) in real.regions.iter().enumerate() {
        let Some(region) = region else { continue };
        for (i, bytes) in model.regions[r].pages.iter().enumerate() {
            region.read_bytes((i * PAGE_SIZE) as u64, &mut buf).unwrap();
            prop_assert!(
                buf == **bytes,
                "region {} page {} differs after {:?}",
                r,
                i,
                op
            );
        }
    }
    Ok(())
}

fn case() -> impl Strategy<Value = (Vec<u64>, usize, Vec<Op>)> {
    (
        prop::collection::vec(prop_oneof![1 => Just(0u64), 4 => 1u64..=2], 2..=4),
        prop_oneof![Just(4usize), Just(24), Just(64), Just(512)],
        prop::collection::vec(op(), 1..40),
    )
}

/// `op` with every address it names moved up by `by`.
fn shifted(mut op: Op, by: u64) -> Op {
    match &mut op {
        Op::Read { addr, .. }
        | Op::Write { addr, .. }
        | Op::ReadBytes { addr, .. }
        | Op::WriteBytes { addr, .. }
        | Op::Fill { addr, .. }
        | Op::Protect { addr, .. }
        | Op::Unmap { addr, .. }
        | Op::MapAnon { addr, .. }
        | Op::Discard { addr, .. }
        | Op::Share { addr, .. }
        | Op::MapRegion { addr, .. }
        | Op::GrantMap { addr, .. }
        | Op::RevokeRemap { addr, .. }
        | Op::Prefault { addr, .. } => *addr = addr.wrapping_add(by),
        Op::Copy { dst, src, .. } | Op::CopyFrom { dst, src, .. } => {
            *dst = dst.wrapping_add(by);
            *src = src.wrapping_add(by);
        }
        Op::Grow { .. }
        | Op::Grant { .. }
        | Op::Revoke { .. }
        | Op::DropRegion { .. }
        | Op::Clone { .. }
        | Op::CloneSnapshot { .. }
        | Op::HostRegion { .. }
        | Op::Check { .. } => {}
    }
    op
}

/// Where the lazy sequences work: near address 0 in spaces of 2-3 Wasm
/// pages (one 2 MiB stretch), or on 48 pages around the 2 MiB boundary in
/// spaces of 33-34 Wasm pages, so that a mapping spans two stretches (a
/// first touch may set the pages of its whole stretch).
const FAR_FOCUS: usize = 488;
const FAR_MAX_WASM_PAGES: u64 = 35;

/// A lazy sequence: the spaces' sizes and maximum in Wasm pages, the page
/// operations start at, the pool's frames, and the operations.
type LazyCase = (Vec<u64>, u64, usize, usize, Vec<Op>);

/// Spaces, then a region of 1-16 pages (a host region holding a pattern,
/// or pages of space 0 written with a pattern and shared) mapped into
/// every other space, two of them with different rights, then `lazy_op`s;
/// all of them from the focus page on.
fn lazy_case() -> impl Strategy<Value = LazyCase> {
    let page = PAGE_SIZE as u64;
    let sizes = prop_oneof![
        3 => prop::collection::vec(2u64..=MAX_WASM_PAGES, 3..=4).prop_map(|sizes| (
            sizes,
            MAX_WASM_PAGES,
            0
        )),
        2 => prop::collection::vec(33u64..=34, 3..=4).prop_map(|sizes| (
            sizes,
            FAR_MAX_WASM_PAGES,
            FAR_FOCUS
        )),
    ];
    (
        sizes,
        prop_oneof![Just(24usize), Just(64), Just(512)],
        (any::<bool>(), 1usize..=16, 0u64..64, any::<u8>()),
        prop::collection::vec((0u64..64, rights()), 4),
        any::<bool>(),
        prop::collection::vec(lazy_op(), 1..60),
    )
        .prop_map(
            move |((initial, max, focus), frames, (host, pages, at, seed), maps, swap, ops)| {
                let len = pages as u64 * page;
                // A page-aligned address from the focus on where the
                // region fits in space `s`.
                let fit = |s: usize, raw: u64| {
                    let room = initial[s] * PAGES_PER_WASM as u64 - focus as u64;
                    (focus as u64 + raw % (room - pages as u64 + 1)) * page
                };
                let mut setup = Vec::new();
                let first_grantee = if host {
                    let max = Rights::ReadWrite;
                    setup.push(Op::HostRegion { pages, max, seed });
                    0
                } else {
                    let (s, addr, max) = (0, fit(0, at), Rights::ReadWrite);
                    setup.push(Op::WriteBytes { s, addr, len, seed });
                    setup.push(Op::Share { s, addr, len, max });
                    1
                };
                let mut different = [Rights::ReadWrite, Rights::Read];
                if swap {
                    different.swap(0, 1);
                }
                for (i, s) in (first_grantee..initial.len()).enumerate() {
                    let (raw, random) = maps[i];
                    let rights = different.get(i).copied().unwrap_or(random);
                    setup.push(Op::GrantMap {
                        r: 0,
                        s,
                        addr: fit(s, raw),
                        rights,
                    });
                }
                let by = (focus * PAGE_SIZE) as u64;
                setup.extend(ops.into_iter().map(|op| shifted(op, by)));
                (initial, max, focus, frames, setup)
            },
        )
}

/// Runs one sequence on spaces of `initial` Wasm pages (at most `max`)
/// and a pool of `frames`; with `bytes`, compares every byte (from page
/// `focus` on) after every step, else only at `Check` steps and at the end.
fn run(
    (initial, max, focus): (&[u64], u64, usize),
    frames: usize,
    ops: &[Op],
    bytes: bool,
) -> Result<(), TestCaseError> {
    let pool = FramePool::new_overcommitted((frames * PAGE_SIZE) as u64).unwrap();
    let mut real = Real {
        pool: pool.clone(),
        spaces: Vec::new(),
        regions: Vec::new(),
    };
    let mut model = Model {
        max_wasm: max,
        focus,
        ..Model::default()
    };
    for &wasm_pages in initial {
        let limits = MemoryLimits::new(wasm_pages, Some(max));
        real.spaces.push(AddressSpace::new(&pool, limits).unwrap());
        model.spaces.push(Space::default());
        let s = model.spaces.len() - 1;
        model.grow(s, wasm_pages).unwrap();
    }
    for op in ops {
        step(&mut real, &mut model, op, bytes)?;
    }
    for s in 0..real.spaces.len() {
        compare_bytes(&real, &model, s, &Op::Check { s })?;
    }
    drop(real);
    // Every frame comes back once nothing maps it.
    prop_assert_eq!(pool.stats().in_use, 0, "frames leaked");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mmu_matches_the_reference_model((initial, frames, ops) in case()) {
        run((&initial, MAX_WASM_PAGES, 0), frames, &ops, true)?;
    }

    #[test]
    fn lazily_mapped_regions_match_the_reference_model(
        (initial, max, focus, frames, ops) in lazy_case()
    ) {
        run((&initial, max, focus), frames, &ops, false)?;
    }
}

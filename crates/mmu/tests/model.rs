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

use std::collections::HashMap;
use std::rc::Rc;

use proptest::prelude::*;
use waven_mmu::{
    Access, AddressSpace, FaultReason, FramePool, MemoryFault, MemoryLimits, MmuError, PageKind,
    Region, RegionId, Rights, PAGE_SIZE,
};

const PAGES_PER_WASM: usize = 16;
const MAX_WASM_PAGES: u64 = 3;
const MAX_SPACES: usize = 6;

type Bytes = Rc<Vec<u8>>;

fn zero_page() -> Bytes {
    Rc::new(vec![0; PAGE_SIZE])
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
        if current + delta > MAX_WASM_PAGES {
            return Err(MmuError::GrowBeyondMaximum {
                current,
                delta,
                maximum: MAX_WASM_PAGES,
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
        6 => (idx(), addr(), prop::sample::select(vec![1usize, 2, 4, 8, 16])).prop_map(|(s, addr, size)| Op::Read { s, addr, size }),
        6 => (idx(), addr(), prop::sample::select(vec![1usize, 2, 4, 8, 16]), any::<u8>()).prop_map(|(s, addr, size, seed)| Op::Write { s, addr, size, seed }),
        2 => (idx(), addr(), len()).prop_map(|(s, addr, len)| Op::ReadBytes { s, addr, len }),
        3 => (idx(), addr(), any::<u8>(), len()).prop_map(|(s, addr, value, len)| Op::Fill { s, addr, value, len }),
        3 => (idx(), addr(), addr(), len()).prop_map(|(s, dst, src, len)| Op::Copy { s, dst, src, len }),
        2 => (idx(), addr(), idx(), addr(), len()).prop_map(|(d, dst, s, src, len)| Op::CopyFrom { d, dst, s, src, len }),
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

/// Runs one operation on both sides and checks that they agree.
fn step(real: &mut Real, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let ns = real.spaces.len();
    let nr = real.regions.len();
    let before = model.clone();
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
            compare(real, model, op)?;
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
            match real.spaces[s].try_clone() {
                Ok(clone) => {
                    real.spaces.push(clone);
                    model.clone_space(s);
                    false
                }
                Err(e) => {
                    prop_assert_eq!(e, MmuError::OutOfFrames);
                    true
                }
            }
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
        _ => false,
    };
    if restore {
        *model = before;
    }
    compare(real, model, op)
}

/// Compares every space's pages, observable bytes and every live region.
fn compare(real: &Real, model: &Model, op: &Op) -> Result<(), TestCaseError> {
    let stats = real.pool.stats();
    prop_assert!(stats.in_use <= stats.budget_frames);
    let mut buf = vec![0u8; PAGE_SIZE];
    for (s, space) in real.spaces.iter().enumerate() {
        prop_assert_eq!(space.size_bytes(), model.size(s), "after {:?}", op);
        for (vpn, page) in model.spaces[s].pages.iter().enumerate() {
            let addr = (vpn * PAGE_SIZE) as u64;
            let info = space.page_info(addr);
            let Some(page) = page else {
                prop_assert_eq!(info, None, "page {:#x} after {:?}", addr, op);
                continue;
            };
            prop_assert!(info.is_some(), "page {:#x} unmapped after {:?}", addr, op);
            let info = info.unwrap();
            prop_assert_eq!(info.rights, page.rights, "page {:#x} after {:?}", addr, op);
            match page.content {
                Content::Shared { region, .. } => {
                    prop_assert_eq!(info.kind, PageKind::Shared(model.regions[region].id))
                }
                Content::Own(_) => prop_assert!(
                    matches!(
                        info.kind,
                        PageKind::Private | PageKind::Zero | PageKind::CopyOnWrite
                    ),
                    "page {:#x} is {:?} after {:?}",
                    addr,
                    info.kind,
                    op
                ),
            }
            if page.rights.can_read() {
                space.read_bytes(addr, &mut buf).unwrap();
                prop_assert!(
                    buf == model.page_bytes(s, vpn),
                    "bytes of page {:#x} in space {} differ after {:?}",
                    addr,
                    s,
                    op
                );
            }
        }
    }
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

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mmu_matches_the_reference_model((initial, frames, ops) in case()) {
        let pool = FramePool::new_overcommitted((frames * PAGE_SIZE) as u64).unwrap();
        let mut real = Real { pool: pool.clone(), spaces: Vec::new(), regions: Vec::new() };
        let mut model = Model::default();
        for &wasm_pages in &initial {
            let limits = MemoryLimits::new(wasm_pages, Some(MAX_WASM_PAGES));
            real.spaces.push(AddressSpace::new(&pool, limits).unwrap());
            model.spaces.push(Space::default());
            let s = model.spaces.len() - 1;
            model.grow(s, wasm_pages).unwrap();
        }
        for op in &ops {
            step(&mut real, &mut model, op)?;
        }
        drop(real);
        // Every frame comes back once nothing maps it.
        prop_assert_eq!(pool.stats().in_use, 0, "frames leaked");
    }
}

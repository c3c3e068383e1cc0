//! Frame reservations and memory quotas (DESIGN.md section 5): a tenant
//! within its quota never faults for lack of frames; growing beyond the
//! quota or the pool fails up front instead; and everything reserved comes
//! back when spaces and regions go away.

use proptest::prelude::*;
use waven_mmu::{
    AddressSpace, FaultReason, FramePool, MemoryLimits, MemoryQuota, MmuError, Region, Rights,
    PAGE_SIZE,
};

const P: u64 = PAGE_SIZE as u64;
/// Bytes of one Wasm page.
const WASM_PAGE: u64 = 16 * P;

fn space(pool: &FramePool, quota: Option<&MemoryQuota>, pages: u64) -> AddressSpace {
    AddressSpace::with_quota(pool, MemoryLimits::new(pages, None), quota).unwrap()
}

/// Writes one byte to every page of the space.
fn touch_all(space: &AddressSpace) -> Result<(), waven_mmu::MemoryFault> {
    (0..space.size_bytes() / P).try_for_each(|page| space.write(page * P, [1u8]))
}

#[test]
fn a_victim_never_faults_after_a_hog_took_every_frame() {
    let pool = FramePool::new(64 * WASM_PAGE).unwrap();
    let hog = space(&pool, None, 1);
    while hog.grow(1).is_ok() {}
    touch_all(&hog).unwrap();
    // The hog got everything that was not promised to anyone: the victim
    // cannot grow, but it is told so by grow, not by a fault.
    let victim_pool_left = pool.stats().budget_frames - pool.stats().reserved;
    assert_eq!(victim_pool_left, 0);
    assert!(AddressSpace::new(&pool, MemoryLimits::new(1, None)).is_err());

    // A victim created before the hog keeps what it was promised.
    let pool = FramePool::new(64 * WASM_PAGE).unwrap();
    let victim = space(&pool, None, 1);
    let hog = space(&pool, None, 1);
    while hog.grow(1).is_ok() {}
    touch_all(&hog).unwrap();
    match victim.grow(1) {
        Ok(_) => panic!("the pool had no frame left to promise"),
        Err(error) => assert_eq!(error, MmuError::OutOfFrames),
    }
    touch_all(&victim).expect("a promised page never faults");
}

#[test]
fn grow_beyond_the_quota_fails_and_changes_nothing() {
    let pool = FramePool::new(1 << 30).unwrap();
    let quota = MemoryQuota::new(4 * WASM_PAGE);
    let a = space(&pool, Some(&quota), 1);
    let b = space(&pool, Some(&quota), 2);
    assert_eq!(a.grow(1), Ok(1));
    assert!(matches!(a.grow(1), Err(MmuError::QuotaExceeded { .. })));
    assert_eq!(a.size_bytes(), 2 * WASM_PAGE);
    assert_eq!(quota.used_bytes(), 4 * WASM_PAGE);
    touch_all(&a).unwrap();
    touch_all(&b).unwrap();
    drop(b);
    assert_eq!(quota.used_bytes(), 2 * WASM_PAGE);
    assert_eq!(a.grow(2), Ok(2));
    drop(a);
    assert_eq!(quota.used_bytes(), 0);
    assert_eq!(pool.stats().reserved, 0);
    assert!(matches!(
        AddressSpace::with_quota(&pool, MemoryLimits::new(5, None), Some(&quota)),
        Err(MmuError::QuotaExceeded { .. })
    ));
}

#[test]
fn mapping_a_lent_region_costs_the_borrower_no_quota() {
    let pool = FramePool::new(1 << 30).unwrap();
    let data = Region::new(&pool, "data", 64 * WASM_PAGE, Rights::Read).unwrap();
    let quota = MemoryQuota::new(2 * WASM_PAGE);
    let borrower = space(&pool, Some(&quota), 2);
    borrower.unmap(WASM_PAGE, WASM_PAGE).unwrap();
    assert_eq!(
        quota.used_bytes(),
        WASM_PAGE,
        "unmapped pages are given back"
    );
    data.grant(borrower.id(), Rights::Read).unwrap();
    // The region is larger than the borrower's whole quota.
    let big = AddressSpace::with_quota(&pool, MemoryLimits::new(66, None), None).unwrap();
    data.grant(big.id(), Rights::Read).unwrap();
    big.map_region(&data, WASM_PAGE, Rights::Read).unwrap();
    assert_eq!(big.reserved_bytes(), 2 * WASM_PAGE);
    // And a region keeps its frames promised while anyone maps it.
    let reserved = pool.stats().reserved;
    drop(data);
    assert_eq!(pool.stats().reserved, reserved);
    drop(big);
    drop(borrower);
    assert_eq!(pool.stats().reserved, 0);
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn share_moves_the_pages_reservation_to_the_region_and_its_quota() {
    let pool = FramePool::new(1 << 30).unwrap();
    let quota = MemoryQuota::new(4 * WASM_PAGE);
    let owner = space(&pool, Some(&quota), 4);
    let region = owner.share(0, WASM_PAGE, "r", Rights::ReadWrite).unwrap();
    assert_eq!(quota.used_bytes(), 4 * WASM_PAGE);
    owner.unmap(0, WASM_PAGE).unwrap();
    assert_eq!(
        quota.used_bytes(),
        4 * WASM_PAGE,
        "the region still holds its frames"
    );
    // The owner may map anonymous pages only within what the quota has left.
    assert!(matches!(
        owner.map_anon(0, P, Rights::ReadWrite),
        Err(MmuError::QuotaExceeded { .. })
    ));
    drop(region);
    assert_eq!(quota.used_bytes(), 3 * WASM_PAGE);
    owner.map_anon(0, WASM_PAGE, Rights::ReadWrite).unwrap();
    touch_all(&owner).unwrap();
}

#[test]
fn an_overcommitted_pool_grows_lazily_and_faults_on_write_instead() {
    let pool = FramePool::new_overcommitted(4 * P).unwrap();
    let s = space(&pool, None, 1);
    assert!(pool.overcommits());
    assert_eq!(
        touch_all(&s).unwrap_err().reason,
        FaultReason::OutOfFrames,
        "16 pages, 4 frames"
    );
}

// ---------------------------------------------------------------------------
// Random sequences on a strict pool: whatever the tenants do, no access
// ever faults for lack of frames, promises never exceed the budget, frames
// in use never exceed promises, and everything comes back at the end.

#[derive(Clone, Debug)]
enum Op {
    Grow(usize, u64),
    Touch(usize, u64),
    MapAnon(usize, u64, u64),
    Unmap(usize, u64, u64),
    Discard(usize, u64, u64),
    Share(usize, u64, u64),
    Map(usize, usize, u64),
    Revoke(usize, usize),
    DropRegion(usize),
    Clone(usize),
    DropSpace(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0usize..4;
    let page = 0u64..40;
    let len = 1u64..8;
    prop_oneof![
        1 => (s.clone(), 0u64..3).prop_map(|(s, d)| Op::Grow(s, d)),
        4 => (s.clone(), page.clone()).prop_map(|(s, p)| Op::Touch(s, p)),
        1 => (s.clone(), page.clone(), len.clone()).prop_map(|(s, p, n)| Op::MapAnon(s, p, n)),
        1 => (s.clone(), page.clone(), len.clone()).prop_map(|(s, p, n)| Op::Unmap(s, p, n)),
        1 => (s.clone(), page.clone(), len.clone()).prop_map(|(s, p, n)| Op::Discard(s, p, n)),
        1 => (s.clone(), page.clone(), len).prop_map(|(s, p, n)| Op::Share(s, p, n)),
        1 => (0usize..4, s.clone(), page).prop_map(|(r, s, p)| Op::Map(r, s, p)),
        1 => (0usize..4, s.clone()).prop_map(|(r, s)| Op::Revoke(r, s)),
        1 => (0usize..4).prop_map(Op::DropRegion),
        1 => s.clone().prop_map(Op::Clone),
        1 => s.prop_map(Op::DropSpace),
    ]
}

struct World {
    pool: FramePool,
    quotas: Vec<MemoryQuota>,
    spaces: Vec<Option<AddressSpace>>,
    regions: Vec<Region>,
}

impl World {
    fn space(&self, i: usize) -> Option<&AddressSpace> {
        self.spaces.get(i).and_then(Option::as_ref)
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Grow(s, d) => {
                if let Some(space) = self.space(s) {
                    let _ = space.grow(d);
                }
            }
            Op::Touch(s, p) => {
                if let Some(space) = self.space(s) {
                    if let Err(fault) = space.write(p * P, [7u8]) {
                        prop_assert_ne!(fault.reason, FaultReason::OutOfFrames);
                    }
                    if let Err(fault) = space.fill(p * P, 3, 2 * P) {
                        prop_assert_ne!(fault.reason, FaultReason::OutOfFrames);
                    }
                }
            }
            Op::MapAnon(s, p, n) => {
                if let Some(space) = self.space(s) {
                    let _ = space.map_anon(p * P, n * P, Rights::ReadWrite);
                }
            }
            Op::Unmap(s, p, n) => {
                if let Some(space) = self.space(s) {
                    let _ = space.unmap(p * P, n * P);
                }
            }
            Op::Discard(s, p, n) => {
                if let Some(space) = self.space(s) {
                    let _ = space.discard(p * P, n * P);
                }
            }
            Op::Share(s, p, n) => {
                if let Some(space) = self.space(s) {
                    if let Ok(region) = space.share(p * P, n * P, "r", Rights::ReadWrite) {
                        self.regions.push(region);
                    }
                }
            }
            Op::Map(r, s, p) => {
                if let (Some(region), Some(space)) = (self.regions.get(r), self.space(s)) {
                    let _ = region.grant(space.id(), Rights::ReadWrite);
                    let _ = space.map_region(region, p * P, Rights::ReadWrite);
                }
            }
            Op::Revoke(r, s) => {
                if let (Some(region), Some(space)) = (self.regions.get(r), self.space(s)) {
                    let _ = region.revoke(space.id());
                }
            }
            Op::DropRegion(r) => {
                if r < self.regions.len() {
                    self.regions.swap_remove(r);
                }
            }
            Op::Clone(s) => {
                if let Some(space) = self.space(s) {
                    if let Ok(clone) = space.try_clone() {
                        self.spaces.push(Some(clone));
                    }
                }
            }
            Op::DropSpace(s) => {
                if let Some(slot) = self.spaces.get_mut(s) {
                    *slot = None;
                }
            }
        }
        let stats = self.pool.stats();
        prop_assert!(stats.reserved <= stats.budget_frames, "{stats:?}");
        prop_assert!(stats.in_use <= stats.reserved, "{op:?}: {stats:?}");
        for quota in &self.quotas {
            prop_assert!(quota.used_bytes() <= quota.limit_bytes());
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn no_tenant_within_its_promises_ever_runs_out_of_frames(
        frames in 16u64..160,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let pool = FramePool::new(frames * P).unwrap();
        let quotas = vec![MemoryQuota::new(3 * WASM_PAGE), MemoryQuota::new(1 << 30)];
        let mut world = World { pool: pool.clone(), quotas, spaces: Vec::new(), regions: Vec::new() };
        for i in 0..3 {
            let quota = world.quotas[i % 2].clone();
            let space = AddressSpace::with_quota(&pool, MemoryLimits::new(1, None), Some(&quota)).ok();
            world.spaces.push(space);
        }
        for op in &ops {
            world.step(op)?;
        }
        drop(world);
        prop_assert_eq!(pool.stats().in_use, 0);
        prop_assert_eq!(pool.stats().reserved, 0);
    }
}

#[test]
fn a_snapshot_promises_only_its_frames_and_cannot_change() {
    let pool = FramePool::new(64 * WASM_PAGE).unwrap();
    let quota = MemoryQuota::new(1 << 30);
    let original = space(&pool, Some(&quota), 4);
    original.write(0, [9u8]).unwrap();
    original.write(5 * P, [8u8]).unwrap();
    let reserved = pool.stats().reserved;
    let snapshot = original.snapshot().unwrap();
    assert_eq!(
        pool.stats().reserved,
        reserved + 2,
        "two frames, not 64 pages"
    );
    assert_eq!(snapshot.quota().map(|q| q.limit_bytes()), None);
    assert_eq!(snapshot.read::<1>(5 * P), Ok([8]));
    assert_eq!(snapshot.grow(1), Err(MmuError::Frozen));
    assert_eq!(
        snapshot.map_anon(0, P, Rights::ReadWrite),
        Err(MmuError::Frozen)
    );
    assert!(
        snapshot.write(P, [1u8]).is_err(),
        "a zero page of a snapshot"
    );
    assert!(
        snapshot.write(0, [1u8]).is_err(),
        "a copy-on-write page of it"
    );
    // Clones of the snapshot promise their whole memory, to their quota.
    let clone = snapshot.try_clone_with_quota(Some(&quota)).unwrap();
    touch_all(&clone).unwrap();
    assert_eq!(clone.read::<1>(0), Ok([1]));
    assert_eq!(snapshot.read::<1>(0), Ok([9]));
    drop((clone, snapshot, original));
    assert_eq!(pool.stats().reserved, 0);
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn unmapped_growth_reserves_nothing_and_makes_room_for_a_region() {
    let pool = FramePool::new(4 * WASM_PAGE).unwrap();
    let region = Region::new(&pool, "data", 2 * WASM_PAGE, Rights::Read).unwrap();
    let mapper = space(&pool, None, 1);
    // The pool holds the region and the space's first page: no room for a
    // zero-filled growth the region's size, but room for its map.
    assert_eq!(mapper.grow(2), Err(MmuError::OutOfFrames));
    assert_eq!(mapper.grow_unmapped(2), Ok(1));
    assert_eq!(mapper.reserved_bytes(), WASM_PAGE);
    assert_eq!(mapper.page_info(WASM_PAGE), None);
    region.grant(mapper.id(), Rights::Read).unwrap();
    mapper.map_region(&region, WASM_PAGE, Rights::Read).unwrap();
    assert_eq!(mapper.read::<1>(3 * WASM_PAGE - 1), Ok([0]));
}

//! Integration tests of every public operation of `waven-mmu` and every
//! fault and error it reports, through the public API only.
//!
//! Contracts under test: the doc comments of the crate and DESIGN.md
//! sections 2-4 (memory model, fast path, guest ABI errnos). Each test
//! checks one behaviour; pool statistics (`FramePool::stats().in_use`)
//! show when frames are taken and given back.

use waven_mmu::{
    Access, AddressSpace, Errno, FaultReason, FramePool, MapRun, MemoryFault, MemoryLimits,
    MmuError, PageInfo, PageKind, Region, RegionOwner, Rights, MAX_WASM_PAGES, PAGES_PER_WASM_PAGE,
    PAGE_SIZE,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One page, as a guest address offset.
const P: u64 = PAGE_SIZE as u64;
/// One Wasm page in bytes.
const WASM_PAGE: u64 = P * PAGES_PER_WASM_PAGE as u64;

const RW: Rights = Rights::ReadWrite;
const R: Rights = Rights::Read;
const NONE: Rights = Rights::None;

/// A pool of `frames` frames.
fn pool(frames: u64) -> FramePool {
    FramePool::new_overcommitted(frames * P).unwrap()
}

/// A space of `initial` Wasm pages that may grow to `maximum`.
fn space(pool: &FramePool, initial: u64, maximum: u64) -> AddressSpace {
    AddressSpace::new(pool, MemoryLimits::new(initial, Some(maximum))).unwrap()
}

fn in_use(pool: &FramePool) -> usize {
    pool.stats().in_use
}

/// Deterministic non-zero bytes (so that zero pages are told apart).
fn pattern(len: u64, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + u64::from(seed) * 17) % 251 + 1) as u8)
        .collect()
}

/// Reads `len` bytes through the space's rights; panics on a fault.
fn bytes(space: &AddressSpace, addr: u64, len: u64) -> Vec<u8> {
    let mut buf = vec![0u8; len as usize];
    space.read_bytes(addr, &mut buf).unwrap();
    buf
}

/// Reads `len` bytes of a region through the host interface.
fn region_bytes(region: &Region, offset: u64, len: u64) -> Vec<u8> {
    let mut buf = vec![0u8; len as usize];
    region.read_bytes(offset, &mut buf).unwrap();
    buf
}

fn info(rights: Rights, kind: PageKind) -> Option<PageInfo> {
    Some(PageInfo { rights, kind })
}

fn run(start: u64, end: u64, page: Option<PageInfo>) -> MapRun {
    MapRun { start, end, page }
}

fn fault(addr: u64, access: Access, reason: FaultReason) -> MemoryFault {
    MemoryFault {
        addr,
        access,
        reason,
    }
}

/// Everything a guest or host can observe of a space: its memory map and
/// the bytes of every readable page.
#[derive(Debug, PartialEq)]
struct Snapshot {
    size: u64,
    map: Vec<MapRun>,
    pages: Vec<Option<Vec<u8>>>,
}

fn snapshot(space: &AddressSpace) -> Snapshot {
    let pages = (0..space.size_bytes() / P)
        .map(|vpn| match space.page_info(vpn * P) {
            Some(page) if page.rights.can_read() => Some(bytes(space, vpn * P, P)),
            _ => None,
        })
        .collect();
    Snapshot {
        size: space.size_bytes(),
        map: space.memory_map(),
        pages,
    }
}

/// Writes `N` pattern bytes at `addr`, mirrors them into `model` and checks
/// that a load of the same width reads them back.
fn store_and_check<const N: usize>(space: &AddressSpace, model: &mut [u8], addr: u64, seed: u8) {
    let data: [u8; N] =
        std::array::from_fn(|i| seed.wrapping_mul(7).wrapping_add(i as u8 * 13 + 1));
    space.write(addr, data).unwrap();
    model[addr as usize..addr as usize + N].copy_from_slice(&data);
    assert_eq!(
        space.read::<N>(addr),
        Ok(data),
        "{N}-byte load at {addr:#x}"
    );
}

/// A space of one Wasm page whose first `written` bytes hold a pattern, and
/// the reference model of its first `model_len` bytes.
fn patterned_space(pool: &FramePool, written: u64, model_len: u64) -> (AddressSpace, Vec<u8>) {
    let s = space(pool, 1, 1);
    let data = pattern(written, 3);
    s.write_bytes(0, &data).unwrap();
    let mut model = vec![0u8; model_len as usize];
    model[..written as usize].copy_from_slice(&data);
    (s, model)
}

/// Applies `copy_within` to the space and a memmove to the model, then
/// compares the whole modelled range.
fn check_copy_within(s: &AddressSpace, model: &mut [u8], dst: u64, src: u64, len: u64) {
    s.copy_within(dst, src, len).unwrap();
    model.copy_within(src as usize..(src + len) as usize, dst as usize);
    assert!(
        bytes(s, 0, model.len() as u64) == model,
        "copy_within(dst={dst:#x}, src={src:#x}, len={len:#x}) differs from memmove"
    );
}

// ---------------------------------------------------------------------------
// Creation and growth
// ---------------------------------------------------------------------------

#[test]
fn new_space_is_read_write_zero_pages_without_frames() {
    let pool = pool(8);
    let s = space(&pool, 1, 2);
    assert_eq!(s.size_bytes(), WASM_PAGE);
    assert_eq!(s.size_wasm_pages(), 1);
    assert_eq!(s.max_wasm_pages(), 2);
    assert!(s.pool().same_pool(&pool));
    assert_eq!(
        s.memory_map(),
        vec![run(0, WASM_PAGE, info(RW, PageKind::Zero))]
    );
    assert_eq!(s.page_info(WASM_PAGE - 1), info(RW, PageKind::Zero));
    assert_eq!(s.page_info(WASM_PAGE), None, "beyond memory.size");
    assert_eq!(s.resident_pages(), 0);
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn new_space_without_maximum_may_grow_to_4_gib() {
    let pool = pool(1);
    let s = AddressSpace::new(&pool, MemoryLimits::new(0, None)).unwrap();
    assert_eq!(s.max_wasm_pages(), MAX_WASM_PAGES);
    assert_eq!(s.size_bytes(), 0);
    assert!(s.memory_map().is_empty());
    assert_eq!(
        s.read::<1>(0),
        Err(fault(0, Access::Read, FaultReason::OutOfBounds))
    );
}

#[test]
fn new_space_rejects_invalid_limits_with_einval() {
    let pool = pool(1);
    let cases = [
        (MemoryLimits::new(3, Some(2)), 3, 2),
        (
            MemoryLimits::new(0, Some(MAX_WASM_PAGES + 1)),
            0,
            MAX_WASM_PAGES + 1,
        ),
        (
            MemoryLimits::new(MAX_WASM_PAGES + 1, None),
            MAX_WASM_PAGES + 1,
            MAX_WASM_PAGES,
        ),
    ];
    for (limits, initial, maximum) in cases {
        let err = AddressSpace::new(&pool, limits).unwrap_err();
        assert_eq!(
            err,
            MmuError::InvalidLimits { initial, maximum },
            "{limits:?}"
        );
        assert_eq!(err.errno(), Errno::EINVAL);
    }
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn grow_adds_read_write_zero_pages_and_returns_the_old_size() {
    let pool = pool(4);
    let s = space(&pool, 1, 3);
    let generation = s.generation();
    assert_eq!(s.grow(1), Ok(1));
    assert_eq!(s.size_wasm_pages(), 2);
    assert_eq!(s.size_bytes(), 2 * WASM_PAGE);
    assert!(s.generation() > generation, "grow changes translations");
    assert_eq!(
        s.memory_map(),
        vec![run(0, 2 * WASM_PAGE, info(RW, PageKind::Zero))]
    );
    assert_eq!(in_use(&pool), 0, "grown pages take no frame");
    assert_eq!(s.read::<8>(2 * WASM_PAGE - 8), Ok([0; 8]));
    s.write(WASM_PAGE + 5, [7u8]).unwrap();
    assert_eq!(s.read::<1>(WASM_PAGE + 5), Ok([7]));
    assert_eq!(s.grow(0), Ok(2), "grow(0) returns the current size");
    assert_eq!(s.size_wasm_pages(), 2);
}

#[test]
fn grow_beyond_maximum_fails_with_enomem_and_changes_nothing() {
    let pool = pool(4);
    let s = space(&pool, 1, 2);
    s.write(0x10, [1u8, 2, 3]).unwrap();
    let before = snapshot(&s);
    let err = s.grow(2).unwrap_err();
    assert_eq!(
        err,
        MmuError::GrowBeyondMaximum {
            current: 1,
            delta: 2,
            maximum: 2
        }
    );
    assert_eq!(err.errno(), Errno::ENOMEM);
    assert_eq!(
        s.grow(u64::MAX),
        Err(MmuError::GrowBeyondMaximum {
            current: 1,
            delta: u64::MAX,
            maximum: 2
        })
    );
    assert_eq!(snapshot(&s), before);
    assert_eq!(
        s.read::<1>(WASM_PAGE),
        Err(fault(WASM_PAGE, Access::Read, FaultReason::OutOfBounds))
    );
    assert_eq!(s.grow(1), Ok(1), "growing to exactly the maximum works");
}

#[test]
fn zero_pages_take_a_frame_only_when_first_written() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    assert_eq!(bytes(&s, 0, WASM_PAGE), vec![0; WASM_PAGE as usize]);
    assert_eq!(s.read::<16>(0x3ff8), Ok([0; 16]), "page-crossing read");
    assert_eq!(in_use(&pool), 0, "reads take no frame");

    s.write(0x2004, [9u8; 4]).unwrap();
    assert_eq!(in_use(&pool), 1);
    assert_eq!(s.resident_pages(), 1);
    assert_eq!(s.page_info(0x2000), info(RW, PageKind::Private));
    assert_eq!(s.page_info(0x1000), info(RW, PageKind::Zero));

    s.write(0x2ff0, [1u8; 16]).unwrap();
    assert_eq!(in_use(&pool), 1, "a private page needs no further frame");
    assert_eq!(s.read::<4>(0x2004), Ok([9; 4]));
}

// ---------------------------------------------------------------------------
// Loads and stores
// ---------------------------------------------------------------------------

#[test]
fn loads_and_stores_of_every_width_round_trip_without_touching_neighbours() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    let mut model = vec![0u8; 2 * P as usize];
    let mut seed = 0u8;
    for base in [0x0u64, 0x41, 0x203, 0x7f8, 0x1000 - 16, 0x1001] {
        seed += 1;
        store_and_check::<1>(&s, &mut model, base, seed);
        store_and_check::<2>(&s, &mut model, base + 0x20, seed);
        store_and_check::<4>(&s, &mut model, base + 0x40, seed);
        store_and_check::<8>(&s, &mut model, base + 0x60, seed);
        store_and_check::<16>(&s, &mut model, base + 0x80, seed);
    }
    assert!(
        bytes(&s, 0, 2 * P) == model,
        "memory differs from the model"
    );
}

#[test]
fn page_crossing_loads_and_stores_of_every_width_round_trip() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let mut model = vec![0u8; 8 * P as usize];
    // Page 0 is made private first, so crossings go private -> zero page
    // and, once page 1 is written, private -> private.
    s.write(0x10, [0xaau8]).unwrap();
    model[0x10] = 0xaa;
    for k in 1..16u64 {
        let seed = k as u8;
        if k < 2 {
            store_and_check::<2>(&s, &mut model, P - k, seed);
        }
        if k < 4 {
            store_and_check::<4>(&s, &mut model, 2 * P - k, seed);
        }
        if k < 8 {
            store_and_check::<8>(&s, &mut model, 3 * P - k, seed);
        }
        store_and_check::<16>(&s, &mut model, 4 * P - k, seed);
        store_and_check::<16>(&s, &mut model, 5 * P + 0x40 - k, seed);
    }
    assert!(
        bytes(&s, 0, 8 * P) == model,
        "memory differs from the model"
    );
    assert_eq!(s.page_info(P), info(RW, PageKind::Private));
    assert_eq!(s.page_info(4 * P), info(RW, PageKind::Private));
}

#[test]
fn page_crossing_load_needs_the_read_right_on_both_pages() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.write(0x0ffc, [1u8; 8]).unwrap();
    s.protect(0x1000, P, NONE).unwrap();
    assert_eq!(
        s.read::<8>(0x0ffc),
        Err(fault(0x1000, Access::Read, FaultReason::Denied))
    );
    assert_eq!(
        s.read::<4>(0x0ffc),
        Ok([1; 4]),
        "the part on page 0 alone is readable"
    );

    s.protect(0x1000, P, RW).unwrap();
    s.protect(0, P, NONE).unwrap();
    assert_eq!(
        s.read::<8>(0x0ffc),
        Err(fault(0x0ffc, Access::Read, FaultReason::Denied)),
        "the first page refuses: the access's own address"
    );
    let mut buf = [0x77u8; 8];
    assert_eq!(
        s.read_bytes(0x0ffc, &mut buf),
        Err(fault(0x0ffc, Access::Read, FaultReason::Denied))
    );
    assert_eq!(buf, [0x77; 8], "the buffer is not written on a fault");
}

#[test]
fn page_crossing_store_into_a_read_only_page_writes_nothing_on_the_first_page() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.write_bytes(0x0ff0, &[0xaa; 16]).unwrap();
    s.protect(0x1000, P, R).unwrap();
    assert_eq!(
        s.write(0x0ffc, [0x55u8; 8]),
        Err(fault(0x1000, Access::Write, FaultReason::Denied))
    );
    assert_eq!(bytes(&s, 0x0ff0, 16), vec![0xaa; 16]);

    // A zero first page does not even get a frame.
    s.protect(0x3000, P, R).unwrap();
    let used = in_use(&pool);
    assert_eq!(
        s.write(0x2ffc, [0x55u8; 8]),
        Err(fault(0x3000, Access::Write, FaultReason::Denied))
    );
    assert_eq!(s.page_info(0x2000), info(RW, PageKind::Zero));
    assert_eq!(in_use(&pool), used);
}

#[test]
fn out_of_bounds_accesses_fault_with_the_address_of_the_access() {
    let pool = pool(4);
    let s = space(&pool, 1, 2);
    let size = s.size_bytes();
    let oob = |addr, access| fault(addr, access, FaultReason::OutOfBounds);
    assert_eq!(s.read::<4>(size - 2), Err(oob(size - 2, Access::Read)));
    assert_eq!(s.read::<1>(size), Err(oob(size, Access::Read)));
    assert_eq!(
        s.read::<16>(u64::MAX - 3),
        Err(oob(u64::MAX - 3, Access::Read))
    );
    assert_eq!(
        s.write(size - 4, [1u8; 8]),
        Err(oob(size - 4, Access::Write))
    );
    assert_eq!(
        s.write(u64::MAX, [1u8; 2]),
        Err(oob(u64::MAX, Access::Write))
    );
    let mut buf = [0u8; 2];
    assert_eq!(
        s.read_bytes(size - 1, &mut buf),
        Err(oob(size - 1, Access::Read))
    );
    assert_eq!(
        s.write_bytes(size - 1, &[1, 2]),
        Err(oob(size - 1, Access::Write))
    );
    assert_eq!(in_use(&pool), 0, "the faulting stores took no frame");
    assert_eq!(
        s.read::<8>(size - 8),
        Ok([0; 8]),
        "last bytes in bounds are readable"
    );

    s.write(size - 8, [3u8; 8]).unwrap();
    assert_eq!(
        s.write(size - 8, [9u8; 16]),
        Err(oob(size - 8, Access::Write))
    );
    assert_eq!(
        s.read::<8>(size - 8),
        Ok([3; 8]),
        "no partial write before the bound"
    );
}

#[test]
fn accesses_to_an_unmapped_page_fault_at_the_first_byte_on_that_page() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.unmap(0x2000, P).unwrap();
    assert_eq!(s.page_info(0x2000), None);
    let unmapped = |addr, access| fault(addr, access, FaultReason::Unmapped);
    assert_eq!(s.read::<4>(0x2010), Err(unmapped(0x2010, Access::Read)));
    assert_eq!(
        s.write(0x2010, [1u8; 4]),
        Err(unmapped(0x2010, Access::Write))
    );
    assert_eq!(s.read::<8>(0x1ffe), Err(unmapped(0x2000, Access::Read)));
    assert_eq!(
        s.write(0x1ffe, [1u8; 8]),
        Err(unmapped(0x2000, Access::Write))
    );
    let mut buf = vec![0u8; 3 * P as usize];
    assert_eq!(
        s.read_bytes(0x1000, &mut buf),
        Err(unmapped(0x2000, Access::Read))
    );
    assert_eq!(
        s.write_bytes(0x1000, &buf),
        Err(unmapped(0x2000, Access::Write))
    );
    assert_eq!(
        s.page_info(0x1000),
        info(RW, PageKind::Zero),
        "nothing written"
    );
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn reads_of_none_pages_and_writes_of_read_pages_are_denied() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.write(0x1000, [5u8; 4]).unwrap();
    s.protect(0x1000, P, NONE).unwrap();
    let denied = |addr, access| fault(addr, access, FaultReason::Denied);
    assert_eq!(s.read::<4>(0x1000), Err(denied(0x1000, Access::Read)));
    assert_eq!(
        s.write(0x1002, [0u8; 2]),
        Err(denied(0x1002, Access::Write))
    );

    s.protect(0x2000, P, R).unwrap();
    assert_eq!(s.read::<4>(0x2000), Ok([0; 4]));
    assert_eq!(s.write(0x2001, [1u8]), Err(denied(0x2001, Access::Write)));
    assert_eq!(s.page_info(0x2000), info(R, PageKind::Zero));
    assert_eq!(in_use(&pool), 1);

    s.protect(0x1000, P, RW).unwrap();
    assert_eq!(
        s.read::<4>(0x1000),
        Ok([5; 4]),
        "contents survive a protect"
    );
}

#[test]
fn pinned_accessors_load_and_store_little_endian_values() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    {
        let p = s.pin();
        assert_eq!(p.space().id(), s.id());
        p.write_u64(0x100, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(p.read_u8(0x100), Ok(0x08));
        assert_eq!(p.read_u16(0x100), Ok(0x0708));
        assert_eq!(p.read_u32(0x100), Ok(0x0506_0708));
        assert_eq!(p.read_u64(0x100), Ok(0x0102_0304_0506_0708));
        p.write_u16(0x0fff, 0xbeef).unwrap();
        p.write_u32(0x1ffe, 0xdead_beef).unwrap();
        p.write_u8(0x3000, 0x42).unwrap();
        assert_eq!(p.read_u16(0x0fff), Ok(0xbeef));
        assert_eq!(p.read_u32(0x1ffe), Ok(0xdead_beef));
        let size = s.size_bytes();
        assert_eq!(
            p.read_u32(size - 2),
            Err(fault(size - 2, Access::Read, FaultReason::OutOfBounds))
        );
    }
    assert_eq!(s.read::<2>(0x0fff), Ok([0xef, 0xbe]));
    assert_eq!(s.read::<4>(0x1ffe), Ok([0xef, 0xbe, 0xad, 0xde]));
    assert_eq!(s.read::<1>(0x3000), Ok([0x42]));
}

// ---------------------------------------------------------------------------
// map_anon, protect, unmap, discard
// ---------------------------------------------------------------------------

#[test]
fn map_anon_replaces_contents_with_fresh_zero_pages_and_releases_frames() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0x1000, &pattern(2 * P, 1)).unwrap();
    assert_eq!(in_use(&pool), 2);
    s.map_anon(0x1000, P, R).unwrap();
    assert_eq!(in_use(&pool), 1);
    assert_eq!(bytes(&s, 0x1000, P), vec![0; P as usize]);
    assert_eq!(
        s.write(0x1000, [1u8]),
        Err(fault(0x1000, Access::Write, FaultReason::Denied))
    );
    assert_eq!(bytes(&s, 0x2000, P), pattern(2 * P, 1)[P as usize..]);
    assert_eq!(
        s.memory_map(),
        vec![
            run(0, 0x1000, info(RW, PageKind::Zero)),
            run(0x1000, 0x2000, info(R, PageKind::Zero)),
            run(0x2000, 0x3000, info(RW, PageKind::Private)),
            run(0x3000, WASM_PAGE, info(RW, PageKind::Zero)),
        ]
    );
}

#[test]
fn map_anon_maps_unmapped_pages() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.unmap(0, 2 * P).unwrap();
    s.map_anon(0x1000, P, RW).unwrap();
    assert_eq!(s.page_info(0), None);
    assert_eq!(s.page_info(0x1000), info(RW, PageKind::Zero));
    s.write(0x1234, [4u8; 4]).unwrap();
    assert_eq!(s.read::<4>(0x1234), Ok([4; 4]));
    s.map_anon(0x2000, 0, NONE).unwrap();
    assert_eq!(
        s.page_info(0x2000),
        info(RW, PageKind::Zero),
        "an empty range maps nothing"
    );
}

#[test]
fn control_operations_reject_unaligned_ranges_with_einval() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    region.grant(s.id(), RW).unwrap();
    let before = snapshot(&s);
    for (addr, len) in [(0x10, P), (P, 0x10), (1, 1)] {
        let expected = MmuError::Unaligned { addr, len };
        assert_eq!(s.map_anon(addr, len, RW), Err(expected.clone()));
        assert_eq!(s.protect(addr, len, R), Err(expected.clone()));
        assert_eq!(s.unmap(addr, len), Err(expected.clone()));
        assert_eq!(s.discard(addr, len), Err(expected.clone()));
        assert_eq!(s.share(addr, len, "x", RW).unwrap_err(), expected.clone());
        assert_eq!(expected.errno(), Errno::EINVAL);
    }
    assert_eq!(
        s.map_region(&region, 0x10, RW),
        Err(MmuError::Unaligned { addr: 0x10, len: P })
    );
    assert_eq!(snapshot(&s), before);
}

#[test]
fn control_operations_reject_ranges_beyond_memory_size_with_einval() {
    let pool = pool(4);
    let s = space(&pool, 1, 2);
    let size = s.size_bytes();
    let before = snapshot(&s);
    for (addr, len) in [(size - P, 2 * P), (size, P), (u64::MAX - (P - 1), P)] {
        let expected = MmuError::OutOfRange { addr, len, size };
        assert_eq!(s.map_anon(addr, len, RW), Err(expected.clone()));
        assert_eq!(s.protect(addr, len, R), Err(expected.clone()));
        assert_eq!(s.unmap(addr, len), Err(expected.clone()));
        assert_eq!(s.discard(addr, len), Err(expected.clone()));
        assert_eq!(s.share(addr, len, "x", RW).unwrap_err(), expected.clone());
        assert_eq!(expected.errno(), Errno::EINVAL);
    }
    let region = Region::new(&pool, "r", 2 * P, RW).unwrap();
    region.grant(s.id(), RW).unwrap();
    assert_eq!(
        s.map_region(&region, size - P, RW),
        Err(MmuError::OutOfRange {
            addr: size - P,
            len: 2 * P,
            size
        })
    );
    assert_eq!(snapshot(&s), before);
}

#[test]
fn protect_sets_the_rights_of_each_page_and_bumps_the_generation() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    let generation = s.generation();
    s.protect(0x1000, 2 * P, R).unwrap();
    s.protect(0x2000, P, NONE).unwrap();
    assert!(s.generation() > generation);
    assert_eq!(
        s.memory_map(),
        vec![
            run(0, 0x1000, info(RW, PageKind::Zero)),
            run(0x1000, 0x2000, info(R, PageKind::Zero)),
            run(0x2000, 0x3000, info(NONE, PageKind::Zero)),
            run(0x3000, WASM_PAGE, info(RW, PageKind::Zero)),
        ]
    );
    s.protect(0x1000, 2 * P, RW).unwrap();
    s.write(0x2000, [1u8]).unwrap();
    assert_eq!(s.page_info(0x2000), info(RW, PageKind::Private));
}

#[test]
fn protect_of_an_unmapped_page_fails_with_not_mapped_and_changes_nothing() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.write(0x1000, [1u8]).unwrap();
    s.unmap(0x2000, P).unwrap();
    let before = snapshot(&s);
    let err = s.protect(0x1000, 2 * P, R).unwrap_err();
    assert_eq!(err, MmuError::NotMapped { addr: 0x2000 });
    assert_eq!(err.errno(), Errno::EFAULT);
    assert_eq!(snapshot(&s), before);
    s.write(0x1000, [2u8]).unwrap();
}

#[test]
fn protect_cannot_raise_a_shared_page_above_the_rights_it_was_mapped_with() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    region.write_bytes(0, &[6; 4]).unwrap();
    region.grant(s.id(), RW).unwrap();
    s.map_region(&region, 0x1000, R).unwrap();
    let err = s.protect(0x1000, P, RW).unwrap_err();
    assert_eq!(
        err,
        MmuError::RightsExceedMapping {
            addr: 0x1000,
            requested: RW,
            allowed: R
        }
    );
    assert_eq!(err.errno(), Errno::EACCES);
    assert_eq!(s.page_info(0x1000), info(R, PageKind::Shared(region.id())));

    s.protect(0x1000, P, NONE).unwrap();
    assert_eq!(
        s.read::<4>(0x1000),
        Err(fault(0x1000, Access::Read, FaultReason::Denied))
    );
    s.protect(0x1000, P, R).unwrap();
    assert_eq!(s.read::<4>(0x1000), Ok([6; 4]));
}

#[test]
fn unmap_returns_private_frames_to_the_pool() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(3 * P, 2)).unwrap();
    assert_eq!(in_use(&pool), 3);
    s.unmap(0x1000, 2 * P).unwrap();
    assert_eq!(in_use(&pool), 1);
    assert_eq!(s.resident_pages(), 1);
    assert_eq!(
        s.memory_map(),
        vec![
            run(0, 0x1000, info(RW, PageKind::Private)),
            run(0x1000, 0x3000, None),
            run(0x3000, WASM_PAGE, info(RW, PageKind::Zero)),
        ]
    );
    assert_eq!(
        s.read::<1>(0x2fff),
        Err(fault(0x2fff, Access::Read, FaultReason::Unmapped))
    );
    s.unmap(0, 3 * P).unwrap();
    assert_eq!(in_use(&pool), 0, "unmapping unmapped pages is allowed");
    assert_eq!(s.page_info(0), None);
}

#[test]
fn discard_makes_pages_zero_keeps_rights_and_releases_frames() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(2 * P, 4)).unwrap();
    s.protect(0x1000, P, R).unwrap();
    assert_eq!(in_use(&pool), 2);
    s.discard(0, 3 * P).unwrap();
    assert_eq!(in_use(&pool), 0);
    assert_eq!(bytes(&s, 0, 3 * P), vec![0; 3 * P as usize]);
    assert_eq!(s.page_info(0), info(RW, PageKind::Zero));
    assert_eq!(s.page_info(0x1000), info(R, PageKind::Zero));
    assert_eq!(s.page_info(0x2000), info(RW, PageKind::Zero));
    s.write(0x10, [1u8]).unwrap();
    assert_eq!(
        in_use(&pool),
        1,
        "a discarded page takes a frame again when written"
    );
}

#[test]
fn discard_of_a_shared_page_fails_with_eperm_and_changes_nothing() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(2 * P, 5)).unwrap();
    let region = s.share(0x1000, P, "r", RW).unwrap();
    let before = snapshot(&s);
    let err = s.discard(0, 2 * P).unwrap_err();
    assert_eq!(err, MmuError::SharedPage { addr: 0x1000 });
    assert_eq!(err.errno(), Errno::EPERM);
    assert_eq!(
        snapshot(&s),
        before,
        "the private page before it is not discarded"
    );
    assert_eq!(region_bytes(&region, 0, P), pattern(2 * P, 5)[P as usize..]);
}

#[test]
fn discard_of_an_unmapped_page_fails_with_not_mapped_and_changes_nothing() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    s.write(0x0100, [8u8; 8]).unwrap();
    s.unmap(0x1000, P).unwrap();
    let before = snapshot(&s);
    assert_eq!(
        s.discard(0, 2 * P),
        Err(MmuError::NotMapped { addr: 0x1000 })
    );
    assert_eq!(snapshot(&s), before);
    assert_eq!(in_use(&pool), 1);
}

// ---------------------------------------------------------------------------
// fill, copy_within, read_bytes / write_bytes, copy_from
// ---------------------------------------------------------------------------

#[test]
fn fill_sets_bytes_across_page_boundaries() {
    let pool = pool(8);
    let (s, mut model) = patterned_space(&pool, P, 6 * P);
    s.fill(0x0ff0, 0xab, 0x2020).unwrap();
    model[0x0ff0..0x3010].fill(0xab);
    assert!(bytes(&s, 0, 6 * P) == model);
    assert_eq!(in_use(&pool), 4, "pages 0..=3 are touched");
    s.fill(0x4000, 0x11, 0).unwrap();
    assert_eq!(
        s.page_info(0x4000),
        info(RW, PageKind::Zero),
        "an empty fill writes nothing"
    );
}

#[test]
fn fill_checks_every_page_before_writing_a_byte() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.protect(0x2000, P, R).unwrap();
    s.unmap(0x5000, P).unwrap();
    let before = snapshot(&s);
    assert_eq!(
        s.fill(0x0800, 0x11, 0x2000),
        Err(fault(0x2000, Access::Write, FaultReason::Denied))
    );
    assert_eq!(
        s.fill(0x4800, 0x11, 0x1000),
        Err(fault(0x5000, Access::Write, FaultReason::Unmapped))
    );
    assert_eq!(snapshot(&s), before);
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn fill_at_the_end_of_memory_is_bounds_checked() {
    let pool = pool(4);
    let s = space(&pool, 1, 2);
    let size = s.size_bytes();
    s.fill(size, 1, 0).unwrap();
    let oob = |addr| fault(addr, Access::Write, FaultReason::OutOfBounds);
    assert_eq!(s.fill(size + 1, 1, 0), Err(oob(size + 1)));
    assert_eq!(s.fill(size - 4, 1, 8), Err(oob(size - 4)));
    assert_eq!(s.fill(0, 1, u64::MAX), Err(oob(0)));
    assert_eq!(in_use(&pool), 0);
    s.fill(size - 4, 1, 4).unwrap();
    assert_eq!(s.read::<4>(size - 4), Ok([1; 4]));
}

#[test]
fn copy_within_to_lower_overlapping_addresses_matches_memmove() {
    let pool = pool(16);
    let (s, mut model) = patterned_space(&pool, 3 * P, 5 * P);
    for (dst, src, len) in [
        (0x0100, 0x0180, 0x2000),
        (0x0ff0, 0x1000, 0x2010),
        (0x0000, 0x1000, 0x3000),
        (0x0000, 0x0001, 0x4fff),
        (0x1003, 0x2ffd, 0x2003),
    ] {
        check_copy_within(&s, &mut model, dst, src, len);
    }
}

#[test]
fn copy_within_to_higher_overlapping_addresses_matches_memmove() {
    let pool = pool(16);
    let (s, mut model) = patterned_space(&pool, 3 * P, 5 * P);
    for (dst, src, len) in [
        (0x0180, 0x0100, 0x2000),
        (0x1000, 0x0ff0, 0x2010),
        (0x1000, 0x0000, 0x3000),
        (0x0001, 0x0000, 0x4fff),
        (0x2ffd, 0x1003, 0x2003),
    ] {
        check_copy_within(&s, &mut model, dst, src, len);
    }
}

#[test]
fn copy_within_of_disjoint_identical_and_empty_ranges_matches_memmove() {
    let pool = pool(16);
    let (s, mut model) = patterned_space(&pool, 3 * P, 6 * P);
    for (dst, src, len) in [
        (0x3800, 0x0500, 0x1900),
        (0x2345, 0x2345, 0x1000),
        (0x0010, 0x0020, 0),
        (0x0000, 0x4000, 0x2000), // copies zero pages over private ones
    ] {
        check_copy_within(&s, &mut model, dst, src, len);
    }
}

#[test]
fn copy_within_reports_the_first_failing_check_and_writes_nothing() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let size = s.size_bytes();
    s.write_bytes(0, &pattern(4 * P, 6)).unwrap();
    s.protect(0x1000, P, NONE).unwrap();
    s.protect(0x2000, P, R).unwrap();
    let before = snapshot(&s);
    let f = |addr, access, reason| Err(fault(addr, access, reason));
    use FaultReason::{Denied, OutOfBounds};
    // Source bounds before destination bounds.
    assert_eq!(
        s.copy_within(size - 4, size - 2, 8),
        f(size - 2, Access::Read, OutOfBounds)
    );
    assert_eq!(
        s.copy_within(size - 4, 0, 8),
        f(size - 4, Access::Write, OutOfBounds)
    );
    // Bounds before rights.
    assert_eq!(
        s.copy_within(size - 4, 0x1000, 8),
        f(size - 4, Access::Write, OutOfBounds)
    );
    // Source read rights before destination write rights.
    assert_eq!(
        s.copy_within(0x2000, 0x1000, 0x10),
        f(0x1000, Access::Read, Denied)
    );
    assert_eq!(
        s.copy_within(0x2000, 0x0, 0x10),
        f(0x2000, Access::Write, Denied)
    );
    assert_eq!(
        s.copy_within(0x0ff8, 0x3000, 0x10),
        f(0x1000, Access::Write, Denied)
    );
    assert_eq!(snapshot(&s), before);
}

#[test]
fn read_bytes_and_write_bytes_round_trip_across_pages() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let data = pattern(0x2200, 7);
    s.write_bytes(0x0f00, &data).unwrap();
    assert_eq!(bytes(&s, 0x0f00, 0x2200), data);
    let around = bytes(&s, 0x0e00, 0x2400);
    assert_eq!(&around[..0x100], &[0u8; 0x100][..]);
    assert_eq!(&around[0x100..0x2300], &data[..]);
    assert_eq!(&around[0x2300..], &[0u8; 0x100][..]);
    s.write_bytes(s.size_bytes(), &[]).unwrap();
    assert_eq!(in_use(&pool), 4, "0x0f00..0x3100 touches four pages");
}

#[test]
fn failed_host_accesses_leave_the_buffer_and_memory_untouched() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(P, 8)).unwrap();
    s.protect(0x1000, P, NONE).unwrap();
    s.protect(0x2000, P, R).unwrap();
    let mut buf = vec![0x77u8; 0x2000];
    assert_eq!(
        s.read_bytes(0x0800, &mut buf),
        Err(fault(0x1000, Access::Read, FaultReason::Denied))
    );
    assert_eq!(buf, vec![0x77; 0x2000]);
    let before = snapshot(&s);
    s.protect(0x1000, P, RW).unwrap();
    assert_eq!(
        s.write_bytes(0x0800, &buf),
        Err(fault(0x2000, Access::Write, FaultReason::Denied))
    );
    s.protect(0x1000, P, NONE).unwrap();
    assert_eq!(snapshot(&s), before);
}

#[test]
fn copy_from_copies_between_spaces_across_pages() {
    let pool = pool(16);
    let a = space(&pool, 1, 1);
    let b = space(&pool, 1, 1);
    let data = pattern(3 * P, 9);
    a.write_bytes(0, &data).unwrap();
    b.copy_from(0x0ff8, &a, 0x0800, 0x2010).unwrap();
    assert_eq!(bytes(&b, 0x0ff8, 0x2010), data[0x0800..0x2810]);
    assert_eq!(bytes(&b, 0, 0x0ff8), vec![0; 0x0ff8]);
    assert_eq!(bytes(&b, 0x3008, 0x100), vec![0; 0x100]);
    assert_eq!(bytes(&a, 0, 3 * P), data, "the source is unchanged");
}

#[test]
fn copy_from_checks_bounds_and_rights_in_each_space_and_writes_nothing() {
    let pool = pool(16);
    let a = space(&pool, 1, 1);
    let b = space(&pool, 2, 2);
    let (size_a, size_b) = (a.size_bytes(), b.size_bytes());
    a.write_bytes(0, &pattern(2 * P, 10)).unwrap();
    b.write_bytes(0, &pattern(2 * P, 11)).unwrap();
    a.protect(0x1000, P, NONE).unwrap();
    b.protect(0, P, R).unwrap();
    let (before_a, before_b) = (snapshot(&a), snapshot(&b));
    let f = |addr, access, reason| Err(fault(addr, access, reason));
    use FaultReason::{Denied, OutOfBounds};
    assert_eq!(
        b.copy_from(0x4000, &a, size_a - 4, 8),
        f(size_a - 4, Access::Read, OutOfBounds)
    );
    assert_eq!(
        b.copy_from(size_b - 4, &a, 0, 8),
        f(size_b - 4, Access::Write, OutOfBounds)
    );
    assert_eq!(
        b.copy_from(0x4000, &a, 0x0ff0, 0x20),
        f(0x1000, Access::Read, Denied)
    );
    assert_eq!(
        b.copy_from(0x0ff0, &a, 0, 0x20),
        f(0x0ff0, Access::Write, Denied)
    );
    assert_eq!(snapshot(&a), before_a);
    assert_eq!(snapshot(&b), before_b);
}

#[test]
fn copy_from_between_spaces_mapping_the_same_region_behaves_as_a_copy() {
    let pool = pool(16);
    let a = space(&pool, 1, 1);
    let b = space(&pool, 1, 1);
    let region = Region::new(&pool, "both", 3 * P, RW).unwrap();
    let mut model = pattern(3 * P, 12);
    region.write_bytes(0, &model).unwrap();
    region.grant(a.id(), RW).unwrap();
    region.grant(b.id(), RW).unwrap();
    a.map_region(&region, 0x1000, RW).unwrap();
    b.map_region(&region, 0x4000, RW).unwrap();

    // Destination above the source in the shared frames.
    b.copy_from(0x4000 + 0x100, &a, 0x1000, 0x2000).unwrap();
    model.copy_within(0..0x2000, 0x100);
    assert!(
        region_bytes(&region, 0, 3 * P) == model,
        "copy to higher offsets"
    );

    // Destination below the source in the shared frames.
    a.copy_from(0x1000, &b, 0x4000 + 0x0ff0, 0x1800).unwrap();
    model.copy_within(0x0ff0..0x27f0, 0);
    assert!(
        region_bytes(&region, 0, 3 * P) == model,
        "copy to lower offsets"
    );
    assert_eq!(bytes(&a, 0x1000, 3 * P), bytes(&b, 0x4000, 3 * P));
}

#[test]
fn copy_from_the_same_space_behaves_as_copy_within() {
    let pool = pool(8);
    let (s, mut model) = patterned_space(&pool, 3 * P, 3 * P);
    s.copy_from(0x10, &s, 0, 0x2000).unwrap();
    model.copy_within(0..0x2000, 0x10);
    assert!(bytes(&s, 0, 3 * P) == model);
}

// ---------------------------------------------------------------------------
// share, regions, grants, map_region, revoke
// ---------------------------------------------------------------------------

#[test]
fn share_turns_pages_into_an_owned_region_without_copying() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let data = pattern(2 * P, 13);
    s.write_bytes(0x1000, &data).unwrap();
    assert_eq!(in_use(&pool), 2);
    let region = s.share(0x1000, 2 * P, "state", R).unwrap();
    assert_eq!(in_use(&pool), 2, "no frame is copied");
    assert_eq!(region.name(), "state");
    assert_eq!(region.size(), 2 * P);
    assert_eq!(region.max_rights(), R);
    assert_eq!(region.owner(), RegionOwner::Space(s.id()));
    assert_eq!(region_bytes(&region, 0, 2 * P), data);
    let shared = info(RW, PageKind::Shared(region.id()));
    assert_eq!(
        s.memory_map(),
        vec![
            run(0, 0x1000, info(RW, PageKind::Zero)),
            run(0x1000, 0x3000, shared),
            run(0x3000, WASM_PAGE, info(RW, PageKind::Zero)),
        ]
    );
    s.write(0x1000, [0xeeu8]).unwrap();
    assert_eq!(
        region_bytes(&region, 0, 1),
        vec![0xee],
        "the owner writes the region's frame"
    );
}

#[test]
fn share_gives_zero_pages_frames_of_their_own() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = s.share(0, 3 * P, "zeros", RW).unwrap();
    assert_eq!(in_use(&pool), 3);
    assert_eq!(s.resident_pages(), 3);
    assert_eq!(region_bytes(&region, 0, 3 * P), vec![0; 3 * P as usize]);
    assert_eq!(s.page_info(0x2000), info(RW, PageKind::Shared(region.id())));
}

#[test]
fn share_of_already_shared_pages_fails_with_ebusy_and_changes_nothing() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = s.share(0x1000, P, "first", RW).unwrap();
    let before = snapshot(&s);
    let used = in_use(&pool);
    let err = s.share(0, 2 * P, "second", RW).unwrap_err();
    assert_eq!(
        err,
        MmuError::AlreadyShared {
            addr: 0x1000,
            region: region.id()
        }
    );
    assert_eq!(err.errno(), Errno::EBUSY);
    assert_eq!(snapshot(&s), before);
    assert_eq!(in_use(&pool), used, "page 0 got no frame");
}

#[test]
fn share_rejects_empty_and_unmapped_ranges() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let err = s.share(0, 0, "empty", RW).unwrap_err();
    assert_eq!(err, MmuError::InvalidSize(0));
    assert_eq!(err.errno(), Errno::EINVAL);
    s.unmap(0x1000, P).unwrap();
    let before = snapshot(&s);
    let err = s.share(0, 2 * P, "hole", RW).unwrap_err();
    assert_eq!(err, MmuError::NotMapped { addr: 0x1000 });
    assert_eq!(err.errno(), Errno::EFAULT);
    assert_eq!(snapshot(&s), before);
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn owner_and_grantee_see_each_others_writes_through_the_same_frame() {
    let pool = pool(8);
    let owner = space(&pool, 1, 1);
    let grantee = space(&pool, 1, 1);
    owner.write(0x1000, [1u8]).unwrap();
    let region = owner.share(0x1000, P, "state", RW).unwrap();
    region.grant(grantee.id(), RW).unwrap();
    grantee.map_region(&region, 0x3000, RW).unwrap();
    assert_eq!(
        grantee.page_info(0x3000),
        info(RW, PageKind::Shared(region.id()))
    );
    assert_eq!(in_use(&pool), 1, "mapping a region copies nothing");

    owner
        .write(0x1008, 0x1122_3344_5566_7788u64.to_le_bytes())
        .unwrap();
    assert_eq!(
        grantee.read::<8>(0x3008),
        Ok(0x1122_3344_5566_7788u64.to_le_bytes())
    );
    grantee.write(0x3ffe, [0xa1u8, 0xb2]).unwrap();
    assert_eq!(owner.read::<2>(0x1ffe), Ok([0xa1, 0xb2]));
    grantee.fill(0x3100, 0x5a, 0x10).unwrap();
    assert_eq!(bytes(&owner, 0x1100, 0x10), vec![0x5a; 0x10]);
    assert_eq!(in_use(&pool), 1);
}

#[test]
fn host_region_starts_zeroed_and_host_writes_reach_its_mappers() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "data", 2 * P, R).unwrap();
    assert_eq!(in_use(&pool), 2, "a host region takes its frames at once");
    assert_eq!(region.owner(), RegionOwner::Host);
    assert_eq!(region.name(), "data");
    assert_eq!(region.size(), 2 * P);
    assert_eq!(region_bytes(&region, 0, 2 * P), vec![0; 2 * P as usize]);

    let data = pattern(0x20, 14);
    region.write_bytes(0x0ff0, &data).unwrap();
    region.grant(s.id(), R).unwrap();
    s.map_region(&region, 0x4000, R).unwrap();
    assert_eq!(bytes(&s, 0x4ff0, 0x20), data);
    region.write_bytes(0x10, &[3; 4]).unwrap();
    assert_eq!(
        s.read::<4>(0x4010),
        Ok([3; 4]),
        "host writes after mapping are visible"
    );
    assert_eq!(
        s.write(0x4010, [0u8; 4]),
        Err(fault(0x4010, Access::Write, FaultReason::Denied))
    );
    assert_eq!(in_use(&pool), 2);
}

#[test]
fn writes_through_a_read_write_mapping_reach_the_host_region() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "out", P, RW).unwrap();
    region.grant(s.id(), RW).unwrap();
    s.map_region(&region, 0x2000, RW).unwrap();
    s.write_bytes(0x2100, b"hello").unwrap();
    assert_eq!(region_bytes(&region, 0x100, 5), b"hello");
}

#[test]
fn region_new_rejects_invalid_sizes_with_einval() {
    let pool = pool(4);
    for size in [0, 100, P + 1, (1 << 32) + P] {
        let err = Region::new(&pool, "bad", size, RW).unwrap_err();
        assert_eq!(err, MmuError::InvalidSize(size));
        assert_eq!(err.errno(), Errno::EINVAL);
    }
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn region_host_access_beyond_its_size_fails_and_writes_nothing() {
    let pool = pool(4);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    let err = region.write_bytes(P - 2, &[1; 4]).unwrap_err();
    assert_eq!(
        err,
        MmuError::OutOfRange {
            addr: P - 2,
            len: 4,
            size: P
        }
    );
    assert_eq!(err.errno(), Errno::EINVAL);
    assert_eq!(region_bytes(&region, P - 2, 2), vec![0, 0]);
    let mut buf = [9u8; 1];
    assert_eq!(
        region.read_bytes(u64::MAX, &mut buf),
        Err(MmuError::OutOfRange {
            addr: u64::MAX,
            len: 1,
            size: P
        })
    );
    assert_eq!(buf, [9]);
}

#[test]
fn grant_above_the_regions_maximum_fails_with_eacces() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "ro", P, R).unwrap();
    let err = region.grant(s.id(), RW).unwrap_err();
    assert_eq!(
        err,
        MmuError::AboveMaxRights {
            requested: RW,
            max: R
        }
    );
    assert_eq!(err.errno(), Errno::EACCES);
    assert_eq!(region.grant_of(s.id()), None);
    assert!(region.grants().is_empty());
    region.grant(s.id(), R).unwrap();
    assert_eq!(region.grant_of(s.id()), Some(R));
}

#[test]
fn grants_are_listed_by_grantee_and_replaced_by_granting_again() {
    let pool = pool(4);
    let a = space(&pool, 0, 1);
    let b = space(&pool, 0, 1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    region.grant(b.id(), RW).unwrap();
    region.grant(a.id(), NONE).unwrap();
    region.grant(a.id(), R).unwrap();
    let mut expected = vec![(a.id(), R), (b.id(), RW)];
    expected.sort();
    assert_eq!(region.grants(), expected);
    assert_eq!(region.grant_of(a.id()), Some(R));
}

#[test]
fn map_region_needs_a_grant_that_covers_the_rights() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    let before = snapshot(&s);
    let err = s.map_region(&region, 0x1000, R).unwrap_err();
    assert_eq!(
        err,
        MmuError::NotGranted {
            region: region.id(),
            requested: R
        }
    );
    assert_eq!(err.errno(), Errno::EACCES);
    assert_eq!(
        s.map_region(&region, 0x1000, NONE),
        Err(MmuError::NotGranted {
            region: region.id(),
            requested: NONE
        }),
        "without a grant not even a none mapping is allowed"
    );
    region.grant(s.id(), R).unwrap();
    assert_eq!(
        s.map_region(&region, 0x1000, RW),
        Err(MmuError::NotGranted {
            region: region.id(),
            requested: RW
        })
    );
    assert_eq!(snapshot(&s), before);
    s.map_region(&region, 0x1000, R).unwrap();
    assert_eq!(s.page_info(0x1000), info(R, PageKind::Shared(region.id())));
}

#[test]
fn map_region_twice_in_one_space_fails_with_ebusy() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    region.grant(s.id(), RW).unwrap();
    s.map_region(&region, 0x1000, RW).unwrap();
    let before = snapshot(&s);
    let err = s.map_region(&region, 0x5000, R).unwrap_err();
    assert_eq!(err, MmuError::AlreadyMapped(region.id()));
    assert_eq!(err.errno(), Errno::EBUSY);
    assert_eq!(snapshot(&s), before);

    // The owner's shared pages count as a mapping of its region.
    let owned = s.share(0x2000, P, "own", RW).unwrap();
    assert_eq!(
        s.map_region(&owned, 0x6000, RW),
        Err(MmuError::AlreadyMapped(owned.id()))
    );
}

#[test]
fn map_region_of_another_pool_fails_with_foreign_pool() {
    let pool_a = pool(4);
    let pool_b = pool(4);
    let s = space(&pool_a, 1, 1);
    let region = Region::new(&pool_b, "elsewhere", P, RW).unwrap();
    region.grant(s.id(), RW).unwrap();
    let before = snapshot(&s);
    let err = s.map_region(&region, 0x1000, RW).unwrap_err();
    assert_eq!(err, MmuError::ForeignPool);
    assert_eq!(err.errno(), Errno::EINVAL);
    assert_eq!(snapshot(&s), before);
    assert_eq!(in_use(&pool_a), 0);
}

#[test]
fn map_region_replaces_what_was_there_and_releases_private_frames() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0x1000, &pattern(2 * P, 15)).unwrap();
    let region = Region::new(&pool, "r", P, RW).unwrap();
    region.write_bytes(0, &[0x3c; 8]).unwrap();
    region.grant(s.id(), RW).unwrap();
    assert_eq!(in_use(&pool), 3);
    s.map_region(&region, 0x1000, RW).unwrap();
    assert_eq!(in_use(&pool), 2, "the replaced private frame went back");
    assert_eq!(s.read::<8>(0x1000), Ok([0x3c; 8]));
    assert_eq!(
        s.page_info(0x2000),
        info(RW, PageKind::Private),
        "only the region's pages"
    );
}

#[test]
fn owner_maps_its_own_region_with_any_rights_without_a_grant() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = s.share(0x1000, P, "mine", R).unwrap();
    s.unmap(0x1000, P).unwrap();
    s.map_region(&region, 0x3000, RW).unwrap();
    assert_eq!(region.grant_of(s.id()), None);
    assert_eq!(s.page_info(0x3000), info(RW, PageKind::Shared(region.id())));
    s.write(0x3004, [0x99u8; 4]).unwrap();
    assert_eq!(region_bytes(&region, 4, 4), vec![0x99; 4]);
}

#[test]
fn revoke_unmaps_the_grantees_pages_and_removes_the_grant() {
    let pool = pool(8);
    let owner = space(&pool, 1, 1);
    let grantee = space(&pool, 1, 1);
    owner.write(0x1000, [0x42u8; 4]).unwrap();
    let region = owner.share(0x1000, P, "s", RW).unwrap();
    region.grant(grantee.id(), RW).unwrap();
    grantee.map_region(&region, 0x2000, RW).unwrap();
    assert_eq!(grantee.read::<4>(0x2000), Ok([0x42; 4]));
    let generation = grantee.generation();

    region.revoke(grantee.id()).unwrap();
    assert!(grantee.generation() > generation);
    assert_eq!(grantee.page_info(0x2000), None);
    assert_eq!(
        grantee.read::<4>(0x2000),
        Err(fault(0x2000, Access::Read, FaultReason::Unmapped))
    );
    assert_eq!(region.grant_of(grantee.id()), None);
    assert_eq!(
        owner.read::<4>(0x1000),
        Ok([0x42; 4]),
        "the owner keeps its pages"
    );
    assert_eq!(in_use(&pool), 1);
    assert_eq!(
        grantee.map_region(&region, 0x2000, R),
        Err(MmuError::NotGranted {
            region: region.id(),
            requested: R
        })
    );
}

#[test]
fn revoke_without_a_grant_fails_with_enoent() {
    let pool = pool(4);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    let err = region.revoke(s.id()).unwrap_err();
    assert_eq!(err, MmuError::NoSuchGrant(region.id()));
    assert_eq!(err.errno(), Errno::ENOENT);
    region.grant(s.id(), R).unwrap();
    region.revoke(s.id()).unwrap();
    assert_eq!(
        region.revoke(s.id()),
        Err(MmuError::NoSuchGrant(region.id()))
    );
}

#[test]
fn lowering_a_grant_lowers_the_rights_of_an_existing_mapping() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", 2 * P, RW).unwrap();
    region.grant(s.id(), RW).unwrap();
    s.map_region(&region, 0x1000, RW).unwrap();
    s.write(0x1000, [7u8]).unwrap();

    region.grant(s.id(), R).unwrap();
    assert_eq!(
        s.memory_map()[1],
        run(0x1000, 0x3000, info(R, PageKind::Shared(region.id())))
    );
    assert_eq!(
        s.write(0x1000, [8u8]),
        Err(fault(0x1000, Access::Write, FaultReason::Denied))
    );
    assert_eq!(s.read::<1>(0x1000), Ok([7]));
    assert_eq!(
        s.protect(0x1000, 2 * P, RW),
        Err(MmuError::RightsExceedMapping {
            addr: 0x1000,
            requested: RW,
            allowed: R
        })
    );

    region.grant(s.id(), NONE).unwrap();
    assert_eq!(
        s.page_info(0x2000),
        info(NONE, PageKind::Shared(region.id()))
    );
    assert_eq!(
        s.read::<1>(0x2000),
        Err(fault(0x2000, Access::Read, FaultReason::Denied))
    );
}

// ---------------------------------------------------------------------------
// Copy-on-write clones
// ---------------------------------------------------------------------------

#[test]
fn clone_has_the_same_size_limits_contents_and_rights() {
    let pool = pool(16);
    let s = space(&pool, 1, 3);
    s.write_bytes(0, &pattern(3 * P, 16)).unwrap();
    s.protect(0x1000, P, R).unwrap();
    s.unmap(0x4000, P).unwrap();
    s.write(0x5000, [1u8; 4]).unwrap();
    s.protect(0x5000, P, NONE).unwrap();
    let used = in_use(&pool);

    let c = s.try_clone().unwrap();
    assert_ne!(c.id(), s.id());
    assert_eq!(c.size_bytes(), s.size_bytes());
    assert_eq!(c.max_wasm_pages(), 3);
    assert!(c.pool().same_pool(&pool));
    assert_eq!(in_use(&pool), used, "cloning copies no frame");
    assert_eq!(bytes(&c, 0, 4 * P), bytes(&s, 0, 4 * P));
    for vpn in 0..WASM_PAGE / P {
        let (sp, cp) = (s.page_info(vpn * P), c.page_info(vpn * P));
        assert_eq!(
            sp.map(|i| i.rights),
            cp.map(|i| i.rights),
            "rights of page {vpn}"
        );
    }
    s.protect(0x5000, P, R).unwrap();
    c.protect(0x5000, P, R).unwrap();
    assert_eq!(
        c.read::<4>(0x5000),
        Ok([1; 4]),
        "a none page keeps its contents"
    );
    assert_eq!(c.grow(1), Ok(1), "the clone grows independently");
    assert_eq!(s.size_wasm_pages(), 1);
}

#[test]
fn clone_memory_maps_report_copy_on_write_zero_and_private_kinds() {
    let pool = pool(16);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(2 * P, 17)).unwrap();
    s.protect(0x1000, P, R).unwrap();
    s.unmap(0x3000, P).unwrap();
    let c = s.try_clone().unwrap();
    let expected = vec![
        run(0, 0x1000, info(RW, PageKind::CopyOnWrite)),
        run(0x1000, 0x2000, info(R, PageKind::CopyOnWrite)),
        run(0x2000, 0x3000, info(RW, PageKind::Zero)),
        run(0x3000, 0x4000, None),
        run(0x4000, WASM_PAGE, info(RW, PageKind::Zero)),
    ];
    assert_eq!(s.memory_map(), expected);
    assert_eq!(c.memory_map(), expected);

    s.write(0x10, [1u8]).unwrap();
    assert_eq!(s.page_info(0), info(RW, PageKind::Private));
    assert_eq!(c.page_info(0), info(RW, PageKind::CopyOnWrite));
    c.write(0x10, [2u8]).unwrap();
    assert_eq!(c.page_info(0), info(RW, PageKind::Private));
    assert_eq!(c.page_info(0x1000), info(R, PageKind::CopyOnWrite));
}

#[test]
fn writes_after_a_clone_are_not_seen_by_the_other_side() {
    let pool = pool(16);
    let s = space(&pool, 1, 1);
    let data = pattern(2 * P, 18);
    s.write_bytes(0, &data).unwrap();
    let c = s.try_clone().unwrap();
    s.write(0x0100, [0xffu8; 4]).unwrap();
    c.write(0x1100, [0xeeu8; 4]).unwrap();
    c.write(0x3000, [0xddu8; 4]).unwrap();
    assert_eq!(c.read::<4>(0x0100).unwrap(), data[0x100..0x104]);
    assert_eq!(s.read::<4>(0x1100).unwrap(), data[0x1100..0x1104]);
    assert_eq!(s.read::<4>(0x3000), Ok([0; 4]));
    assert_eq!(s.read::<4>(0x0100), Ok([0xff; 4]));
    assert_eq!(c.read::<4>(0x1100), Ok([0xee; 4]));
}

#[test]
fn only_the_written_page_of_a_clone_gets_a_new_frame() {
    let pool = pool(16);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(3 * P, 19)).unwrap();
    assert_eq!(in_use(&pool), 3);
    let c = s.try_clone().unwrap();
    assert_eq!(in_use(&pool), 3);
    s.write(0x10, [1u8]).unwrap();
    assert_eq!(in_use(&pool), 4, "one page copied");
    assert_eq!(s.page_info(0x1000), info(RW, PageKind::CopyOnWrite));
    s.write(0x20, [1u8]).unwrap();
    assert_eq!(in_use(&pool), 4, "the copy is private now");
    c.write(0x1010, [2u8]).unwrap();
    assert_eq!(in_use(&pool), 5);
    c.write(0x5000, [3u8]).unwrap();
    assert_eq!(in_use(&pool), 6, "a zero page of the clone takes one frame");
    // The old frame of page 0 is now the clone's alone: no copy is needed.
    c.write(0x10, [4u8]).unwrap();
    assert_eq!(in_use(&pool), 6);
    drop(c);
    assert_eq!(in_use(&pool), 3, "dropping the clone returns its frames");
}

#[test]
fn clone_copies_shared_pages_into_private_pages() {
    let pool = pool(16);
    let owner = space(&pool, 1, 1);
    let grantee = space(&pool, 1, 1);
    owner.write_bytes(0x1000, &[0x61; 16]).unwrap();
    let region = owner.share(0x1000, P, "s", RW).unwrap();
    region.grant(grantee.id(), RW).unwrap();
    grantee.map_region(&region, 0x2000, RW).unwrap();
    let used = in_use(&pool);

    let c = owner.try_clone().unwrap();
    assert_eq!(in_use(&pool), used + 1, "one frame for the shared page");
    assert_eq!(c.page_info(0x1000), info(RW, PageKind::Private));
    assert_eq!(c.read::<16>(0x1000), Ok([0x61; 16]));
    assert_eq!(region.grant_of(c.id()), None, "the clone holds no grant");

    c.write(0x1000, [1u8]).unwrap();
    assert_eq!(region_bytes(&region, 0, 1), vec![0x61]);
    assert_eq!(grantee.read::<1>(0x2000), Ok([0x61]));
    grantee.write(0x2001, [2u8]).unwrap();
    assert_eq!(c.read::<1>(0x1001), Ok([0x61]));

    let gc = grantee.try_clone().unwrap();
    assert_eq!(gc.page_info(0x2000), info(RW, PageKind::Private));
    assert_eq!(gc.read::<2>(0x2000), Ok([0x61, 2]));
}

#[test]
fn discard_on_one_side_of_a_clone_keeps_the_other_sides_contents() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &[0x33; 32]).unwrap();
    let c = s.try_clone().unwrap();
    c.discard(0, P).unwrap();
    assert_eq!(c.page_info(0), info(RW, PageKind::Zero));
    assert_eq!(c.read::<16>(0), Ok([0; 16]));
    assert_eq!(s.read::<16>(0), Ok([0x33; 16]));
    assert_eq!(in_use(&pool), 1, "the frame is still the original's");
    s.discard(0, P).unwrap();
    assert_eq!(in_use(&pool), 0);
}

// ---------------------------------------------------------------------------
// Frame lifetime
// ---------------------------------------------------------------------------

#[test]
fn dropping_a_space_returns_its_frames() {
    let pool = pool(8);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(3 * P, 20)).unwrap();
    assert_eq!(in_use(&pool), 3);
    assert_eq!(pool.stats().free(), 5);
    drop(s);
    assert_eq!(in_use(&pool), 0);
    assert_eq!(pool.stats().peak, 3);
}

#[test]
fn host_region_frames_return_only_when_the_last_handle_and_mapping_are_gone() {
    let pool = pool(8);
    let a = space(&pool, 1, 1);
    let b = space(&pool, 1, 1);
    let region = Region::new(&pool, "r", 2 * P, RW).unwrap();
    region.write_bytes(0, &[0x24; 8]).unwrap();
    region.grant(a.id(), R).unwrap();
    region.grant(b.id(), R).unwrap();
    a.map_region(&region, 0, R).unwrap();
    b.map_region(&region, 0x4000, R).unwrap();
    let second_handle = region.clone();
    drop(region);
    assert_eq!(in_use(&pool), 2);
    drop(second_handle);
    assert_eq!(in_use(&pool), 2, "still mapped by two spaces");
    assert_eq!(a.read::<8>(0), Ok([0x24; 8]));
    a.unmap(0, 2 * P).unwrap();
    assert_eq!(in_use(&pool), 2, "still mapped by one space");
    assert_eq!(b.read::<8>(0x4000), Ok([0x24; 8]));
    b.unmap(0x4000, 2 * P).unwrap();
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn region_made_by_share_keeps_its_frames_while_the_owner_maps_them() {
    let pool = pool(2);
    let owner = space(&pool, 1, 1);
    let data = pattern(P, 21);
    owner.write_bytes(0x1000, &data).unwrap();
    let region = owner.share(0x1000, P, "s", RW).unwrap();
    drop(region);
    assert_eq!(in_use(&pool), 1, "the owner still maps the frame");
    // A frame freed too early would be handed out (zeroed) to the next
    // allocation while the owner still maps it.
    let other = space(&pool, 1, 1);
    other.write_bytes(0, &[0xee; 64]).unwrap();
    assert_eq!(bytes(&owner, 0x1000, P), data);
    owner.unmap(0x1000, P).unwrap();
    assert_eq!(in_use(&pool), 1, "only the other space's frame is left");
}

#[test]
fn region_made_by_share_keeps_its_frames_while_a_handle_exists() {
    let pool = pool(4);
    let owner = space(&pool, 1, 1);
    let data = pattern(P, 22);
    owner.write_bytes(0x1000, &data).unwrap();
    let region = owner.share(0x1000, P, "s", RW).unwrap();
    owner.unmap(0x1000, P).unwrap();
    assert_eq!(in_use(&pool), 1, "the region still holds its frame");
    assert_eq!(region_bytes(&region, 0, P), data);
    owner.map_region(&region, 0x2000, R).unwrap();
    assert_eq!(bytes(&owner, 0x2000, P), data);
    owner.unmap(0x2000, P).unwrap();
    drop(region);
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn share_of_a_copy_on_write_page_releases_the_replaced_frame() {
    let pool = pool(2);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &[0x17; 8]).unwrap();
    let c = s.try_clone().unwrap();
    let region = s.share(0, P, "s", RW).unwrap();
    assert_eq!(in_use(&pool), 2, "the shared page got a copy");
    drop(c);
    assert_eq!(
        in_use(&pool),
        1,
        "nothing maps the clone's old frame any more"
    );
    let host = Region::new(&pool, "h", P, RW);
    assert!(host.is_ok(), "one frame is free: {host:?}");
    assert_eq!(region_bytes(&region, 0, 8), vec![0x17; 8]);
}

#[test]
fn a_frame_unmapped_under_a_pin_of_the_same_thread_is_reused_at_once_and_zeroed() {
    // The pin's thread is the one unmapping, so it is not inside an access:
    // the shootdown has nobody to wait for and the frame goes back at once.
    // (Pins of other threads are waited for: tests/concurrency.rs.)
    let pool = pool(1);
    let s = space(&pool, 1, 1);
    let other = space(&pool, 1, 1);
    s.write_bytes(0, &[0x5e; 16]).unwrap();
    let pin = s.pin();
    assert_eq!(pin.read_u8(0), Ok(0x5e));
    s.unmap(0, P).unwrap();
    assert_eq!(
        pin.read_u8(0),
        Err(fault(0, Access::Read, FaultReason::Unmapped)),
        "the next access through the pin sees the unmap"
    );
    assert_eq!(in_use(&pool), 0);
    other.write(0, [1u8]).unwrap();
    assert_eq!(
        other.read::<2>(0),
        Ok([1, 0]),
        "the reused frame was zeroed"
    );
    drop(pin);
}

#[test]
fn protect_under_a_pin_applies_to_the_next_access() {
    let pool = pool(2);
    let s = space(&pool, 1, 1);
    let pin = s.pin();
    pin.write_u32(0x10, 7).unwrap();
    s.protect(0, P, R).unwrap();
    assert_eq!(
        pin.write_u32(0x10, 8),
        Err(fault(0x10, Access::Write, FaultReason::Denied))
    );
    assert_eq!(pin.read_u32(0x10), Ok(7));
    s.protect(0, P, NONE).unwrap();
    assert_eq!(
        pin.read_u32(0x10),
        Err(fault(0x10, Access::Read, FaultReason::Denied))
    );
}

// ---------------------------------------------------------------------------
// Frame pool exhaustion
// ---------------------------------------------------------------------------

#[test]
fn write_to_a_zero_page_with_an_exhausted_pool_faults_with_enomem() {
    let pool = pool(1);
    let s = space(&pool, 1, 1);
    let other = space(&pool, 1, 1);
    s.write_bytes(0x0ff0, &[0x21; 16]).unwrap();
    let (before, before_other) = (snapshot(&s), snapshot(&other));
    let out = |addr| Err(fault(addr, Access::Write, FaultReason::OutOfFrames));

    let err = s.write(0x1008, [1u8; 4]).unwrap_err();
    assert_eq!(err, fault(0x1008, Access::Write, FaultReason::OutOfFrames));
    assert_eq!(err.errno(), Errno::ENOMEM);
    assert_eq!(
        s.fill(0x0ff0, 7, 0x20),
        out(0x1000),
        "the first page needing a frame"
    );
    assert_eq!(s.write_bytes(0x0ff8, &[7; 16]), out(0x1000));
    assert_eq!(s.copy_within(0x1000, 0x0ff0, 0x10), out(0x1000));
    assert_eq!(other.write(0, [1u8]), out(0));
    assert_eq!(snapshot(&s), before);
    assert_eq!(snapshot(&other), before_other);
    assert_eq!(in_use(&pool), 1);

    s.discard(0, P).unwrap();
    s.write(0x1008, [1u8; 4]).unwrap();
    assert_eq!(
        s.read::<4>(0x1008),
        Ok([1; 4]),
        "works once a frame is free"
    );
}

#[test]
fn page_crossing_write_needing_two_frames_with_one_free_writes_nothing() {
    let pool = pool(1);
    let s = space(&pool, 1, 1);
    assert_eq!(
        s.write(0x0ffc, [1u8; 8]),
        Err(fault(0x0ffc, Access::Write, FaultReason::OutOfFrames))
    );
    assert_eq!(in_use(&pool), 0);
    assert_eq!(s.page_info(0), info(RW, PageKind::Zero));
    assert_eq!(s.page_info(0x1000), info(RW, PageKind::Zero));
    s.write(0x0ff8, [1u8; 8]).unwrap();
}

#[test]
fn copy_on_write_with_an_exhausted_pool_faults_and_keeps_both_sides() {
    let pool = pool(1);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &[0x45; 32]).unwrap();
    let c = s.try_clone().unwrap();
    let (before_s, before_c) = (snapshot(&s), snapshot(&c));
    let out = |addr| Err(fault(addr, Access::Write, FaultReason::OutOfFrames));
    assert_eq!(s.write(0x8, [0u8; 4]), out(0x8));
    assert_eq!(c.write(0x8, [0u8; 4]), out(0x8));
    assert_eq!(c.copy_from(0x10, &s, 0x0, 0x8), out(0x10));
    assert_eq!(snapshot(&s), before_s);
    assert_eq!(snapshot(&c), before_c);
    assert_eq!(s.page_info(0), info(RW, PageKind::CopyOnWrite));
    assert_eq!(in_use(&pool), 1);
}

#[test]
fn share_with_an_exhausted_pool_fails_and_changes_nothing() {
    let pool = pool(1);
    let s = space(&pool, 1, 1);
    let other = space(&pool, 1, 1);
    s.write(0x10, [5u8]).unwrap();
    let (before, before_other) = (snapshot(&s), snapshot(&other));
    let err = s.share(0, 2 * P, "s", RW).unwrap_err();
    assert_eq!(err, MmuError::OutOfFrames);
    assert_eq!(err.errno(), Errno::ENOMEM);
    assert_eq!(snapshot(&s), before);
    assert_eq!(snapshot(&other), before_other);
    assert_eq!(in_use(&pool), 1);
    s.share(0, P, "s", RW).unwrap();
}

#[test]
fn try_clone_with_an_exhausted_pool_fails_and_changes_nothing() {
    let pool = pool(3);
    let s = space(&pool, 1, 1);
    s.write_bytes(0, &pattern(2 * P, 23)).unwrap();
    let region = s.share(0, P, "s", RW).unwrap();
    let host = Region::new(&pool, "h", P, RW).unwrap();
    host.grant(s.id(), R).unwrap();
    s.map_region(&host, 0x4000, R).unwrap();
    assert_eq!(in_use(&pool), 3);
    let before = snapshot(&s);
    let err = s.try_clone().unwrap_err();
    assert_eq!(err, MmuError::OutOfFrames);
    assert_eq!(err.errno(), Errno::ENOMEM);
    assert_eq!(
        snapshot(&s),
        before,
        "the private page did not become copy-on-write"
    );
    assert_eq!(s.page_info(0x1000), info(RW, PageKind::Private));
    assert_eq!(in_use(&pool), 3);
    assert_eq!(region.size(), P);
}

#[test]
fn region_new_with_an_exhausted_pool_fails_and_takes_nothing() {
    let pool = pool(2);
    let s = space(&pool, 1, 1);
    s.write(0, [1u8]).unwrap();
    let before = snapshot(&s);
    let err = Region::new(&pool, "big", 2 * P, RW).unwrap_err();
    assert_eq!(err, MmuError::OutOfFrames);
    assert_eq!(err.errno(), Errno::ENOMEM);
    assert_eq!(in_use(&pool), 1);
    assert_eq!(snapshot(&s), before);
    Region::new(&pool, "fits", P, RW).unwrap();
}

// ---------------------------------------------------------------------------
// Errnos
// ---------------------------------------------------------------------------

#[test]
fn memory_fault_errno_is_enomem_for_out_of_frames_and_efault_otherwise() {
    let f = |reason| fault(0x1234, Access::Read, reason).errno();
    assert_eq!(f(FaultReason::OutOfBounds), Errno::EFAULT);
    assert_eq!(f(FaultReason::Unmapped), Errno::EFAULT);
    assert_eq!(f(FaultReason::Denied), Errno::EFAULT);
    assert_eq!(f(FaultReason::OutOfFrames), Errno::ENOMEM);
    assert_eq!(Errno::EFAULT, Errno(21));
    assert_eq!(Errno::ENOMEM, Errno(48));
}

#[test]
fn mmu_error_errnos_match_the_guest_abi() {
    let pool = pool(1);
    let region = Region::new(&pool, "r", P, RW).unwrap();
    let id = region.id();
    let cases = [
        (MmuError::Unaligned { addr: 1, len: P }, 28),
        (
            MmuError::OutOfRange {
                addr: 0,
                len: P,
                size: 0,
            },
            28,
        ),
        (MmuError::InvalidRights(2), 28),
        (MmuError::InvalidSize(0), 28),
        (MmuError::ForeignPool, 28),
        (
            MmuError::InvalidLimits {
                initial: 2,
                maximum: 1,
            },
            28,
        ),
        (MmuError::NotMapped { addr: 0 }, 21),
        (
            MmuError::RightsExceedMapping {
                addr: 0,
                requested: RW,
                allowed: R,
            },
            2,
        ),
        (
            MmuError::NotGranted {
                region: id,
                requested: R,
            },
            2,
        ),
        (
            MmuError::AboveMaxRights {
                requested: RW,
                max: R,
            },
            2,
        ),
        (MmuError::SharedPage { addr: 0 }, 63),
        (
            MmuError::AlreadyShared {
                addr: 0,
                region: id,
            },
            10,
        ),
        (MmuError::AlreadyMapped(id), 10),
        (MmuError::NoSuchGrant(id), 44),
        (MmuError::OutOfFrames, 48),
        (
            MmuError::GrowBeyondMaximum {
                current: 1,
                delta: 1,
                maximum: 1,
            },
            48,
        ),
        (MmuError::PoolReservation(u64::MAX), 48),
        (MmuError::HostMemory(u64::MAX), 48),
    ];
    for (err, errno) in cases {
        assert_eq!(err.errno(), Errno(errno), "{err:?}");
    }
    assert_eq!(Rights::try_from(2), Err(MmuError::InvalidRights(2)));
    assert_eq!(Rights::try_from(3), Ok(RW));
}

// ---------------------------------------------------------------------------
// Translation tables
// ---------------------------------------------------------------------------

/// The translation structures grow with the pages a space has (a table
/// leaf and a chunk of page state per 2 MiB stretch with pages), not with
/// its declared maximum: a memory that declares none costs what one
/// declaring its initial size does.
#[test]
fn table_memory_follows_the_pages_not_the_maximum() {
    let pool = pool(4096);
    // 32 Wasm pages: one 2 MiB stretch.
    let bounded = space(&pool, 32, 32);
    let unbounded = AddressSpace::new(&pool, MemoryLimits::new(32, None)).unwrap();
    assert_eq!(bounded.table_bytes(), unbounded.table_bytes());
    let one_stretch = unbounded.table_bytes();
    assert!(one_stretch <= 64 << 10, "{one_stretch}");

    // 6 MiB more of zero pages: three more stretches, each a leaf of 8 KiB
    // and a chunk of page state (16 KiB), never more than 25 KiB.
    unbounded.grow(96).unwrap();
    let grown = unbounded.table_bytes();
    let per_stretch = (grown - one_stretch) / 3;
    assert!(
        (8 << 10..=25 << 10).contains(&per_stretch),
        "{one_stretch} -> {grown}"
    );
    assert!(one_stretch >= 32 << 10);
    // Unmapped pages need no leaf; the tables still translate every page.
    let sparse = AddressSpace::new(&pool, MemoryLimits::new(32, None)).unwrap();
    sparse.grow_unmapped(1000).unwrap();
    // 62.5 MiB of unmapped pages: two words of chunk index per 2 MiB.
    assert!(
        sparse.table_bytes() - one_stretch <= 32 * 16,
        "{}",
        sparse.table_bytes()
    );
    sparse.write(0, [7]).unwrap();
    assert_eq!(sparse.read::<1>(0).unwrap(), [7]);
    assert_eq!(unbounded.read::<4>(95 * WASM_PAGE).unwrap(), [0; 4]);
    unbounded.write(96 * WASM_PAGE + 8, [1, 2, 3, 4]).unwrap();
    assert_eq!(
        unbounded.read::<4>(96 * WASM_PAGE + 8).unwrap(),
        [1, 2, 3, 4]
    );
}

/// Mapping a region records it as one run: no page state and no table
/// leaf until its pages are touched, then only for the 2 MiB stretches
/// touched (or prefaulted); revoking gives that memory back, and the
/// frame references the touched pages took.
#[test]
fn a_mapped_region_costs_page_state_only_where_touched() {
    let pool = pool(70_000);
    let owner = space(&pool, 1, 1);
    let reader = AddressSpace::new(&pool, MemoryLimits::new(1, None)).unwrap();
    let region = Region::new(&pool, "big", 256 << 20, Rights::ReadWrite).unwrap();
    region.write_bytes((200 << 20) + 12, &[9, 8, 7]).unwrap();
    region.grant(reader.id(), Rights::Read).unwrap();
    let base = reader.grow_unmapped(4096).unwrap() * WASM_PAGE;
    let before = reader.table_bytes();
    let frames_before = in_use(&pool);
    reader.map_region(&region, base, Rights::Read).unwrap();
    assert!(
        reader.table_bytes() - before <= 256,
        "{} -> {}",
        before,
        reader.table_bytes()
    );
    assert_eq!(in_use(&pool), frames_before);
    // The mapping is complete before any touch.
    assert_eq!(
        reader.page_info(base + (100 << 20)).map(|i| i.rights),
        Some(Rights::Read)
    );
    // A first touch sets its stretch: one leaf and one chunk.
    let at = base + (200 << 20) + 12;
    assert_eq!(reader.read::<3>(at).unwrap(), [9, 8, 7]);
    let touched = reader.table_bytes() - before;
    assert!((8 << 10..=25 << 10).contains(&touched), "{touched}");
    assert!(reader.write(at, [0]).is_err());
    // A prefault sets what it covers (4 MiB: two more stretches).
    reader.prefault(base, 4 << 20).unwrap();
    let prefaulted = reader.table_bytes() - before;
    assert!(prefaulted >= 3 * touched - 512, "{prefaulted}");
    assert!(reader.prefault(base + 1, 4096).is_err());
    // Revoking unmaps every page, touched or not, and frees the state.
    region.revoke(reader.id()).unwrap();
    assert!(reader.read::<1>(at).is_err());
    assert!(reader.read::<1>(base + (100 << 20)).is_err());
    assert!(reader.table_bytes() - before <= 3 * (8 << 10) + 512);
    // The region's frames all come back once it is dropped: no reference
    // taken by a touch or prefault outlived the revocation.
    drop(region);
    drop(owner);
    assert_eq!(in_use(&pool), 0);
}

#[test]
fn a_clone_of_a_snapshot_starts_without_page_state_and_fills_it_on_touch() {
    let pool = pool(20_000);
    // 16 MiB, every page written, no declared maximum.
    let source = AddressSpace::new(&pool, MemoryLimits::new(256, None)).unwrap();
    let bytes = pattern(16 << 20, 3);
    source.write_bytes(0, &bytes).unwrap();
    source.protect(P, P, R).unwrap();
    let image = source.snapshot().unwrap();
    drop(source);
    let frames = in_use(&pool);
    let empty = AddressSpace::new(&pool, MemoryLimits::new(0, None))
        .unwrap()
        .table_bytes();

    let clone = image.try_clone().unwrap();
    // Nothing per page yet: the tables and page state of an empty space,
    // plus one run.
    assert!(
        clone.table_bytes() - empty <= 256,
        "{}",
        clone.table_bytes()
    );
    assert_eq!(in_use(&pool), frames);
    // Every frame the clone may write is promised at once.
    assert_eq!(clone.reserved_bytes(), 16 << 20);
    // Contents, rights and kinds are the image's before any touch.
    assert_eq!(
        clone.page_info(P).map(|i| (i.rights, i.kind)),
        Some((R, PageKind::CopyOnWrite))
    );
    assert_eq!(clone.resident_pages(), 4096);
    let mut read = vec![0; 8192];
    clone.read_bytes((10 << 20) - 4096, &mut read).unwrap();
    assert_eq!(read[..], bytes[(10 << 20) - 4096..(10 << 20) + 4096]);
    assert!(clone.write(P + 8, [1]).is_err(), "read-only in the image");
    // A write copies one page; the image and a second clone keep theirs.
    let other = image.try_clone().unwrap();
    clone.write(5 << 20, [0xee]).unwrap();
    assert_eq!(in_use(&pool), frames + 1);
    assert_eq!(other.read::<1>(5 << 20).unwrap(), [bytes[5 << 20]]);
    assert_eq!(image.read::<1>(5 << 20).unwrap(), [bytes[5 << 20]]);
    // Touches set the stretches they reach, no more: three of the
    // eight (a leaf of 8 KiB and a chunk of 16 KiB each).
    let touched = clone.table_bytes() - empty;
    assert!(
        (3 * (24 << 10)..3 * (25 << 10)).contains(&touched),
        "{touched}"
    );
    // Unmapping untouched pages gives their promise back.
    clone.unmap(8 << 20, 8 << 20).unwrap();
    assert_eq!(clone.reserved_bytes(), 8 << 20);
    // The snapshot cannot change under its clones.
    assert_eq!(image.protect(0, P, RW), Err(MmuError::Frozen));
    assert_eq!(image.unmap(0, P), Err(MmuError::Frozen));
    assert_eq!(image.discard(0, P), Err(MmuError::Frozen));
    assert_eq!(image.prefault(0, P), Err(MmuError::Frozen));
    assert!(matches!(image.share(0, P, "s", R), Err(MmuError::Frozen)));
    // Dropping the snapshot's last handle first: the clones keep its
    // frames; once they go too, every frame is back.
    drop(image);
    assert_eq!(other.read::<1>(1 << 20).unwrap(), [bytes[1 << 20]]);
    drop(clone);
    drop(other);
    assert_eq!(in_use(&pool), 0);
    assert_eq!(pool.stats().reserved, 0);
}

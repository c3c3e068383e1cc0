//! Revocation under concurrent access, with real threads.
//!
//! Reader threads hammer pages of a shared region through the lock-free
//! fast path (as an engine does: pinned, many accesses per pin) while the
//! owner revokes, unmaps and drops regions and the pool recycles their
//! frames. Two properties are checked on every access:
//!
//! * after `revoke` returns (observed through a flag set after it), no
//!   access of the revoked reader succeeds on the region;
//! * no access ever reads a frame that was released (zeroed) or reused
//!   for later data, i.e. no stale translation outlives the frame.
//!
//! Grantees that store (or load) through a pin race `revoke`; and threads
//! making the first touches of a lazily mapped 8 MiB region race
//! `revoke` and `protect`: once the call returned, no load or store
//! completes with the old rights.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use waven_mmu::{
    AddressSpace, FaultReason, FramePool, MemoryLimits, Region, Rights, PAGES_PER_WASM_PAGE,
    PAGE_SIZE,
};

const REGION_PAGES: u64 = 4;
const CANARY: u64 = 0xC0FF_EE00;

fn canary(iteration: u64) -> u64 {
    (CANARY << 32) | iteration
}

/// Sets the flag when dropped, so that reader threads stop even if the
/// main thread panics (otherwise the scope would wait for them forever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn space(pool: &FramePool) -> AddressSpace {
    AddressSpace::new(pool, MemoryLimits::new(1, Some(1))).unwrap()
}

/// A host region whose every u64 holds `canary(iteration)`.
fn canary_region(pool: &FramePool, iteration: u64) -> Region {
    let size = REGION_PAGES * PAGE_SIZE as u64;
    let region = Region::new(pool, "data", size, Rights::Read).unwrap();
    let bytes: Vec<u8> = (0..size / 8)
        .flat_map(|_| canary(iteration).to_le_bytes())
        .collect();
    region.write_bytes(0, &bytes).unwrap();
    region
}

#[test]
fn after_revoke_returns_no_access_of_the_revoked_reader_succeeds() {
    let pool = FramePool::new(1 << 20).unwrap();
    let owner = space(&pool);
    owner
        .fill(0, 0xA5, REGION_PAGES * PAGE_SIZE as u64)
        .unwrap();
    let region = owner
        .share(0, REGION_PAGES * PAGE_SIZE as u64, "state", Rights::Read)
        .unwrap();
    let readers: Vec<AddressSpace> = (0..2).map(|_| space(&pool)).collect();
    // `revoking` is set just before `revoke` is called, `revoked` just after
    // it returned.
    let revoking: Vec<AtomicBool> = readers.iter().map(|_| AtomicBool::new(false)).collect();
    let revoked: Vec<AtomicBool> = readers.iter().map(|_| AtomicBool::new(false)).collect();
    let before: Vec<AtomicUsize> = readers.iter().map(|_| AtomicUsize::new(0)).collect();
    let after: Vec<AtomicUsize> = readers.iter().map(|_| AtomicUsize::new(0)).collect();
    for reader in &readers {
        region.grant(reader.id(), Rights::Read).unwrap();
        reader.map_region(&region, 0, Rights::Read).unwrap();
    }
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for (i, reader) in readers.iter().enumerate() {
            let (revoking, revoked) = (&revoking[i], &revoked[i]);
            let (before, after, stop) = (&before[i], &after[i], &stop);
            scope.spawn(move || {
                let mut addr = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let pin = reader.pin();
                    for _ in 0..1000 {
                        pin.safepoint();
                        addr = (addr + 8 * 97) % (REGION_PAGES * PAGE_SIZE as u64);
                        let was_revoked = revoked.load(Ordering::Acquire);
                        match pin.read_u64(addr) {
                            Ok(value) => {
                                assert!(!was_revoked, "read at {addr:#x} succeeded after revoke");
                                assert_eq!(value, 0xA5A5_A5A5_A5A5_A5A5);
                                before.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(fault) => {
                                assert!(revoking.load(Ordering::Acquire), "fault before revoke");
                                assert_eq!(fault.reason, FaultReason::Unmapped);
                                after.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        for (i, reader) in readers.iter().enumerate() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while before[i].load(Ordering::Relaxed) < 100_000 && Instant::now() < deadline {
                thread::yield_now();
            }
            revoking[i].store(true, Ordering::Release);
            region.revoke(reader.id()).unwrap();
            revoked[i].store(true, Ordering::Release);
            let deadline = Instant::now() + Duration::from_secs(10);
            while after[i].load(Ordering::Relaxed) < 100_000 && Instant::now() < deadline {
                thread::yield_now();
            }
        }
    });
    for i in 0..readers.len() {
        assert!(
            before[i].load(Ordering::Relaxed) >= 100_000,
            "reader {i} barely ran"
        );
        assert!(
            after[i].load(Ordering::Relaxed) >= 100_000,
            "reader {i} stopped early"
        );
    }
    // The owner's own mapping is untouched by the readers' revocation.
    assert_eq!(owner.read::<1>(0).unwrap(), [0xA5]);
}

#[test]
fn revoked_frames_are_never_reused_under_a_stale_translation() {
    // Released frames are recycled last-in first-out, so the next region
    // reuses them at once. A reader preempted while pinned holds back the
    // frames revoked meanwhile (its limbo), so the pool has room for every
    // iteration's frames.
    let iterations = 1000;
    let pool = FramePool::new((iterations + 64) * REGION_PAGES * PAGE_SIZE as u64).unwrap();
    let readers: Vec<AddressSpace> = (0..2).map(|_| space(&pool)).collect();
    for reader in &readers {
        // Nothing is mapped where the regions go, until they are mapped.
        reader.unmap(0, REGION_PAGES * PAGE_SIZE as u64).unwrap();
    }
    let current = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let successes = AtomicUsize::new(0);
    thread::scope(|scope| {
        for reader in &readers {
            let (current, stop, successes) = (&current, &stop, &successes);
            scope.spawn(move || {
                let mut addr = 0u64;
                let mut ok = 0;
                while !stop.load(Ordering::Acquire) {
                    let pin = reader.pin();
                    for _ in 0..256 {
                        pin.safepoint();
                        addr = (addr + 8 * 131) % (REGION_PAGES * PAGE_SIZE as u64);
                        let iteration = current.load(Ordering::Acquire);
                        if let Ok(value) = pin.read_u64(addr) {
                            // Zero means a released frame, an older
                            // iteration a stale translation.
                            assert_eq!(value >> 32, CANARY, "read {value:#x}: a freed frame");
                            assert!(
                                value & 0xffff_ffff >= iteration,
                                "read {value:#x} from a region revoked before iteration {iteration}"
                            );
                            ok += 1;
                        }
                    }
                }
                successes.fetch_add(ok, Ordering::Relaxed);
            });
        }
        let _stop = StopOnDrop(&stop);
        for iteration in 1..=iterations {
            let region = canary_region(&pool, iteration);
            for reader in &readers {
                region.grant(reader.id(), Rights::Read).unwrap();
                reader.map_region(&region, 0, Rights::Read).unwrap();
            }
            current.store(iteration, Ordering::Release);
            for _ in 0..20 {
                thread::yield_now();
            }
            for reader in &readers {
                region.revoke(reader.id()).unwrap();
            }
            // The region's frames go back to the pool (once no pin can use
            // them) and are zeroed; the next region reuses them.
            drop(region);
        }
    });
    assert!(
        successes.load(Ordering::Relaxed) > 10_000,
        "readers barely ran"
    );
    drop(readers);
    assert_eq!(pool.stats().in_use, 0, "every frame is back in the pool");
}

/// Grantees that keep storing (or loading) through a pin, as engines do:
/// a safepoint between accesses, many accesses per pin. With more threads
/// than cores, the OS preempts some of them between the translation and
/// the access; before shootdowns, those accesses landed after `revoke`
/// returned (the review saw 3 to 8 of 40).
const GRANTEES: usize = 40;
const SLOT: u64 = 8;
const MARKER: u64 = 0x4D41_524B_4552_0000;

/// Runs `GRANTEES` threads, each with its own space mapping the owner's
/// region read-write at 0, doing `access(pin, slot address)` until it
/// faults; the owner revokes each grantee in turn and then writes a marker
/// into its slot, and checks 300 ms later that every marker is intact.
fn race_revocation_with(access: impl Fn(&waven_mmu::Pinned, u64, usize) -> bool + Sync) {
    let pool = FramePool::new(64 << 20).unwrap();
    let owner = space(&pool);
    let region = owner
        .share(0, PAGE_SIZE as u64, "slots", Rights::ReadWrite)
        .unwrap();
    let grantees: Vec<AddressSpace> = (0..GRANTEES).map(|_| space(&pool)).collect();
    for grantee in &grantees {
        region.grant(grantee.id(), Rights::ReadWrite).unwrap();
        grantee.map_region(&region, 0, Rights::ReadWrite).unwrap();
    }
    let started = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for (i, grantee) in grantees.iter().enumerate() {
            let (access, started, stop) = (&access, &started, &stop);
            scope.spawn(move || {
                let pin = grantee.pin();
                started.fetch_add(1, Ordering::Release);
                while !stop.load(Ordering::Relaxed) {
                    pin.safepoint();
                    if !access(&pin, i as u64 * SLOT, i) {
                        break;
                    }
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        while started.load(Ordering::Acquire) < GRANTEES {
            thread::yield_now();
        }
        thread::sleep(Duration::from_millis(50));
        for (i, grantee) in grantees.iter().enumerate() {
            region.revoke(grantee.id()).unwrap();
            owner
                .write_u64_at(i as u64 * SLOT, MARKER | i as u64)
                .unwrap();
        }
        // Give late accesses time to land, as the review did.
        thread::sleep(Duration::from_millis(300));
        for i in 0..GRANTEES {
            let value = owner.read::<8>(i as u64 * SLOT).map(u64::from_le_bytes);
            assert_eq!(
                value,
                Ok(MARKER | i as u64),
                "grantee {i}'s slot changed after its revocation returned"
            );
        }
    });
}

trait WriteAt {
    fn write_u64_at(&self, addr: u64, value: u64) -> Result<(), waven_mmu::MemoryFault>;
}

impl WriteAt for AddressSpace {
    fn write_u64_at(&self, addr: u64, value: u64) -> Result<(), waven_mmu::MemoryFault> {
        self.write(addr, value.to_le_bytes())
    }
}

#[test]
fn no_store_of_a_revoked_grantee_lands_after_revoke_returns() {
    race_revocation_with(|pin, addr, i| pin.write_u64(addr, 1 + i as u64).is_ok());
}

#[test]
fn no_load_of_a_revoked_grantee_sees_what_the_owner_wrote_after_revoke() {
    race_revocation_with(|pin, addr, i| match pin.read_u64(addr) {
        Ok(value) => {
            assert_ne!(
                value,
                MARKER | i as u64,
                "grantee {i} read the owner's marker, written after its revocation"
            );
            true
        }
        Err(_) => false,
    });
}

/// Pages of the big region: 8 MiB, four 2 MiB stretches of the tables.
const BIG_PAGES: u64 = 2048;
/// Per round, how many accesses succeed before the owner takes rights
/// away: none (most pages, perhaps every 2 MiB stretch, still untouched),
/// up to several times the region's pages.
const TOUCHES_BEFORE_LOSS: [usize; 12] = [0, 0, 0, 0, 0, 0, 0, 1, 8, 64, 512, 8192];
/// What happens to each grantee's mapping while its threads touch it:
/// `(rights granted and mapped, what the owner does)`.
const BIG_GRANTEES: [(Rights, Loss); 3] = [
    (Rights::ReadWrite, Loss::Revoke),
    (Rights::ReadWrite, Loss::ProtectRead),
    (Rights::Read, Loss::ProtectNone),
];
const THREADS_PER_GRANTEE: usize = 5;
const TAG: u64 = 0x5441_4700_0000_0000;
const BIG_MARKER: u64 = 0x4D4B_0000_0000_0000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Loss {
    /// `Region::revoke`: every access faults afterwards.
    Revoke,
    /// The grantee's `protect(.., Read)`: stores fault afterwards.
    ProtectRead,
    /// The grantee's `protect(.., None)`: every access faults afterwards.
    ProtectNone,
}

/// Thread `t`'s slot in every page: a value it stores (round `round`).
fn tag(round: u64, t: usize) -> u64 {
    TAG | round << 8 | t as u64
}

/// What the owner writes into thread `t`'s slots once its grantee lost
/// the rights to store (or to load) there.
fn big_marker(round: u64, t: usize) -> u64 {
    BIG_MARKER | round << 8 | t as u64
}

/// Threads pinned on three grantee spaces touch a host region of 8 MiB
/// freshly mapped into all three (so their accesses are first touches,
/// which set the lazily mapped pages through the slow path) while the host
/// revokes one grantee's grant and the two others protect their mapping
/// (read-only, and no access), at a different point of the touching in
/// every round. Once the call returned (a flag set after it), no access
/// of the grantee may succeed with the old rights; and once the host wrote
/// a marker into a slot after the call, no late store may overwrite it
/// and no late load may see it.
#[test]
fn rights_taken_from_a_lazily_mapped_region_are_gone_when_the_call_returns() {
    let size = BIG_PAGES * PAGE_SIZE as u64;
    let pool = FramePool::new(64 << 20).unwrap();
    let wasm_pages = size / (PAGES_PER_WASM_PAGE * PAGE_SIZE) as u64;
    let grantees: Vec<AddressSpace> = BIG_GRANTEES
        .iter()
        .map(|_| {
            let space = AddressSpace::new(&pool, MemoryLimits::new(0, Some(wasm_pages))).unwrap();
            space.grow_unmapped(wasm_pages).unwrap();
            space
        })
        .collect();
    // The round in progress (0: nothing mapped yet), and per grantee the
    // last round whose mapping was made (set after `map_region` returned),
    // whose loss of rights began (set before the call) and whose loss
    // completed (set after the call returned).
    let round = AtomicU64::new(0);
    let per_grantee = || -> Vec<AtomicU64> { grantees.iter().map(|_| AtomicU64::new(0)).collect() };
    let (mapped, losing, lost) = (per_grantee(), per_grantee(), per_grantee());
    let successes = AtomicUsize::new(0);
    let refused_after = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for t in 0..grantees.len() * THREADS_PER_GRANTEE {
            let g = t / THREADS_PER_GRANTEE;
            let (space, (rights, loss)) = (&grantees[g], BIG_GRANTEES[g]);
            let (round, stop) = (&round, &stop);
            let (mapped, losing, lost) = (&mapped[g], &losing[g], &lost[g]);
            let (successes, refused_after) = (&successes, &refused_after);
            scope.spawn(move || {
                // Each thread walks the pages in its own order, from its
                // own start, so that first touches race everywhere.
                let stride = 2 * (37 * t as u64 + 11) + 1;
                let mut page = t as u64 * BIG_PAGES / 16 + 1;
                let mut i = 0u64;
                while !stop.load(Ordering::Acquire) {
                    // Until this round's region is mapped, wait unpinned:
                    // the mapping need not wait for this thread, and the
                    // first touches begin as soon as it has returned.
                    let r = round.load(Ordering::Acquire);
                    if r == 0 || mapped.load(Ordering::Acquire) != r {
                        thread::yield_now();
                        continue;
                    }
                    let pin = space.pin();
                    for _ in 0..256 {
                        pin.safepoint();
                        // Whether the rights for this access were gone
                        // before it started (else they are in place).
                        let gone = lost.load(Ordering::Acquire) == r;
                        if round.load(Ordering::Acquire) != r {
                            break;
                        }
                        page = (page + stride) % BIG_PAGES;
                        let addr = page * PAGE_SIZE as u64 + t as u64 * SLOT;
                        i += 1;
                        let store = rights == Rights::ReadWrite && i.is_multiple_of(2);
                        let result = if store {
                            pin.write_u64(addr, tag(r, t)).map(|()| None)
                        } else {
                            pin.read_u64(addr).map(Some)
                        };
                        // A new round began meanwhile: the access may have
                        // used its mapping.
                        if round.load(Ordering::Acquire) != r {
                            break;
                        }
                        let denied = gone && (store || loss != Loss::ProtectRead);
                        match result {
                            Ok(value) => {
                                assert!(
                                    !denied,
                                    "thread {t}: {} at {addr:#x} succeeded after grantee {g} \
                                     lost the right in round {r}",
                                    if store { "store" } else { "load" }
                                );
                                if loss != Loss::ProtectRead {
                                    assert_ne!(
                                        value,
                                        Some(big_marker(r, t)),
                                        "thread {t}: load at {addr:#x} saw what the owner \
                                         wrote after grantee {g} lost the right in round {r}"
                                    );
                                }
                                successes.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) if denied => {
                                refused_after.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(fault) => assert!(
                                gone || losing.load(Ordering::Acquire) == r,
                                "thread {t}: {fault:?} in round {r} before grantee {g} lost \
                                 any right"
                            ),
                        }
                    }
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        for (r, touches) in (1..).zip(TOUCHES_BEFORE_LOSS) {
            // The new round is announced before its region is mapped, so
            // an access that reaches the new mapping sees the new round.
            round.store(r, Ordering::Release);
            let region = Region::new(&pool, "big", size, Rights::ReadWrite).unwrap();
            // Mapped in the reverse order of the losses, so that the first
            // loss follows its mapping closely.
            for (g, grantee) in grantees.iter().enumerate().rev() {
                let rights = BIG_GRANTEES[g].0;
                region.grant(grantee.id(), rights).unwrap();
                grantee.map_region(&region, 0, rights).unwrap();
                mapped[g].store(r, Ordering::Release);
            }
            let before = successes.load(Ordering::Relaxed);
            let deadline = Instant::now() + Duration::from_secs(10);
            while successes.load(Ordering::Relaxed) < before + touches && Instant::now() < deadline
            {
                thread::yield_now();
            }
            for (g, grantee) in grantees.iter().enumerate() {
                losing[g].store(r, Ordering::Release);
                match BIG_GRANTEES[g].1 {
                    Loss::Revoke => region.revoke(grantee.id()).unwrap(),
                    Loss::ProtectRead => grantee.protect(0, size, Rights::Read).unwrap(),
                    Loss::ProtectNone => grantee.protect(0, size, Rights::None).unwrap(),
                }
                lost[g].store(r, Ordering::Release);
            }
            // Markers in every slot of every page, after every call
            // returned; late stores would overwrite them, late loads see
            // them.
            let slots = 0..grantees.len() * THREADS_PER_GRANTEE;
            for page in 0..BIG_PAGES {
                for t in slots.clone() {
                    let offset = page * PAGE_SIZE as u64 + t as u64 * SLOT;
                    region
                        .write_bytes(offset, &big_marker(r, t).to_le_bytes())
                        .unwrap();
                }
            }
            thread::sleep(Duration::from_millis(30));
            for page in 0..BIG_PAGES {
                for t in slots.clone() {
                    let offset = page * PAGE_SIZE as u64 + t as u64 * SLOT;
                    let mut value = [0u8; 8];
                    region.read_bytes(offset, &mut value).unwrap();
                    assert_eq!(
                        u64::from_le_bytes(value),
                        big_marker(r, t),
                        "round {r}: thread {t}'s slot in page {page} changed after its \
                         grantee lost the right to store"
                    );
                }
            }
            for (g, grantee) in grantees.iter().enumerate() {
                if BIG_GRANTEES[g].1 != Loss::Revoke {
                    region.revoke(grantee.id()).unwrap();
                }
            }
        }
    });
    assert!(
        successes.load(Ordering::Relaxed) > 1000,
        "the threads barely ran"
    );
    assert!(
        refused_after.load(Ordering::Relaxed) > 1000,
        "the threads barely ran after losing rights"
    );
    drop(grantees);
    assert_eq!(pool.stats().in_use, 0, "every frame is back in the pool");
}

/// Threads that each start clones of one snapshot and touch them at once
/// (first touches of the same image pages racing in different spaces)
/// see the image's contents and only their own writes, and every frame
/// comes back when the clones and the snapshot are gone.
#[test]
fn clones_of_one_snapshot_touched_at_once_stay_apart() {
    const PAGES: u64 = 1024;
    let pool = FramePool::new(64 << 20).unwrap();
    let source = AddressSpace::new(&pool, MemoryLimits::new(PAGES / 16, None)).unwrap();
    for page in 0..PAGES {
        source
            .write(page * 4096, (CANARY + page).to_le_bytes())
            .unwrap();
    }
    let image = source.snapshot().unwrap();
    drop(source);
    let start = std::sync::Barrier::new(4);
    thread::scope(|scope| {
        for t in 0..4u64 {
            let (image, start) = (&image, &start);
            scope.spawn(move || {
                for round in 0..8u64 {
                    let clone = image.try_clone().unwrap();
                    start.wait();
                    let pinned = clone.pin();
                    // The first touch of each 2 MiB chunk is a write: it must
                    // copy the image's frame, never take it over.
                    for page in [t, 512 + t] {
                        pinned.write_u64(page * 4096 + 8, (t << 32) | page).unwrap();
                    }
                    // Every thread walks the pages in its own order, writing
                    // one of every four.
                    for i in 0..PAGES {
                        let page = (i * (2 * t + 1) + round) % PAGES;
                        let addr = page * 4096;
                        assert_eq!(pinned.read_u64(addr).unwrap(), CANARY + page);
                        if page % 4 == t {
                            pinned.write_u64(addr + 8, (t << 32) | page).unwrap();
                        }
                    }
                    for page in 0..PAGES {
                        let addr = page * 4096;
                        assert_eq!(pinned.read_u64(addr).unwrap(), CANARY + page);
                        let own = if page % 4 == t { (t << 32) | page } else { 0 };
                        assert_eq!(pinned.read_u64(addr + 8).unwrap(), own);
                    }
                }
            });
        }
    });
    for page in 0..PAGES {
        assert_eq!(image.read::<8>(page * 4096 + 8).unwrap(), [0; 8]);
    }
    drop(image);
    assert_eq!(pool.stats().in_use, 0);
}

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

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use waven_mmu::{AddressSpace, FaultReason, FramePool, MemoryLimits, Region, Rights, PAGE_SIZE};

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

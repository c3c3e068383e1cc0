//! A tour of the software MMU: two tenants share a page read-only, the
//! reader's write is refused, the owner revokes, and a copy-on-write clone
//! pays for just the page it writes.
//!
//! ```text
//! cargo run -p waven-mmu --example tour
//! ```

use waven_mmu::{AddressSpace, FramePool, MemoryLimits, MmuError, Rights, PAGE_SIZE};

fn print_map(name: &str, space: &AddressSpace) {
    println!("  memory map of {name}:");
    for run in space.memory_map() {
        println!("    {run}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let page = PAGE_SIZE as u64;
    let pool = FramePool::new(64 << 20)?;
    let provider = AddressSpace::new(&pool, MemoryLimits::new(1, None))?;
    let analyst = AddressSpace::new(&pool, MemoryLimits::new(1, None))?;

    println!("1. the provider writes a record and lends its page read-only");
    provider.write_bytes(page, b"secret data set")?;
    let region = provider.share(page, page, "dataset", Rights::Read)?;
    region.grant(analyst.id(), Rights::Read)?;
    analyst.map_region(&region, 8 * page, Rights::Read)?;
    let mut seen = [0u8; 15];
    analyst.read_bytes(8 * page, &mut seen)?;
    println!(
        "  analyst reads {:?} at {:#x}",
        String::from_utf8_lossy(&seen),
        8 * page
    );
    print_map("analyst", &analyst);

    println!("2. the analyst tries to change the data set");
    match analyst.write_bytes(8 * page, b"forged") {
        Err(fault) => println!("  refused: {fault}"),
        Ok(()) => println!("  BUG: the write went through"),
    }
    match analyst.protect(8 * page, page, Rights::ReadWrite) {
        Err(error @ MmuError::RightsExceedMapping { .. }) => {
            println!(
                "  protect to rw refused: {error} (errno {})",
                error.errno().0
            )
        }
        other => println!("  BUG: protect returned {other:?}"),
    }

    println!("3. the provider revokes the grant");
    region.revoke(analyst.id())?;
    match analyst.read::<1>(8 * page) {
        Err(fault) => println!("  analyst's read after revoke: {fault}"),
        Ok(_) => println!("  BUG: the read went through"),
    }

    println!("4. a copy-on-write clone of a function's initialized memory");
    let image = AddressSpace::new(&pool, MemoryLimits::new(1, None))?;
    image.fill(0, 7, 8 * page)?;
    let before = pool.stats().in_use;
    let clone = image.try_clone()?;
    println!(
        "  frames used by cloning 8 written pages: {}",
        pool.stats().in_use - before
    );
    clone.write(0, [1u8])?;
    println!(
        "  after the clone writes one byte: {} frame; the image still reads {}",
        pool.stats().in_use - before,
        image.read::<1>(0)?[0]
    );
    print_map("clone", &clone);
    let stats = pool.stats();
    println!(
        "pool: {} of {} frames in use, peak {}",
        stats.in_use, stats.budget_frames, stats.peak
    );
    Ok(())
}

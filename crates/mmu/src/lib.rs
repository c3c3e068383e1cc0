//! The software MMU of waven.
//!
//! Every instance's linear memory is an [`AddressSpace`]: 4 KiB pages that
//! translate to frames of a [`FramePool`], each page with its own
//! [`Rights`]. Pages can be shared between spaces without copying through
//! [`Region`]s, and spaces can be cloned copy-on-write.
//!
//! ```text
//!   guest address ──► AddressSpace ──(read/write tables)──► frame of the FramePool
//!                          │                                    ▲
//!                          └── pages: Private | Zero | CopyOnWrite | Shared(region)
//!                                                                   │
//!                        Region: frames + grants (SpaceId → Rights) ┘
//! ```
//!
//! The memory model is DESIGN.md section 2: an access at or beyond
//! `memory.size` faults as out of bounds; an access to an unmapped page, a
//! read of a `None` page or a write to a `Read` page faults with the
//! address, access and reason; operations that fault or fail change
//! nothing. [`PlainMemory`] is the non-virtualized baseline.
//!
//! ```
//! use waven_mmu::{AddressSpace, FramePool, MemoryLimits, Region, Rights};
//!
//! let pool = FramePool::new(16 << 20).unwrap();
//! let owner = AddressSpace::new(&pool, MemoryLimits::new(1, None)).unwrap();
//! let reader = AddressSpace::new(&pool, MemoryLimits::new(1, None)).unwrap();
//!
//! owner.write(0x1000, 42u32.to_le_bytes()).unwrap();
//! let region = owner.share(0x1000, 0x1000, "data", Rights::Read).unwrap();
//! region.grant(reader.id(), Rights::Read).unwrap();
//! reader.map_region(&region, 0x4000, Rights::Read).unwrap();
//!
//! assert_eq!(reader.read::<4>(0x4000).unwrap(), 42u32.to_le_bytes());
//! assert!(reader.write(0x4000, [0u8; 4]).is_err()); // read-only for the reader
//! region.revoke(reader.id()).unwrap();
//! assert!(reader.read::<4>(0x4000).is_err()); // unmapped after revoke
//! ```

#![deny(missing_docs)]

mod error;
mod frame_pool;
mod page;
mod plain;
mod quota;
mod reclaim;
mod region;
mod rights;
mod shootdown;
mod space;
mod tables;

pub use error::{Errno, FaultReason, MemoryFault, MmuError};
pub use frame_pool::{FramePool, PoolStats};
pub use page::{MapRun, PageInfo, PageKind};
pub use plain::PlainMemory;
pub use quota::MemoryQuota;
pub use region::{Region, RegionId, RegionOwner};
pub use rights::{Access, Rights};
pub use shootdown::Doorbell;
pub use space::{AddressSpace, MemoryLimits, Pinned, RawTranslation, SpaceId};
pub use tables::{DIRECTORY_ENTRIES, DIRECTORY_SHIFT, LEAF_PAGES, LEAF_WRITE_OFFSET};

/// Size of a page (and of a frame) in bytes.
pub const PAGE_SIZE: usize = 4096;

/// Pages in one 64 KiB Wasm page, the unit of `memory.size` and `memory.grow`.
pub const PAGES_PER_WASM_PAGE: usize = 16;

/// The most Wasm pages a 32-bit memory can have (4 GiB).
pub const MAX_WASM_PAGES: u64 = 65536;

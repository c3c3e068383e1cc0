//! Per-store limits on what instances may make a store hold on the host
//! heap, in the spirit of wasmtime's `StoreLimits`.
//!
//! Linear memory comes from the engine's frame pool, which has its own
//! budget; tables, however, are host vectors (8 bytes per element), and a
//! module may declare up to 100 tables of up to 10 million elements each.
//! Without a store-wide bound one tenant could take gigabytes of the host
//! heap that every tenant shares. So each [`Store`](crate::Store) counts:
//!
//! ```text
//!  Store ── limits: StoreLimits ── instances, memories, tables (counts)
//!     └── TableBudget (shared by every table of the store)
//!            ├─ Instance::new / Table::new: declared initial sizes
//!            └─ table.grow / Table::grow:   each delta
//! ```
//!
//! Instantiation checks every limit before it allocates anything, so a
//! module that would exceed one fails with [`Error::StoreLimit`] and leaves
//! the store as it was. `table.grow` past the limit returns -1, as the
//! specification allows a grow to fail.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// The most a [`Store`](crate::Store) may hold. Set with
/// [`Store::set_limits`](crate::Store::set_limits); the default is
/// [`StoreLimits::default`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Elements of all the store's tables together, counting their initial
    /// sizes and every `table.grow`. Default
    /// [`StoreLimits::DEFAULT_TABLE_ELEMENTS`] (1,000,000 elements, 8 MB
    /// of host heap).
    pub table_elements: u64,
    /// Tables in the store. Default [`StoreLimits::DEFAULT_COUNT`].
    pub tables: u64,
    /// Linear memories in the store. Default [`StoreLimits::DEFAULT_COUNT`].
    pub memories: u64,
    /// Instances in the store. Default [`StoreLimits::DEFAULT_COUNT`].
    pub instances: u64,
}

impl StoreLimits {
    /// The default of [`StoreLimits::table_elements`]: far more than
    /// compilers emit for function tables (one element per function whose
    /// address is taken), and small enough that a store's tables take at
    /// most 8 MB of host heap.
    pub const DEFAULT_TABLE_ELEMENTS: u64 = 1_000_000;

    /// The default number of tables, memories and instances (wasmtime's).
    pub const DEFAULT_COUNT: u64 = 10_000;
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        StoreLimits {
            table_elements: StoreLimits::DEFAULT_TABLE_ELEMENTS,
            tables: StoreLimits::DEFAULT_COUNT,
            memories: StoreLimits::DEFAULT_COUNT,
            instances: StoreLimits::DEFAULT_COUNT,
        }
    }
}

/// Which limit of [`StoreLimits`] was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreLimit {
    /// [`StoreLimits::table_elements`].
    TableElements,
    /// [`StoreLimits::tables`].
    Tables,
    /// [`StoreLimits::memories`].
    Memories,
    /// [`StoreLimits::instances`].
    Instances,
}

impl fmt::Display for StoreLimit {
    /// What is counted: `table elements`, `tables`, `memories` or
    /// `instances`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreLimit::TableElements => "table elements",
            StoreLimit::Tables => "tables",
            StoreLimit::Memories => "memories",
            StoreLimit::Instances => "instances",
        })
    }
}

/// The error for a store that would hold `total` of `limit`, more than
/// `maximum`.
pub(crate) fn exceeded(limit: StoreLimit, total: u64, maximum: u64) -> Error {
    Error::StoreLimit {
        limit,
        total,
        maximum,
    }
}

/// Checks that `current + added` of `limit` stays within `maximum`.
pub(crate) fn check(
    limit: StoreLimit,
    current: u64,
    added: u64,
    maximum: u64,
) -> Result<(), Error> {
    match current.checked_add(added) {
        Some(total) if total <= maximum => Ok(()),
        total => Err(exceeded(limit, total.unwrap_or(u64::MAX), maximum)),
    }
}

/// The table elements of one store, shared by all its tables: the
/// interpreter grows a table through the table alone, so the store-wide
/// count must be reachable from each table. Atomics keep the store `Send`
/// and `Sync`; a store is used by one thread at a time, so the counts are
/// exact.
#[derive(Debug)]
pub(crate) struct TableBudget {
    limit: AtomicU64,
    used: AtomicU64,
}

impl TableBudget {
    pub(crate) fn new(limit: u64) -> TableBudget {
        TableBudget {
            limit: AtomicU64::new(limit),
            used: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Elements held by all the store's tables.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Counts `elements` more.
    ///
    /// # Errors
    ///
    /// [`Error::StoreLimit`] (counting nothing) if the store's tables would
    /// hold more than the limit.
    pub(crate) fn charge(&self, elements: u64) -> Result<(), Error> {
        let limit = self.limit.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(elements).filter(|&total| total <= limit)
            })
            .map(drop)
            .map_err(|used| {
                let total = used.saturating_add(elements);
                exceeded(StoreLimit::TableElements, total, limit)
            })
    }

    /// Gives back `elements` charged for a table that could not take them.
    pub(crate) fn refund(&self, elements: u64) {
        self.used.fetch_sub(elements, Ordering::Relaxed);
    }
}

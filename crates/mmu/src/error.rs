//! The MMU's error values: faults of single accesses and errors of
//! control operations, each with the WASI errno the guest ABI returns.

use std::fmt;

use thiserror::Error;

use crate::{Access, RegionId, Rights};

/// A WASI errno, as the `waven` guest ABI returns it (negated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub u16);

impl Errno {
    /// Permission denied: the rights asked for exceed what is allowed.
    pub const EACCES: Errno = Errno(2);
    /// Bad handle.
    pub const EBADF: Errno = Errno(8);
    /// Already in use (a region mapped twice in one space, pages shared twice).
    pub const EBUSY: Errno = Errno(10);
    /// Already exists.
    pub const EEXIST: Errno = Errno(20);
    /// Bad address: a page that is not mapped.
    pub const EFAULT: Errno = Errno(21);
    /// Invalid argument: unaligned, out of range, bad rights value.
    pub const EINVAL: Errno = Errno(28);
    /// No such region or grant.
    pub const ENOENT: Errno = Errno(44);
    /// The frame pool is exhausted, or memory cannot grow.
    pub const ENOMEM: Errno = Errno(48);
    /// Not supported by this memory backend.
    pub const ENOSYS: Errno = Errno(52);
    /// Not permitted (discarding a shared page, policy).
    pub const EPERM: Errno = Errno(63);
}

impl Errno {
    /// The errno's symbolic name (`"EACCES"`), for the errnos the ABI uses.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Errno::EACCES => "EACCES",
            Errno::EBADF => "EBADF",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EFAULT => "EFAULT",
            Errno::EINVAL => "EINVAL",
            Errno::ENOENT => "ENOENT",
            Errno::ENOMEM => "ENOMEM",
            Errno::ENOSYS => "ENOSYS",
            Errno::EPERM => "EPERM",
            _ => return None,
        })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "errno {}", self.0)
    }
}

/// Why a single access faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultReason {
    /// The access reaches at or beyond `memory.size` (the Wasm spec's
    /// "out of bounds memory access").
    OutOfBounds,
    /// The page is below `memory.size` but not mapped.
    Unmapped,
    /// The page is mapped without the right for this access.
    Denied,
    /// A write needed a fresh frame (zero-on-demand or copy-on-write) and
    /// the frame pool is exhausted.
    OutOfFrames,
}

impl fmt::Display for FaultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultReason::OutOfBounds => "out of bounds memory access",
            FaultReason::Unmapped => "page not mapped",
            FaultReason::Denied => "no right",
            FaultReason::OutOfFrames => "frame pool exhausted",
        })
    }
}

/// A load, store or bulk operation that was refused. Nothing was changed.
///
/// `addr` is the first byte of the access (for out-of-bounds faults) or the
/// first byte of the access that lies on the page that refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[error("memory fault: {access} at {addr:#x}: {reason}")]
pub struct MemoryFault {
    /// The guest address named by the fault.
    pub addr: u64,
    /// Whether the refused access was a read or a write.
    pub access: Access,
    /// Why it was refused.
    pub reason: FaultReason,
}

impl MemoryFault {
    /// The errno a host call returns for this fault: `ENOMEM` when frames
    /// ran out, `EFAULT` otherwise.
    pub fn errno(&self) -> Errno {
        match self.reason {
            FaultReason::OutOfFrames => Errno::ENOMEM,
            _ => Errno::EFAULT,
        }
    }
}

/// Errors of the MMU's control operations (map, protect, share, grant, ...).
/// An operation that returns an error changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MmuError {
    /// An address or length is not a multiple of the page size.
    #[error("address {addr:#x} or length {len:#x} is not page aligned")]
    Unaligned {
        /// The address given.
        addr: u64,
        /// The length given.
        len: u64,
    },
    /// The range does not lie below `memory.size`.
    #[error("range {addr:#x}+{len:#x} is not below the memory size {size:#x}")]
    OutOfRange {
        /// The address given.
        addr: u64,
        /// The length given.
        len: u64,
        /// The memory size in bytes.
        size: u64,
    },
    /// A page of the range is not mapped.
    #[error("page at {addr:#x} is not mapped")]
    NotMapped {
        /// The page's address.
        addr: u64,
    },
    /// Rights above what a shared mapping allows.
    #[error("rights {requested} exceed the {allowed} that the mapping at {addr:#x} allows")]
    RightsExceedMapping {
        /// The page's address.
        addr: u64,
        /// The rights asked for.
        requested: Rights,
        /// The most the mapping allows.
        allowed: Rights,
    },
    /// The operation is not permitted on a shared page (discard).
    #[error("page at {addr:#x} is shared")]
    SharedPage {
        /// The page's address.
        addr: u64,
    },
    /// A page of the range already belongs to a region.
    #[error("page at {addr:#x} already belongs to region {region}")]
    AlreadyShared {
        /// The page's address.
        addr: u64,
        /// The region it belongs to.
        region: RegionId,
    },
    /// The region's frames belong to another frame pool.
    #[error("the region belongs to another frame pool")]
    ForeignPool,
    /// The region is already mapped in this address space.
    #[error("region {0} is already mapped in this address space")]
    AlreadyMapped(RegionId),
    /// No grant lets this address space map the region with these rights.
    #[error("no grant lets this address space map region {region} with {requested}")]
    NotGranted {
        /// The region.
        region: RegionId,
        /// The rights asked for.
        requested: Rights,
    },
    /// A grant above the region's maximum rights.
    #[error("rights {requested} exceed the region's maximum {max}")]
    AboveMaxRights {
        /// The rights asked for.
        requested: Rights,
        /// The region's maximum.
        max: Rights,
    },
    /// Revoking a grant that does not exist.
    #[error("region {0} has no grant for that address space")]
    NoSuchGrant(RegionId),
    /// A rights value that is not 0, 1 or 3.
    #[error("invalid rights value {0} (expected 0, 1 or 3)")]
    InvalidRights(u32),
    /// A region size that is zero, unaligned or too large.
    #[error("invalid region size {0:#x}")]
    InvalidSize(u64),
    /// The frame pool cannot supply (or promise) the frames the operation
    /// needs.
    #[error("frame pool exhausted")]
    OutOfFrames,
    /// The space is a frozen snapshot, which cannot change.
    #[error("a frozen snapshot cannot be grown or mapped")]
    Frozen,
    /// The operation would take the tenant's memory beyond its quota.
    #[error("memory quota exceeded: {requested} more bytes asked, {used} of {limit} in use")]
    QuotaExceeded {
        /// Bytes the operation needed to reserve.
        requested: u64,
        /// Bytes already reserved against the quota.
        used: u64,
        /// The quota in bytes.
        limit: u64,
    },
    /// `grow` beyond the memory's maximum.
    #[error("memory of {current} Wasm pages cannot grow by {delta} (maximum {maximum})")]
    GrowBeyondMaximum {
        /// Current size in Wasm pages.
        current: u64,
        /// Wasm pages asked for.
        delta: u64,
        /// Maximum size in Wasm pages.
        maximum: u64,
    },
    /// Memory limits that are inconsistent or above 4 GiB.
    #[error("invalid memory limits: initial {initial}, maximum {maximum} Wasm pages")]
    InvalidLimits {
        /// Initial size in Wasm pages.
        initial: u64,
        /// Maximum size in Wasm pages.
        maximum: u64,
    },
    /// The host could not reserve the frame pool's memory.
    #[error("cannot reserve {0} bytes for the frame pool")]
    PoolReservation(u64),
    /// The host heap cannot hold an address space's translation tables or
    /// page states (of about this many bytes).
    #[error("the host cannot allocate {0} bytes for translation tables and page states")]
    HostMemory(u64),
}

impl MmuError {
    /// The errno the guest ABI returns for this error.
    pub fn errno(&self) -> Errno {
        match self {
            MmuError::Unaligned { .. }
            | MmuError::OutOfRange { .. }
            | MmuError::InvalidRights(_)
            | MmuError::InvalidSize(_)
            | MmuError::ForeignPool
            | MmuError::InvalidLimits { .. } => Errno::EINVAL,
            MmuError::NotMapped { .. } => Errno::EFAULT,
            MmuError::RightsExceedMapping { .. }
            | MmuError::NotGranted { .. }
            | MmuError::AboveMaxRights { .. } => Errno::EACCES,
            MmuError::SharedPage { .. } | MmuError::Frozen => Errno::EPERM,
            MmuError::AlreadyShared { .. } | MmuError::AlreadyMapped(_) => Errno::EBUSY,
            MmuError::NoSuchGrant(_) => Errno::ENOENT,
            MmuError::OutOfFrames
            | MmuError::QuotaExceeded { .. }
            | MmuError::GrowBeyondMaximum { .. }
            | MmuError::PoolReservation(_)
            | MmuError::HostMemory(_) => Errno::ENOMEM,
        }
    }
}

//! Page access rights and the kind of an access.

use std::fmt;

use crate::MmuError;

/// The rights an address space has on one page.
///
/// The numeric values are the guest ABI's (`NONE = 0`, `R = 1`, `RW = 3`);
/// write-only does not exist. Rights are totally ordered:
/// `None < Read < ReadWrite`, and "at most" comparisons use that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Rights {
    /// No access: every load and store traps.
    None = 0,
    /// Loads succeed, stores trap.
    Read = 1,
    /// Loads and stores succeed.
    ReadWrite = 3,
}

impl Rights {
    /// Whether these rights allow loads.
    #[inline]
    pub fn can_read(self) -> bool {
        self != Rights::None
    }

    /// Whether these rights allow stores.
    #[inline]
    pub fn can_write(self) -> bool {
        self == Rights::ReadWrite
    }

    /// Whether these rights allow `access`.
    #[inline]
    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::Read => self.can_read(),
            Access::Write => self.can_write(),
        }
    }

    /// The ABI value of these rights.
    pub fn bits(self) -> u32 {
        self as u32
    }
}

impl TryFrom<u32> for Rights {
    type Error = MmuError;

    /// Converts an ABI value; `2` (write-only) and anything above `3` are
    /// [`MmuError::InvalidRights`].
    fn try_from(bits: u32) -> Result<Self, MmuError> {
        match bits {
            0 => Ok(Rights::None),
            1 => Ok(Rights::Read),
            3 => Ok(Rights::ReadWrite),
            other => Err(MmuError::InvalidRights(other)),
        }
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rights::None => "none",
            Rights::Read => "r",
            Rights::ReadWrite => "rw",
        })
    }
}

/// Whether an access loads or stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A load, or the source side of a copy.
    Read,
    /// A store, or the destination side of a copy or fill.
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_values_round_trip_and_write_only_is_rejected() {
        for rights in [Rights::None, Rights::Read, Rights::ReadWrite] {
            assert_eq!(Rights::try_from(rights.bits()).unwrap(), rights);
        }
        assert!(matches!(
            Rights::try_from(2),
            Err(MmuError::InvalidRights(2))
        ));
        assert!(matches!(
            Rights::try_from(u32::MAX),
            Err(MmuError::InvalidRights(u32::MAX))
        ));
    }

    #[test]
    fn order_matches_inclusion() {
        assert!(Rights::None < Rights::Read && Rights::Read < Rights::ReadWrite);
        assert!(!Rights::None.can_read() && !Rights::None.can_write());
        assert!(Rights::Read.can_read() && !Rights::Read.can_write());
        assert!(Rights::ReadWrite.allows(Access::Write));
    }
}

//! The canonical state of one page of an address space.

use std::fmt;

use crate::frame_pool::FrameId;
use crate::{RegionId, Rights};

/// How a mapped page gets its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageKind {
    /// The space's own frame.
    Private,
    /// A frame of the region, shared with every space that maps it.
    Shared(RegionId),
    /// Reads as zero; a frame is allocated on the first write.
    Zero,
    /// A frame shared with clones of this space; the first write copies it.
    CopyOnWrite,
}

impl fmt::Display for PageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageKind::Private => f.write_str("private"),
            PageKind::Shared(region) => write!(f, "shared({region})"),
            PageKind::Zero => f.write_str("zero"),
            PageKind::CopyOnWrite => f.write_str("copy-on-write"),
        }
    }
}

/// A mapped page: its frame (none for [`PageKind::Zero`]), the rights the
/// space has on it, and the most `protect` may raise them to (`cap`, below
/// [`Rights::ReadWrite`] only for shared pages mapped with fewer rights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub(crate) frame: Option<FrameId>,
    pub(crate) rights: Rights,
    pub(crate) cap: Rights,
    pub(crate) kind: PageKind,
}

impl Mapping {
    /// A fresh zero page with `rights`.
    pub(crate) fn zero(rights: Rights) -> Mapping {
        Mapping {
            frame: None,
            rights,
            cap: Rights::ReadWrite,
            kind: PageKind::Zero,
        }
    }

    /// A private page on `frame`.
    pub(crate) fn private(frame: FrameId, rights: Rights) -> Mapping {
        Mapping {
            frame: Some(frame),
            rights,
            cap: Rights::ReadWrite,
            kind: PageKind::Private,
        }
    }

    /// Whether a write must go through the slow path to get a frame of
    /// the space's own first.
    pub(crate) fn needs_frame_for_write(&self) -> bool {
        matches!(self.kind, PageKind::Zero | PageKind::CopyOnWrite)
    }
}

/// One page: unmapped, or mapped.
pub(crate) type Page = Option<Mapping>;

/// What [`crate::AddressSpace::page_info`] reports of a mapped page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageInfo {
    /// The space's rights on the page.
    pub rights: Rights,
    /// How the page gets its contents.
    pub kind: PageKind,
}

/// A run of consecutive pages in the same state, as the memory map shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRun {
    /// Address of the first byte of the run.
    pub start: u64,
    /// Address one past the last byte of the run.
    pub end: u64,
    /// The pages' state, `None` if unmapped.
    pub page: Option<PageInfo>,
}

impl fmt::Display for MapRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}-{:#010x} ", self.start, self.end)?;
        match self.page {
            None => f.write_str("unmapped"),
            Some(info) => write!(f, "{:<4} {}", info.rights.to_string(), info.kind),
        }
    }
}

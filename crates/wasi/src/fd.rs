//! The file descriptor table: what each guest fd number stands for, with
//! its rights and flags.
//!
//! ```text
//!  fd 0 stdin ── StdinState      fd 3.. preopens ── Dir (host directory handle)
//!  fd 1 stdout ─ OutputSink      later fds ──────── File | Dir (host handles)
//!  fd 2 stderr ─ OutputSink
//! ```
//!
//! A directory descriptor holds an open host directory (a `cap_std` `Dir`),
//! never a path: every path operation is resolved by the kernel relative to
//! that handle and cannot leave it (see [`crate::path`]). A directory
//! removed or replaced after it was opened stays the directory the handle
//! refers to, as with any POSIX descriptor.

use std::fs::File;
use std::sync::Arc;

use cap_std::fs::Dir;

use crate::abi::filetype;
use crate::errno::{self, Errno};
use crate::stdio::{OutputSink, StdinState};

/// The default of the most descriptors a guest may have open at once,
/// standard streams and preopens included (`MFILE` beyond).
pub(crate) const DEFAULT_MAX_FDS: usize = 1024;

/// One directory entry, as `fd_readdir` serializes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirEntryInfo {
    pub(crate) name: Vec<u8>,
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
}

/// A directory descriptor: an open host directory.
#[derive(Debug)]
pub(crate) struct DirFd {
    /// The host directory. Paths relative to this descriptor are resolved
    /// beneath it, never outside.
    pub(crate) dir: Dir,
    /// The guest name of the preopen, when this descriptor is one.
    pub(crate) preopen: Option<String>,
}

/// What a descriptor refers to.
#[derive(Debug)]
pub(crate) enum FdKind {
    /// The guest's stdin.
    Stdin(StdinState),
    /// The guest's stdout or stderr.
    Output(OutputSink),
    /// An open regular file.
    File(File),
    /// A directory in a sandbox.
    Dir(DirFd),
}

/// An open descriptor.
#[derive(Debug)]
pub(crate) struct FdEntry {
    pub(crate) kind: FdKind,
    /// Rights of operations on this descriptor.
    pub(crate) rights_base: u64,
    /// Rights that descriptors opened through this one may have.
    pub(crate) rights_inheriting: u64,
    /// `fdflags` (append is emulated: writes go to the end of the file).
    pub(crate) flags: u16,
}

impl FdEntry {
    /// The `filetype` of the descriptor.
    pub(crate) fn filetype(&self) -> u8 {
        match &self.kind {
            FdKind::Stdin(stdin) if stdin.is_inherited() => filetype::CHARACTER_DEVICE,
            FdKind::Output(sink) if sink.is_inherited() => filetype::CHARACTER_DEVICE,
            FdKind::Stdin(_) | FdKind::Output(_) => filetype::UNKNOWN,
            FdKind::File(_) => filetype::REGULAR_FILE,
            FdKind::Dir(_) => filetype::DIRECTORY,
        }
    }
}

/// The entries of the directory `fd_readdir` listed last, so that its
/// cookies stay stable between calls.
#[derive(Debug)]
pub(crate) struct Listing {
    /// The descriptor listed.
    pub(crate) fd: u32,
    /// `.`, `..`, then the entries sorted by name.
    pub(crate) entries: Arc<[DirEntryInfo]>,
}

/// The guest's descriptors, by number.
#[derive(Debug)]
pub(crate) struct FdTable {
    slots: Vec<Option<FdEntry>>,
    /// Descriptors open now.
    open: usize,
    /// The most descriptors that may be open at once.
    limit: usize,
    /// One cached listing for the whole table, not one per descriptor, so
    /// that a guest opening many directories cannot make the host hold
    /// many listings.
    pub(crate) listing: Option<Listing>,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable::new(DEFAULT_MAX_FDS)
    }
}

impl FdTable {
    /// An empty table that holds at most `limit` open descriptors.
    pub(crate) fn new(limit: usize) -> FdTable {
        FdTable {
            slots: Vec::new(),
            open: 0,
            limit,
            listing: None,
        }
    }

    /// The descriptor `fd` (`BADF` if it is not open).
    pub(crate) fn get(&mut self, fd: u32) -> Result<&mut FdEntry, Errno> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(errno::BADF)
    }

    /// The descriptor `fd`, which must have every right of `rights`
    /// (`NOTCAPABLE` otherwise).
    pub(crate) fn require(&mut self, fd: u32, rights: u64) -> Result<&mut FdEntry, Errno> {
        let entry = self.get(fd)?;
        if entry.rights_base & rights != rights {
            return Err(errno::NOTCAPABLE);
        }
        Ok(entry)
    }

    /// The directory descriptor `fd` with `rights`: `NOTDIR` if `fd` is
    /// open but not a directory.
    pub(crate) fn dir(&self, fd: u32, rights: u64) -> Result<(&DirFd, u64), Errno> {
        let entry = self
            .slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(errno::BADF)?;
        let inheriting = entry.rights_inheriting;
        let has_rights = entry.rights_base & rights == rights;
        match &entry.kind {
            FdKind::Dir(dir) if has_rights => Ok((dir, inheriting)),
            FdKind::Dir(_) => Err(errno::NOTCAPABLE),
            _ => Err(errno::NOTDIR),
        }
    }

    /// `MFILE` if no descriptor can be opened: checked before a call
    /// creates anything, so that a full table fails without side effects.
    pub(crate) fn check_room(&self) -> Result<(), Errno> {
        if self.open >= self.limit {
            return Err(errno::MFILE);
        }
        Ok(())
    }

    /// Opens a descriptor at the lowest free number: `MFILE` when the
    /// limit's worth are open.
    pub(crate) fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        self.check_room()?;
        Ok(self.insert_unlimited(entry))
    }

    /// Opens a descriptor whatever the limit: for the standard streams and
    /// preopens, which the embedder chose.
    pub(crate) fn insert_unlimited(&mut self, entry: FdEntry) -> u32 {
        self.open += 1;
        if let Some(free) = self.slots.iter().position(Option::is_none) {
            self.slots[free] = Some(entry);
            return free as u32;
        }
        self.slots.push(Some(entry));
        self.slots.len() as u32 - 1
    }

    /// Closes `fd`, giving back what it referred to.
    pub(crate) fn remove(&mut self, fd: u32) -> Result<FdEntry, Errno> {
        let entry = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(errno::BADF)?;
        self.open -= 1;
        if self.listing.as_ref().is_some_and(|l| l.fd == fd) {
            self.listing = None;
        }
        // Trailing free slots are dropped, so the table shrinks back.
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        Ok(entry)
    }

    /// Moves descriptor `from` to number `to`, closing what `to` held:
    /// `BADF` unless both are open. The cached listing follows neither.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(to)?;
        self.get(from)?;
        if from == to {
            return Ok(());
        }
        let entry = self.remove(from)?;
        if self.listing.as_ref().is_some_and(|l| l.fd == to) {
            self.listing = None;
        }
        // `to` is still open (`remove` drops only free slots at the end),
        // so this replaces it: one descriptor fewer in all.
        let slot = self.slots.get_mut(to as usize).ok_or(errno::BADF)?;
        *slot = Some(entry);
        Ok(())
    }

    /// Open descriptors, by number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &FdEntry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(fd, slot)| slot.as_ref().map(|entry| (fd as u32, entry)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdio::Input;

    fn stdin_entry() -> FdEntry {
        FdEntry {
            kind: FdKind::Stdin(StdinState::new(Input::Empty)),
            rights_base: crate::abi::rights::FD_READ,
            rights_inheriting: 0,
            flags: 0,
        }
    }

    #[test]
    fn numbers_are_reused_lowest_first_and_limited() {
        let mut table = FdTable::new(8);
        assert_eq!(table.insert(stdin_entry()), Ok(0));
        assert_eq!(table.insert(stdin_entry()), Ok(1));
        assert_eq!(table.insert(stdin_entry()), Ok(2));
        table.remove(1).unwrap();
        assert_eq!(table.remove(1).err(), Some(errno::BADF));
        assert_eq!(table.insert(stdin_entry()), Ok(1));
        while table.insert(stdin_entry()).is_ok() {}
        assert_eq!(table.iter().count(), 8);
        assert_eq!(table.insert(stdin_entry()).err(), Some(errno::MFILE));
        // The standard streams and preopens go in whatever the limit.
        assert_eq!(table.insert_unlimited(stdin_entry()), 8);
        table.remove(8).unwrap();
        table.remove(3).unwrap();
        assert_eq!(table.insert(stdin_entry()), Ok(3));
    }

    #[test]
    fn renumbering_moves_a_descriptor_over_another() {
        let mut table = FdTable::new(4);
        for _ in 0..4 {
            table.insert(stdin_entry()).unwrap();
        }
        table.get(3).unwrap().flags = 7;
        assert_eq!(table.renumber(3, 9), Err(errno::BADF));
        assert_eq!(table.renumber(9, 1), Err(errno::BADF));
        assert_eq!(table.renumber(2, 2), Ok(()));
        assert_eq!(table.renumber(3, 1), Ok(()));
        assert_eq!(table.get(1).unwrap().flags, 7);
        assert_eq!(table.get(3).err(), Some(errno::BADF));
        assert_eq!(table.iter().count(), 3);
        // One slot is free again, and only one.
        assert_eq!(table.insert(stdin_entry()), Ok(3));
        assert_eq!(table.insert(stdin_entry()).err(), Some(errno::MFILE));
        // Moving the last descriptor down shrinks the table.
        assert_eq!(table.renumber(3, 0), Ok(()));
        assert_eq!(table.insert(stdin_entry()), Ok(3));
    }

    #[test]
    fn rights_are_required() {
        let mut table = FdTable::default();
        table.insert(stdin_entry()).unwrap();
        assert!(table.require(0, crate::abi::rights::FD_READ).is_ok());
        assert_eq!(
            table.require(0, crate::abi::rights::FD_WRITE).err(),
            Some(errno::NOTCAPABLE)
        );
        assert_eq!(table.get(7).err(), Some(errno::BADF));
        assert_eq!(table.dir(0, 0).err(), Some(errno::NOTDIR));
    }
}

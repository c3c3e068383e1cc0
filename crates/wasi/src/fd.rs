//! The file descriptor table: what each guest fd number stands for, with
//! its rights and flags.
//!
//! ```text
//!  fd 0 stdin ── StdinState      fd 3.. preopens ── Dir { root, rel: [] }
//!  fd 1 stdout ─ OutputSink      later fds ──────── File | Dir { root, rel: [a, b] }
//!  fd 2 stderr ─ OutputSink
//! ```
//!
//! A directory descriptor names its place as a preopen root plus
//! components below it (see [`crate::path`]); it holds no host handle, so
//! every path operation is resolved again inside the sandbox.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::abi::filetype;
use crate::errno::{self, Errno};
use crate::stdio::{OutputSink, StdinState};

/// The most descriptors a guest may have open at once (`MFILE` beyond).
pub(crate) const MAX_FDS: usize = 1024;

/// One directory entry, as `fd_readdir` serializes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirEntryInfo {
    pub(crate) name: Vec<u8>,
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
}

/// A directory descriptor: a place in a preopen's sandbox.
#[derive(Debug)]
pub(crate) struct DirFd {
    /// The canonical host path of the preopen this directory lies in.
    pub(crate) root: Arc<Path>,
    /// Components from the root to this directory; none is `.`, `..` or a
    /// symbolic link (checked when the directory was opened).
    pub(crate) rel: Vec<OsString>,
    /// The guest name of the preopen, when this descriptor is one.
    pub(crate) preopen: Option<String>,
    /// The entries of the last listing, so that `fd_readdir` cookies stay
    /// stable between calls; refreshed when a listing starts at cookie 0.
    pub(crate) listing: Option<Arc<[DirEntryInfo]>>,
}

impl DirFd {
    /// The directory's host path.
    pub(crate) fn host_path(&self) -> PathBuf {
        let mut path = self.root.to_path_buf();
        path.extend(&self.rel);
        path
    }
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

/// The guest's descriptors, by number.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<FdEntry>>,
}

impl FdTable {
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
    pub(crate) fn dir(&mut self, fd: u32, rights: u64) -> Result<(&mut DirFd, u64), Errno> {
        let entry = self.get(fd)?;
        let inheriting = entry.rights_inheriting;
        let has_rights = entry.rights_base & rights == rights;
        match &mut entry.kind {
            FdKind::Dir(dir) if has_rights => Ok((dir, inheriting)),
            FdKind::Dir(_) => Err(errno::NOTCAPABLE),
            _ => Err(errno::NOTDIR),
        }
    }

    /// Opens a descriptor at the lowest free number.
    pub(crate) fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        if let Some(free) = self.slots.iter().position(Option::is_none) {
            self.slots[free] = Some(entry);
            return Ok(free as u32);
        }
        if self.slots.len() >= MAX_FDS {
            return Err(errno::MFILE);
        }
        self.slots.push(Some(entry));
        Ok(self.slots.len() as u32 - 1)
    }

    /// Closes `fd`, giving back what it referred to.
    pub(crate) fn remove(&mut self, fd: u32) -> Result<FdEntry, Errno> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(errno::BADF)
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
        let mut table = FdTable::default();
        assert_eq!(table.insert(stdin_entry()), Ok(0));
        assert_eq!(table.insert(stdin_entry()), Ok(1));
        assert_eq!(table.insert(stdin_entry()), Ok(2));
        table.remove(1).unwrap();
        assert_eq!(table.remove(1).err(), Some(errno::BADF));
        assert_eq!(table.insert(stdin_entry()), Ok(1));
        while table.insert(stdin_entry()).is_ok() {}
        assert_eq!(table.iter().count(), MAX_FDS);
        assert_eq!(table.insert(stdin_entry()).err(), Some(errno::MFILE));
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

//! The preview-1 ABI's types as the guest sees them: flag bits, enum
//! values and the byte layout of the structures the host writes.
//!
//! Layouts are those of the witx (little endian, natural alignment):
//!
//! ```text
//!  iovec / ciovec  8 bytes   buf u32 @0, len u32 @4
//!  fdstat         24 bytes   filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16
//!  filestat       64 bytes   dev @0, ino @8, filetype u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56
//!  dirent         24 bytes   d_next @0, d_ino @8, d_namlen u32 @16, d_type u8 @20; the name follows
//!  prestat         8 bytes   tag u8 @0 (0 = dir), name_len u32 @4
//!  subscription   48 bytes   userdata @0, tag u8 @8, body @16
//!                              clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40
//!                              fd_read/fd_write: fd u32 @16
//!  event          32 bytes   userdata @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24
//! ```

/// `filetype`: the type of a file descriptor or file.
pub(crate) mod filetype {
    pub(crate) const UNKNOWN: u8 = 0;
    pub(crate) const BLOCK_DEVICE: u8 = 1;
    pub(crate) const CHARACTER_DEVICE: u8 = 2;
    pub(crate) const DIRECTORY: u8 = 3;
    pub(crate) const REGULAR_FILE: u8 = 4;
    pub(crate) const SOCKET_STREAM: u8 = 6;
    pub(crate) const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags`: file descriptor flags.
pub(crate) mod fdflags {
    pub(crate) const APPEND: u16 = 1 << 0;
    pub(crate) const DSYNC: u16 = 1 << 1;
    pub(crate) const NONBLOCK: u16 = 1 << 2;
    pub(crate) const RSYNC: u16 = 1 << 3;
    pub(crate) const SYNC: u16 = 1 << 4;
    pub(crate) const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags`: how `path_open` opens or creates a file.
pub(crate) mod oflags {
    pub(crate) const CREAT: u16 = 1 << 0;
    pub(crate) const DIRECTORY: u16 = 1 << 1;
    pub(crate) const EXCL: u16 = 1 << 2;
    pub(crate) const TRUNC: u16 = 1 << 3;
    pub(crate) const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags`: whether the last component of a path is followed if
/// it is a symbolic link.
pub(crate) const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `fstflags`: which timestamps `*_filestat_set_times` change, and
/// whether to the given time or to the current time.
pub(crate) mod fstflags {
    pub(crate) const ATIM: u16 = 1 << 0;
    pub(crate) const ATIM_NOW: u16 = 1 << 1;
    pub(crate) const MTIM: u16 = 1 << 2;
    pub(crate) const MTIM_NOW: u16 = 1 << 3;
    pub(crate) const ALL: u16 = ATIM | ATIM_NOW | MTIM | MTIM_NOW;
}

/// `advice`: the largest valid value (`noreuse`, 5).
pub(crate) const ADVICE_MAX: u32 = 5;

/// `whence`: the base of `fd_seek`.
pub(crate) mod whence {
    pub(crate) const SET: u8 = 0;
    pub(crate) const CUR: u8 = 1;
    pub(crate) const END: u8 = 2;
}

/// `clockid`.
pub(crate) mod clockid {
    pub(crate) const REALTIME: u32 = 0;
    pub(crate) const MONOTONIC: u32 = 1;
    pub(crate) const PROCESS_CPUTIME: u32 = 2;
    pub(crate) const THREAD_CPUTIME: u32 = 3;
}

/// `eventtype`: what a subscription waits for.
pub(crate) mod eventtype {
    pub(crate) const CLOCK: u8 = 0;
    pub(crate) const FD_READ: u8 = 1;
    pub(crate) const FD_WRITE: u8 = 2;
}

/// `subclockflags`: the clock subscription's timeout is absolute.
pub(crate) const SUBCLOCK_ABSTIME: u16 = 1;

/// `rights`: what a file descriptor may be used for.
pub(crate) mod rights {
    pub(crate) const FD_DATASYNC: u64 = 1 << 0;
    pub(crate) const FD_READ: u64 = 1 << 1;
    pub(crate) const FD_SEEK: u64 = 1 << 2;
    pub(crate) const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub(crate) const FD_SYNC: u64 = 1 << 4;
    pub(crate) const FD_TELL: u64 = 1 << 5;
    pub(crate) const FD_WRITE: u64 = 1 << 6;
    pub(crate) const FD_ADVISE: u64 = 1 << 7;
    pub(crate) const FD_ALLOCATE: u64 = 1 << 8;
    pub(crate) const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub(crate) const PATH_CREATE_FILE: u64 = 1 << 10;
    pub(crate) const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub(crate) const PATH_LINK_TARGET: u64 = 1 << 12;
    pub(crate) const PATH_OPEN: u64 = 1 << 13;
    pub(crate) const FD_READDIR: u64 = 1 << 14;
    pub(crate) const PATH_READLINK: u64 = 1 << 15;
    pub(crate) const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub(crate) const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub(crate) const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub(crate) const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub(crate) const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub(crate) const FD_FILESTAT_GET: u64 = 1 << 21;
    pub(crate) const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub(crate) const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub(crate) const PATH_SYMLINK: u64 = 1 << 24;
    pub(crate) const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub(crate) const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub(crate) const POLL_FD_READWRITE: u64 = 1 << 27;

    /// What a regular file descriptor may have.
    pub(crate) const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;

    /// What a directory descriptor may have.
    pub(crate) const DIRECTORY: u64 = FD_DATASYNC
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;

    /// What stdin may have.
    pub(crate) const STDIN: u64 =
        FD_READ | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;

    /// What stdout and stderr may have.
    pub(crate) const STDOUT: u64 = FD_WRITE
        | FD_DATASYNC
        | FD_SYNC
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE;
}

/// Size of an `iovec`/`ciovec`.
pub(crate) const IOVEC_SIZE: u64 = 8;
/// Size of an `fdstat`.
pub(crate) const FDSTAT_SIZE: u64 = 24;
/// Size of a `filestat`.
pub(crate) const FILESTAT_SIZE: u64 = 64;
/// Size of a `dirent` header (the name follows it).
pub(crate) const DIRENT_SIZE: usize = 24;
/// Size of a `prestat`.
pub(crate) const PRESTAT_SIZE: u64 = 8;
/// Size of a `subscription`.
pub(crate) const SUBSCRIPTION_SIZE: u64 = 48;
/// Size of an `event`.
pub(crate) const EVENT_SIZE: u64 = 32;

/// A `filestat`, ready to be serialized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filestat {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) atim: u64,
    pub(crate) mtim: u64,
    pub(crate) ctim: u64,
}

impl Filestat {
    /// The guest's bytes of this `filestat`.
    pub(crate) fn to_bytes(self) -> [u8; FILESTAT_SIZE as usize] {
        let mut out = [0u8; FILESTAT_SIZE as usize];
        out[0..8].copy_from_slice(&self.dev.to_le_bytes());
        out[8..16].copy_from_slice(&self.ino.to_le_bytes());
        out[16] = self.filetype;
        out[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        out[32..40].copy_from_slice(&self.size.to_le_bytes());
        out[40..48].copy_from_slice(&self.atim.to_le_bytes());
        out[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        out[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        out
    }
}

/// An `fdstat`, ready to be serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fdstat {
    pub(crate) filetype: u8,
    pub(crate) flags: u16,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
}

impl Fdstat {
    /// The guest's bytes of this `fdstat`.
    pub(crate) fn to_bytes(self) -> [u8; FDSTAT_SIZE as usize] {
        let mut out = [0u8; FDSTAT_SIZE as usize];
        out[0] = self.filetype;
        out[2..4].copy_from_slice(&self.flags.to_le_bytes());
        out[8..16].copy_from_slice(&self.rights_base.to_le_bytes());
        out[16..24].copy_from_slice(&self.rights_inheriting.to_le_bytes());
        out
    }
}

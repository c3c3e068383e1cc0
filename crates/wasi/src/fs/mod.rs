//! The file system functions: descriptors (`fd_*`), directory listings
//! and paths (`path_*`), all inside the preopened sandboxes.
//!
//! ```text
//!  io.rs       fd_read fd_write fd_pread fd_pwrite fd_seek fd_tell fd_sync fd_datasync
//!  fdstat.rs   fd_close fd_renumber fd_fdstat_get fd_fdstat_set_flags fd_fdstat_set_rights
//!              fd_filestat_get fd_prestat_*
//!  filestat.rs fd_filestat_set_size fd_filestat_set_times path_filestat_set_times
//!              fd_advise fd_allocate
//!  readdir.rs  fd_readdir
//!  paths.rs    path_open path_filestat_get path_create_directory path_remove_directory
//!              path_unlink_file path_rename path_link path_readlink path_symlink
//! ```

pub(crate) mod fdstat;
pub(crate) mod filestat;
pub(crate) mod io;
pub(crate) mod paths;
pub(crate) mod readdir;

use cap_std::fs::{FileType, FileTypeExt, Metadata, MetadataExt};

use crate::abi::{filetype, Filestat};

/// The `filetype` of a host file type (symlinks are not followed).
pub(crate) fn filetype_of(ty: FileType) -> u8 {
    if ty.is_dir() {
        filetype::DIRECTORY
    } else if ty.is_file() {
        filetype::REGULAR_FILE
    } else if ty.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ty.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ty.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ty.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

/// The `filestat` of host metadata (of a path beneath a directory handle,
/// or of an open file through [`Metadata::from_file`]).
pub(crate) fn filestat_of(meta: &Metadata) -> Filestat {
    let nanos = |secs: i64, nsecs: i64| -> u64 {
        u64::try_from(secs)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .and_then(|ns| ns.checked_add(u64::try_from(nsecs).unwrap_or(0)))
            .unwrap_or(0)
    };
    Filestat {
        dev: meta.dev(),
        ino: meta.ino(),
        filetype: filetype_of(meta.file_type()),
        nlink: meta.nlink(),
        size: meta.size(),
        atim: nanos(meta.atime(), meta.atime_nsec()),
        mtim: nanos(meta.mtime(), meta.mtime_nsec()),
        ctim: nanos(meta.ctime(), meta.ctime_nsec()),
    }
}

//! Path operations relative to a directory descriptor: `path_open`,
//! `path_filestat_get`, `path_create_directory`, `path_remove_directory`,
//! `path_unlink_file`, `path_rename`, `path_link`, `path_readlink`,
//! `path_symlink`.
//!
//! Every operation is a call on the descriptor's host directory handle
//! with the guest's relative path (see [`crate::path`]): the kernel
//! resolves it beneath the handle, so nothing outside the descriptor's
//! directory is ever reached, whatever the tree looks like at that moment.

use std::io;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, Metadata, OpenOptions, OpenOptionsExt};

use crate::abi::{fdflags, oflags, rights, LOOKUP_SYMLINK_FOLLOW};
use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};
use crate::fd::{DirFd, FdEntry, FdKind};
use crate::fs::filestat_of;
use crate::path::{self, host_errno, GuestPath};

fn io_errno(error: io::Error) -> Errno {
    host_errno(&error)
}

/// Reads the path argument at `(ptr, len)` and finds directory descriptor
/// `fd`, which must have `needed` rights: the directory, the path, and
/// the rights the directory hands on.
fn dir_and_path<'c>(
    call: &'c mut Call<'_>,
    fd: u32,
    needed: u64,
    (ptr, len): (u64, u32),
) -> Result<(&'c Dir, String, u64), Errno> {
    let path = call.mem.read_path(ptr, len)?;
    let (dir, inheritable) = call.ctx.fds.dir(fd, needed)?;
    Ok((&dir.dir, path, inheritable))
}

/// The host metadata of `path` beneath `dir` (following a final symlink
/// when `follow` is set), `None` if nothing is there.
fn lookup(dir: &Dir, path: &GuestPath<'_>, follow: bool) -> Result<Option<Metadata>, Errno> {
    let meta = if follow || path.trailing_slash {
        dir.metadata(path.path)
    } else {
        dir.symlink_metadata(path.path)
    };
    match meta {
        Ok(meta) => Ok(Some(meta)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_errno(error)),
    }
}

/// `path_open(fd, dirflags, path, path_len, oflags, rights_base: i64,
/// rights_inheriting: i64, fdflags, opened_fd_ptr)`.
///
/// The new descriptor's rights are those asked for, limited by what the
/// directory may hand on and by what the file type allows. Asking for
/// `fd_write` on a directory fails with `ISDIR`, as in wasmtime (and as
/// `open(2)` of a directory for writing). A file is
/// opened for writing when `fd_write` is asked for (or `append`/`trunc`),
/// for reading otherwise. Only regular files and directories can be
/// opened (`NOTSUP` for devices, sockets and pipes, which could block).
pub(crate) fn path_open(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, dirflags, path_arg) = (args.u32(0)?, args.u32(1)?, (args.ptr(2)?, args.u32(3)?));
    let open_flags = u16::try_from(args.u32(4)?).map_err(|_| errno::INVAL)?;
    let (asked_base, asked_inheriting) = (args.u64(5)?, args.u64(6)?);
    let fd_flags = u16::try_from(args.u32(7)?).map_err(|_| errno::INVAL)?;
    let result_ptr = args.ptr(8)?;
    if open_flags & !oflags::ALL != 0 || fd_flags & !fdflags::ALL != 0 {
        return Err(errno::INVAL);
    }
    let has = |flag: u16| open_flags & flag != 0;
    let mut needed = rights::PATH_OPEN;
    if has(oflags::CREAT) {
        needed |= rights::PATH_CREATE_FILE;
    }
    if has(oflags::TRUNC) {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let create_new = has(oflags::CREAT) && has(oflags::EXCL);
    // O_CREAT|O_EXCL never follows a final symlink (it must fail instead).
    let follow = dirflags & LOOKUP_SYMLINK_FOLLOW != 0 && !create_new;
    // Check the result pointer and room in the table before anything is
    // created.
    call.mem.check_write(result_ptr, 4)?;
    call.ctx.fds.check_room()?;
    let (dir, text, inheritable) = dir_and_path(call, fd, needed, path_arg)?;
    let path = GuestPath::parse(&text)?;
    let base = asked_base & inheritable;
    let inheriting = asked_inheriting & inheritable;
    let writes =
        base & rights::FD_WRITE != 0 || fd_flags & fdflags::APPEND != 0 || has(oflags::TRUNC);
    let mode = Mode {
        read: base & rights::FD_READ != 0 || !writes,
        write: writes,
        follow: follow || path.trailing_slash,
    };

    // The lookup picks how to open; the open itself is resolved again
    // beneath the handle, and what it opened is checked once more, so a
    // tree changed in between gives an error, never an escape.
    let kind = match lookup(dir, &path, mode.follow)? {
        Some(meta) if meta.file_type().is_symlink() => {
            return Err(if create_new {
                errno::EXIST
            } else {
                errno::LOOP
            })
        }
        Some(_) if create_new => return Err(errno::EXIST),
        Some(meta) if meta.is_dir() => {
            // A directory cannot be written, truncated or appended to.
            if mode.write {
                return Err(errno::ISDIR);
            }
            let opened = if mode.follow {
                dir.open_dir(path.path)
            } else {
                dir.open_dir_nofollow(path.path)
            };
            FdKind::Dir(DirFd {
                dir: opened.map_err(io_errno)?,
                preopen: None,
            })
        }
        Some(_) if has(oflags::DIRECTORY) => return Err(errno::NOTDIR),
        Some(meta) if !meta.is_file() => return Err(errno::NOTSUP),
        Some(_) => FdKind::File(open_file(dir, &path, mode, open_flags)?),
        None if !has(oflags::CREAT) => return Err(errno::NOENT),
        None if has(oflags::DIRECTORY) => return Err(errno::INVAL),
        None if path.trailing_slash => return Err(errno::ISDIR),
        None => {
            path.require_name()?;
            FdKind::File(open_file(dir, &path, mode, open_flags)?)
        }
    };
    let type_rights = match kind {
        FdKind::Dir(_) => rights::DIRECTORY,
        _ => rights::FILE,
    };
    let opened = call.ctx.fds.insert(FdEntry {
        kind,
        rights_base: base & type_rights,
        rights_inheriting: inheriting,
        flags: fd_flags,
    })?;
    if let Err(error) = call.mem.write_u32(result_ptr, opened) {
        let _ = call.ctx.fds.remove(opened);
        return Err(error);
    }
    Ok(())
}

/// How a file is opened.
#[derive(Clone, Copy)]
struct Mode {
    read: bool,
    write: bool,
    /// Whether a final symlink is followed.
    follow: bool,
}

impl Mode {
    /// The same with host write access.
    fn with_write(self) -> Mode {
        Mode {
            write: true,
            ..self
        }
    }
}

/// Opens (or creates) the regular file at `path` beneath `dir`.
///
/// POSIX creates files for reading only (`O_RDONLY | O_CREAT`), which
/// std-style open options refuse: such a file is created with host write
/// access instead (the guest's descriptor still has no write right), and
/// one that exists by then is opened as asked.
fn open_file(
    dir: &Dir,
    path: &GuestPath<'_>,
    mode: Mode,
    open_flags: u16,
) -> Result<std::fs::File, Errno> {
    let has = |flag: u16| open_flags & flag != 0;
    let (create, exclusive) = (has(oflags::CREAT), has(oflags::EXCL));
    let truncate = has(oflags::TRUNC);
    let file = if create && !mode.write {
        match open_host(dir, path, mode.with_write(), (false, true, truncate)) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && !exclusive => {
                open_host(dir, path, mode, (false, false, truncate))
            }
            other => other,
        }
    } else {
        open_host(
            dir,
            path,
            mode,
            (create && !exclusive, create && exclusive, truncate),
        )
    };
    let file = file.map_err(io_errno)?;
    // Something other than a regular file may have appeared since the
    // lookup; refuse it rather than hand the guest a directory as a file.
    let meta = file.metadata().map_err(io_errno)?;
    if meta.is_dir() {
        return Err(errno::ISDIR);
    }
    if !meta.is_file() {
        return Err(errno::NOTSUP);
    }
    Ok(file)
}

/// One host open beneath `dir` with `(create, create_new, truncate)`.
fn open_host(
    dir: &Dir,
    path: &GuestPath<'_>,
    mode: Mode,
    (create, create_new, truncate): (bool, bool, bool),
) -> io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options
        .read(mode.read)
        .write(mode.write)
        .create(create)
        .create_new(create_new)
        .truncate(truncate)
        .follow(if mode.follow {
            FollowSymlinks::Yes
        } else {
            FollowSymlinks::No
        })
        // A FIFO swapped in since the lookup must not block the host
        // thread in open; the caller refuses it.
        .custom_flags(libc::O_NONBLOCK);
    Ok(dir.open_with(path.path, &options)?.into_std())
}

/// `path_filestat_get(fd, lookupflags, path, path_len, filestat_ptr)`.
pub(crate) fn path_filestat_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, flags, path_arg, result_ptr) = (
        args.u32(0)?,
        args.u32(1)?,
        (args.ptr(2)?, args.u32(3)?),
        args.ptr(4)?,
    );
    let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
    let (dir, text, _) = dir_and_path(call, fd, rights::PATH_FILESTAT_GET, path_arg)?;
    let path = GuestPath::parse(&text)?;
    let meta = lookup(dir, &path, follow)?.ok_or(errno::NOENT)?;
    let stat = filestat_of(&meta);
    call.mem.write(result_ptr, &stat.to_bytes())
}

/// `path_create_directory(fd, path, path_len)`.
pub(crate) fn path_create_directory(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let (dir, text, _) = dir_and_path(call, args.u32(0)?, rights::PATH_CREATE_DIRECTORY, path_arg)?;
    let path = GuestPath::parse(&text)?;
    if path.require_name().is_err() {
        // `.` or `..`: it exists.
        return Err(errno::EXIST);
    }
    dir.create_dir(path.path).map_err(io_errno)
}

/// `path_remove_directory(fd, path, path_len)`.
pub(crate) fn path_remove_directory(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let (dir, text, _) = dir_and_path(call, args.u32(0)?, rights::PATH_REMOVE_DIRECTORY, path_arg)?;
    let path = GuestPath::parse(&text)?;
    path.require_name()?;
    dir.remove_dir(path.path).map_err(io_errno)
}

/// `path_unlink_file(fd, path, path_len)`: removes a file or a symlink
/// (never what the link points to).
pub(crate) fn path_unlink_file(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let (dir, text, _) = dir_and_path(call, args.u32(0)?, rights::PATH_UNLINK_FILE, path_arg)?;
    let path = GuestPath::parse(&text)?;
    if path.require_name().is_err() {
        return Err(errno::ISDIR);
    }
    if path.trailing_slash {
        // `f/` names a directory: never a file to unlink.
        return match lookup(dir, &path, false)? {
            None => Err(errno::NOENT),
            Some(meta) if meta.is_dir() => Err(errno::ISDIR),
            Some(_) => Err(errno::NOTDIR),
        };
    }
    dir.remove_file(path.path).map_err(io_errno)
}

/// `path_rename(fd, old_path, old_path_len, new_fd, new_path,
/// new_path_len)`: both ends must lie beneath the directories of their
/// descriptors (different host file systems give `XDEV`).
pub(crate) fn path_rename(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (from_fd, to_fd) = (args.u32(0)?, args.u32(3)?);
    let from_text = call.mem.read_path(args.ptr(1)?, args.u32(2)?)?;
    let to_text = call.mem.read_path(args.ptr(4)?, args.u32(5)?)?;
    let (from_dir, _) = call.ctx.fds.dir(from_fd, rights::PATH_RENAME_SOURCE)?;
    let (to_dir, _) = call.ctx.fds.dir(to_fd, rights::PATH_RENAME_TARGET)?;
    let (from, to) = (GuestPath::parse(&from_text)?, GuestPath::parse(&to_text)?);
    from.require_name()?;
    to.require_name()?;
    from_dir
        .dir
        .rename(from.path, &to_dir.dir, to.path)
        .map_err(io_errno)
}

/// `path_readlink(fd, path, path_len, buf, buf_len, bufused_ptr)`: the
/// link's text, cut at `buf_len`, not NUL-terminated.
pub(crate) fn path_readlink(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let (buf, buf_len, bufused_ptr) = (args.ptr(3)?, args.u32(4)?, args.ptr(5)?);
    call.mem
        .check_write_ranges(&[(buf, u64::from(buf_len)), (bufused_ptr, 4)])?;
    let (dir, text, _) = dir_and_path(call, args.u32(0)?, rights::PATH_READLINK, path_arg)?;
    let path = GuestPath::parse(&text)?;
    // The text as it is, even an absolute one the host planted: reading
    // it reaches nothing.
    let target = dir.read_link_contents(path.path).map_err(io_errno)?;
    let bytes = target.as_os_str().as_encoded_bytes();
    let n = bytes.len().min(buf_len as usize);
    call.mem.write(buf, &bytes[..n])?;
    call.mem.write_u32(bufused_ptr, n as u32)
}

/// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len)`:
/// creates a link at `new_path` whose text is `old_path`. The text must be
/// relative and stay beneath the descriptor's directory when read
/// lexically from the link's directory ([`path::ESCAPE`] otherwise). The
/// sandbox does not depend on this check (links are resolved beneath the
/// handle when used); it keeps guests from leaving obvious links to the
/// host's files for the host's own tools.
pub(crate) fn path_symlink(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let target = call.mem.read_path(args.ptr(0)?, args.u32(1)?)?;
    let path_arg = (args.ptr(3)?, args.u32(4)?);
    let (dir, text, _) = dir_and_path(call, args.u32(2)?, rights::PATH_SYMLINK, path_arg)?;
    let path = GuestPath::parse(&text)?;
    if path.require_name().is_err() {
        return Err(errno::EXIST);
    }
    let depth = path.parent_depth().ok_or(path::ESCAPE)?;
    if !path::target_stays_inside(depth, &target) {
        return Err(path::ESCAPE);
    }
    if path.trailing_slash {
        return Err(trailing_slash_errno(dir, &path)?);
    }
    dir.symlink(&target, path.path).map_err(io_errno)
}

/// The errno of creating a link (`path_symlink`, `path_link`) at a path
/// that ends in `/`, which Linux gives: `NOENT` when nothing is there
/// (a link is never a directory), `EXIST` for a directory, `NOTDIR` for
/// anything else.
fn trailing_slash_errno(dir: &Dir, path: &GuestPath<'_>) -> Result<Errno, Errno> {
    Ok(match lookup(dir, path, false)? {
        None => errno::NOENT,
        Some(meta) if meta.is_dir() => errno::EXIST,
        Some(_) => errno::NOTDIR,
    })
}

/// `path_link(old_fd, old_lookupflags, old_path, old_path_len, new_fd,
/// new_path, new_path_len)`: a hard link at `new_path` to the file at
/// `old_path` (a symlink itself, never what it points to: asking to
/// follow it is `INVAL`, as in wasmtime). Both paths are resolved
/// beneath their descriptors' directories; linking a directory is
/// `PERM`, an existing `new_path` `EXIST`.
pub(crate) fn path_link(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (from_fd, lookup_flags, to_fd) = (args.u32(0)?, args.u32(1)?, args.u32(4)?);
    let from_text = call.mem.read_path(args.ptr(2)?, args.u32(3)?)?;
    let to_text = call.mem.read_path(args.ptr(5)?, args.u32(6)?)?;
    let (from_dir, _) = call.ctx.fds.dir(from_fd, rights::PATH_LINK_SOURCE)?;
    let (to_dir, _) = call.ctx.fds.dir(to_fd, rights::PATH_LINK_TARGET)?;
    if lookup_flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        return Err(errno::INVAL);
    }
    let (from, to) = (GuestPath::parse(&from_text)?, GuestPath::parse(&to_text)?);
    from.require_name()?;
    if to.require_name().is_err() {
        return Err(errno::EXIST);
    }
    if to.trailing_slash {
        return Err(trailing_slash_errno(&to_dir.dir, &to)?);
    }
    from_dir
        .dir
        .hard_link(from.path, &to_dir.dir, to.path)
        .map_err(io_errno)
}

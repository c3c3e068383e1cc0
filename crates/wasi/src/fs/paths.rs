//! Path operations relative to a directory descriptor: `path_open`,
//! `path_filestat_get`, `path_create_directory`, `path_remove_directory`,
//! `path_unlink_file`, `path_rename`, `path_readlink`, `path_symlink`.
//!
//! Every path goes through [`crate::path::resolve`] first, so nothing
//! outside the descriptor's preopen root is ever named to the host.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;

use crate::abi::{fdflags, oflags, rights, LOOKUP_SYMLINK_FOLLOW};
use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};
use crate::fd::{DirFd, FdEntry, FdKind};
use crate::fs::filestat_of;
use crate::path::{self, Resolved};

fn io_errno(error: io::Error) -> Errno {
    errno::from_io(&error)
}

/// Reads the path argument at `(ptr, len)` and resolves it relative to
/// directory descriptor `fd`, which must have `needed` rights.
fn resolve_arg(
    call: &mut Call<'_>,
    fd: u32,
    needed: u64,
    path_arg: (u64, u32),
    follow: bool,
) -> Result<Resolved, Errno> {
    resolve_with_rights(call, fd, needed, path_arg, follow).map(|(resolved, _)| resolved)
}

/// As [`resolve_arg`], with the rights the directory hands on.
fn resolve_with_rights(
    call: &mut Call<'_>,
    fd: u32,
    needed: u64,
    (ptr, len): (u64, u32),
    follow: bool,
) -> Result<(Resolved, u64), Errno> {
    let (dir, inheritable) = call.ctx.fds.dir(fd, needed)?;
    let path = call.mem.read_path(ptr, len)?;
    Ok((path::resolve(dir, &path, follow)?, inheritable))
}

/// The host metadata of a resolved path, `None` if nothing is there.
fn lookup(resolved: &Resolved) -> Result<Option<fs::Metadata>, Errno> {
    match fs::symlink_metadata(resolved.host_path()) {
        Ok(meta) => Ok(Some(meta)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_errno(error)),
    }
}

/// `path_open(fd, dirflags, path, path_len, oflags, rights_base: i64,
/// rights_inheriting: i64, fdflags, opened_fd_ptr)`.
///
/// The new descriptor's rights are those asked for, limited by what the
/// directory may hand on and by what the file type allows (so asking for
/// `fd_write` on a directory opens it without that right). A file is
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
    // Check the result pointer before anything is created.
    call.mem.check_write(result_ptr, 4)?;
    let (resolved, inheritable) = resolve_with_rights(call, fd, needed, path_arg, follow)?;
    let base = asked_base & inheritable;
    let inheriting = asked_inheriting & inheritable;
    let writes =
        base & rights::FD_WRITE != 0 || fd_flags & fdflags::APPEND != 0 || has(oflags::TRUNC);
    let mode = Mode {
        read: base & rights::FD_READ != 0 || !writes,
        write: writes,
    };

    let kind = match lookup(&resolved)? {
        Some(meta) if meta.file_type().is_symlink() => {
            return Err(if create_new {
                errno::EXIST
            } else {
                errno::LOOP
            })
        }
        Some(_) if create_new => return Err(errno::EXIST),
        Some(meta) if meta.is_dir() => {
            // Write rights are dropped below (a directory has none), but
            // truncating or appending to a directory is an error.
            if has(oflags::TRUNC) || fd_flags & fdflags::APPEND != 0 {
                return Err(errno::ISDIR);
            }
            FdKind::Dir(DirFd {
                root: resolved.root.clone(),
                rel: resolved.rel.clone(),
                preopen: None,
                listing: None,
            })
        }
        Some(_) if has(oflags::DIRECTORY) => return Err(errno::NOTDIR),
        Some(meta) if !meta.is_file() => return Err(errno::NOTSUP),
        Some(_) => FdKind::File(open_file(&resolved, mode, open_flags)?),
        None if !has(oflags::CREAT) => return Err(errno::NOENT),
        None if has(oflags::DIRECTORY) => return Err(errno::INVAL),
        None if resolved.trailing_slash => return Err(errno::ISDIR),
        None => {
            resolved.require_name()?;
            FdKind::File(open_file(&resolved, mode, open_flags)?)
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
}

/// Opens (or creates) the regular file at `resolved`.
fn open_file(resolved: &Resolved, mode: Mode, open_flags: u16) -> Result<fs::File, Errno> {
    let has = |flag: u16| open_flags & flag != 0;
    let file = OpenOptions::new()
        .read(mode.read)
        .write(mode.write)
        .create(has(oflags::CREAT) && !has(oflags::EXCL))
        .create_new(has(oflags::CREAT) && has(oflags::EXCL))
        .truncate(has(oflags::TRUNC))
        .open(resolved.host_path())
        .map_err(io_errno)?;
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

/// `path_filestat_get(fd, lookupflags, path, path_len, filestat_ptr)`.
pub(crate) fn path_filestat_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, flags, path_arg, result_ptr) = (
        args.u32(0)?,
        args.u32(1)?,
        (args.ptr(2)?, args.u32(3)?),
        args.ptr(4)?,
    );
    let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
    let resolved = resolve_arg(call, fd, rights::PATH_FILESTAT_GET, path_arg, follow)?;
    let meta = lookup(&resolved)?.ok_or(errno::NOENT)?;
    call.mem.write(result_ptr, &filestat_of(&meta).to_bytes())
}

/// `path_create_directory(fd, path, path_len)`.
pub(crate) fn path_create_directory(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let resolved = resolve_arg(
        call,
        args.u32(0)?,
        rights::PATH_CREATE_DIRECTORY,
        path_arg,
        false,
    )?;
    if resolved.require_name().is_err() {
        // `.`, `..` or the root: it exists.
        return Err(errno::EXIST);
    }
    fs::create_dir(resolved.host_path()).map_err(io_errno)
}

/// `path_remove_directory(fd, path, path_len)`.
pub(crate) fn path_remove_directory(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let resolved = resolve_arg(
        call,
        args.u32(0)?,
        rights::PATH_REMOVE_DIRECTORY,
        path_arg,
        false,
    )?;
    resolved.require_name()?;
    match lookup(&resolved)? {
        None => Err(errno::NOENT),
        Some(meta) if !meta.is_dir() => Err(errno::NOTDIR),
        Some(_) => fs::remove_dir(resolved.host_path()).map_err(io_errno),
    }
}

/// `path_unlink_file(fd, path, path_len)`: removes a file or a symlink
/// (never what the link points to).
pub(crate) fn path_unlink_file(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let resolved = resolve_arg(
        call,
        args.u32(0)?,
        rights::PATH_UNLINK_FILE,
        path_arg,
        false,
    )?;
    if resolved.require_name().is_err() {
        return Err(errno::ISDIR);
    }
    match lookup(&resolved)? {
        None => Err(errno::NOENT),
        Some(meta) if meta.is_dir() => Err(errno::ISDIR),
        Some(_) if resolved.trailing_slash => Err(errno::NOTDIR),
        Some(_) => fs::remove_file(resolved.host_path()).map_err(io_errno),
    }
}

/// `path_rename(fd, old_path, old_path_len, new_fd, new_path,
/// new_path_len)`: both ends must lie in sandboxes (not necessarily the
/// same one; different host file systems give `XDEV`).
pub(crate) fn path_rename(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let from = resolve_arg(
        call,
        args.u32(0)?,
        rights::PATH_RENAME_SOURCE,
        (args.ptr(1)?, args.u32(2)?),
        false,
    )?;
    let to = resolve_arg(
        call,
        args.u32(3)?,
        rights::PATH_RENAME_TARGET,
        (args.ptr(4)?, args.u32(5)?),
        false,
    )?;
    from.require_name()?;
    to.require_name()?;
    fs::rename(from.host_path(), to.host_path()).map_err(io_errno)
}

/// `path_readlink(fd, path, path_len, buf, buf_len, bufused_ptr)`: the
/// link's text, cut at `buf_len`, not NUL-terminated.
pub(crate) fn path_readlink(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let path_arg = (args.ptr(1)?, args.u32(2)?);
    let (buf, buf_len, bufused_ptr) = (args.ptr(3)?, args.u32(4)?, args.ptr(5)?);
    let resolved = resolve_arg(call, args.u32(0)?, rights::PATH_READLINK, path_arg, false)?;
    call.mem.check_write(buf, u64::from(buf_len))?;
    call.mem.check_write(bufused_ptr, 4)?;
    match lookup(&resolved)? {
        None => return Err(errno::NOENT),
        Some(meta) if !meta.file_type().is_symlink() => return Err(errno::INVAL),
        Some(_) => {}
    }
    let target = fs::read_link(resolved.host_path()).map_err(io_errno)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    call.mem.write(buf, &bytes[..n])?;
    call.mem.write_u32(bufused_ptr, n as u32)
}

/// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len)`:
/// creates a link at `new_path` whose text is `old_path`. The text must be
/// relative and stay inside the sandbox when read from the link's
/// directory ([`path::ESCAPE`] otherwise), so that no guest leaves a link to
/// the host's files behind.
pub(crate) fn path_symlink(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let target = call.mem.read_path(args.ptr(0)?, args.u32(1)?)?;
    let path_arg = (args.ptr(3)?, args.u32(4)?);
    let resolved = resolve_arg(call, args.u32(2)?, rights::PATH_SYMLINK, path_arg, false)?;
    if resolved.require_name().is_err() {
        return Err(errno::EXIST);
    }
    if !path::target_stays_inside(resolved.parent_rel().len(), &target) {
        return Err(path::ESCAPE);
    }
    std::os::unix::fs::symlink(&target, resolved.host_path()).map_err(io_errno)
}

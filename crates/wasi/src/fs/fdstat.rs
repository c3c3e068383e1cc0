//! Descriptor attributes and numbers: `fd_close`, `fd_renumber`,
//! `fd_fdstat_get`, `fd_fdstat_set_flags`, `fd_fdstat_set_rights`,
//! `fd_filestat_get`, `fd_prestat_get`, `fd_prestat_dir_name`.

use cap_std::fs::Metadata;

use crate::abi::{fdflags, rights, Fdstat, Filestat, PRESTAT_SIZE};
use crate::call::{Args, Call, WasiResult};
use crate::errno;
use crate::fd::FdKind;
use crate::fs::filestat_of;

/// `fd_close(fd)`.
pub(crate) fn fd_close(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    call.ctx.fds.remove(args.u32(0)?).map(drop)
}

/// `fd_renumber(from, to)`: descriptor `from` moves to number `to`,
/// closing what `to` held (a preopen or a standard stream too, as
/// `fd_close` may). Both must be open (`BADF`); `from == to` changes
/// nothing. The count of open descriptors only goes down, so the fd
/// limit holds.
pub(crate) fn fd_renumber(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    call.ctx.fds.renumber(args.u32(0)?, args.u32(1)?)
}

/// `fd_fdstat_set_rights(fd, rights_base: i64, rights_inheriting: i64)`:
/// rights can only be dropped; asking for one the descriptor lacks is
/// `NOTCAPABLE` (and changes nothing).
pub(crate) fn fd_fdstat_set_rights(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (base, inheriting) = (args.u64(1)?, args.u64(2)?);
    let entry = call.ctx.fds.get(args.u32(0)?)?;
    if base & !entry.rights_base != 0 || inheriting & !entry.rights_inheriting != 0 {
        return Err(errno::NOTCAPABLE);
    }
    entry.rights_base = base;
    entry.rights_inheriting = inheriting;
    Ok(())
}

/// `fd_fdstat_get(fd, fdstat_ptr)`.
pub(crate) fn fd_fdstat_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let entry = call.ctx.fds.get(args.u32(0)?)?;
    let stat = Fdstat {
        filetype: entry.filetype(),
        flags: entry.flags,
        rights_base: entry.rights_base,
        rights_inheriting: entry.rights_inheriting,
    };
    call.mem.write(args.ptr(1)?, &stat.to_bytes())
}

/// `fd_fdstat_set_flags(fd, flags)`: `append` makes every write go to the
/// end of the file; `dsync`/`sync` sync after every write; `rsync` and
/// `nonblock` are recorded (file reads do not block; stdin from the host
/// does, whatever the flag).
pub(crate) fn fd_fdstat_set_flags(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let entry = call
        .ctx
        .fds
        .require(args.u32(0)?, rights::FD_FDSTAT_SET_FLAGS)?;
    let flags = u16::try_from(args.u32(1)?).map_err(|_| errno::INVAL)?;
    if flags & !fdflags::ALL != 0 {
        return Err(errno::INVAL);
    }
    entry.flags = flags;
    Ok(())
}

/// `fd_filestat_get(fd, filestat_ptr)`.
pub(crate) fn fd_filestat_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let entry = call
        .ctx
        .fds
        .require(args.u32(0)?, rights::FD_FILESTAT_GET)?;
    let stat = match &entry.kind {
        FdKind::File(file) => {
            filestat_of(&Metadata::from_file(file).map_err(|e| errno::from_io(&e))?)
        }
        // The directory the handle holds, wherever its name went since.
        FdKind::Dir(dir) => filestat_of(&dir.dir.dir_metadata().map_err(|e| errno::from_io(&e))?),
        FdKind::Stdin(_) | FdKind::Output(_) => Filestat {
            filetype: entry.filetype(),
            ..Filestat::default()
        },
    };
    call.mem.write(args.ptr(1)?, &stat.to_bytes())
}

/// `fd_prestat_get(fd, prestat_ptr)`: `BADF` for descriptors that are not
/// preopened directories (wasi-libc scans fds from 3 until it gets it).
pub(crate) fn fd_prestat_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let entry = call.ctx.fds.get(args.u32(0)?)?;
    let name_len = match &entry.kind {
        FdKind::Dir(dir) => dir.preopen.as_ref().ok_or(errno::BADF)?.len(),
        _ => return Err(errno::BADF),
    };
    let name_len = u32::try_from(name_len).map_err(|_| errno::NAMETOOLONG)?;
    let mut prestat = [0u8; PRESTAT_SIZE as usize];
    prestat[4..8].copy_from_slice(&name_len.to_le_bytes());
    call.mem.write(args.ptr(1)?, &prestat)
}

/// `fd_prestat_dir_name(fd, path_ptr, path_len)`: the preopen's guest
/// name, not NUL-terminated; `NAMETOOLONG` if the buffer is too small.
pub(crate) fn fd_prestat_dir_name(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let entry = call.ctx.fds.get(args.u32(0)?)?;
    let name = match &entry.kind {
        FdKind::Dir(dir) => dir.preopen.as_ref().ok_or(errno::BADF)?,
        _ => return Err(errno::BADF),
    };
    if (args.u32(2)? as usize) < name.len() {
        return Err(errno::NAMETOOLONG);
    }
    call.mem.write(args.ptr(1)?, name.as_bytes())
}

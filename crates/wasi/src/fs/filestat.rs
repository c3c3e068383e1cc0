//! Changing file attributes and hints: `fd_filestat_set_size`,
//! `fd_filestat_set_times`, `path_filestat_set_times`, `fd_advise`,
//! `fd_allocate`.
//!
//! The errnos follow wasmtime's preview-1 implementation: a descriptor
//! that is not open is `BADF`, one without the right `NOTCAPABLE`, the
//! standard streams (which have no host file) `BADF`; `ATIM` with
//! `ATIM_NOW` (or `MTIM` with `MTIM_NOW`) is `INVAL`, checked before the
//! descriptor. Times on a path are set through the directory handle
//! (`cap-fs-ext`), beneath it like every other path operation.

use std::time::{Duration, SystemTime};

use cap_fs_ext::{DirExt, SystemTimeSpec};
use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};

use crate::abi::{fstflags, rights, ADVICE_MAX, LOOKUP_SYMLINK_FOLLOW};
use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};
use crate::fd::FdKind;
use crate::path::{host_errno, GuestPath};

/// What one timestamp becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NewTime {
    /// Left as it is.
    Keep,
    /// The current time, taken by the host kernel.
    Now,
    /// Nanoseconds since the Unix epoch.
    At(u64),
}

impl NewTime {
    /// The timestamp chosen by `set` (the given `time`) and `now` bits of
    /// `flags`: `INVAL` when both are set.
    fn from_flags(flags: u16, set: u16, now: u16, time: u64) -> Result<NewTime, Errno> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(errno::INVAL),
            (true, false) => Ok(NewTime::At(time)),
            (false, true) => Ok(NewTime::Now),
            (false, false) => Ok(NewTime::Keep),
        }
    }

    /// As `futimens` takes it.
    fn timespec(self) -> Timespec {
        match self {
            NewTime::Keep => Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
            NewTime::Now => Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_NOW,
            },
            // u64::MAX / 10^9 seconds fits an i64.
            NewTime::At(nanos) => Timespec {
                tv_sec: (nanos / 1_000_000_000) as i64,
                tv_nsec: (nanos % 1_000_000_000) as _,
            },
        }
    }

    /// As `cap-fs-ext` takes it (`None`: unchanged); `OVERFLOW` if the
    /// host cannot represent the time.
    fn spec(self) -> Result<Option<SystemTimeSpec>, Errno> {
        Ok(match self {
            NewTime::Keep => None,
            NewTime::Now => Some(SystemTimeSpec::SymbolicNow),
            NewTime::At(nanos) => {
                let time = SystemTime::UNIX_EPOCH
                    .checked_add(Duration::from_nanos(nanos))
                    .ok_or(errno::OVERFLOW)?;
                Some(SystemTimeSpec::Absolute(
                    cap_std::time::SystemTime::from_std(time),
                ))
            }
        })
    }
}

/// The access and modification times asked for by `(atim, mtim,
/// fst_flags)`: `INVAL` for unknown flags or a time both given and now.
fn new_times(atim: u64, mtim: u64, flags: u32) -> Result<(NewTime, NewTime), Errno> {
    let flags = u16::try_from(flags).map_err(|_| errno::INVAL)?;
    if flags & !fstflags::ALL != 0 {
        return Err(errno::INVAL);
    }
    Ok((
        NewTime::from_flags(flags, fstflags::ATIM, fstflags::ATIM_NOW, atim)?,
        NewTime::from_flags(flags, fstflags::MTIM, fstflags::MTIM_NOW, mtim)?,
    ))
}

/// `fd_filestat_set_size(fd, size: i64)`: truncates or extends (with
/// zeros) a regular file. A file the host opened read-only gives `INVAL`
/// (as `ftruncate`); sizes above `i64::MAX` give `INVAL`.
pub(crate) fn fd_filestat_set_size(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, size) = (args.u32(0)?, args.u64(1)?);
    let entry = call.ctx.fds.require(fd, rights::FD_FILESTAT_SET_SIZE)?;
    let FdKind::File(file) = &entry.kind else {
        return Err(errno::BADF);
    };
    if i64::try_from(size).is_err() {
        return Err(errno::INVAL);
    }
    file.set_len(size).map_err(|e| errno::from_io(&e))
}

/// `fd_filestat_set_times(fd, atim: i64, mtim: i64, fst_flags)`: on an
/// open file or directory.
pub(crate) fn fd_filestat_set_times(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (atim, mtim) = new_times(args.u64(1)?, args.u64(2)?, args.u32(3)?)?;
    let entry = call
        .ctx
        .fds
        .require(args.u32(0)?, rights::FD_FILESTAT_SET_TIMES)?;
    match &entry.kind {
        FdKind::File(file) => {
            let times = Timestamps {
                last_access: atim.timespec(),
                last_modification: mtim.timespec(),
            };
            rustix::fs::futimens(file, &times).map_err(|e| errno::from_io(&e.into()))
        }
        // The handle may be `O_PATH`, which futimens refuses: `.` beneath
        // it is the directory itself.
        FdKind::Dir(dir) => dir
            .dir
            .set_times(".", atim.spec()?, mtim.spec()?)
            .map_err(|e| host_errno(&e)),
        FdKind::Stdin(_) | FdKind::Output(_) => Err(errno::BADF),
    }
}

/// `path_filestat_set_times(fd, lookupflags, path, path_len, atim: i64,
/// mtim: i64, fst_flags)`: a final symlink is followed only with
/// `symlink_follow` (otherwise the link's own times change).
pub(crate) fn path_filestat_set_times(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, lookup, path_arg) = (args.u32(0)?, args.u32(1)?, (args.ptr(2)?, args.u32(3)?));
    let (atim, mtim) = new_times(args.u64(4)?, args.u64(5)?, args.u32(6)?)?;
    let (atime, mtime) = (atim.spec()?, mtim.spec()?);
    let text = call.mem.read_path(path_arg.0, path_arg.1)?;
    let (dir, _) = call.ctx.fds.dir(fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let path = GuestPath::parse(&text)?;
    let result = if lookup & LOOKUP_SYMLINK_FOLLOW != 0 || path.trailing_slash {
        dir.dir.set_times(path.path, atime, mtime)
    } else {
        dir.dir.set_symlink_times(path.path, atime, mtime)
    };
    result.map_err(|e| host_errno(&e))
}

/// `fd_advise(fd, offset: i64, len: i64, advice)`: checked (the
/// descriptor, its right, the advice value) and then ignored: advice is
/// a hint, and the host's page cache is not the guest's to tune.
pub(crate) fn fd_advise(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, offset, len, advice) = (args.u32(0)?, args.u64(1)?, args.u64(2)?, args.u32(3)?);
    if advice > ADVICE_MAX {
        return Err(errno::INVAL);
    }
    let entry = call.ctx.fds.require(fd, rights::FD_ADVISE)?;
    let FdKind::File(_) = &entry.kind else {
        return Err(errno::BADF);
    };
    // posix_fadvise refuses a range that wraps or is negative.
    if i64::try_from(offset).is_err()
        || i64::try_from(len).is_err()
        || offset.checked_add(len).is_none()
    {
        return Err(errno::INVAL);
    }
    Ok(())
}

/// `fd_allocate(fd, offset: i64, len: i64)`: `NOTSUP` for any regular
/// file, as in wasmtime (preview 2 has no allocation call); `BADF` or
/// `NOTCAPABLE` before that, as for every descriptor call.
pub(crate) fn fd_allocate(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let entry = call.ctx.fds.require(args.u32(0)?, rights::FD_ALLOCATE)?;
    match &entry.kind {
        FdKind::File(_) => Err(errno::NOTSUP),
        _ => Err(errno::BADF),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_now_together_are_invalid() {
        let both = fstflags::ATIM | fstflags::ATIM_NOW;
        assert_eq!(new_times(1, 2, u32::from(both)), Err(errno::INVAL));
        let both = fstflags::MTIM | fstflags::MTIM_NOW;
        assert_eq!(new_times(1, 2, u32::from(both)), Err(errno::INVAL));
        assert_eq!(new_times(1, 2, 1 << 4), Err(errno::INVAL));
        assert_eq!(new_times(1, 2, 1 << 16), Err(errno::INVAL));
        let flags = u32::from(fstflags::ATIM | fstflags::MTIM_NOW);
        assert_eq!(new_times(1, 2, flags), Ok((NewTime::At(1), NewTime::Now)));
        assert_eq!(new_times(1, 2, 0), Ok((NewTime::Keep, NewTime::Keep)));
    }

    #[test]
    fn times_convert_for_the_host() {
        let at = NewTime::At(3_000_000_007).timespec();
        assert_eq!((at.tv_sec, at.tv_nsec), (3, 7));
        assert_eq!(NewTime::Keep.timespec().tv_nsec, UTIME_OMIT);
        assert_eq!(NewTime::Now.timespec().tv_nsec, UTIME_NOW);
        assert!(matches!(NewTime::Keep.spec(), Ok(None)));
        assert!(NewTime::At(u64::MAX).spec().is_ok());
    }
}

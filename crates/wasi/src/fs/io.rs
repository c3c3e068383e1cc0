//! Reading and writing descriptors: `fd_read`, `fd_write`, `fd_pread`,
//! `fd_pwrite`, `fd_seek`, `fd_tell`, `fd_sync`, `fd_datasync`.
//!
//! Reads check every destination buffer (and the result pointer) before
//! they consume input, so a bad buffer fails with `FAULT` and the file
//! position stays where it was. Writes copy every source buffer out of
//! guest memory before they write a byte. At most
//! [`MAX_IO_BYTES`](crate::memory::MAX_IO_BYTES) move per call.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use cap_fs_ext::OpenOptionsMaybeDirExt;

use crate::abi::{fdflags, rights, whence};
use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};
use crate::fd::{FdEntry, FdKind, FdTable};
use crate::memory::capped_total;

fn io_errno(error: std::io::Error) -> Errno {
    errno::from_io(&error)
}

/// `fd_read(fd, iovs, iovs_len, nread_ptr)`.
pub(crate) fn fd_read(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, nread_ptr) = (args.u32(0)?, args.ptr(3)?);
    let entry = call.ctx.fds.require(fd, rights::FD_READ)?;
    let host_stdin = matches!(&entry.kind, FdKind::Stdin(stdin) if stdin.is_inherited());
    let iovs = call.mem.read_iovecs(args.ptr(1)?, args.u32(2)?)?;
    // Rights and frames for every byte this call may write, before any
    // input is consumed: all or nothing, also when frames run out.
    call.mem.check_write_all(&iovs, &[(nread_ptr, 4)])?;
    if host_stdin {
        // The host's stdin may block without end: wait for input through
        // the interrupt handle, so that the store's deadline ends the wait.
        call.wait_for_host_stdin()?;
    }
    let entry = call.ctx.fds.require(fd, rights::FD_READ)?;
    let mut data = vec![0u8; capped_total(&iovs)];
    let n = match &mut entry.kind {
        FdKind::Stdin(stdin) => stdin.read(&mut data).map_err(io_errno)?,
        FdKind::File(file) => file.read(&mut data).map_err(io_errno)?,
        FdKind::Output(_) => return Err(errno::BADF),
        FdKind::Dir(_) => return Err(errno::ISDIR),
    };
    let delivered = call
        .mem
        .scatter(&iovs, &data[..n])
        .and_then(|()| call.mem.write_u32(nread_ptr, n as u32));
    if let Err(error) = delivered {
        // Only a concurrent change of rights or an exhausted frame pool
        // gets here (everything was checked); give the input back.
        unread(entry, n);
        return Err(error);
    }
    Ok(())
}

/// Puts back `n` bytes just read, where the source allows it.
fn unread(entry: &mut FdEntry, n: usize) {
    match &mut entry.kind {
        FdKind::Stdin(stdin) => {
            stdin.unread(n);
        }
        FdKind::File(file) => {
            let _ = file.seek(SeekFrom::Current(-(n as i64)));
        }
        FdKind::Output(_) | FdKind::Dir(_) => {}
    }
}

/// `fd_write(fd, iovs, iovs_len, nwritten_ptr)`.
pub(crate) fn fd_write(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, nwritten_ptr) = (args.u32(0)?, args.ptr(3)?);
    let entry = call.ctx.fds.require(fd, rights::FD_WRITE)?;
    let iovs = call.mem.read_iovecs(args.ptr(1)?, args.u32(2)?)?;
    let data = call.mem.gather(&iovs)?;
    call.mem.check_write(nwritten_ptr, 4)?;
    let flags = entry.flags;
    let n = match &mut entry.kind {
        FdKind::Output(sink) => {
            sink.write(&data).map_err(io_errno)?;
            data.len()
        }
        FdKind::File(file) => {
            if flags & fdflags::APPEND != 0 {
                file.seek(SeekFrom::End(0)).map_err(io_errno)?;
            }
            let n = write_some(&data, |rest| file.write(rest))?;
            sync_if_asked(file, flags)?;
            n
        }
        FdKind::Stdin(_) => return Err(errno::BADF),
        FdKind::Dir(_) => return Err(errno::ISDIR),
    };
    call.mem.write_u32(nwritten_ptr, n as u32)
}

/// Writes `data` with `write` until all of it is written or an error
/// stops it: the bytes written, or the error if there were none.
fn write_some(
    data: &[u8],
    mut write: impl FnMut(&[u8]) -> std::io::Result<usize>,
) -> Result<usize, Errno> {
    let mut done = 0;
    while done < data.len() {
        match write(&data[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if done > 0 => break,
            Err(error) => return Err(io_errno(error)),
        }
    }
    Ok(done)
}

/// Honors the `dsync` and `sync` flags after a write.
fn sync_if_asked(file: &File, flags: u16) -> WasiResult {
    if flags & fdflags::SYNC != 0 {
        file.sync_all().map_err(io_errno)?;
    } else if flags & fdflags::DSYNC != 0 {
        file.sync_data().map_err(io_errno)?;
    }
    Ok(())
}

/// The open file behind `fd` for positioned operations: `SPIPE` for
/// streams, `ISDIR` for directories, `NOTCAPABLE` without `rights`.
fn seekable(fds: &mut FdTable, fd: u32, needed: u64) -> Result<(&mut File, u16), Errno> {
    let entry = fds.get(fd)?;
    let has_rights = entry.rights_base & needed == needed;
    match &mut entry.kind {
        FdKind::Stdin(_) | FdKind::Output(_) => Err(errno::SPIPE),
        FdKind::Dir(_) => Err(errno::ISDIR),
        FdKind::File(_) if !has_rights => Err(errno::NOTCAPABLE),
        FdKind::File(file) => Ok((file, entry.flags)),
    }
}

/// `fd_pread(fd, iovs, iovs_len, offset: i64, nread_ptr)`.
pub(crate) fn fd_pread(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, offset, nread_ptr) = (args.u32(0)?, args.u64(3)?, args.ptr(4)?);
    let (file, _) = seekable(&mut call.ctx.fds, fd, rights::FD_READ | rights::FD_SEEK)?;
    let iovs = call.mem.read_iovecs(args.ptr(1)?, args.u32(2)?)?;
    call.mem.check_write_all(&iovs, &[(nread_ptr, 4)])?;
    let mut data = vec![0u8; capped_total(&iovs)];
    let n = loop {
        match file.read_at(&mut data, offset) {
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            other => break other.map_err(io_errno)?,
        }
    };
    call.mem.scatter(&iovs, &data[..n])?;
    call.mem.write_u32(nread_ptr, n as u32)
}

/// `fd_pwrite(fd, iovs, iovs_len, offset: i64, nwritten_ptr)`.
pub(crate) fn fd_pwrite(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, offset, nwritten_ptr) = (args.u32(0)?, args.u64(3)?, args.ptr(4)?);
    let (file, flags) = seekable(&mut call.ctx.fds, fd, rights::FD_WRITE | rights::FD_SEEK)?;
    let iovs = call.mem.read_iovecs(args.ptr(1)?, args.u32(2)?)?;
    let data = call.mem.gather(&iovs)?;
    call.mem.check_write(nwritten_ptr, 4)?;
    let n = write_some(&data, |rest| {
        let at = offset.checked_add((data.len() - rest.len()) as u64);
        match at {
            Some(at) => file.write_at(rest, at),
            None => Err(std::io::Error::from(std::io::ErrorKind::InvalidInput)),
        }
    })?;
    sync_if_asked(file, flags)?;
    call.mem.write_u32(nwritten_ptr, n as u32)
}

/// `fd_seek(fd, offset: i64, whence, newoffset_ptr)`.
pub(crate) fn fd_seek(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, offset, base, result_ptr) = (
        args.u32(0)?,
        args.u64(1)? as i64,
        args.u32(2)?,
        args.ptr(3)?,
    );
    let target = match u8::try_from(base) {
        Ok(whence::SET) => SeekFrom::Start(u64::try_from(offset).map_err(|_| errno::INVAL)?),
        Ok(whence::CUR) => SeekFrom::Current(offset),
        Ok(whence::END) => SeekFrom::End(offset),
        _ => return Err(errno::INVAL),
    };
    // Asking for the position only is `fd_tell`, with its right.
    let needed = if target == SeekFrom::Current(0) {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    let (file, _) = seekable(&mut call.ctx.fds, fd, needed)?;
    call.mem.check_write(result_ptr, 8)?;
    let position = file.seek(target).map_err(io_errno)?;
    call.mem.write_u64(result_ptr, position)
}

/// `fd_tell(fd, offset_ptr)`.
pub(crate) fn fd_tell(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, result_ptr) = (args.u32(0)?, args.ptr(1)?);
    let (file, _) = seekable(&mut call.ctx.fds, fd, rights::FD_TELL)?;
    let position = file.stream_position().map_err(io_errno)?;
    call.mem.write_u64(result_ptr, position)
}

/// `fd_sync(fd)`: data and metadata to storage.
pub(crate) fn fd_sync(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    sync(call, args.u32(0)?, rights::FD_SYNC, File::sync_all)
}

/// `fd_datasync(fd)`: data to storage.
pub(crate) fn fd_datasync(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    sync(call, args.u32(0)?, rights::FD_DATASYNC, File::sync_data)
}

fn sync(
    call: &mut Call<'_>,
    fd: u32,
    needed: u64,
    how: fn(&File) -> std::io::Result<()>,
) -> WasiResult {
    let entry = call.ctx.fds.require(fd, needed)?;
    match &entry.kind {
        FdKind::File(file) => how(file).map_err(io_errno),
        FdKind::Output(sink) => sink.flush().map_err(io_errno),
        FdKind::Dir(dir) => {
            // Directory handles may be `O_PATH`, which cannot be synced:
            // open the directory itself (".", beneath the handle) to sync.
            let mut options = cap_std::fs::OpenOptions::new();
            options.read(true).maybe_dir(true);
            let handle = dir.dir.open_with(".", &options).map_err(io_errno)?;
            how(&handle.into_std()).map_err(io_errno)
        }
        FdKind::Stdin(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_writes_count_what_was_written() {
        let mut calls = 0;
        let n = write_some(b"abcdef", |rest| {
            calls += 1;
            match calls {
                1 => Ok(rest.len().min(2)),
                _ => Err(std::io::Error::other("disk gone")),
            }
        });
        assert_eq!(n, Ok(2));
        let n = write_some(b"abc", |_| Err(std::io::Error::other("disk gone")));
        assert_eq!(n, Err(errno::IO));
    }
}

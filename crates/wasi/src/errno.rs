//! WASI errno values (`errno` in the preview-1 witx), and how host errors
//! and MMU faults become them.
//!
//! Every WASI function returns one of these as its `i32` result; `SUCCESS`
//! is zero. The numbering is the witx enumeration order, so it must never
//! be edited by hand into another order.

use std::io;

use waven_mmu::MemoryFault;

/// An errno value as WASI functions return it.
pub type Errno = u16;

/// No error occurred.
pub const SUCCESS: Errno = 0;
/// Argument list too long.
pub const TOOBIG: Errno = 1;
/// Permission denied.
pub const ACCES: Errno = 2;
/// Address in use.
pub const ADDRINUSE: Errno = 3;
/// Address not available.
pub const ADDRNOTAVAIL: Errno = 4;
/// Address family not supported.
pub const AFNOSUPPORT: Errno = 5;
/// Resource unavailable, or operation would block.
pub const AGAIN: Errno = 6;
/// Connection already in progress.
pub const ALREADY: Errno = 7;
/// Bad file descriptor.
pub const BADF: Errno = 8;
/// Bad message.
pub const BADMSG: Errno = 9;
/// Device or resource busy.
pub const BUSY: Errno = 10;
/// Operation canceled.
pub const CANCELED: Errno = 11;
/// No child processes.
pub const CHILD: Errno = 12;
/// Connection aborted.
pub const CONNABORTED: Errno = 13;
/// Connection refused.
pub const CONNREFUSED: Errno = 14;
/// Connection reset.
pub const CONNRESET: Errno = 15;
/// Resource deadlock would occur.
pub const DEADLK: Errno = 16;
/// Destination address required.
pub const DESTADDRREQ: Errno = 17;
/// Mathematics argument out of domain of function.
pub const DOM: Errno = 18;
/// Reserved (disk quota exceeded).
pub const DQUOT: Errno = 19;
/// File exists.
pub const EXIST: Errno = 20;
/// Bad address: a guest buffer that the guest may not access.
pub const FAULT: Errno = 21;
/// File too large.
pub const FBIG: Errno = 22;
/// Host is unreachable.
pub const HOSTUNREACH: Errno = 23;
/// Identifier removed.
pub const IDRM: Errno = 24;
/// Illegal byte sequence (a path that is not UTF-8).
pub const ILSEQ: Errno = 25;
/// Operation in progress.
pub const INPROGRESS: Errno = 26;
/// Interrupted function.
pub const INTR: Errno = 27;
/// Invalid argument.
pub const INVAL: Errno = 28;
/// I/O error.
pub const IO: Errno = 29;
/// Socket is connected.
pub const ISCONN: Errno = 30;
/// Is a directory.
pub const ISDIR: Errno = 31;
/// Too many levels of symbolic links.
pub const LOOP: Errno = 32;
/// File descriptor value too large (too many open files).
pub const MFILE: Errno = 33;
/// Too many links.
pub const MLINK: Errno = 34;
/// Message too large.
pub const MSGSIZE: Errno = 35;
/// Reserved (multihop attempted).
pub const MULTIHOP: Errno = 36;
/// Filename too long.
pub const NAMETOOLONG: Errno = 37;
/// Network is down.
pub const NETDOWN: Errno = 38;
/// Connection aborted by network.
pub const NETRESET: Errno = 39;
/// Network unreachable.
pub const NETUNREACH: Errno = 40;
/// Too many files open in system.
pub const NFILE: Errno = 41;
/// No buffer space available.
pub const NOBUFS: Errno = 42;
/// No such device.
pub const NODEV: Errno = 43;
/// No such file or directory.
pub const NOENT: Errno = 44;
/// Executable file format error.
pub const NOEXEC: Errno = 45;
/// No locks available.
pub const NOLCK: Errno = 46;
/// Reserved (link severed).
pub const NOLINK: Errno = 47;
/// Not enough space (the frame pool ran out while writing guest memory).
pub const NOMEM: Errno = 48;
/// No message of the desired type.
pub const NOMSG: Errno = 49;
/// Protocol not available.
pub const NOPROTOOPT: Errno = 50;
/// No space left on device.
pub const NOSPC: Errno = 51;
/// Function not supported.
pub const NOSYS: Errno = 52;
/// The socket is not connected.
pub const NOTCONN: Errno = 53;
/// Not a directory or a symbolic link to a directory.
pub const NOTDIR: Errno = 54;
/// Directory not empty.
pub const NOTEMPTY: Errno = 55;
/// State not recoverable.
pub const NOTRECOVERABLE: Errno = 56;
/// Not a socket.
pub const NOTSOCK: Errno = 57;
/// Not supported, or operation not supported on socket.
pub const NOTSUP: Errno = 58;
/// Inappropriate I/O control operation.
pub const NOTTY: Errno = 59;
/// No such device or address.
pub const NXIO: Errno = 60;
/// Value too large to be stored in data type.
pub const OVERFLOW: Errno = 61;
/// Previous owner died.
pub const OWNERDEAD: Errno = 62;
/// Operation not permitted.
pub const PERM: Errno = 63;
/// Broken pipe.
pub const PIPE: Errno = 64;
/// Protocol error.
pub const PROTO: Errno = 65;
/// Protocol not supported.
pub const PROTONOSUPPORT: Errno = 66;
/// Protocol wrong type for socket.
pub const PROTOTYPE: Errno = 67;
/// Result too large.
pub const RANGE: Errno = 68;
/// Read-only file system.
pub const ROFS: Errno = 69;
/// Invalid seek.
pub const SPIPE: Errno = 70;
/// No such process.
pub const SRCH: Errno = 71;
/// Reserved (stale file handle).
pub const STALE: Errno = 72;
/// Connection timed out.
pub const TIMEDOUT: Errno = 73;
/// Text file busy.
pub const TXTBSY: Errno = 74;
/// Cross-device link.
pub const XDEV: Errno = 75;
/// Capabilities insufficient: the descriptor lacks a right, or a path
/// leaves the sandbox.
pub const NOTCAPABLE: Errno = 76;

/// The errno of a refused guest memory access: `NOMEM` when the frame
/// pool ran out, `FAULT` otherwise (out of bounds, unmapped, no right).
pub(crate) fn from_fault(fault: MemoryFault) -> Errno {
    fault.errno().0
}

/// The errno of a host I/O error.
pub(crate) fn from_io(error: &io::Error) -> Errno {
    use io::ErrorKind as K;
    // Codes that std folds into a coarser kind (or none that is stable).
    match error.raw_os_error() {
        Some(libc::ELOOP) => return LOOP,
        Some(libc::EPERM) => return PERM,
        Some(libc::ENAMETOOLONG) => return NAMETOOLONG,
        Some(libc::ENXIO) => return NXIO,
        _ => {}
    }
    match error.kind() {
        K::NotFound => NOENT,
        K::PermissionDenied => ACCES,
        K::AlreadyExists => EXIST,
        K::WouldBlock => AGAIN,
        K::InvalidInput | K::InvalidData => INVAL,
        K::Interrupted => INTR,
        K::Unsupported => NOTSUP,
        K::OutOfMemory => NOMEM,
        K::TimedOut => TIMEDOUT,
        K::BrokenPipe => PIPE,
        K::NotADirectory => NOTDIR,
        K::IsADirectory => ISDIR,
        K::DirectoryNotEmpty => NOTEMPTY,
        K::ReadOnlyFilesystem => ROFS,
        K::StorageFull => NOSPC,
        K::QuotaExceeded => DQUOT,
        K::NotSeekable => SPIPE,
        K::FileTooLarge => FBIG,
        K::ResourceBusy => BUSY,
        K::ExecutableFileBusy => TXTBSY,
        K::Deadlock => DEADLK,
        K::CrossesDevices => XDEV,
        K::TooManyLinks => MLINK,
        K::InvalidFilename => NAMETOOLONG,
        K::ArgumentListTooLong => TOOBIG,
        _ => IO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_witx_enumeration() {
        assert_eq!(
            [SUCCESS, ACCES, BADF, EXIST, FAULT, INVAL, IO, ISDIR, LOOP],
            [0, 2, 8, 20, 21, 28, 29, 31, 32]
        );
        assert_eq!(
            [NAMETOOLONG, NOENT, NOMEM, NOSYS, NOTDIR, NOTEMPTY, NOTSUP],
            [37, 44, 48, 52, 54, 55, 58]
        );
        assert_eq!([PERM, SPIPE, NOTCAPABLE], [63, 70, 76]);
    }

    #[test]
    fn io_errors_map_to_their_errno() {
        let error = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(from_io(&error), NOENT);
        let error = io::Error::from(io::ErrorKind::DirectoryNotEmpty);
        assert_eq!(from_io(&error), NOTEMPTY);
        assert_eq!(from_io(&io::Error::other("strange")), IO);
        assert_eq!(from_io(&io::Error::from_raw_os_error(libc::ELOOP)), LOOP);
        assert_eq!(from_io(&io::Error::from_raw_os_error(libc::EACCES)), ACCES);
    }
}

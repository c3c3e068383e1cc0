//! Files inside a preopened directory: create, write, read, seek,
//! positioned I/O, stat, list, rename and remove.

mod common;

use std::fs;

use common::{Guest, Scratch, ALL_RIGHTS, BACKENDS, DIR_RIGHTS, READ_RIGHTS};
use waven_runtime::MemoryBackend;
use waven_wasi::{errno, WasiCtxBuilder};

const CREAT: i64 = 1;
const DIRECTORY: i64 = 2;
const EXCL: i64 = 4;
const TRUNC: i64 = 8;
const APPEND: i64 = 1;
const PREOPEN: i64 = 3;

fn guest_in(backend: MemoryBackend, scratch: &Scratch) -> Guest {
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, "/sandbox")
        .unwrap()
        .build();
    Guest::wrapper(backend, ctx)
}

fn e(code: u16) -> i32 {
    i32::from(code)
}

/// Writes `data` to `fd` through one iovec (data at 0x3000).
fn write_fd(guest: &mut Guest, fd: i64, data: &[u8]) -> (i32, u32) {
    guest.write(0x3000, data);
    guest.iovecs(0x40, &[(0x3000, data.len() as u32)]);
    let errno = guest.call("fd_write", &[fd, 0x40, 1, 0x50]);
    (errno, guest.u32_at(0x50))
}

/// Reads up to `len` bytes from `fd` into 0x4000.
fn read_fd(guest: &mut Guest, fd: i64, len: u32) -> (i32, Vec<u8>) {
    guest.iovecs(0x40, &[(0x4000, len)]);
    let errno = guest.call("fd_read", &[fd, 0x40, 1, 0x50]);
    let n = guest.u32_at(0x50) as usize;
    (errno, guest.read(0x4000, n))
}

fn seek(guest: &mut Guest, fd: i64, offset: i64, whence: i64) -> (i32, u64) {
    let errno = guest.call("fd_seek", &[fd, offset, whence, 0x60]);
    (errno, guest.u64_at(0x60))
}

/// Complete entries of a `fd_readdir` buffer: (d_next, name, d_type).
fn dirents(bytes: &[u8]) -> Vec<(u64, String, u8)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 24 <= bytes.len() {
        let next = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap()) as usize;
        let kind = bytes[at + 20];
        if at + 24 + len > bytes.len() {
            break;
        }
        let name = String::from_utf8(bytes[at + 24..at + 24 + len].to_vec()).unwrap();
        out.push((next, name, kind));
        at += 24 + len;
    }
    out
}

fn readdir(guest: &mut Guest, fd: i64, buf_len: i64, cookie: i64) -> (i32, Vec<u8>) {
    let errno = guest.call("fd_readdir", &[fd, 0x8000, buf_len, cookie, 0x70]);
    let used = guest.u32_at(0x70) as usize;
    (errno, guest.read(0x8000, used))
}

#[test]
fn create_write_seek_read_and_stat_a_file() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("file");
        let mut guest = guest_in(backend, &scratch);
        let (errno, fd) = guest.open(PREOPEN, "data.txt", CREAT, ALL_RIGHTS, 0);
        assert_eq!(errno, 0);
        assert_eq!(fd, 4, "the lowest free descriptor");
        let fd = i64::from(fd);
        assert_eq!(write_fd(&mut guest, fd, b"hello world"), (0, 11));
        assert_eq!(fs::read(scratch.join("data.txt")).unwrap(), b"hello world");

        assert_eq!(seek(&mut guest, fd, 0, 0), (0, 0));
        assert_eq!(read_fd(&mut guest, fd, 5), (0, b"hello".to_vec()));
        assert_eq!(guest.call("fd_tell", &[fd, 0x60]), 0);
        assert_eq!(guest.u64_at(0x60), 5);
        assert_eq!(seek(&mut guest, fd, -3, 2), (0, 8));
        assert_eq!(read_fd(&mut guest, fd, 100), (0, b"rld".to_vec()));
        assert_eq!(read_fd(&mut guest, fd, 100), (0, Vec::new()), "end of file");
        assert_eq!(seek(&mut guest, fd, 2, 1).0, 0);
        assert_eq!(seek(&mut guest, fd, -100, 1).0, e(errno::INVAL));
        assert_eq!(seek(&mut guest, fd, 0, 7).0, e(errno::INVAL));

        // Positioned I/O leaves the position alone.
        guest.iovecs(0x40, &[(0x5000, 5)]);
        assert_eq!(guest.call("fd_pread", &[fd, 0x40, 1, 6, 0x50]), 0);
        assert_eq!(guest.read(0x5000, guest.u32_at(0x50) as usize), b"world");
        guest.write(0x5000, b"HELLO");
        assert_eq!(guest.call("fd_pwrite", &[fd, 0x40, 1, 0, 0x50]), 0);
        assert_eq!(guest.u32_at(0x50), 5);
        assert_eq!(fs::read(scratch.join("data.txt")).unwrap(), b"HELLO world");
        assert_eq!(guest.call("fd_tell", &[fd, 0x60]), 0);
        assert_eq!(guest.u64_at(0x60), 13);

        // fd_filestat_get and path_filestat_get agree.
        assert_eq!(guest.call("fd_filestat_get", &[fd, 0x600]), 0);
        assert_eq!(guest.read(0x600 + 16, 1), [4], "a regular file");
        assert_eq!(guest.u64_at(0x600 + 32), 11, "size");
        let (p, len) = guest.path(0x100, "data.txt");
        assert_eq!(
            guest.call("path_filestat_get", &[PREOPEN, 1, p, len, 0x700]),
            0
        );
        assert_eq!(guest.read(0x700, 64), guest.read(0x600, 64));
        assert!(guest.u64_at(0x700 + 48) > 0, "a modification time");

        assert_eq!(guest.call("fd_fdstat_get", &[fd, 0x800]), 0);
        assert_eq!(guest.read(0x800, 1), [4]);
        assert_eq!(guest.call("fd_sync", &[fd]), 0);
        assert_eq!(guest.call("fd_datasync", &[fd]), 0);
        assert_eq!(guest.call("fd_close", &[fd]), 0);
        assert_eq!(guest.call("fd_close", &[fd]), e(errno::BADF));
    }
}

#[test]
fn open_flags_and_rights_are_honored() {
    let scratch = Scratch::new("flags");
    fs::write(scratch.join("f"), b"0123456789").unwrap();
    let mut guest = guest_in(MemoryBackend::Virtual, &scratch);
    assert_eq!(
        guest.open(PREOPEN, "f", CREAT | EXCL, ALL_RIGHTS, 0).0,
        e(errno::EXIST)
    );
    assert_eq!(
        guest.open(PREOPEN, "missing", 0, ALL_RIGHTS, 0).0,
        e(errno::NOENT)
    );
    assert_eq!(
        guest.open(PREOPEN, "f", DIRECTORY, ALL_RIGHTS, 0).0,
        e(errno::NOTDIR)
    );
    assert_eq!(
        guest.open(PREOPEN, "f", 0x100, ALL_RIGHTS, 0).0,
        e(errno::INVAL)
    );

    // Read-only: writing lacks the right, and the file stays as it was.
    let (errno, ro) = guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0);
    assert_eq!(errno, 0);
    assert_eq!(
        write_fd(&mut guest, i64::from(ro), b"x").0,
        e(errno::NOTCAPABLE)
    );
    assert_eq!(read_fd(&mut guest, i64::from(ro), 4), (0, b"0123".to_vec()));

    // Append: every write goes to the end.
    let (errno, ap) = guest.open(PREOPEN, "f", 0, ALL_RIGHTS, APPEND);
    assert_eq!(errno, 0);
    assert_eq!(seek(&mut guest, i64::from(ap), 0, 0).0, 0);
    assert_eq!(write_fd(&mut guest, i64::from(ap), b"ab"), (0, 2));
    assert_eq!(fs::read(scratch.join("f")).unwrap(), b"0123456789ab");
    assert_eq!(guest.call("fd_fdstat_get", &[i64::from(ap), 0x800]), 0);
    assert_eq!(
        u16::from_le_bytes(guest.read(0x802, 2).try_into().unwrap()),
        1
    );
    // Clearing the flag writes at the position again.
    assert_eq!(guest.call("fd_fdstat_set_flags", &[i64::from(ap), 0]), 0);
    assert_eq!(seek(&mut guest, i64::from(ap), 0, 0).0, 0);
    assert_eq!(write_fd(&mut guest, i64::from(ap), b"X"), (0, 1));
    assert_eq!(fs::read(scratch.join("f")).unwrap(), b"X123456789ab");
    assert_eq!(
        guest.call("fd_fdstat_set_flags", &[i64::from(ap), 0x40]),
        e(errno::INVAL)
    );

    // Truncate.
    let (errno, tr) = guest.open(PREOPEN, "f", TRUNC, ALL_RIGHTS, 0);
    assert_eq!(errno, 0);
    assert_eq!(fs::read(scratch.join("f")).unwrap(), b"");
    assert_eq!(guest.call("fd_close", &[i64::from(tr)]), 0);

    // Directories open as directories, not for writing.
    fs::create_dir(scratch.join("d")).unwrap();
    assert_eq!(
        guest.open(PREOPEN, "d", TRUNC, ALL_RIGHTS, 0).0,
        e(errno::ISDIR)
    );
    assert_eq!(
        guest.open(PREOPEN, "d", 0, ALL_RIGHTS, APPEND).0,
        e(errno::ISDIR)
    );
    // Asking to write a directory fails, as in wasmtime (and open(2)).
    assert_eq!(
        guest.open(PREOPEN, "d", 0, ALL_RIGHTS, 0).0,
        e(errno::ISDIR)
    );
    assert_eq!(
        guest
            .open(PREOPEN, ".", DIRECTORY, READ_RIGHTS | (1 << 6), 0)
            .0,
        e(errno::ISDIR)
    );
    let (errno, any) = guest.open(PREOPEN, "d", 0, DIR_RIGHTS, 0);
    assert_eq!(errno, 0);
    assert_eq!(guest.call("fd_fdstat_get", &[i64::from(any), 0x800]), 0);
    assert_eq!(guest.read(0x800, 1), [3], "a directory");
    let (errno, d) = guest.open(PREOPEN, "d", DIRECTORY, READ_RIGHTS | (1 << 13), 0);
    assert_eq!(errno, 0);
    assert_eq!(guest.call("fd_fdstat_get", &[i64::from(d), 0x800]), 0);
    assert_eq!(guest.read(0x800, 1), [3], "a directory");
    assert_eq!(read_fd(&mut guest, i64::from(d), 4).0, e(errno::NOTCAPABLE));
}

#[test]
fn directories_are_listed_with_stable_cookies() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("readdir");
        let mut guest = guest_in(backend, &scratch);
        let (p, len) = guest.path(0x100, "sub");
        assert_eq!(guest.call("path_create_directory", &[PREOPEN, p, len]), 0);
        assert_eq!(
            guest.call("path_create_directory", &[PREOPEN, p, len]),
            e(errno::EXIST)
        );
        assert!(scratch.join("sub").is_dir());
        for name in ["b.txt", "a.txt", "sub/inner"] {
            let (errno, fd) = guest.open(PREOPEN, name, CREAT, ALL_RIGHTS, 0);
            assert_eq!(errno, 0, "{name}");
            assert_eq!(guest.call("fd_close", &[i64::from(fd)]), 0);
        }

        let (errno, all) = readdir(&mut guest, PREOPEN, 4096, 0);
        assert_eq!(errno, 0);
        let entries = dirents(&all);
        let listed: Vec<(u64, &str, u8)> = entries
            .iter()
            .map(|(n, s, t)| (*n, s.as_str(), *t))
            .collect();
        assert_eq!(
            listed,
            [
                (1, ".", 3),
                (2, "..", 3),
                (3, "a.txt", 4),
                (4, "b.txt", 4),
                (5, "sub", 3)
            ]
        );
        assert!(all.len() < 4096, "the end of the directory was reached");

        // Resuming from a cookie gives the rest.
        let (errno, rest) = readdir(&mut guest, PREOPEN, 4096, 3);
        assert_eq!(errno, 0);
        let names: Vec<String> = dirents(&rest).into_iter().map(|e| e.1).collect();
        assert_eq!(names, ["b.txt", "sub"]);
        assert_eq!(readdir(&mut guest, PREOPEN, 4096, 99), (0, Vec::new()));

        // A small buffer is filled completely, the last entry cut short.
        let (errno, cut) = readdir(&mut guest, PREOPEN, 60, 0);
        assert_eq!(errno, 0);
        assert_eq!(cut.len(), 60);
        assert_eq!(cut[..], all[..60]);

        // A subdirectory descriptor lists its own entries.
        let (errno, sub) = guest.open(PREOPEN, "sub", DIRECTORY, DIR_RIGHTS, 0);
        assert_eq!(errno, 0);
        let (errno, listing) = readdir(&mut guest, i64::from(sub), 4096, 0);
        assert_eq!(errno, 0);
        let names: Vec<String> = dirents(&listing).into_iter().map(|e| e.1).collect();
        assert_eq!(names, [".", "..", "inner"]);
        // Files are not directories.
        let (_, file) = guest.open(PREOPEN, "a.txt", 0, ALL_RIGHTS, 0);
        assert_eq!(
            readdir(&mut guest, i64::from(file), 4096, 0).0,
            e(errno::NOTDIR)
        );
    }
}

#[test]
fn rename_unlink_and_remove() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("rename");
        fs::create_dir(scratch.join("dir")).unwrap();
        fs::write(scratch.join("old"), b"x").unwrap();
        let mut guest = guest_in(backend, &scratch);
        let (o, olen) = guest.path(0x100, "old");
        let (n, nlen) = guest.path(0x200, "dir/new");
        assert_eq!(
            guest.call("path_rename", &[PREOPEN, o, olen, PREOPEN, n, nlen]),
            0
        );
        assert!(!scratch.join("old").exists());
        assert_eq!(fs::read(scratch.join("dir/new")).unwrap(), b"x");

        let (d, dlen) = guest.path(0x300, "dir");
        assert_eq!(
            guest.call("path_remove_directory", &[PREOPEN, d, dlen]),
            e(errno::NOTEMPTY)
        );
        assert_eq!(
            guest.call("path_unlink_file", &[PREOPEN, d, dlen]),
            e(errno::ISDIR)
        );
        assert_eq!(guest.call("path_unlink_file", &[PREOPEN, n, nlen]), 0);
        assert_eq!(
            guest.call("path_unlink_file", &[PREOPEN, n, nlen]),
            e(errno::NOENT)
        );
        assert_eq!(guest.call("path_remove_directory", &[PREOPEN, d, dlen]), 0);
        assert!(!scratch.join("dir").exists());
        // The root itself cannot be removed.
        let (dot, dotlen) = guest.path(0x300, ".");
        assert_ne!(
            guest.call("path_remove_directory", &[PREOPEN, dot, dotlen]),
            0
        );
        assert!(scratch.path.is_dir());
    }
}

#[test]
fn preopens_are_described() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("prestat");
        let mut guest = guest_in(backend, &scratch);
        assert_eq!(guest.call("fd_prestat_get", &[PREOPEN, 0x40]), 0);
        assert_eq!(guest.read(0x40, 1), [0], "a directory");
        assert_eq!(guest.u32_at(0x44), 8);
        assert_eq!(guest.call("fd_prestat_dir_name", &[PREOPEN, 0x60, 8]), 0);
        assert_eq!(guest.read(0x60, 8), b"/sandbox");
        assert_eq!(
            guest.call("fd_prestat_dir_name", &[PREOPEN, 0x60, 3]),
            e(errno::NAMETOOLONG)
        );
        assert_eq!(guest.call("fd_prestat_get", &[4, 0x40]), e(errno::BADF));
        assert_eq!(guest.call("fd_prestat_get", &[1, 0x40]), e(errno::BADF));
    }
}

#[test]
fn open_descriptors_are_limited_per_context() {
    let scratch = Scratch::new("maxfds");
    fs::write(scratch.join("f"), b"x").unwrap();
    // Three streams and the preopen leave room for two more.
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, ".")
        .unwrap()
        .max_fds(6)
        .build();
    let mut guest = Guest::wrapper(MemoryBackend::Virtual, ctx);
    let mfile = i32::from(errno::MFILE);
    let (errno, first) = guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0);
    assert_eq!(errno, 0);
    assert_eq!(guest.open(PREOPEN, ".", DIRECTORY, READ_RIGHTS, 0).0, 0);
    assert_eq!(guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0).0, mfile);
    assert_eq!(guest.open(PREOPEN, ".", DIRECTORY, READ_RIGHTS, 0).0, mfile);
    // A full table fails before anything is created.
    assert_eq!(guest.open(PREOPEN, "g", CREAT, ALL_RIGHTS, 0).0, mfile);
    assert!(!scratch.join("g").exists());
    // Closing one makes room for one.
    assert_eq!(guest.call("fd_close", &[i64::from(first)]), 0);
    let (errno, again) = guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0);
    assert_eq!((errno, again), (0, first), "the lowest free number");
    assert_eq!(guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0).0, mfile);
}

#[test]
fn the_default_limit_is_1024_descriptors() {
    let scratch = Scratch::new("defaultfds");
    fs::write(scratch.join("f"), b"x").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, ".")
        .unwrap()
        .build();
    let mut guest = Guest::wrapper(MemoryBackend::Virtual, ctx);
    for n in 4..1024 {
        let (errno, fd) = guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0);
        assert_eq!((errno, fd), (0, n));
    }
    let (errno, _) = guest.open(PREOPEN, "f", 0, READ_RIGHTS, 0);
    assert_eq!(errno, i32::from(errno::MFILE));
}

#[test]
fn a_file_can_be_created_without_write_rights() {
    // POSIX's O_RDONLY | O_CREAT, which wasi-libc and Rust's std use.
    let scratch = Scratch::new("rdcreat");
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, ".")
        .unwrap()
        .build();
    let mut guest = Guest::wrapper(MemoryBackend::Virtual, ctx);
    let (errno, fd) = guest.open(PREOPEN, "new", CREAT, 0, 0);
    assert_eq!(errno, 0);
    assert!(scratch.join("new").is_file());
    // Again, now that it exists; and exclusively, which must fail.
    assert_eq!(guest.open(PREOPEN, "new", CREAT, 0, 0).0, 0);
    assert_eq!(
        guest.open(PREOPEN, "new", CREAT | EXCL, 0, 0).0,
        e(errno::EXIST)
    );
    // The descriptor has no write right, whatever the host opened.
    guest.iovecs(0x40, &[(0x400, 1)]);
    assert_eq!(
        guest.call("fd_write", &[i64::from(fd), 0x40, 1, 0x50]),
        e(errno::NOTCAPABLE)
    );
}

#[test]
fn directories_can_be_synced_and_stated() {
    let scratch = Scratch::new("dirsync");
    fs::create_dir(scratch.join("d")).unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, ".")
        .unwrap()
        .build();
    let mut guest = Guest::wrapper(MemoryBackend::Virtual, ctx);
    let (errno, d) = guest.open(PREOPEN, "d", DIRECTORY, DIR_RIGHTS, 0);
    assert_eq!(errno, 0);
    for fd in [PREOPEN, i64::from(d)] {
        assert_eq!(guest.call("fd_sync", &[fd]), 0, "fd {fd}");
        assert_eq!(guest.call("fd_datasync", &[fd]), 0, "fd {fd}");
        assert_eq!(guest.call("fd_filestat_get", &[fd, 0x600]), 0);
        assert_eq!(guest.read(0x600 + 16, 1), [3], "a directory");
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

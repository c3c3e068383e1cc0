//! Changing what a file is rather than what it holds:
//! `fd_filestat_set_size`, `fd_filestat_set_times`,
//! `path_filestat_set_times`, `fd_advise`, `fd_allocate`, with the
//! errnos wasmtime gives, and paths that stay beneath their descriptor.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Guest, Scratch, ALL_RIGHTS, BACKENDS, DIR_RIGHTS, READ_RIGHTS};
use waven_runtime::MemoryBackend;
use waven_wasi::{errno, WasiCtxBuilder};

const CREAT: i64 = 1;
const PREOPEN: i64 = 3;
const FOLLOW: i64 = 1;
const ATIM: i64 = 1;
const ATIM_NOW: i64 = 2;
const MTIM: i64 = 4;
const MTIM_NOW: i64 = 8;
const FD_FILESTAT_SET_SIZE: i64 = 1 << 22;
/// Beyond the guest's 128 KiB of memory.
const BAD_PTR: i64 = 0x7fff_0000;
/// 2001-09-09T01:46:40Z, and a nanosecond part.
const SOME_TIME: u64 = 1_000_000_000_000_000_123;

fn e(code: u16) -> i32 {
    i32::from(code)
}

/// A guest whose preopen is `scratch/root`; `scratch/outside` lies next
/// to it.
fn guest_in(backend: MemoryBackend, scratch: &Scratch) -> Guest {
    fs::create_dir_all(scratch.join("root")).unwrap();
    fs::create_dir_all(scratch.join("outside")).unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(scratch.join("root"), "/")
        .unwrap()
        .build();
    Guest::wrapper(backend, ctx)
}

fn open(guest: &mut Guest, name: &str, oflags: i64, rights: i64) -> i64 {
    let (errno, fd) = guest.open(PREOPEN, name, oflags, rights, 0);
    assert_eq!(errno, 0, "opening {name}");
    i64::from(fd)
}

/// The host's modification time, in nanoseconds since the epoch.
fn host_mtime(path: &std::path::Path, follow: bool) -> u64 {
    let meta = if follow {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    };
    let time = meta.unwrap().modified().unwrap();
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn host_atime(path: &std::path::Path) -> u64 {
    let time = fs::metadata(path).unwrap().accessed().unwrap();
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// Calls `path_filestat_set_times` on `path` (written at 0x100).
fn set_path_times(guest: &mut Guest, dir: i64, flags: i64, path: &str, times: [i64; 3]) -> i32 {
    let (p, len) = guest.path(0x100, path);
    let [atim, mtim, fst] = times;
    guest.call(
        "path_filestat_set_times",
        &[dir, flags, p, len, atim, mtim, fst],
    )
}

#[test]
fn sizes_change_on_files_opened_for_writing() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("set-size");
        let mut guest = guest_in(backend, &scratch);
        let f = open(&mut guest, "f", CREAT, ALL_RIGHTS);
        let file = scratch.join("root/f");
        assert_eq!(guest.call("fd_filestat_set_size", &[f, 100]), 0);
        assert_eq!(fs::read(&file).unwrap(), vec![0; 100]);
        fs::write(&file, b"0123456789").unwrap();
        assert_eq!(guest.call("fd_filestat_set_size", &[f, 4]), 0);
        assert_eq!(fs::read(&file).unwrap(), b"0123");
        // Beyond i64::MAX.
        assert_eq!(
            guest.call("fd_filestat_set_size", &[f, -1]),
            e(errno::INVAL)
        );
        // A file opened read-only (with the right) cannot be resized, as
        // with ftruncate.
        let r = open(&mut guest, "f", 0, READ_RIGHTS | FD_FILESTAT_SET_SIZE);
        assert_eq!(guest.call("fd_filestat_set_size", &[r, 0]), e(errno::INVAL));
        // Without the right; on a directory (which never has it); on
        // stdout (which has no host file); on a closed descriptor.
        let n = open(&mut guest, "f", 0, ALL_RIGHTS & !FD_FILESTAT_SET_SIZE);
        for (fd, want) in [
            (n, errno::NOTCAPABLE),
            (PREOPEN, errno::NOTCAPABLE),
            (1, errno::NOTCAPABLE),
            (77, errno::BADF),
        ] {
            assert_eq!(guest.call("fd_filestat_set_size", &[fd, 0]), e(want));
        }
        assert_eq!(fs::read(&file).unwrap(), b"0123");
    }
}

#[test]
fn times_are_set_on_open_files_and_directories() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("fd-times");
        let mut guest = guest_in(backend, &scratch);
        let f = open(&mut guest, "f", CREAT, ALL_RIGHTS);
        let file = scratch.join("root/f");
        let atime = host_atime(&file);
        let t = SOME_TIME as i64;
        assert_eq!(guest.call("fd_filestat_set_times", &[f, 0, t, MTIM]), 0);
        assert_eq!(host_mtime(&file, true), SOME_TIME);
        assert_eq!(host_atime(&file), atime, "atim unchanged");
        // The guest sees the same through fd_filestat_get.
        assert_eq!(guest.call("fd_filestat_get", &[f, 0x600]), 0);
        assert_eq!(guest.u64_at(0x600 + 48), SOME_TIME);
        // Now: the host's clock.
        let before = SystemTime::now() - Duration::from_secs(5);
        let before = before.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let flags = ATIM_NOW | MTIM_NOW;
        assert_eq!(guest.call("fd_filestat_set_times", &[f, 0, 0, flags]), 0);
        assert!(host_mtime(&file, true) >= before);
        assert!(host_atime(&file) >= before);
        // A directory descriptor.
        assert_eq!(
            guest.call("fd_filestat_set_times", &[PREOPEN, t, t, ATIM | MTIM]),
            0
        );
        assert_eq!(host_mtime(&scratch.join("root"), true), SOME_TIME);
        // A time both given and now; unknown flags.
        for flags in [ATIM | ATIM_NOW, MTIM | MTIM_NOW, 16, 1 << 16] {
            assert_eq!(
                guest.call("fd_filestat_set_times", &[f, t, t, flags]),
                e(errno::INVAL),
                "flags {flags}"
            );
        }
        // Standard streams have no host file; closed descriptors.
        assert_eq!(
            guest.call("fd_filestat_set_times", &[77, t, t, MTIM]),
            e(errno::BADF)
        );
        let r = open(&mut guest, "f", 0, READ_RIGHTS);
        assert_eq!(
            guest.call("fd_filestat_set_times", &[r, t, t, MTIM]),
            e(errno::NOTCAPABLE)
        );
    }
}

#[test]
fn times_are_set_on_paths_beneath_the_descriptor() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("path-times");
        let mut guest = guest_in(backend, &scratch);
        fs::create_dir(scratch.join("root/d")).unwrap();
        fs::write(scratch.join("root/d/f"), b"f").unwrap();
        fs::write(scratch.join("outside/secret"), b"s").unwrap();
        symlink("f", scratch.join("root/d/link")).unwrap();
        symlink("../../outside/secret", scratch.join("root/escape")).unwrap();
        let t = SOME_TIME as i64;
        let (file, link) = (scratch.join("root/d/f"), scratch.join("root/d/link"));
        assert_eq!(
            set_path_times(&mut guest, PREOPEN, 0, "d/f", [0, t, MTIM]),
            0
        );
        assert_eq!(host_mtime(&file, true), SOME_TIME);
        // Without symlink_follow the link's own times change.
        let before = host_mtime(&file, true);
        let later = t + 1_000_000_000;
        assert_eq!(
            set_path_times(&mut guest, PREOPEN, 0, "d/link", [0, later, MTIM]),
            0
        );
        assert_eq!(host_mtime(&link, false), SOME_TIME + 1_000_000_000);
        assert_eq!(host_mtime(&file, true), before);
        assert_eq!(
            set_path_times(&mut guest, PREOPEN, FOLLOW, "d/link", [0, later, MTIM]),
            0
        );
        assert_eq!(host_mtime(&file, true), SOME_TIME + 1_000_000_000);
        // Nothing outside: absolute paths, `..` and links that leave.
        let secret = scratch.join("outside/secret");
        let secret_mtime = host_mtime(&secret, true);
        for (path, flags) in [
            ("../outside/secret", 0),
            ("/outside/secret", 0),
            ("escape", FOLLOW),
        ] {
            assert_eq!(
                set_path_times(&mut guest, PREOPEN, flags, path, [0, t, MTIM]),
                e(errno::PERM),
                "{path}"
            );
        }
        assert_eq!(host_mtime(&secret, true), secret_mtime);
        // Errors: missing, both given and now, a file as the directory,
        // a bad path pointer, no right.
        assert_eq!(
            set_path_times(&mut guest, PREOPEN, 0, "missing", [0, t, MTIM]),
            e(errno::NOENT)
        );
        assert_eq!(
            set_path_times(&mut guest, PREOPEN, 0, "d/f", [t, t, ATIM | ATIM_NOW]),
            e(errno::INVAL)
        );
        let f = open(&mut guest, "d/f", 0, ALL_RIGHTS);
        assert_eq!(
            set_path_times(&mut guest, f, 0, "x", [0, t, MTIM]),
            e(errno::NOTDIR)
        );
        let args = [PREOPEN, 0, BAD_PTR, 3, 0, t, MTIM];
        assert_eq!(
            guest.call("path_filestat_set_times", &args),
            e(errno::FAULT)
        );
        let (errno, d) = guest.open(PREOPEN, "d", 0, DIR_RIGHTS & !(1 << 20), 0);
        assert_eq!(errno, 0);
        assert_eq!(
            set_path_times(&mut guest, i64::from(d), 0, "f", [0, t, MTIM]),
            e(errno::NOTCAPABLE)
        );
    }
}

#[test]
fn advice_is_checked_and_allocation_is_not_supported() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("advise");
        let mut guest = guest_in(backend, &scratch);
        let f = open(&mut guest, "f", CREAT, ALL_RIGHTS);
        for advice in 0..=5 {
            assert_eq!(guest.call("fd_advise", &[f, 0, 100, advice]), 0);
        }
        assert_eq!(guest.call("fd_advise", &[f, 0, 100, 6]), e(errno::INVAL));
        assert_eq!(guest.call("fd_advise", &[f, -1, 1, 0]), e(errno::INVAL));
        assert_eq!(guest.call("fd_advise", &[77, 0, 0, 0]), e(errno::BADF));
        // A directory may be advised (it has the right) but is no file.
        assert_eq!(guest.call("fd_advise", &[PREOPEN, 0, 0, 0]), e(errno::BADF));
        // fd_allocate: NOTSUP, as in wasmtime, and the file is unchanged.
        assert_eq!(guest.call("fd_allocate", &[f, 0, 100]), e(errno::NOTSUP));
        assert_eq!(fs::metadata(scratch.join("root/f")).unwrap().len(), 0);
        assert_eq!(guest.call("fd_allocate", &[77, 0, 1]), e(errno::BADF));
        assert_eq!(
            guest.call("fd_allocate", &[PREOPEN, 0, 1]),
            e(errno::NOTCAPABLE)
        );
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

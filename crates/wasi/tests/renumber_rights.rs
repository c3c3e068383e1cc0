//! The descriptor table: `fd_renumber` (over files, preopens and
//! standard streams, within the fd limit) and `fd_fdstat_set_rights`
//! (rights only go down).

mod common;

use std::fs;

use common::{Guest, Scratch, ALL_RIGHTS, BACKENDS, DIR_RIGHTS};
use waven_runtime::MemoryBackend;
use waven_wasi::{errno, WasiCtxBuilder};

const CREAT: i64 = 1;
const PREOPEN: i64 = 3;
const FD_READ: i64 = 1 << 1;
const FD_WRITE: i64 = 1 << 6;
const FD_SEEK: i64 = 1 << 2;

fn e(code: u16) -> i32 {
    i32::from(code)
}

fn guest_in(backend: MemoryBackend, scratch: &Scratch, max_fds: usize) -> Guest {
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, "/sandbox")
        .unwrap()
        .max_fds(max_fds)
        .build();
    Guest::wrapper(backend, ctx)
}

/// Creates `name` in the preopen and opens it with `rights`: the new fd.
fn create(guest: &mut Guest, name: &str, rights: i64) -> i64 {
    create_in(guest, PREOPEN, name, rights)
}

/// Creates `name` in directory `dir` and opens it with `rights`.
fn create_in(guest: &mut Guest, dir: i64, name: &str, rights: i64) -> i64 {
    let (errno, fd) = guest.open(dir, name, CREAT, rights, 0);
    assert_eq!(errno, 0, "creating {name}");
    i64::from(fd)
}

/// The `(filetype, rights_base, rights_inheriting)` of `fd`, or its errno.
fn fdstat(guest: &mut Guest, fd: i64) -> Result<(u8, u64, u64), i32> {
    match guest.call("fd_fdstat_get", &[fd, 0x600]) {
        0 => Ok((
            guest.read(0x600, 1)[0],
            guest.u64_at(0x608),
            guest.u64_at(0x610),
        )),
        errno => Err(errno),
    }
}

/// Writes `data` to `fd` through one iovec (data at 0x3000).
fn write_fd(guest: &mut Guest, fd: i64, data: &[u8]) -> i32 {
    guest.write(0x3000, data);
    guest.iovecs(0x40, &[(0x3000, data.len() as u32)]);
    guest.call("fd_write", &[fd, 0x40, 1, 0x50])
}

#[test]
fn renumber_moves_a_descriptor_and_closes_the_target() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("renumber");
        let mut guest = guest_in(backend, &scratch, 64);
        let a = create(&mut guest, "a", ALL_RIGHTS);
        let b = create(&mut guest, "b", FD_READ);
        let before = fdstat(&mut guest, a).unwrap();
        assert_eq!(guest.call("fd_renumber", &[a, b]), 0);
        assert_eq!(fdstat(&mut guest, a), Err(e(errno::BADF)));
        assert_eq!(fdstat(&mut guest, b), Ok(before));
        // The descriptor at `b` is the file `a` (it has `a`'s write right).
        assert_eq!(write_fd(&mut guest, b, b"moved"), 0);
        assert_eq!(fs::read(scratch.join("a")).unwrap(), b"moved");
        // Both ends must be open; a descriptor onto itself is a no-op.
        assert_eq!(guest.call("fd_renumber", &[b, 127]), e(errno::BADF));
        assert_eq!(guest.call("fd_renumber", &[127, b]), e(errno::BADF));
        assert_eq!(guest.call("fd_renumber", &[a, b]), e(errno::BADF));
        assert_eq!(guest.call("fd_renumber", &[b, b]), 0);
        assert_eq!(guest.call("fd_renumber", &[0, 0]), 0);
        assert!(fdstat(&mut guest, b).is_ok());
        // The freed number is reused.
        assert_eq!(create(&mut guest, "c", FD_READ), a);
    }
}

#[test]
fn renumber_over_preopens_and_standard_streams() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("renumber-preopen");
        fs::create_dir(scratch.join("d")).unwrap();
        let mut guest = guest_in(backend, &scratch, 64);
        let (errno, d) = guest.open(PREOPEN, "d", 0, DIR_RIGHTS, 0);
        assert_eq!(errno, 0);
        let d = i64::from(d);
        // The preopen moves with its name.
        assert_eq!(guest.call("fd_renumber", &[PREOPEN, d]), 0);
        assert_eq!(
            guest.call("fd_prestat_get", &[PREOPEN, 0x700]),
            e(errno::BADF)
        );
        assert_eq!(guest.call("fd_prestat_get", &[d, 0x700]), 0);
        assert_eq!(guest.u32_at(0x704), "/sandbox".len() as u32);
        assert_eq!(create_in(&mut guest, d, "f", FD_READ), PREOPEN);
        // A file over stdout: stdout is closed, the file takes its number.
        let f = create_in(&mut guest, d, "g", ALL_RIGHTS);
        assert_eq!(guest.call("fd_renumber", &[f, 1]), 0);
        assert_eq!(write_fd(&mut guest, 1, b"to g"), 0);
        assert_eq!(fs::read(scratch.join("g")).unwrap(), b"to g");
        // Stdin moved over a file: the file is closed.
        let h = create_in(&mut guest, d, "h", FD_READ);
        assert_eq!(guest.call("fd_renumber", &[0, h]), 0);
        assert_eq!(fdstat(&mut guest, 0), Err(e(errno::BADF)));
        assert!(fdstat(&mut guest, h).is_ok());
    }
}

#[test]
fn renumber_keeps_within_the_fd_limit() {
    let scratch = Scratch::new("renumber-limit");
    // Three streams and the preopen, then room for two more.
    let mut guest = guest_in(MemoryBackend::Virtual, &scratch, 6);
    let a = create(&mut guest, "a", FD_READ);
    let b = create(&mut guest, "b", FD_READ);
    assert_eq!(
        guest.open(PREOPEN, "c", CREAT, FD_READ, 0).0,
        e(errno::MFILE)
    );
    assert_eq!(guest.call("fd_renumber", &[b, a]), 0);
    // One descriptor fewer: exactly one more fits.
    assert_eq!(create(&mut guest, "c", FD_READ), b);
    assert_eq!(
        guest.open(PREOPEN, "d", CREAT, FD_READ, 0).0,
        e(errno::MFILE)
    );
    // A listing cached for the old number does not follow it.
    assert_eq!(
        guest.call("fd_readdir", &[PREOPEN, 0x2000, 512, 0, 0x50]),
        0
    );
    assert_eq!(guest.call("fd_renumber", &[PREOPEN, a]), 0);
    assert_eq!(
        guest.call("fd_readdir", &[PREOPEN, 0x2000, 512, 0, 0x50]),
        e(errno::BADF)
    );
    assert_eq!(guest.call("fd_readdir", &[a, 0x2000, 512, 0, 0x50]), 0);
    assert!(guest.u32_at(0x50) > 0);
}

#[test]
fn rights_can_be_dropped_never_added() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("set-rights");
        let mut guest = guest_in(backend, &scratch, 64);
        let f = create(&mut guest, "f", FD_READ | FD_WRITE | FD_SEEK);
        let (_, base, inheriting) = fdstat(&mut guest, f).unwrap();
        // The same rights: accepted (how programs probe for rights).
        let same = [f, base as i64, inheriting as i64];
        assert_eq!(guest.call("fd_fdstat_set_rights", &same), 0);
        let fewer = [f, (base as i64) & !FD_WRITE, 0];
        assert_eq!(guest.call("fd_fdstat_set_rights", &fewer), 0);
        assert_eq!(fdstat(&mut guest, f).unwrap().1, base & !(FD_WRITE as u64));
        assert_eq!(write_fd(&mut guest, f, b"x"), e(errno::NOTCAPABLE));
        // Adding one back fails and changes nothing.
        assert_eq!(
            guest.call("fd_fdstat_set_rights", &same),
            e(errno::NOTCAPABLE)
        );
        assert_eq!(fdstat(&mut guest, f).unwrap().1, base & !(FD_WRITE as u64));
        assert_eq!(
            guest.call("fd_fdstat_set_rights", &[99, 0, 0]),
            e(errno::BADF)
        );
        // A directory that no longer hands on fd_write opens files
        // without it.
        let (_, dir_base, dir_inheriting) = fdstat(&mut guest, PREOPEN).unwrap();
        let narrower = [
            PREOPEN,
            dir_base as i64,
            (dir_inheriting as i64) & !FD_WRITE,
        ];
        assert_eq!(guest.call("fd_fdstat_set_rights", &narrower), 0);
        let g = create(&mut guest, "g", ALL_RIGHTS);
        assert_eq!(fdstat(&mut guest, g).unwrap().1 & FD_WRITE as u64, 0);
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

//! Guest buffers the guest may not access: the call returns FAULT (21)
//! and changes nothing (no input consumed, no byte written), on both
//! backends for out-of-bounds buffers and on the software MMU for pages
//! without the right.

mod common;

use std::fs;

use common::{Guest, Scratch, ALL_RIGHTS, BACKENDS};
use waven_mmu::Rights;
use waven_runtime::MemoryBackend;
use waven_wasi::{errno, Input, Output, WasiCtxBuilder};

const FAULT: i32 = errno::FAULT as i32;
const PREOPEN: i64 = 3;
/// The wrapper guest's memory size (2 Wasm pages).
const MEMORY_END: u32 = 0x20000;
/// A page the tests make read-only on the virtual backend.
const READ_ONLY: u32 = 0x10000;
/// A page the tests unmap on the virtual backend.
const UNMAPPED: u32 = 0x12000;

/// A guest with `data` in file `f` of a preopen, opened as fd 4.
fn guest_with_file(backend: MemoryBackend, scratch: &Scratch, data: &[u8]) -> (Guest, i64) {
    fs::write(scratch.join("f"), data).unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, "/")
        .unwrap()
        .build();
    let mut guest = Guest::wrapper(backend, ctx);
    let (errno, fd) = guest.open(PREOPEN, "f", 0, ALL_RIGHTS, 0);
    assert_eq!(errno, 0);
    if backend == MemoryBackend::Virtual {
        let space = guest.memory.address_space(&guest.store).unwrap();
        space
            .protect(u64::from(READ_ONLY), 0x1000, Rights::Read)
            .unwrap();
        space.unmap(u64::from(UNMAPPED), 0x1000).unwrap();
    }
    (guest, i64::from(fd))
}

fn tell(guest: &mut Guest, fd: i64) -> u64 {
    assert_eq!(guest.call("fd_tell", &[fd, 0x60]), 0);
    guest.u64_at(0x60)
}

/// `fd_read` of `fd` into `iovs` (array at 0x40, count at 0x50).
fn read_into(guest: &mut Guest, fd: i64, iovs: &[(u32, u32)], nread: i64) -> i32 {
    guest.iovecs(0x40, iovs);
    guest.call("fd_read", &[fd, 0x40, iovs.len() as i64, nread])
}

#[test]
fn fd_read_into_an_out_of_bounds_buffer_consumes_nothing() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("oob-read");
        let (mut guest, fd) = guest_with_file(backend, &scratch, b"0123456789");
        guest.write(0x1000, &[0xaa; 8]);
        // Crossing the end of memory, entirely past it, and a good buffer
        // followed by a bad one: all fault and write nothing.
        for iovs in [
            vec![(MEMORY_END - 4, 8)],
            vec![(MEMORY_END + 0x1000, 8)],
            vec![(u32::MAX - 2, 8)],
            vec![(0x1000, 4), (MEMORY_END - 2, 4)],
        ] {
            assert_eq!(read_into(&mut guest, fd, &iovs, 0x50), FAULT, "{iovs:?}");
            assert_eq!(tell(&mut guest, fd), 0, "nothing consumed for {iovs:?}");
            assert_eq!(
                guest.read(0x1000, 8),
                [0xaa; 8],
                "nothing written for {iovs:?}"
            );
        }
        // A bad result pointer faults before reading too.
        assert_eq!(
            read_into(&mut guest, fd, &[(0x1000, 4)], i64::from(MEMORY_END - 1)),
            FAULT
        );
        assert_eq!(tell(&mut guest, fd), 0);
        assert_eq!(guest.read(0x1000, 8), [0xaa; 8]);
        // A bad iovec array itself.
        assert_eq!(
            guest.call("fd_read", &[fd, i64::from(MEMORY_END - 4), 1, 0x50]),
            FAULT
        );
        // The whole file is still there to read.
        assert_eq!(read_into(&mut guest, fd, &[(0x1000, 64)], 0x50), 0);
        assert_eq!(guest.u32_at(0x50), 10);
        assert_eq!(guest.read(0x1000, 10), b"0123456789");
        // Huge lengths are refused, not allocated.
        assert_eq!(
            read_into(&mut guest, fd, &[(0x1000, u32::MAX)], 0x50),
            FAULT
        );
    }
}

#[test]
fn fd_read_into_a_read_only_page_consumes_nothing() {
    let scratch = Scratch::new("ro-read");
    let (mut guest, fd) = guest_with_file(MemoryBackend::Virtual, &scratch, b"0123456789");
    let before = guest.read(u64::from(READ_ONLY), 16);
    for iovs in [
        vec![(READ_ONLY, 4)],
        vec![(READ_ONLY - 2, 4)],
        vec![(0x1000, 4), (READ_ONLY + 8, 4)],
        vec![(UNMAPPED, 4)],
    ] {
        guest.write(0x1000, &[0xaa; 4]);
        assert_eq!(read_into(&mut guest, fd, &iovs, 0x50), FAULT, "{iovs:?}");
        assert_eq!(tell(&mut guest, fd), 0, "nothing consumed for {iovs:?}");
        assert_eq!(
            guest.read(0x1000, 4),
            [0xaa; 4],
            "nothing written for {iovs:?}"
        );
        assert_eq!(guest.read(u64::from(READ_ONLY), 16), before);
    }
    // The page stays readable, and the result pointer may not live there.
    assert_eq!(
        read_into(&mut guest, fd, &[(0x1000, 4)], i64::from(READ_ONLY)),
        FAULT
    );
    assert_eq!(tell(&mut guest, fd), 0);
    // The same for positioned reads.
    guest.iovecs(0x40, &[(READ_ONLY, 4)]);
    assert_eq!(guest.call("fd_pread", &[fd, 0x40, 1, 0, 0x50]), FAULT);
    assert_eq!(guest.read(u64::from(READ_ONLY), 16), before);
    assert_eq!(fs::read(scratch.join("f")).unwrap(), b"0123456789");
}

#[test]
fn stdin_is_not_consumed_by_a_faulting_read() {
    for &backend in BACKENDS {
        let ctx = WasiCtxBuilder::new()
            .stdin(Input::Bytes(b"keep me".to_vec()))
            .build();
        let mut guest = Guest::wrapper(backend, ctx);
        assert_eq!(
            read_into(&mut guest, 0, &[(MEMORY_END - 3, 7)], 0x50),
            FAULT
        );
        assert_eq!(read_into(&mut guest, 0, &[(0x1000, 7)], 0x50), 0);
        assert_eq!(guest.read(0x1000, 7), b"keep me");
    }
}

#[test]
fn fd_write_from_a_bad_buffer_writes_nothing() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("bad-write");
        let (mut guest, fd) = guest_with_file(backend, &scratch, b"");
        guest.write(0x1000, b"good");
        let mut bad = vec![(0x1000, 4), (MEMORY_END - 2, 4)];
        if backend == MemoryBackend::Virtual {
            bad.push((UNMAPPED, 4));
        }
        for iov in bad.iter().skip(1) {
            guest.iovecs(0x40, &[bad[0], *iov]);
            assert_eq!(
                guest.call("fd_write", &[fd, 0x40, 2, 0x50]),
                FAULT,
                "{iov:?}"
            );
            assert_eq!(fs::read(scratch.join("f")).unwrap(), b"", "nothing written");
        }
        // A bad result pointer: nothing written either.
        guest.iovecs(0x40, &[(0x1000, 4)]);
        assert_eq!(
            guest.call("fd_write", &[fd, 0x40, 1, i64::from(MEMORY_END)]),
            FAULT
        );
        assert_eq!(fs::read(scratch.join("f")).unwrap(), b"");
        // Reading from a read-only page is fine: it is a source.
        if backend == MemoryBackend::Virtual {
            guest.iovecs(0x40, &[(READ_ONLY, 4)]);
            assert_eq!(guest.call("fd_write", &[fd, 0x40, 1, 0x50]), 0);
            assert_eq!(fs::read(scratch.join("f")).unwrap(), [0u8; 4]);
        }
    }
}

#[test]
fn writes_to_read_only_pages_fault_in_every_output_call() {
    let scratch = Scratch::new("ro-out");
    let (mut guest, fd) = guest_with_file(MemoryBackend::Virtual, &scratch, b"x");
    let ro = i64::from(READ_ONLY);
    let before = guest.read(u64::from(READ_ONLY), 64);
    let (p, len) = guest.path(0x100, "f");
    let calls: Vec<(&str, Vec<i64>)> = vec![
        ("args_sizes_get", vec![ro, 0x10]),
        ("environ_sizes_get", vec![0x10, ro]),
        ("clock_time_get", vec![1, 0, ro]),
        ("clock_res_get", vec![1, ro]),
        ("random_get", vec![ro, 16]),
        ("fd_fdstat_get", vec![fd, ro]),
        ("fd_filestat_get", vec![fd, ro]),
        ("fd_prestat_get", vec![PREOPEN, ro]),
        ("fd_prestat_dir_name", vec![PREOPEN, ro, 8]),
        ("fd_seek", vec![fd, 1, 0, ro]),
        ("fd_tell", vec![fd, ro]),
        ("fd_readdir", vec![PREOPEN, ro, 64, 0, 0x50]),
        ("fd_readdir", vec![PREOPEN, 0x2000, 64, 0, ro]),
        ("path_filestat_get", vec![PREOPEN, 1, p, len, ro]),
        (
            "path_open",
            vec![PREOPEN, 1, p, len, 0, ALL_RIGHTS, ALL_RIGHTS, 0, ro],
        ),
        ("path_readlink", vec![PREOPEN, p, len, ro, 8, 0x50]),
    ];
    for (name, args) in calls {
        let errno = guest.call(name, &args);
        assert_eq!(errno, FAULT, "{name}{args:?}");
        assert_eq!(guest.read(u64::from(READ_ONLY), 64), before, "{name} wrote");
    }
    // fd_seek faulted before it moved, path_open before it opened.
    assert_eq!(tell(&mut guest, fd), 0);
    assert_eq!(guest.call("fd_close", &[5]), i32::from(errno::BADF));
    // The environment strings: the pointer array is fine, the buffer is not.
    let ctx_args = WasiCtxBuilder::new().args(["a", "b"]).build();
    let mut guest = Guest::wrapper(MemoryBackend::Virtual, ctx_args);
    let space = guest.memory.address_space(&guest.store).unwrap();
    space
        .protect(u64::from(READ_ONLY), 0x1000, Rights::Read)
        .unwrap();
    guest.write(0x200, &[0xaa; 8]);
    assert_eq!(guest.call("args_get", &[0x200, ro + 0xffe]), FAULT);
    assert_eq!(guest.read(0x200, 8), [0xaa; 8], "no pointer written");
}

#[test]
fn random_get_checks_the_whole_buffer_first() {
    for &backend in BACKENDS {
        let mut guest = Guest::plain(backend);
        guest.write(0x1f000, &[0; 16]);
        assert_eq!(guest.call("random_get", &[0x1f000, 0x2000]), FAULT);
        assert_eq!(guest.read(0x1f000, 16), [0; 16]);
        assert_eq!(guest.call("random_get", &[0, u32::MAX as i64]), FAULT);
        assert_eq!(guest.call("random_get", &[0x1f000, 0x1000]), 0);
        assert_ne!(guest.read(0x1f000, 16), [0; 16]);
        assert_eq!(guest.call("random_get", &[i64::from(MEMORY_END), 0]), 0);
    }
}

#[test]
fn no_argument_combination_panics() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("fuzz");
        fs::create_dir(scratch.join("d")).unwrap();
        fs::write(scratch.join("d/f"), b"data").unwrap();
        let ctx = WasiCtxBuilder::new()
            .args(["fuzz"])
            .env("K", "V")
            .preopened_dir(scratch.join("d"), "/d")
            .unwrap()
            .stdin(Input::Bytes(vec![1; 100]))
            .stdout(Output::Discard)
            .stderr(Output::Discard)
            .build();
        let mut guest = Guest::wrapper(backend, ctx);
        let words: [i64; 12] = [
            0,
            1,
            3,
            4,
            8,
            0x100,
            0x1_fff0,
            0x2_0000,
            0x7fff_ffff,
            -1,
            -8,
            i64::from(i32::MIN),
        ];
        let longs: [i64; 5] = [0, 1, -1, i64::MIN, i64::MAX];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let (name, sig) = common::SIGNATURES[next() as usize % common::SIGNATURES.len()];
            // poll_oneoff could be asked to sleep for a long time.
            if name == "poll_oneoff" {
                continue;
            }
            let args: Vec<i64> = sig
                .chars()
                .map(|c| match c {
                    'I' => longs[next() as usize % longs.len()],
                    _ => words[next() as usize % words.len()],
                })
                .collect();
            let errno = guest.call(name, &args);
            assert!((0..=76).contains(&errno), "{name}{args:?} returned {errno}");
        }
        // Nothing escaped the preopen.
        let mut names: Vec<String> = fs::read_dir(&scratch.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["d"]);
    }
}

/// A guest whose frame pool has three frames left once its first page
/// (argument scratch space) is written: its other pages are zero pages
/// until written, so writes beyond three fresh pages run out of frames.
/// Only an overcommitting pool can run out under a guest: a strict one
/// promises every frame a memory may write when it grows. The guest's two
/// Wasm pages (32 frames) are not capped at the pool's four frames, in
/// any profile: the pool just has no more to give.
fn starved_guest(ctx: waven_wasi::WasiCtx) -> Guest {
    let engine = waven_test_support::engine(waven_runtime::Config {
        memory: MemoryBackend::Virtual,
        frame_budget: 4 * 4096,
        overcommit: true,
        ..waven_runtime::Config::default()
    });
    let mut guest = Guest::with_engine(&engine, &common::wrapper_wat(), ctx);
    guest.write(0, &[0]);
    guest
}

/// Whether the page at `addr` is still a zero page (never written).
fn untouched(guest: &Guest, addr: u64) -> bool {
    let space = guest.memory.address_space(&guest.store).unwrap();
    space.page_info(addr).unwrap().kind == waven_mmu::PageKind::Zero
}

#[test]
fn running_out_of_frames_gives_nomem_and_consumes_nothing() {
    let scratch = Scratch::new("nomem");
    fs::write(scratch.join("f"), vec![7u8; 0x4000]).unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, "/")
        .unwrap()
        .build();
    let mut guest = starved_guest(ctx);
    let (errno, fd) = guest.open(PREOPEN, "f", 0, ALL_RIGHTS, 0);
    assert_eq!(errno, 0);
    let fd = i64::from(fd);
    let nomem = i32::from(errno::NOMEM);
    // Four fresh pages are needed: the rights allow it, the frames do
    // not, and nothing is read.
    assert_eq!(read_into(&mut guest, fd, &[(0x4000, 0x4000)], 0x50), nomem);
    assert_eq!(tell(&mut guest, fd), 0, "nothing was consumed");
    assert_eq!(guest.call("random_get", &[0x8000, 0x4000]), nomem);
    // Small buffers in the page already written still work.
    assert_eq!(read_into(&mut guest, fd, &[(0x200, 16)], 0x50), 0);
    assert_eq!(guest.u32_at(0x50), 16);
    assert_eq!(tell(&mut guest, fd), 16);
}

#[test]
fn fd_read_fills_all_its_buffers_or_none_when_frames_run_out() {
    let scratch = Scratch::new("nomem-iovs");
    fs::write(scratch.join("f"), vec![7u8; 0x8000]).unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(&scratch.path, "/")
        .unwrap()
        .build();
    let mut guest = starved_guest(ctx);
    let (errno, fd) = guest.open(PREOPEN, "f", 0, ALL_RIGHTS, 0);
    assert_eq!(errno, 0);
    let fd = i64::from(fd);
    // The first buffer needs one fresh page, the second three: one more
    // than the pool has. Neither may be filled.
    let iovs = [(0x4000, 0x1000), (0x8000, 0x3000)];
    assert_eq!(
        read_into(&mut guest, fd, &iovs, 0x50),
        i32::from(errno::NOMEM)
    );
    assert!(untouched(&guest, 0x4000), "the first buffer was written");
    assert_eq!(guest.read(0x4000, 0x1000), vec![0u8; 0x1000]);
    assert_eq!(tell(&mut guest, fd), 0, "nothing was consumed");
    // Three fresh pages fit: both buffers are filled.
    let iovs = [(0x4000, 0x1000), (0x8000, 0x2000)];
    assert_eq!(read_into(&mut guest, fd, &iovs, 0x50), 0);
    assert_eq!(guest.u32_at(0x50), 0x3000);
    assert_eq!(guest.read(0x9ff0, 16), vec![7u8; 16]);
}

#[test]
fn args_and_environ_are_written_whole_or_not_at_all() {
    // Strings that fill three pages; their pointers need a fourth.
    let long = "a".repeat(0x1000 - 1);
    let strings = [long.clone(), long.clone(), long];
    let ctx = WasiCtxBuilder::new()
        .args(strings.iter().cloned())
        .env("K", "a".repeat(0x3000 - 3))
        .build();
    let mut guest = starved_guest(ctx);
    let nomem = i32::from(errno::NOMEM);
    // Pointers at 0x4000 (a fresh page), strings from 0x8000 (three).
    assert_eq!(guest.call("args_get", &[0x4000, 0x8000]), nomem);
    assert_eq!(guest.call("environ_get", &[0x4000, 0x8000]), nomem);
    for page in [0x4000, 0x8000, 0x9000, 0xa000] {
        assert!(untouched(&guest, page), "page {page:#x} was written");
    }
    // With the pointers in the page already written, three pages do.
    assert_eq!(guest.call("args_get", &[0x100, 0x8000]), 0);
    assert_eq!(guest.u32_at(0x104), 0x9000);
    assert_eq!(guest.read(0x9000, 2), b"aa");
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

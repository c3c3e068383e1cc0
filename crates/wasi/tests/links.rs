//! Hard links (`path_link`) beneath both descriptors' directories, and
//! links (hard or symbolic) at a path that ends in `/`.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};

use common::{Guest, Scratch, BACKENDS, DIR_RIGHTS};
use waven_runtime::MemoryBackend;
use waven_wasi::{errno, WasiCtxBuilder};

const DIRECTORY: i64 = 2;
const PREOPEN: i64 = 3;
const SECOND: i64 = 4;
const FOLLOW: i64 = 1;
const PATH_LINK_SOURCE: i64 = 1 << 11;
const PATH_LINK_TARGET: i64 = 1 << 12;
/// Beyond the guest's 128 KiB of memory.
const BAD_PTR: i64 = 0x7fff_0000;

fn e(code: u16) -> i32 {
    i32::from(code)
}

/// A guest with two preopens, `scratch/root` (fd 3) and `scratch/other`
/// (fd 4), and `scratch/outside` next to them holding `secret`.
fn guest_in(backend: MemoryBackend, scratch: &Scratch) -> Guest {
    for dir in ["root", "other", "outside"] {
        fs::create_dir_all(scratch.join(dir)).unwrap();
    }
    fs::write(scratch.join("outside/secret"), b"secret").unwrap();
    fs::write(scratch.join("root/file"), b"data").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(scratch.join("root"), "/root")
        .unwrap()
        .preopened_dir(scratch.join("other"), "/other")
        .unwrap()
        .build();
    Guest::wrapper(backend, ctx)
}

/// `path_link(from_dir, flags, from, to_dir, to)`, paths at 0x100 and
/// 0x200.
fn link(guest: &mut Guest, from_dir: i64, flags: i64, from: &str, to_dir: i64, to: &str) -> i32 {
    let (fp, fl) = guest.path(0x100, from);
    let (tp, tl) = guest.path(0x200, to);
    guest.call("path_link", &[from_dir, flags, fp, fl, to_dir, tp, tl])
}

/// `path_symlink(target, dir, path)`, texts at 0x100 and 0x200.
fn symlink_at(guest: &mut Guest, target: &str, dir: i64, path: &str) -> i32 {
    let (tp, tl) = guest.path(0x100, target);
    let (pp, pl) = guest.path(0x200, path);
    guest.call("path_symlink", &[tp, tl, dir, pp, pl])
}

#[test]
fn hard_links_share_the_file() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("link");
        let mut guest = guest_in(backend, &scratch);
        let root = scratch.join("root");
        assert_eq!(link(&mut guest, PREOPEN, 0, "file", PREOPEN, "same"), 0);
        let (a, b) = (
            fs::metadata(root.join("file")).unwrap(),
            fs::metadata(root.join("same")).unwrap(),
        );
        assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
        // Into a subdirectory descriptor and across preopens.
        fs::create_dir(root.join("sub")).unwrap();
        let (errno, sub) = guest.open(PREOPEN, "sub", DIRECTORY, DIR_RIGHTS, 0);
        assert_eq!(errno, 0);
        assert_eq!(
            link(&mut guest, PREOPEN, 0, "file", i64::from(sub), "in-sub"),
            0
        );
        assert_eq!(fs::read(root.join("sub/in-sub")).unwrap(), b"data");
        assert_eq!(link(&mut guest, PREOPEN, 0, "file", SECOND, "there"), 0);
        assert_eq!(fs::read(scratch.join("other/there")).unwrap(), b"data");
        // A symlink is linked itself, dangling or not.
        symlink("nowhere", root.join("dangling")).unwrap();
        assert_eq!(
            link(&mut guest, PREOPEN, 0, "dangling", PREOPEN, "dangling2"),
            0
        );
        let meta = fs::symlink_metadata(root.join("dangling2")).unwrap();
        assert!(meta.file_type().is_symlink());
    }
}

#[test]
fn hard_links_fail_as_in_wasmtime() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("link-errors");
        let mut guest = guest_in(backend, &scratch);
        let root = scratch.join("root");
        fs::create_dir(root.join("dir")).unwrap();
        fs::write(root.join("taken"), b"").unwrap();
        symlink("nowhere", root.join("dangling")).unwrap();
        let cases: &[(&str, i64, &str, u16)] = &[
            ("file", 0, "taken", errno::EXIST),
            ("file", 0, "file", errno::EXIST),
            ("file", 0, "dir", errno::EXIST),
            ("file", 0, "dangling", errno::EXIST),
            ("file", 0, ".", errno::EXIST),
            ("dir", 0, "new", errno::PERM),
            ("file", 0, "new/", errno::NOENT),
            ("file", 0, "taken/", errno::NOTDIR),
            ("file", 0, "dir/", errno::EXIST),
            ("missing", 0, "new", errno::NOENT),
            ("dangling", FOLLOW, "new", errno::INVAL),
        ];
        for &(from, flags, to, want) in cases {
            assert_eq!(
                link(&mut guest, PREOPEN, flags, from, PREOPEN, to),
                e(want),
                "{from} -> {to}"
            );
        }
        assert!(!root.join("new").exists());
        // Both ends stay beneath their descriptors.
        let escapes = [
            ("../outside/secret", "stolen"),
            ("/etc/passwd", "stolen"),
            ("file", "../outside/planted"),
            ("file", "/tmp/planted"),
        ];
        for (from, to) in escapes {
            assert_eq!(
                link(&mut guest, PREOPEN, 0, from, PREOPEN, to),
                e(errno::PERM),
                "{from} -> {to}"
            );
        }
        assert!(!root.join("stolen").exists());
        assert!(!scratch.join("outside/planted").exists());
        // Descriptors: closed, not a directory, without the rights.
        assert_eq!(
            link(&mut guest, 77, 0, "file", PREOPEN, "n"),
            e(errno::BADF)
        );
        assert_eq!(
            link(&mut guest, PREOPEN, 0, "file", 1, "n"),
            e(errno::NOTDIR)
        );
        for (rights, from_dir, to_dir) in [
            (DIR_RIGHTS & !PATH_LINK_SOURCE, true, false),
            (DIR_RIGHTS & !PATH_LINK_TARGET, false, true),
        ] {
            let (errno, d) = guest.open(PREOPEN, ".", DIRECTORY, rights, 0);
            assert_eq!(errno, 0);
            let d = i64::from(d);
            let from = if from_dir { d } else { PREOPEN };
            let to = if to_dir { d } else { PREOPEN };
            assert_eq!(
                link(&mut guest, from, 0, "file", to, "n"),
                e(errno::NOTCAPABLE)
            );
        }
        // A bad path pointer fails before anything is created.
        let (fp, fl) = guest.path(0x100, "file");
        let args = [PREOPEN, 0, fp, fl, PREOPEN, BAD_PTR, 4];
        assert_eq!(guest.call("path_link", &args), e(errno::FAULT));
        let args = [PREOPEN, 0, BAD_PTR, 4, PREOPEN, fp, fl];
        assert_eq!(guest.call("path_link", &args), e(errno::FAULT));
        assert_eq!(fs::metadata(root.join("file")).unwrap().nlink(), 1);
    }
}

#[test]
fn symlinks_at_a_trailing_slash_fail_as_on_linux() {
    for &backend in BACKENDS {
        let scratch = Scratch::new("symlink-slash");
        let mut guest = guest_in(backend, &scratch);
        let root = scratch.join("root");
        fs::create_dir(root.join("dir")).unwrap();
        assert_eq!(
            symlink_at(&mut guest, "file", PREOPEN, "x/"),
            e(errno::NOENT)
        );
        assert!(fs::symlink_metadata(root.join("x")).is_err());
        assert_eq!(
            symlink_at(&mut guest, "file", PREOPEN, "dir/"),
            e(errno::EXIST)
        );
        assert_eq!(
            symlink_at(&mut guest, "file", PREOPEN, "file/"),
            e(errno::NOTDIR)
        );
        assert_eq!(symlink_at(&mut guest, "file", PREOPEN, "x"), 0);
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

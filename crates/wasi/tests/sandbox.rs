//! The sandbox: nothing outside a preopened directory is reachable,
//! whatever path or symlink a guest uses.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Guest, Scratch, ALL_RIGHTS, BACKENDS, DIR_RIGHTS};
use waven_runtime::MemoryBackend;
use waven_wasi::{errno, WasiCtxBuilder};

const CREAT: i64 = 1;
const DIRECTORY: i64 = 2;
const PREOPEN: i64 = 3;
/// What an escape from the sandbox returns (EPERM, as under wasmtime).
const NOTCAPABLE: i32 = errno::PERM as i32;

/// A host tree: `outside/secret` next to `root/` (the preopen), with
/// `root/sub/file` and `root/top`.
struct Tree {
    base: Scratch,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let base = Scratch::new(tag);
        fs::create_dir_all(base.join("outside")).unwrap();
        fs::write(base.join("outside/secret"), b"secret").unwrap();
        fs::write(base.join("outside/victim"), b"victim").unwrap();
        fs::create_dir_all(base.join("root/sub")).unwrap();
        fs::write(base.join("root/sub/file"), b"inside").unwrap();
        fs::write(base.join("root/top"), b"top").unwrap();
        Tree { base }
    }

    fn guest(&self, backend: MemoryBackend) -> Guest {
        let ctx = WasiCtxBuilder::new()
            .preopened_dir(self.base.join("root"), ".")
            .unwrap()
            .build();
        Guest::wrapper(backend, ctx)
    }

    /// Panics unless everything beside the preopen is as it was made:
    /// nothing read out of it (checked by the caller), created in it or
    /// deleted from it.
    fn assert_outside_untouched(&self) {
        assert_eq!(names(&self.base.path), ["outside", "root"]);
        assert_eq!(names(&self.base.join("outside")), ["secret", "victim"]);
        assert_eq!(
            fs::read(self.base.join("outside/secret")).unwrap(),
            b"secret"
        );
        assert_eq!(
            fs::read(self.base.join("outside/victim")).unwrap(),
            b"victim"
        );
    }
}

/// The sorted entry names of a host directory.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Opens `path` read-write and reads up to 64 bytes of it.
fn open_and_read(guest: &mut Guest, dir: i64, path: &str, follow: bool) -> Result<Vec<u8>, i32> {
    let (p, len) = guest.path(0x100, path);
    let flags = i64::from(follow);
    let errno = guest.call(
        "path_open",
        &[dir, flags, p, len, 0, ALL_RIGHTS, ALL_RIGHTS, 0, 0x80],
    );
    if errno != 0 {
        return Err(errno);
    }
    let fd = i64::from(guest.u32_at(0x80));
    guest.iovecs(0x40, &[(0x4000, 64)]);
    assert_eq!(guest.call("fd_read", &[fd, 0x40, 1, 0x50]), 0);
    let data = guest.read(0x4000, guest.u32_at(0x50) as usize);
    assert_eq!(guest.call("fd_close", &[fd]), 0);
    Ok(data)
}

#[test]
fn dot_dot_cannot_leave_the_preopen() {
    for &backend in BACKENDS {
        let tree = Tree::new("dotdot");
        let mut guest = tree.guest(backend);
        for path in [
            "../outside/secret",
            "sub/../../outside/secret",
            "..",
            "sub/../..",
        ] {
            assert_eq!(
                open_and_read(&mut guest, PREOPEN, path, true),
                Err(NOTCAPABLE),
                "{path}"
            );
        }
        assert_eq!(
            open_and_read(&mut guest, PREOPEN, "sub/../top", true),
            Ok(b"top".to_vec())
        );
        // A subdirectory descriptor reaches what lies beneath it, as in
        // wasmtime: `..` may climb back to it, not above it.
        let (errno, sub) = guest.open(PREOPEN, "sub", DIRECTORY, DIR_RIGHTS, 0);
        assert_eq!(errno, 0);
        let sub = i64::from(sub);
        assert_eq!(
            open_and_read(&mut guest, sub, "../sub/file", true),
            Err(NOTCAPABLE)
        );
        assert_eq!(
            open_and_read(&mut guest, sub, "x/../file", true),
            Err(i32::from(errno::NOENT)),
            "`x` does not exist"
        );
        assert_eq!(
            open_and_read(&mut guest, sub, "./file", true),
            Ok(b"inside".to_vec())
        );
        assert_eq!(
            open_and_read(&mut guest, sub, "../../outside/secret", true),
            Err(NOTCAPABLE)
        );
        // Creating outside is refused too, and nothing appears there.
        let (errno, _) = guest.open(PREOPEN, "../outside/new", CREAT, ALL_RIGHTS, 0);
        assert_eq!(errno, NOTCAPABLE);
        assert!(!tree.base.join("outside/new").exists());
        let (p, len) = guest.path(0x100, "../escaped");
        assert_eq!(
            guest.call("path_create_directory", &[PREOPEN, p, len]),
            NOTCAPABLE
        );
        assert!(!tree.base.join("escaped").exists());
    }
}

#[test]
fn absolute_paths_are_refused() {
    for &backend in BACKENDS {
        let tree = Tree::new("absolute");
        let mut guest = tree.guest(backend);
        let secret = tree.base.join("outside/secret");
        let secret = secret.to_str().unwrap();
        assert_eq!(
            open_and_read(&mut guest, PREOPEN, secret, true),
            Err(NOTCAPABLE)
        );
        assert_eq!(
            open_and_read(&mut guest, PREOPEN, "/etc/passwd", true),
            Err(NOTCAPABLE)
        );
        let (p, len) = guest.path(0x100, "/etc/passwd");
        assert_eq!(
            guest.call("path_filestat_get", &[PREOPEN, 1, p, len, 0x400]),
            NOTCAPABLE
        );
        assert_eq!(
            guest.call("path_unlink_file", &[PREOPEN, p, len]),
            NOTCAPABLE
        );
    }
}

#[test]
fn symlinks_pointing_outside_are_not_followed() {
    for &backend in BACKENDS {
        let tree = Tree::new("outlink");
        let root = tree.base.join("root");
        symlink(tree.base.join("outside"), root.join("abs")).unwrap();
        symlink("../outside", root.join("rel")).unwrap();
        symlink("../../outside/secret", root.join("sub/deep")).unwrap();
        symlink("sub/deep", root.join("chain")).unwrap();
        let mut guest = tree.guest(backend);
        for path in ["abs/secret", "rel/secret", "sub/deep", "chain"] {
            assert_eq!(
                open_and_read(&mut guest, PREOPEN, path, true),
                Err(NOTCAPABLE),
                "{path}"
            );
            let (p, len) = guest.path(0x100, path);
            assert_eq!(
                guest.call("path_filestat_get", &[PREOPEN, 1, p, len, 0x400]),
                NOTCAPABLE,
                "{path}"
            );
        }
        // Creating through a link to the outside creates nothing there.
        let (errno, _) = guest.open(PREOPEN, "rel/planted", CREAT, ALL_RIGHTS, 0);
        assert_eq!(errno, NOTCAPABLE);
        assert!(!tree.base.join("outside/planted").exists());
        // Not following, the link itself is visible (it lies inside).
        let (p, len) = guest.path(0x100, "rel");
        assert_eq!(
            guest.call("path_filestat_get", &[PREOPEN, 0, p, len, 0x400]),
            0
        );
        assert_eq!(guest.read(0x400 + 16, 1), [7], "a symbolic link");
        assert_eq!(
            guest.call("path_readlink", &[PREOPEN, p, len, 0x500, 64, 0x60]),
            0
        );
        assert_eq!(
            guest.read(0x500, guest.u32_at(0x60) as usize),
            b"../outside"
        );
        // Opening a link without following it is a loop error, as O_NOFOLLOW.
        assert_eq!(
            open_and_read(&mut guest, PREOPEN, "rel", false),
            Err(i32::from(errno::LOOP))
        );
        // Unlinking the link removes the link, not its target.
        assert_eq!(guest.call("path_unlink_file", &[PREOPEN, p, len]), 0);
        assert!(!root.join("rel").exists());
        assert!(tree.base.join("outside/secret").exists());
        assert_eq!(
            fs::read(tree.base.join("outside/secret")).unwrap(),
            b"secret"
        );
    }
}

#[test]
fn symlinks_inside_are_followed() {
    for &backend in BACKENDS {
        let tree = Tree::new("inlink");
        let root = tree.base.join("root");
        symlink("sub/file", root.join("direct")).unwrap();
        symlink("sub", root.join("dirlink")).unwrap();
        symlink("../top", root.join("sub/up")).unwrap();
        symlink("dirlink/up", root.join("twice")).unwrap();
        symlink("self", root.join("self")).unwrap();
        let mut guest = tree.guest(backend);
        for (path, expected) in [
            ("direct", &b"inside"[..]),
            ("dirlink/file", b"inside"),
            ("sub/up", b"top"),
            ("twice", b"top"),
        ] {
            assert_eq!(
                open_and_read(&mut guest, PREOPEN, path, true),
                Ok(expected.to_vec()),
                "{path}"
            );
        }
        assert_eq!(
            open_and_read(&mut guest, PREOPEN, "self", true),
            Err(i32::from(errno::LOOP))
        );
    }
}

#[test]
fn guests_can_only_create_symlinks_that_stay_inside() {
    let tree = Tree::new("mklink");
    let root = tree.base.join("root");
    let mut guest = tree.guest(MemoryBackend::Virtual);
    let (link, link_len) = guest.path(0x200, "sub/mine");
    for target in ["../../outside/secret", "/etc/passwd", "../../.."] {
        let (t, t_len) = guest.path(0x100, target);
        assert_eq!(
            guest.call("path_symlink", &[t, t_len, PREOPEN, link, link_len]),
            NOTCAPABLE,
            "{target}"
        );
        assert!(fs::symlink_metadata(root.join("sub/mine")).is_err());
    }
    let (t, t_len) = guest.path(0x100, "../top");
    assert_eq!(
        guest.call("path_symlink", &[t, t_len, PREOPEN, link, link_len]),
        0
    );
    assert_eq!(
        fs::read_link(root.join("sub/mine")).unwrap().to_str(),
        Some("../top")
    );
    assert_eq!(
        open_and_read(&mut guest, PREOPEN, "sub/mine", true),
        Ok(b"top".to_vec())
    );
}

#[test]
fn renames_cannot_move_files_out() {
    let tree = Tree::new("mvout");
    let mut guest = tree.guest(BACKENDS[BACKENDS.len() - 1]);
    let (from, from_len) = guest.path(0x100, "top");
    let (to, to_len) = guest.path(0x200, "../outside/stolen");
    assert_eq!(
        guest.call(
            "path_rename",
            &[PREOPEN, from, from_len, PREOPEN, to, to_len]
        ),
        NOTCAPABLE
    );
    let (from, from_len) = guest.path(0x100, "../outside/secret");
    let (to, to_len) = guest.path(0x200, "stolen");
    assert_eq!(
        guest.call(
            "path_rename",
            &[PREOPEN, from, from_len, PREOPEN, to, to_len]
        ),
        NOTCAPABLE
    );
    assert!(tree.base.join("outside/secret").exists());
    assert!(tree.base.join("root/top").exists());
}

/// Calls a one-path function (`path_create_directory`, ...) on `path`.
fn path_call(guest: &mut Guest, name: &str, dir: i64, path: &str) -> i32 {
    let (p, len) = guest.path(0x100, path);
    guest.call(name, &[dir, p, len])
}

/// Creates the symlink `link` with text `target`: the errno.
fn make_symlink(guest: &mut Guest, dir: i64, target: &str, link: &str) -> i32 {
    let (t, t_len) = guest.path(0x200, target);
    let (l, l_len) = guest.path(0x100, link);
    guest.call("path_symlink", &[t, t_len, dir, l, l_len])
}

/// Tries to read, stat, create and delete through `dir`/`prefix`, which
/// the host would resolve to the directory beside the preopen: every
/// attempt must fail and the outside must stay as it was.
fn assert_no_way_out(guest: &mut Guest, tree: &Tree, dir: i64, prefix: &str) {
    let secret = format!("{prefix}/secret");
    for follow in [true, false] {
        let read = open_and_read(guest, dir, &secret, follow);
        assert!(read.is_err(), "{secret} read through fd {dir}: {read:?}");
    }
    let (p, len) = guest.path(0x100, &secret);
    assert_ne!(
        guest.call("path_filestat_get", &[dir, 1, p, len, 0x400]),
        0,
        "stat {secret}"
    );
    let planted = format!("{prefix}/planted");
    let (errno, _) = guest.open(dir, &planted, CREAT, ALL_RIGHTS, 0);
    assert_ne!(errno, 0, "create {planted}");
    let made = format!("{prefix}/made");
    assert_ne!(path_call(guest, "path_create_directory", dir, &made), 0);
    let victim = format!("{prefix}/victim");
    assert_ne!(path_call(guest, "path_unlink_file", dir, &victim), 0);
    let (from, from_len) = guest.path(0x100, &victim);
    let (to, to_len) = guest.path(0x200, "stolen");
    assert_ne!(
        guest.call("path_rename", &[dir, from, from_len, PREOPEN, to, to_len]),
        0,
        "rename {victim}"
    );
    tree.assert_outside_untouched();
}

#[test]
fn a_stale_directory_descriptor_cannot_follow_its_replacement_out() {
    for &backend in BACKENDS {
        let tree = Tree::new("stale");
        let mut guest = tree.guest(backend);
        assert_eq!(
            path_call(&mut guest, "path_create_directory", PREOPEN, "a"),
            0
        );
        let (errno, a) = guest.open(PREOPEN, "a", DIRECTORY, DIR_RIGHTS, 0);
        assert_eq!(errno, 0);
        let a = i64::from(a);
        assert_eq!(
            path_call(&mut guest, "path_remove_directory", PREOPEN, "a"),
            0
        );
        // `s -> .` and `a -> s/..` read as staying inside, but the host
        // resolves `a` to the preopen's parent. Whether they may be
        // created does not matter: nothing may be reached through them.
        make_symlink(&mut guest, PREOPEN, ".", "s");
        make_symlink(&mut guest, PREOPEN, "s/..", "a");
        assert_no_way_out(&mut guest, &tree, a, "outside");
        assert_no_way_out(&mut guest, &tree, a, "../outside");
        assert_no_way_out(&mut guest, &tree, PREOPEN, "a/outside");
        assert_no_way_out(&mut guest, &tree, PREOPEN, "s/../outside");
    }
}

#[test]
fn a_symlink_moved_up_cannot_lead_out() {
    for &backend in BACKENDS {
        let tree = Tree::new("moved");
        let mut guest = tree.guest(backend);
        assert_eq!(
            path_call(&mut guest, "path_create_directory", PREOPEN, "t"),
            0
        );
        // `t/l -> ..` names the root; renamed to `l` it names the parent.
        make_symlink(&mut guest, PREOPEN, "..", "t/l");
        let (from, from_len) = guest.path(0x100, "t/l");
        let (to, to_len) = guest.path(0x200, "l");
        guest.call(
            "path_rename",
            &[PREOPEN, from, from_len, PREOPEN, to, to_len],
        );
        assert_no_way_out(&mut guest, &tree, PREOPEN, "l/outside");
        assert_no_way_out(&mut guest, &tree, PREOPEN, "t/l/outside");
        // The same link reached through a directory descriptor that held
        // a directory which was replaced by a link to `l`.
        assert_eq!(
            path_call(&mut guest, "path_create_directory", PREOPEN, "d"),
            0
        );
        let (errno, d) = guest.open(PREOPEN, "d", DIRECTORY, DIR_RIGHTS, 0);
        assert_eq!(errno, 0);
        let d = i64::from(d);
        assert_eq!(
            path_call(&mut guest, "path_remove_directory", PREOPEN, "d"),
            0
        );
        make_symlink(&mut guest, PREOPEN, "l", "d");
        assert_no_way_out(&mut guest, &tree, d, "outside");
    }
}

/// Opens, reads, creates and deletes through `d` for `time` while someone
/// swaps `d` between `real/` (holding `secret`, "inside") and a symlink
/// to the outside: nothing outside may ever be read, created or deleted.
fn hammer_through_d(guest: &mut Guest, tree: &Tree, time: Duration) -> u64 {
    let deadline = Instant::now() + time;
    let mut rounds = 0;
    while Instant::now() < deadline {
        rounds += 1;
        if let Ok(data) = open_and_read(guest, PREOPEN, "d/secret", true) {
            assert_eq!(data, b"inside", "round {rounds}");
        }
        let (errno, fd) = guest.open(PREOPEN, "d/victim", CREAT, ALL_RIGHTS, 0);
        if errno == 0 {
            assert_eq!(guest.call("fd_close", &[i64::from(fd)]), 0);
        }
        path_call(guest, "path_unlink_file", PREOPEN, "d/victim");
        if path_call(guest, "path_create_directory", PREOPEN, "d/made") == 0 {
            path_call(guest, "path_remove_directory", PREOPEN, "d/made");
        }
        let outside = names(&tree.base.join("outside"));
        assert_eq!(outside, ["secret", "victim"], "round {rounds}");
    }
    rounds
}

/// A tree with `root/real/secret` for [`hammer_through_d`].
fn race_tree(tag: &str) -> Tree {
    let tree = Tree::new(tag);
    fs::create_dir(tree.base.join("root/real")).unwrap();
    fs::write(tree.base.join("root/real/secret"), b"inside").unwrap();
    tree
}

#[test]
fn a_directory_swapped_for_an_outward_symlink_never_lets_the_guest_out() {
    let tree = race_tree("race");
    let root = tree.base.join("root");
    symlink("../outside", root.join("link")).unwrap();
    let mut guest = tree.guest(MemoryBackend::Virtual);
    // The host swaps `d` between a real directory and a symlink to the
    // outside as fast as it can.
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for name in ["real", "link"] {
                    fs::rename(root.join(name), root.join("d")).unwrap();
                    fs::rename(root.join("d"), root.join(name)).unwrap();
                }
                swaps += 1;
            }
            swaps
        })
    };
    let rounds = hammer_through_d(&mut guest, &tree, Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0 && rounds > 0);
    tree.assert_outside_untouched();
}

#[test]
fn another_tenant_sharing_the_preopen_cannot_open_a_way_out() {
    let tree = race_tree("tenants");
    let mut victim = tree.guest(MemoryBackend::Virtual);
    let mut attacker = tree.guest(MemoryBackend::Virtual);
    // The attacker plants an outward link with WASI calls alone: `t/l ->
    // ..` moved up to `l`, and `link -> l/outside` (both texts read as
    // staying inside), then swaps `d` between `real` and `link`.
    assert_eq!(
        path_call(&mut attacker, "path_create_directory", PREOPEN, "t"),
        0
    );
    assert_eq!(make_symlink(&mut attacker, PREOPEN, "..", "t/l"), 0);
    let rename = |guest: &mut Guest, from: &str, to: &str| {
        let (f, f_len) = guest.path(0x100, from);
        let (t, t_len) = guest.path(0x200, to);
        guest.call("path_rename", &[PREOPEN, f, f_len, PREOPEN, t, t_len])
    };
    assert_eq!(rename(&mut attacker, "t/l", "l"), 0);
    assert_eq!(make_symlink(&mut attacker, PREOPEN, "l/outside", "link"), 0);
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for name in ["real", "link"] {
                    assert_eq!(rename(&mut attacker, name, "d"), 0);
                    assert_eq!(rename(&mut attacker, "d", name), 0);
                }
                swaps += 1;
            }
            swaps
        })
    };
    let rounds = hammer_through_d(&mut victim, &tree, Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0 && rounds > 0);
    tree.assert_outside_untouched();
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}

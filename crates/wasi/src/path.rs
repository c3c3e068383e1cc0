//! Sandboxed path resolution: how a guest path, relative to a directory
//! descriptor, becomes a host path that lies inside the descriptor's
//! preopen root.
//!
//! ```text
//!  guest "a/../b/link/c"  relative to  Dir { root: /srv/data, rel: [x] }
//!     │ component by component, starting from [x]
//!     ├─ "a"     symlink_metadata(/srv/data/x/a): a directory ─► [x, a]
//!     ├─ ".."    pop ─► [x]              (popping past the root: ESCAPE = PERM)
//!     ├─ "b"     a directory ─► [x, b]
//!     ├─ "link"  a symlink: its relative target's components are resolved
//!     │          in its place (absolute targets: ESCAPE; > 32 links: LOOP)
//!     └─ "c"     the last component: examined only when it is followed
//!  ─► /srv/data/x/b/<target...>/c
//! ```
//!
//! The host's own symlink resolution never runs on a component we have not
//! checked: every component but the last is a real directory when it is
//! examined, and the last is a symlink only when the caller asked not to
//! follow it (and then handles that itself).
//!
//! Limitation: resolution checks, then the operation uses the host path.
//! Someone who can change the directory tree concurrently (the host, or
//! another tenant sharing the same preopen on another thread) could swap a
//! checked directory for a symlink in between. Guests cannot create
//! symlinks whose text leaves their root (see [`target_stays_inside`]),
//! which narrows this, but only `openat2(RESOLVE_BENEATH)`-style kernel
//! support would close it; preopens should not be shared with writers one
//! does not trust.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::errno::{self, Errno};
use crate::fd::DirFd;

/// The errno of a path that would leave the sandbox (absolute, `..` above
/// the root, a symlink pointing out): `EPERM`, as wasmtime reports it, so
/// that programs print the same error under both runtimes.
pub(crate) const ESCAPE: Errno = errno::PERM;
/// Symbolic links followed in one resolution before `LOOP`.
pub(crate) const MAX_SYMLINKS: usize = 32;

/// The longest file name component (`NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;

/// A resolved path: a place inside a preopen root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The canonical host path of the preopen root.
    pub(crate) root: Arc<Path>,
    /// Components below the root. All but the last are directories that
    /// are not symlinks; the last may not exist yet, and is a symlink only
    /// when the last component was not followed.
    pub(crate) rel: Vec<OsString>,
    /// Whether the path ended in a name (`a/b`), rather than in `.`, `..`
    /// or nothing left below the root.
    pub(crate) named: bool,
    /// Whether the guest path ended in `/` (it must name a directory).
    pub(crate) trailing_slash: bool,
}

impl Resolved {
    /// The host path.
    pub(crate) fn host_path(&self) -> PathBuf {
        let mut path = self.root.to_path_buf();
        path.extend(&self.rel);
        path
    }

    /// The final name, for operations that create, remove or rename an
    /// entry: `INVAL` for `.`/`..`-ending paths, `NOTCAPABLE` for the root.
    pub(crate) fn require_name(&self) -> Result<&OsStr, Errno> {
        match self.rel.last() {
            None => Err(errno::NOTCAPABLE),
            Some(_) if !self.named => Err(errno::INVAL),
            Some(name) => Ok(name),
        }
    }

    /// The components of the directory that holds the final entry.
    pub(crate) fn parent_rel(&self) -> &[OsString] {
        &self.rel[..self.rel.len().saturating_sub(1)]
    }
}

/// Resolves `path` relative to `dir`, following a final symlink when
/// `follow` is set (a trailing `/` also follows it).
///
/// # Errors
///
/// `NOENT` for an empty path or a missing intermediate directory;
/// [`ESCAPE`] for an absolute path, `..` above the root or a symlink
/// whose target is absolute or leaves the root; `LOOP` after
/// [`MAX_SYMLINKS`] links; `NOTDIR` when an intermediate component is not a
/// directory (or a trailing `/` follows a file); `NAMETOOLONG` for a
/// component longer than 255 bytes; host errors of `symlink_metadata`.
pub(crate) fn resolve(dir: &DirFd, path: &str, follow: bool) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(errno::NOENT);
    }
    if path.starts_with('/') {
        return Err(ESCAPE);
    }
    let trailing_slash = path.ends_with('/');
    let follow_last = follow || trailing_slash;
    let mut pending: VecDeque<OsString> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(OsString::from)
        .collect();
    let mut resolved = Resolved {
        root: dir.root.clone(),
        rel: dir.rel.clone(),
        named: false,
        trailing_slash,
    };
    let mut links = 0usize;
    while let Some(component) = pending.pop_front() {
        let last = pending.is_empty();
        if component == "." {
            resolved.named = false;
            continue;
        }
        if component == ".." {
            if resolved.rel.pop().is_none() {
                return Err(ESCAPE);
            }
            resolved.named = false;
            continue;
        }
        if component.len() > MAX_NAME_BYTES {
            return Err(errno::NAMETOOLONG);
        }
        resolved.rel.push(component);
        resolved.named = true;
        if last && !follow_last {
            break;
        }
        let host = resolved.host_path();
        match fs::symlink_metadata(&host) {
            Err(error) if error.kind() == io::ErrorKind::NotFound && last => {}
            Err(error) => return Err(errno::from_io(&error)),
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(errno::LOOP);
                }
                resolved.rel.pop();
                let target = fs::read_link(&host).map_err(|e| errno::from_io(&e))?;
                for component in link_components(&target)?.into_iter().rev() {
                    pending.push_front(component);
                }
                resolved.named = false;
            }
            Ok(meta) if !last && !meta.is_dir() => return Err(errno::NOTDIR),
            Ok(meta) if last && trailing_slash && !meta.is_dir() => return Err(errno::NOTDIR),
            Ok(_) => {}
        }
    }
    Ok(resolved)
}

/// The components of a symlink's target, to be resolved in the link's
/// place: [`ESCAPE`] for an absolute target, `NOENT` for an empty one.
fn link_components(target: &Path) -> Result<Vec<OsString>, Errno> {
    if target.as_os_str().is_empty() {
        return Err(errno::NOENT);
    }
    let mut out = Vec::new();
    for component in target.components() {
        match component {
            Component::Normal(name) => out.push(name.to_os_string()),
            Component::ParentDir => out.push(OsString::from("..")),
            Component::CurDir => out.push(OsString::from(".")),
            Component::RootDir | Component::Prefix(_) => return Err(ESCAPE),
        }
    }
    Ok(out)
}

/// Whether a symlink whose text is `target`, created in the directory
/// `depth` components below the root, names a place inside the root when
/// read lexically. `path_symlink` refuses other targets, so that a guest
/// cannot leave links to the host's files for others to follow.
pub(crate) fn target_stays_inside(depth: usize, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return false;
    }
    let mut depth = depth;
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return false,
            },
            _ => depth += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory under the system temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let path = std::env::temp_dir().join(format!(
                "waven-wasi-path-{tag}-{}-{:?}",
                std::process::id(),
                std::time::SystemTime::now()
            ));
            fs::create_dir_all(&path).unwrap();
            Scratch(path.canonicalize().unwrap())
        }

        fn dir(&self, rel: &[&str]) -> DirFd {
            DirFd {
                root: Arc::from(self.0.as_path()),
                rel: rel.iter().map(OsString::from).collect(),
                preopen: None,
                listing: None,
            }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn rel(resolved: &Resolved) -> Vec<String> {
        resolved
            .rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn dot_dot_stays_below_the_root() {
        let scratch = Scratch::new("dotdot");
        fs::create_dir_all(scratch.0.join("a/b")).unwrap();
        let root = scratch.dir(&[]);
        assert_eq!(rel(&resolve(&root, "a/b/../b", false).unwrap()), ["a", "b"]);
        assert_eq!(
            rel(&resolve(&root, "a/..", false).unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(resolve(&root, "..", false), Err(ESCAPE));
        assert_eq!(resolve(&root, "a/../..", false), Err(ESCAPE));
        assert_eq!(resolve(&root, "/etc/passwd", true), Err(ESCAPE));
        assert_eq!(resolve(&root, "", true), Err(errno::NOENT));
        // A subdirectory descriptor may climb to the preopen root, not above.
        let sub = scratch.dir(&["a", "b"]);
        assert_eq!(
            rel(&resolve(&sub, "../..", false).unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(resolve(&sub, "../../..", false), Err(ESCAPE));
    }

    #[test]
    fn symlinks_are_followed_inside_only() {
        let scratch = Scratch::new("links");
        fs::create_dir_all(scratch.0.join("d")).unwrap();
        fs::write(scratch.0.join("d/f"), b"x").unwrap();
        std::os::unix::fs::symlink("d", scratch.0.join("in")).unwrap();
        std::os::unix::fs::symlink("../..", scratch.0.join("d/up")).unwrap();
        std::os::unix::fs::symlink("/etc", scratch.0.join("abs")).unwrap();
        std::os::unix::fs::symlink("loop", scratch.0.join("loop")).unwrap();
        let root = scratch.dir(&[]);
        assert_eq!(rel(&resolve(&root, "in/f", false).unwrap()), ["d", "f"]);
        assert_eq!(rel(&resolve(&root, "in", true).unwrap()), ["d"]);
        // Not following the last component leaves the link itself.
        assert_eq!(rel(&resolve(&root, "in", false).unwrap()), ["in"]);
        assert_eq!(resolve(&root, "d/up/x", false), Err(ESCAPE));
        assert_eq!(resolve(&root, "abs/passwd", false), Err(ESCAPE));
        assert_eq!(resolve(&root, "loop", true), Err(errno::LOOP));
        assert_eq!(resolve(&root, "d/f/x", false), Err(errno::NOTDIR));
        assert_eq!(resolve(&root, "d/f/", false), Err(errno::NOTDIR));
        assert_eq!(resolve(&root, "missing/x", false), Err(errno::NOENT));
        assert!(resolve(&root, "missing", true).is_ok());
    }

    #[test]
    fn symlink_text_is_checked_lexically() {
        assert!(target_stays_inside(0, "a/b/../c"));
        assert!(target_stays_inside(1, ".."));
        assert!(!target_stays_inside(0, ".."));
        assert!(!target_stays_inside(1, "a/../../.."));
        assert!(!target_stays_inside(3, "/etc"));
        assert!(!target_stays_inside(0, ""));
    }
}

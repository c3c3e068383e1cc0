//! Sandboxed path resolution: how a guest path, relative to a directory
//! descriptor, reaches a host file without ever leaving that directory.
//!
//! ```text
//!  guest "a/../b/link/c"  relative to  DirFd { dir: <host directory handle> }
//!     │ checked here: not empty, not absolute, no component > 255 bytes
//!     ▼
//!  cap-std, relative to the handle:
//!     openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)   where the kernel has it
//!     else one component at a time: openat(O_NOFOLLOW), symlinks read and
//!     expanded by cap-std, `..` popped off its own stack of open handles
//!     │ a component, a `..` or a symlink target that would leave the handle
//!     └─► an "escape" error ─► ESCAPE (EPERM)
//! ```
//!
//! Nothing is resolved by name from a path string the host keeps: a
//! descriptor is a host handle, every step starts from it, and the kernel
//! checks each component at the moment it is used. A component swapped for
//! an escaping symlink between two calls, or during one (by the host, by
//! another tenant sharing the preopen, or by the guest itself on another
//! thread), is refused when the kernel reaches it; there is no window
//! between a check and a use. Symlinks inside the descriptor's tree are
//! followed (at most 40 by the kernel, else `LOOP`), wherever their text
//! points, only as long as every step stays beneath the handle.
//!
//! A descriptor reaches what lies beneath it and nothing else: `..` from a
//! subdirectory descriptor climbs at most to that directory (as in
//! wasmtime and in WASI's capability model), not to its preopen's root.
//!
//! `path_symlink` still refuses link texts that are absolute or that leave
//! the descriptor's directory when read lexically ([`target_stays_inside`]),
//! as a courtesy to the host's own tools; the sandbox does not rely on it,
//! since renames change what a link's text means.

use std::io;
use std::path::Path;

use crate::errno::{self, Errno};

/// The errno of a path that would leave the sandbox (absolute, `..` above
/// the directory, a symlink pointing out): `EPERM`, as wasmtime reports
/// it, so that programs print the same error under both runtimes.
pub(crate) const ESCAPE: Errno = errno::PERM;

/// The longest file name component (`NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;

/// A guest path, checked before any host call sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GuestPath<'a> {
    /// The path as the host resolves it, relative to a directory handle.
    pub(crate) path: &'a Path,
    /// Whether the path ended in `/` (it must name a directory, and a
    /// final symlink is followed).
    pub(crate) trailing_slash: bool,
    /// The last component, when it is a name (not `.` or `..`).
    pub(crate) name: Option<&'a str>,
}

impl<'a> GuestPath<'a> {
    /// Checks `path`: `NOENT` if empty, [`ESCAPE`] if absolute,
    /// `NAMETOOLONG` for a component longer than 255 bytes.
    ///
    /// # Errors
    ///
    /// As said.
    pub(crate) fn parse(path: &'a str) -> Result<GuestPath<'a>, Errno> {
        if path.is_empty() {
            return Err(errno::NOENT);
        }
        if path.starts_with('/') {
            return Err(ESCAPE);
        }
        if path.split('/').any(|c| c.len() > MAX_NAME_BYTES) {
            return Err(errno::NAMETOOLONG);
        }
        let name = path
            .split('/')
            .rfind(|c| !c.is_empty())
            .filter(|c| *c != "." && *c != "..");
        Ok(GuestPath {
            path: Path::new(path),
            trailing_slash: path.ends_with('/'),
            name,
        })
    }

    /// The last component, for operations that create, remove or rename
    /// an entry: `INVAL` for a path that ends in `.` or `..`.
    pub(crate) fn require_name(&self) -> Result<&'a str, Errno> {
        self.name.ok_or(errno::INVAL)
    }

    /// How many directories below the starting one the last component's
    /// directory lies, read lexically (`None` if it climbs above it).
    pub(crate) fn parent_depth(&self) -> Option<usize> {
        let text = self.path.to_str().unwrap_or_default();
        let parent = text.trim_end_matches('/');
        let parent = parent.rfind('/').map_or("", |at| &parent[..at]);
        lexical_depth(0, parent)
    }
}

/// The errno of a host error from a call relative to a directory handle:
/// cap-std's escape error (a permission error that carries no OS error
/// code) is [`ESCAPE`]; others map as usual.
pub(crate) fn host_errno(error: &io::Error) -> Errno {
    if error.kind() == io::ErrorKind::PermissionDenied && error.raw_os_error().is_none() {
        return ESCAPE;
    }
    errno::from_io(error)
}

/// The depth reached from `depth` by the components of `text`, read
/// lexically; `None` if it climbs above depth 0.
fn lexical_depth(depth: usize, text: &str) -> Option<usize> {
    let mut depth = depth;
    for component in text.split('/') {
        match component {
            "" | "." => {}
            ".." => depth = depth.checked_sub(1)?,
            _ => depth += 1,
        }
    }
    Some(depth)
}

/// Whether a symlink whose text is `target`, created in the directory
/// `depth` components below a descriptor's directory, names a place
/// beneath that directory when read lexically. `path_symlink` refuses
/// other targets so that guests do not leave links to the host's files
/// for the host's own tools to follow.
pub(crate) fn target_stays_inside(depth: usize, target: &str) -> bool {
    !target.is_empty() && !target.starts_with('/') && lexical_depth(depth, target).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_are_checked_before_the_host_sees_them() {
        assert_eq!(GuestPath::parse(""), Err(errno::NOENT));
        assert_eq!(GuestPath::parse("/etc/passwd"), Err(ESCAPE));
        let long = "x".repeat(256);
        assert_eq!(GuestPath::parse(&long), Err(errno::NAMETOOLONG));
        let path = GuestPath::parse("a/b/").unwrap();
        assert!(path.trailing_slash);
        assert_eq!(path.require_name(), Ok("b"));
        assert_eq!(path.parent_depth(), Some(1));
        assert_eq!(
            GuestPath::parse("a/..").unwrap().require_name(),
            Err(errno::INVAL)
        );
        assert_eq!(
            GuestPath::parse(".").unwrap().require_name(),
            Err(errno::INVAL)
        );
        assert_eq!(GuestPath::parse("f").unwrap().parent_depth(), Some(0));
        assert_eq!(GuestPath::parse("../f").unwrap().parent_depth(), None);
    }

    #[test]
    fn escapes_are_told_apart_from_permission_errors() {
        let escape = io::Error::new(io::ErrorKind::PermissionDenied, "outside");
        assert_eq!(host_errno(&escape), ESCAPE);
        assert_eq!(host_errno(&io::Error::from_raw_os_error(13)), errno::ACCES);
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

//! `fd_readdir`: a directory's entries as a sequence of `dirent` headers,
//! each followed by its name.
//!
//! Entries are `.`, `..`, then the directory's entries sorted by name, so
//! that a cookie (the index of the next entry) means the same thing from
//! one call to the next. The sorted listing of the directory listed last
//! is cached in the descriptor table (one for all descriptors, so the
//! cache cannot grow with the number of open directories) and taken
//! afresh whenever a listing starts at cookie 0 or another descriptor is
//! listed. The directory is read through the descriptor's handle, so it is
//! the directory opened, wherever its name went since. The buffer is
//! filled as far as it goes and the last entry may be cut short, as the
//! specification allows: the guest then retries with a larger buffer.

use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use cap_std::fs::{Dir, MetadataExt};
use rustix::fs::DirEntryExt;

use crate::abi::{filetype, rights, DIRENT_SIZE};
use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};
use crate::fd::{DirEntryInfo, Listing};
use crate::fs::filetype_of;

/// `fd_readdir(fd, buf, buf_len, cookie: i64, bufused_ptr)`.
pub(crate) fn fd_readdir(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (fd, buf, buf_len, cookie, bufused_ptr) = (
        args.u32(0)?,
        args.ptr(1)?,
        args.u32(2)?,
        args.u64(3)?,
        args.ptr(4)?,
    );
    call.ctx.fds.dir(fd, rights::FD_READDIR)?;
    call.mem
        .check_write_ranges(&[(buf, u64::from(buf_len)), (bufused_ptr, 4)])?;
    let cached = match &call.ctx.fds.listing {
        Some(listing) if listing.fd == fd && cookie != 0 => Some(listing.entries.clone()),
        _ => None,
    };
    let entries = match cached {
        Some(entries) => entries,
        None => {
            let (dir, _) = call.ctx.fds.dir(fd, rights::FD_READDIR)?;
            let entries: Arc<[DirEntryInfo]> = list(&dir.dir)?.into();
            call.ctx.fds.listing = Some(Listing {
                fd,
                entries: entries.clone(),
            });
            entries
        }
    };
    let out = serialize(&entries, cookie, buf_len as usize);
    call.mem.write(buf, &out)?;
    call.mem.write_u32(bufused_ptr, out.len() as u32)
}

/// The entries of `dir`: `.`, `..`, then the rest sorted by name. `..`
/// describes the directory itself: a descriptor sees nothing above it,
/// not even its parent's inode number.
fn list(dir: &Dir) -> Result<Vec<DirEntryInfo>, Errno> {
    let this = dir.dir_metadata().map_err(|e| errno::from_io(&e))?;
    let dot = |name: &[u8], ino| DirEntryInfo {
        name: name.to_vec(),
        ino,
        filetype: filetype::DIRECTORY,
    };
    let mut entries = Vec::new();
    for entry in dir.entries().map_err(|e| errno::from_io(&e))? {
        let entry = entry.map_err(|e| errno::from_io(&e))?;
        let filetype = entry
            .file_type()
            .map(filetype_of)
            .unwrap_or(filetype::UNKNOWN);
        entries.push(DirEntryInfo {
            name: entry.file_name().as_bytes().to_vec(),
            ino: entry.ino(),
            filetype,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut all = vec![dot(b".", this.ino()), dot(b"..", this.ino())];
    all.extend(entries);
    Ok(all)
}

/// The bytes of the entries from index `cookie` on, cut at `buf_len`.
fn serialize(entries: &[DirEntryInfo], cookie: u64, buf_len: usize) -> Vec<u8> {
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (index, entry) in entries.iter().enumerate().skip(start) {
        if out.len() >= buf_len {
            break;
        }
        let mut header = [0u8; DIRENT_SIZE];
        header[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&entry.ino.to_le_bytes());
        header[16..20].copy_from_slice(&(entry.name.len() as u32).to_le_bytes());
        header[20] = entry.filetype;
        out.extend_from_slice(&header);
        out.extend_from_slice(&entry.name);
    }
    out.truncate(buf_len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> DirEntryInfo {
        DirEntryInfo {
            name: name.as_bytes().to_vec(),
            ino: 7,
            filetype: filetype::REGULAR_FILE,
        }
    }

    #[test]
    fn entries_carry_their_next_cookie_and_the_last_one_is_cut() {
        let entries = [entry("a"), entry("bc")];
        let full = serialize(&entries, 0, 1000);
        assert_eq!(full.len(), 2 * DIRENT_SIZE + 3);
        assert_eq!(u64::from_le_bytes(full[0..8].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(full[16..20].try_into().unwrap()), 1);
        assert_eq!(full[20], filetype::REGULAR_FILE);
        assert_eq!(full[24], b'a');
        let second = &full[DIRENT_SIZE + 1..];
        assert_eq!(u64::from_le_bytes(second[0..8].try_into().unwrap()), 2);
        assert_eq!(&second[DIRENT_SIZE..], b"bc");
        // From cookie 1 only the second entry; past the end nothing.
        assert_eq!(serialize(&entries, 1, 1000), second);
        assert!(serialize(&entries, 2, 1000).is_empty());
        assert!(serialize(&entries, u64::MAX, 1000).is_empty());
        // A buffer that ends inside the second entry is filled to the end.
        assert_eq!(serialize(&entries, 0, 30).len(), 30);
        assert!(serialize(&entries, 0, 0).is_empty());
    }
}

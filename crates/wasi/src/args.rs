//! `args_*` and `environ_*`: the guest's arguments and environment, as
//! arrays of pointers into one buffer of NUL-terminated strings.

use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};
use crate::memory::GuestMemory;

/// `args_sizes_get(argc_ptr, argv_buf_size_ptr)`.
pub(crate) fn args_sizes_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let sizes = sizes(&call.ctx.args)?;
    put_sizes(&mut call.mem, sizes, args.ptr(0)?, args.ptr(1)?)
}

/// `args_get(argv, argv_buf)`.
pub(crate) fn args_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    put_strings(&mut call.mem, &call.ctx.args, args.ptr(0)?, args.ptr(1)?)
}

/// `environ_sizes_get(count_ptr, buf_size_ptr)`.
pub(crate) fn environ_sizes_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let sizes = sizes(&call.ctx.env)?;
    put_sizes(&mut call.mem, sizes, args.ptr(0)?, args.ptr(1)?)
}

/// `environ_get(environ, environ_buf)`.
pub(crate) fn environ_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    put_strings(&mut call.mem, &call.ctx.env, args.ptr(0)?, args.ptr(1)?)
}

/// The number of strings and the bytes they take with their NULs.
fn sizes(strings: &[String]) -> Result<(u32, u32), Errno> {
    let count = u32::try_from(strings.len()).map_err(|_| errno::OVERFLOW)?;
    let bytes = strings
        .iter()
        .try_fold(0u32, |sum, s| {
            u32::try_from(s.len())
                .ok()
                .and_then(|len| sum.checked_add(len)?.checked_add(1))
        })
        .ok_or(errno::OVERFLOW)?;
    Ok((count, bytes))
}

fn put_sizes(
    mem: &mut GuestMemory<'_>,
    (count, bytes): (u32, u32),
    count_ptr: u64,
    bytes_ptr: u64,
) -> WasiResult {
    mem.check_write_ranges(&[(count_ptr, 4), (bytes_ptr, 4)])?;
    mem.write_u32(count_ptr, count)?;
    mem.write_u32(bytes_ptr, bytes)
}

/// Writes the strings into `buf_addr` and their addresses into
/// `ptrs_addr`, after readying both ranges (rights and frames), so that
/// the guest sees all of it or nothing.
fn put_strings(
    mem: &mut GuestMemory<'_>,
    strings: &[String],
    ptrs_addr: u64,
    buf_addr: u64,
) -> WasiResult {
    let (count, bytes) = sizes(strings)?;
    mem.check_write_ranges(&[
        (ptrs_addr, u64::from(count) * 4),
        (buf_addr, u64::from(bytes)),
    ])?;
    let mut buf = Vec::with_capacity(bytes as usize);
    let mut ptrs = Vec::with_capacity(count as usize * 4);
    for s in strings {
        // In bounds of a memory of at most 4 GiB (just checked), so the
        // address fits the guest's 32-bit pointers.
        let addr = u32::try_from(buf_addr + buf.len() as u64).map_err(|_| errno::FAULT)?;
        ptrs.extend_from_slice(&addr.to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
        buf.push(0);
    }
    mem.write(buf_addr, &buf)?;
    mem.write(ptrs_addr, &ptrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_the_nuls() {
        let strings = ["ab".to_string(), String::new()];
        assert_eq!(sizes(&strings), Ok((2, 4)));
        assert_eq!(sizes(&[]), Ok((0, 0)));
    }
}

//! The preview-1 functions waven defines but cannot carry out, with
//! wasmtime's errnos: the socket calls (waven opens no sockets, so an
//! open descriptor is never one: `NOTSOCK`, after `BADF` for a
//! descriptor that is not open) and `proc_raise` (`NOTSUP`; signals do
//! not exist in a Wasm instance).

use crate::call::{Args, Call, WasiResult};
use crate::errno;

/// `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: their first
/// argument is the descriptor.
pub(crate) fn not_a_socket(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    call.ctx.fds.get(args.u32(0)?)?;
    Err(errno::NOTSOCK)
}

/// `proc_raise(signal)`.
pub(crate) fn proc_raise(_call: &mut Call<'_>, _args: &Args<'_>) -> WasiResult {
    Err(errno::NOTSUP)
}

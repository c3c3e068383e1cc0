//! WASI preview 1 (`wasi_snapshot_preview1`) for waven, written so that
//! every guest buffer is read and written through the instance's memory
//! with the guest's own rights.
//!
//! ```text
//!  guest ──call──► linker closure ──► Call { ctx: &mut WasiCtx, mem: GuestMemory }
//!                                        │                         │
//!              fd table, paths (sandbox) ┘      MemoryView (MMU) ──┘ check/read/write
//! ```
//!
//! waven does not use `wasi-common`: a WASI implementation that copied
//! guest memory through raw slices would let a guest make the host write
//! into a page the guest itself may only read. Here a buffer the guest may
//! not access makes the call return `FAULT` (21), or `NOMEM` (48) if the
//! frame pool ran out, and a call that consumes input checks all its
//! buffers before it consumes anything.
//!
//! Files are reachable only through preopened directories. Every
//! directory descriptor holds a host directory handle and every path is
//! resolved by the kernel beneath it (cap-std; see the `path` module), so
//! no sequence of calls, concurrent ones included, reaches outside:
//! absolute paths, `..` above the descriptor's directory and symlinks that
//! leave it get `EPERM` (63, as under wasmtime). A guest has at most
//! [`WasiCtxBuilder::max_fds`] descriptors open. Blocking calls
//! (`poll_oneoff`) end in a `TrapKind::Interrupted` trap at the store's
//! deadline or interrupt. The crate needs a Unix host.
//!
//! Every preview-1 function is defined. All but these do what the
//! specification says: `fd_allocate` returns `NOTSUP` (as in wasmtime),
//! `fd_advise` checks its arguments and ignores the hint, the socket
//! calls return `NOTSOCK` for any open descriptor (waven opens no
//! sockets) and `proc_raise` returns `NOTSUP`.
//!
//! ```
//! use waven_runtime::{Config, Engine, Linker, Module, Store};
//! use waven_wasi::{WasiCtx, WasiCtxBuilder};
//!
//! let engine = Engine::new(Config::default()).unwrap();
//! let wasm = wat::parse_str(r#"
//!     (module
//!       (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!       (memory (export "memory") 1)
//!       (func (export "_start") (call $exit (i32.const 3))))
//! "#).unwrap();
//! let module = Module::new(&engine, &wasm).unwrap();
//! let mut linker = Linker::new();
//! waven_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
//! let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! let start = instance.get_func(&store, "_start").unwrap();
//! let error = start.call(&mut store, &[], &mut []).unwrap_err();
//! assert!(error.to_string().contains("exit with status 3"));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod abi;
mod args;
mod call;
mod clock;
mod ctx;
pub mod errno;
mod error;
mod fd;
mod fs;
mod memory;
mod path;
mod poll;
mod proc;
mod random;
mod stdio;
mod unsupported;

use waven_runtime::{Caller, FuncType, Linker, Trap, TrapKind, Val, ValType};

use crate::call::{Args, Body, Call};
use crate::fs::{fdstat, filestat, io, paths, readdir};
use crate::memory::GuestMemory;

pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use error::WasiError;
pub use stdio::{Input, Output};

/// The import module name of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// A WASI function: its name, its parameter types (the result is always
/// one `i32` errno) and its body.
struct Import {
    name: &'static str,
    params: &'static [ValType],
    body: Body,
}

const fn import(name: &'static str, params: &'static [ValType], body: Body) -> Import {
    Import { name, params, body }
}

/// Every function but `proc_exit`, which returns nothing and traps.
const IMPORTS: &[Import] = &[
    import("args_get", &[I32, I32], args::args_get),
    import("args_sizes_get", &[I32, I32], args::args_sizes_get),
    import("environ_get", &[I32, I32], args::environ_get),
    import("environ_sizes_get", &[I32, I32], args::environ_sizes_get),
    import("clock_res_get", &[I32, I32], clock::clock_res_get),
    import("clock_time_get", &[I32, I64, I32], clock::clock_time_get),
    import("random_get", &[I32, I32], random::random_get),
    import("fd_read", &[I32, I32, I32, I32], io::fd_read),
    import("fd_write", &[I32, I32, I32, I32], io::fd_write),
    import("fd_pread", &[I32, I32, I32, I64, I32], io::fd_pread),
    import("fd_pwrite", &[I32, I32, I32, I64, I32], io::fd_pwrite),
    import("fd_seek", &[I32, I64, I32, I32], io::fd_seek),
    import("fd_tell", &[I32, I32], io::fd_tell),
    import("fd_sync", &[I32], io::fd_sync),
    import("fd_datasync", &[I32], io::fd_datasync),
    import("fd_close", &[I32], fdstat::fd_close),
    import("fd_fdstat_get", &[I32, I32], fdstat::fd_fdstat_get),
    import(
        "fd_fdstat_set_flags",
        &[I32, I32],
        fdstat::fd_fdstat_set_flags,
    ),
    import("fd_filestat_get", &[I32, I32], fdstat::fd_filestat_get),
    import("fd_prestat_get", &[I32, I32], fdstat::fd_prestat_get),
    import(
        "fd_prestat_dir_name",
        &[I32, I32, I32],
        fdstat::fd_prestat_dir_name,
    ),
    import(
        "fd_readdir",
        &[I32, I32, I32, I64, I32],
        readdir::fd_readdir,
    ),
    import(
        "path_open",
        &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
        paths::path_open,
    ),
    import(
        "path_filestat_get",
        &[I32, I32, I32, I32, I32],
        paths::path_filestat_get,
    ),
    import(
        "path_create_directory",
        &[I32, I32, I32],
        paths::path_create_directory,
    ),
    import(
        "path_remove_directory",
        &[I32, I32, I32],
        paths::path_remove_directory,
    ),
    import(
        "path_unlink_file",
        &[I32, I32, I32],
        paths::path_unlink_file,
    ),
    import(
        "path_rename",
        &[I32, I32, I32, I32, I32, I32],
        paths::path_rename,
    ),
    import(
        "path_readlink",
        &[I32, I32, I32, I32, I32, I32],
        paths::path_readlink,
    ),
    import(
        "path_symlink",
        &[I32, I32, I32, I32, I32],
        paths::path_symlink,
    ),
    import("poll_oneoff", &[I32, I32, I32, I32], poll::poll_oneoff),
    import("sched_yield", &[], proc::sched_yield),
    import("fd_renumber", &[I32, I32], fdstat::fd_renumber),
    import(
        "fd_fdstat_set_rights",
        &[I32, I64, I64],
        fdstat::fd_fdstat_set_rights,
    ),
    import("fd_advise", &[I32, I64, I64, I32], filestat::fd_advise),
    import("fd_allocate", &[I32, I64, I64], filestat::fd_allocate),
    import(
        "fd_filestat_set_size",
        &[I32, I64],
        filestat::fd_filestat_set_size,
    ),
    import(
        "fd_filestat_set_times",
        &[I32, I64, I64, I32],
        filestat::fd_filestat_set_times,
    ),
    import(
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
        filestat::path_filestat_set_times,
    ),
    import(
        "path_link",
        &[I32, I32, I32, I32, I32, I32, I32],
        paths::path_link,
    ),
    // What waven cannot do: wasmtime's errnos.
    import("proc_raise", &[I32], unsupported::proc_raise),
    import("sock_accept", &[I32, I32, I32], unsupported::not_a_socket),
    import(
        "sock_recv",
        &[I32, I32, I32, I32, I32, I32],
        unsupported::not_a_socket,
    ),
    import(
        "sock_send",
        &[I32, I32, I32, I32, I32],
        unsupported::not_a_socket,
    ),
    import("sock_shutdown", &[I32, I32], unsupported::not_a_socket),
];

/// Defines every WASI preview-1 function under [`MODULE`] in `linker`.
/// `get` finds the instance's [`WasiCtx`] in the store's host state.
///
/// # Errors
///
/// [`waven_runtime::Error::DuplicateDefinition`] if the linker already
/// defines one of the names.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<(), waven_runtime::Error> {
    for import in IMPORTS {
        let body = import.body;
        let ty = FuncType::new(import.params.iter().copied(), [I32]);
        linker.func_new(MODULE, import.name, ty, move |caller, args, results| {
            let errno = dispatch(caller, get, body, args)?;
            if let Some(slot) = results.first_mut() {
                *slot = Val::I32(i32::from(errno));
            }
            Ok(())
        })?;
    }
    linker.func_new(
        MODULE,
        "proc_exit",
        FuncType::new([I32], []),
        |_, args, _| Err(proc::proc_exit(args)),
    )
}

/// Runs `body` on the caller's WASI state and memory: the errno to return,
/// or an [`TrapKind::Interrupted`] trap if the store was stopped while the
/// call blocked.
fn dispatch<T>(
    mut caller: Caller<'_, T>,
    get: fn(&mut T) -> &mut WasiCtx,
    body: Body,
    args: &[Val],
) -> Result<errno::Errno, Trap> {
    let interrupt = caller.interrupt_handle().clone();
    let memory = caller.memory();
    let store = caller.store();
    let (view, data) = match memory {
        Some(memory) => {
            let (view, data) = memory.view(store);
            (Some(view), data)
        }
        None => (None, store.data_mut()),
    };
    let mut call = Call {
        ctx: get(data),
        mem: GuestMemory::new(view),
        interrupt,
        interrupted: false,
    };
    let result = body(&mut call, &Args(args));
    if call.interrupted {
        return Err(Trap::from(TrapKind::Interrupted));
    }
    Ok(match result {
        Ok(()) => errno::SUCCESS,
        Err(errno) => errno,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preview1_function_is_defined_once() {
        let mut names: Vec<&str> = IMPORTS.iter().map(|i| i.name).collect();
        names.push("proc_exit");
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is defined twice");
        assert_eq!(count, 46, "preview 1 has 46 functions");
    }
}

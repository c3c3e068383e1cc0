//! What every WASI function receives: the instance's WASI state, its
//! memory, and its arguments.

use std::time::Duration;

use waven_runtime::{InterruptHandle, Val};

use crate::ctx::WasiCtx;
use crate::errno::{self, Errno};
use crate::memory::GuestMemory;

/// The outcome of a WASI function: `Ok` is `SUCCESS`.
pub(crate) type WasiResult = Result<(), Errno>;

/// A WASI function's body.
pub(crate) type Body = fn(&mut Call<'_>, &Args<'_>) -> WasiResult;

/// The state one call works on, borrowed from the store for its duration.
pub(crate) struct Call<'a> {
    pub(crate) ctx: &'a mut WasiCtx,
    pub(crate) mem: GuestMemory<'a>,
    /// The store's interrupt handle: blocking calls wait through it.
    pub(crate) interrupt: InterruptHandle,
    /// Set when the call was interrupted (deadline, shutdown): the call
    /// then ends in a trap instead of returning its errno.
    pub(crate) interrupted: bool,
}

impl Call<'_> {
    /// Blocks for `duration` (`None`: until interrupted), or until the
    /// store's deadline or an interrupt: then `INTR`, and the call traps.
    pub(crate) fn sleep(&mut self, duration: Option<Duration>) -> Result<(), Errno> {
        self.interrupt.sleep(duration).map_err(|_| {
            self.interrupted = true;
            errno::INTR
        })
    }

    /// Waits until the host's stdin has input, or until the store's
    /// deadline or an interrupt: then `INTR`, and the call traps.
    pub(crate) fn wait_for_host_stdin(&mut self) -> Result<(), Errno> {
        crate::stdio::wait_for_host_stdin(&self.interrupt).map_err(|_| {
            self.interrupted = true;
            errno::INTR
        })
    }
}

/// A call's arguments, typed by the function's signature.
pub(crate) struct Args<'a>(pub(crate) &'a [Val]);

impl Args<'_> {
    /// Argument `index`, an `i32`, as the unsigned value WASI means.
    pub(crate) fn u32(&self, index: usize) -> Result<u32, Errno> {
        match self.0.get(index) {
            Some(Val::I32(value)) => Ok(*value as u32),
            _ => Err(errno::INVAL),
        }
    }

    /// Argument `index`, an `i64`, as the unsigned value WASI means.
    pub(crate) fn u64(&self, index: usize) -> Result<u64, Errno> {
        match self.0.get(index) {
            Some(Val::I64(value)) => Ok(*value as u64),
            _ => Err(errno::INVAL),
        }
    }

    /// Argument `index`, a guest pointer, widened to an address.
    pub(crate) fn ptr(&self, index: usize) -> Result<u64, Errno> {
        self.u32(index).map(u64::from)
    }
}

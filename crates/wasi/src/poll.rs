//! `poll_oneoff`: waiting for clocks, and readiness of descriptors.
//!
//! Regular files and the standard streams are always ready, as POSIX says
//! of files (stdin from the host may still block in `fd_read`), so their
//! subscriptions are reported at once; directories get `NOTSUP` in their
//! event. When nothing is ready at once, the call sleeps until the earliest
//! clock subscription fires and reports every clock that has fired. The
//! sleep goes through the store's interrupt handle: at the store's
//! deadline, or when the host interrupts it, the call ends in a
//! `TrapKind::Interrupted` trap, however far the clocks lie ahead.

use std::time::{Duration, Instant};

use crate::abi::{clockid, eventtype, rights, EVENT_SIZE, SUBCLOCK_ABSTIME, SUBSCRIPTION_SIZE};
use crate::call::{Args, Call, WasiResult};
use crate::clock::Clocks;
use crate::errno::{self, Errno};
use crate::fd::{FdKind, FdTable};

/// The most subscriptions one call accepts (`INVAL` beyond), which bounds
/// what the host allocates for it.
pub(crate) const MAX_SUBSCRIPTIONS: u32 = 4096;

/// An event to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    userdata: u64,
    error: Errno,
    ty: u8,
    nbytes: u64,
}

impl Event {
    fn to_bytes(self) -> [u8; EVENT_SIZE as usize] {
        let mut out = [0u8; EVENT_SIZE as usize];
        out[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        out[8..10].copy_from_slice(&self.error.to_le_bytes());
        out[10] = self.ty;
        out[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        out
    }
}

/// A clock subscription: when it fires (`None`: never, in practice).
struct Timer {
    userdata: u64,
    deadline: Option<Instant>,
}

/// `poll_oneoff(in, out, nsubscriptions, nevents_ptr)`.
pub(crate) fn poll_oneoff(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let (input, output, count, nevents_ptr) =
        (args.ptr(0)?, args.ptr(1)?, args.u32(2)?, args.ptr(3)?);
    if count == 0 || count > MAX_SUBSCRIPTIONS {
        return Err(errno::INVAL);
    }
    call.mem
        .check_write_ranges(&[(output, u64::from(count) * EVENT_SIZE), (nevents_ptr, 4)])?;
    let mut raw = vec![0u8; count as usize * SUBSCRIPTION_SIZE as usize];
    call.mem.read_into(input, &mut raw)?;

    let now = Instant::now();
    let mut events = Vec::new();
    let mut timers = Vec::new();
    for sub in raw.chunks_exact(SUBSCRIPTION_SIZE as usize) {
        let userdata = u64_at(sub, 0);
        let ty = sub[8];
        let event = |error, nbytes| Event {
            userdata,
            error,
            ty,
            nbytes,
        };
        match ty {
            eventtype::CLOCK => {
                let id = u32::from_le_bytes([sub[16], sub[17], sub[18], sub[19]]);
                let timeout = u64_at(sub, 24);
                let absolute = u16::from_le_bytes([sub[40], sub[41]]) & SUBCLOCK_ABSTIME != 0;
                match deadline(&call.ctx.clocks, now, id, timeout, absolute) {
                    Ok(deadline) => timers.push(Timer { userdata, deadline }),
                    Err(error) => events.push(event(error, 0)),
                }
            }
            eventtype::FD_READ | eventtype::FD_WRITE => {
                let fd = u32::from_le_bytes([sub[16], sub[17], sub[18], sub[19]]);
                match readiness(&mut call.ctx.fds, fd, ty) {
                    Ok(nbytes) => events.push(event(errno::SUCCESS, nbytes)),
                    Err(error) => events.push(event(error, 0)),
                }
            }
            _ => events.push(event(errno::INVAL, 0)),
        }
    }

    if events.is_empty() {
        // Only clocks: sleep until the earliest fires.
        let earliest = timers.iter().filter_map(|t| t.deadline).min();
        let wait = earliest.map(|at| at.saturating_duration_since(Instant::now()));
        call.sleep(wait)?;
    }
    let fired = Instant::now();
    for timer in &timers {
        if timer.deadline.is_some_and(|d| d <= fired) {
            events.push(Event {
                userdata: timer.userdata,
                error: errno::SUCCESS,
                ty: eventtype::CLOCK,
                nbytes: 0,
            });
        }
    }
    let bytes: Vec<u8> = events.iter().flat_map(|e| e.to_bytes()).collect();
    call.mem.write(output, &bytes)?;
    call.mem.write_u32(nevents_ptr, events.len() as u32)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// When a clock subscription fires: `INVAL` for an unknown clock.
fn deadline(
    clocks: &Clocks,
    now: Instant,
    id: u32,
    timeout: u64,
    absolute: bool,
) -> Result<Option<Instant>, Errno> {
    let wait = match (id, absolute) {
        (clockid::REALTIME, true) => timeout.saturating_sub(Clocks::realtime()),
        (clockid::MONOTONIC | clockid::PROCESS_CPUTIME | clockid::THREAD_CPUTIME, true) => {
            return Ok(clocks.monotonic_instant(timeout));
        }
        (clockid::REALTIME, false)
        | (clockid::MONOTONIC | clockid::PROCESS_CPUTIME | clockid::THREAD_CPUTIME, false) => {
            timeout
        }
        _ => return Err(errno::INVAL),
    };
    Ok(now.checked_add(Duration::from_nanos(wait)))
}

/// Whether `fd` is ready for `ty`: bytes known to be ready, or the errno
/// to report in the event.
fn readiness(fds: &mut FdTable, fd: u32, ty: u8) -> Result<u64, Errno> {
    let entry = fds.require(fd, rights::POLL_FD_READWRITE)?;
    match &mut entry.kind {
        FdKind::Stdin(stdin) => Ok(stdin.ready_bytes()),
        FdKind::Output(_) => Ok(0),
        FdKind::File(file) if ty == eventtype::FD_READ => {
            use std::io::Seek;
            let size = file.metadata().map_err(|e| errno::from_io(&e))?.len();
            let position = file.stream_position().map_err(|e| errno::from_io(&e))?;
            Ok(size.saturating_sub(position))
        }
        FdKind::File(_) => Ok(0),
        FdKind::Dir(_) => Err(errno::NOTSUP),
    }
}

//! `clock_res_get` and `clock_time_get`: the realtime clock is the host's
//! wall clock; the monotonic clock counts from the context's creation;
//! the CPU-time clocks report the monotonic clock (an instance runs on
//! one thread, and an enclave cannot read CPU time reliably anyway).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::abi::clockid;
use crate::call::{Args, Call, WasiResult};
use crate::errno::{self, Errno};

/// The clocks of one context.
#[derive(Debug)]
pub(crate) struct Clocks {
    /// The origin of the monotonic clock.
    start: Instant,
}

impl Clocks {
    pub(crate) fn new(start: Instant) -> Clocks {
        Clocks { start }
    }

    /// Nanoseconds of the monotonic clock.
    pub(crate) fn monotonic(&self) -> u64 {
        saturating_nanos(self.start.elapsed())
    }

    /// The instant at which the monotonic clock reads `nanos` (`None` if
    /// it is too far to represent).
    pub(crate) fn monotonic_instant(&self, nanos: u64) -> Option<Instant> {
        self.start.checked_add(Duration::from_nanos(nanos))
    }

    /// Nanoseconds of the realtime clock since the Unix epoch.
    pub(crate) fn realtime() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, saturating_nanos)
    }

    /// The current value of clock `id` (`INVAL` for an unknown clock).
    pub(crate) fn now(&self, id: u32) -> Result<u64, Errno> {
        match id {
            clockid::REALTIME => Ok(Clocks::realtime()),
            clockid::MONOTONIC | clockid::PROCESS_CPUTIME | clockid::THREAD_CPUTIME => {
                Ok(self.monotonic())
            }
            _ => Err(errno::INVAL),
        }
    }
}

fn saturating_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// `clock_res_get(id, resolution_ptr)`.
pub(crate) fn clock_res_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let id = args.u32(0)?;
    call.ctx.clocks.now(id)?;
    // Both host clocks count in nanoseconds.
    call.mem.write_u64(args.ptr(1)?, 1)
}

/// `clock_time_get(id, precision: i64, time_ptr)`.
pub(crate) fn clock_time_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let now = call.ctx.clocks.now(args.u32(0)?)?;
    call.mem.write_u64(args.ptr(2)?, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_advance_and_unknown_ones_are_invalid() {
        let clocks = Clocks::new(Instant::now());
        let a = clocks.now(clockid::MONOTONIC).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(clocks.now(clockid::MONOTONIC).unwrap() > a);
        assert!(clocks.now(clockid::REALTIME).unwrap() > 1_600_000_000_000_000_000);
        assert_eq!(clocks.now(4), Err(errno::INVAL));
    }
}

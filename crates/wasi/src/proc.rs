//! `proc_exit` and `sched_yield`.

use waven_runtime::{Trap, TrapKind, Val};

use crate::call::{Args, Call, WasiResult};

/// `proc_exit(code)`: stops the instance with a [`TrapKind::Exit`] trap
/// that carries the status to the embedder.
pub(crate) fn proc_exit(args: &[Val]) -> Trap {
    let code = match args.first() {
        Some(Val::I32(code)) => *code,
        _ => 1,
    };
    Trap::from(TrapKind::Exit(code))
}

/// `sched_yield()`.
pub(crate) fn sched_yield(_call: &mut Call<'_>, _args: &Args<'_>) -> WasiResult {
    std::thread::yield_now();
    Ok(())
}

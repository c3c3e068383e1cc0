//! The preview-1 functions waven defines but does not implement: they
//! exist so that programs importing them link, and they return `NOSYS`.

use crate::call::{Args, Call, WasiResult};
use crate::errno;

/// The body of every unsupported function.
pub(crate) fn nosys(_call: &mut Call<'_>, _args: &Args<'_>) -> WasiResult {
    Err(errno::NOSYS)
}

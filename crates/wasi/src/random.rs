//! `random_get`: bytes from keyed SipHash in counter mode.
//!
//! The keys are those of a fresh [`RandomState`], which std seeds from the
//! operating system's entropy; each 8-byte block is the hash of a counter
//! that starts at a value mixed from the clock and an address. This is
//! unpredictable to a guest that cannot see the keys, but it is not a
//! vetted cryptographic generator: guests needing key material should get
//! it from the host another way.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::call::{Args, Call, WasiResult};

/// Bytes written to guest memory per chunk, so that a huge request never
/// needs a buffer of its size.
const CHUNK_BYTES: usize = 64 << 10;

/// The random source of one context.
#[derive(Debug)]
pub(crate) struct RandomSource {
    keys: RandomState,
    counter: u64,
}

impl RandomSource {
    pub(crate) fn new() -> RandomSource {
        let keys = RandomState::new();
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let place = &keys as *const RandomState as usize as u64;
        let counter = keys.hash_one((time, place));
        RandomSource { keys, counter }
    }

    /// Fills `buf` with random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for block in buf.chunks_mut(8) {
            let bytes = self.keys.hash_one(self.counter).to_le_bytes();
            self.counter = self.counter.wrapping_add(1);
            block.copy_from_slice(&bytes[..block.len()]);
        }
    }
}

/// `random_get(buf, buf_len)`: the whole buffer is checked first, then
/// filled chunk by chunk.
pub(crate) fn random_get(call: &mut Call<'_>, args: &Args<'_>) -> WasiResult {
    let addr = args.ptr(0)?;
    let len = u64::from(args.u32(1)?);
    call.mem.check_write(addr, len)?;
    let mut chunk = vec![0u8; (len as usize).min(CHUNK_BYTES)];
    let mut done = 0u64;
    while done < len {
        let take = ((len - done) as usize).min(CHUNK_BYTES);
        call.ctx.random.fill(&mut chunk[..take]);
        call.mem.write(addr + done, &chunk[..take])?;
        done += take as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_differ_and_do_not_repeat() {
        let (mut a, mut b) = (RandomSource::new(), RandomSource::new());
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_ne!(x, y);
        let mut z = [0u8; 32];
        a.fill(&mut z);
        assert_ne!(x, z);
        let mut odd = [0u8; 5];
        a.fill(&mut odd);
    }
}

//! The host's own computation of what the chain must produce, and the
//! layout of the summary the `aggregate` stage leaves in its memory
//! (`struct faas_summary` of `demos/faas/faas.h`).
//!
//! The three stages are recomputed record by record without keeping any
//! state: the records of `parse`, priced as `transform` prices them,
//! summed as `aggregate` sums them.

/// Kinds of event (`FAAS_KINDS`).
pub const KINDS: usize = 16;

/// Bytes per record in both states (`FAAS_RECORD_SIZE`).
pub const RECORD_SIZE: u64 = 16;

/// The seed of `parse`'s event stream when the host sets it up
/// (`FAAS_DEFAULT_SEED`).
pub const DEFAULT_SEED: u64 = 0x5eed_faa5;

/// `transform`'s price per unit of amount, per kind, in 1/1024.
const RATE: [u32; KINDS] = [
    1024, 1126, 870, 2048, 512, 1331, 1500, 999, 1800, 640, 1200, 3000, 768, 1024, 2500, 100,
];

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// What `aggregate` computes: `struct faas_summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read.
    pub records: u64,
    /// Sum of every value.
    pub total: u64,
    /// 64-bit FNV-1a over `value << 32 | mix` of every record.
    pub checksum: u64,
    /// Sum of values per kind.
    pub sum: [u64; KINDS],
    /// Records per kind.
    pub count: [u32; KINDS],
    /// Records whose id is not their position.
    pub out_of_order: u32,
    /// Records whose kind is out of range.
    pub bad_kind: u32,
}

impl Summary {
    /// Bytes of `struct faas_summary` in guest memory.
    pub const SIZE: usize = 3 * 8 + KINDS * 8 + KINDS * 4 + 2 * 4;

    /// Decodes the guest's little-endian `struct faas_summary`.
    pub fn decode(bytes: &[u8; Self::SIZE]) -> Summary {
        let u64_at = |i: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(word)
        };
        let u32_at = |i: usize| {
            let mut word = [0; 4];
            word.copy_from_slice(&bytes[i..i + 4]);
            u32::from_le_bytes(word)
        };
        let sums = 24;
        let counts = sums + KINDS * 8;
        let tail = counts + KINDS * 4;
        Summary {
            records: u64_at(0),
            total: u64_at(8),
            checksum: u64_at(16),
            sum: std::array::from_fn(|k| u64_at(sums + 8 * k)),
            count: std::array::from_fn(|k| u32_at(counts + 4 * k)),
            out_of_order: u32_at(tail),
            bad_kind: u32_at(tail + 4),
        }
    }

    /// The kind with the largest total value (the first of equals).
    pub fn top_kind(&self) -> usize {
        (1..KINDS).fold(
            0,
            |top, k| if self.sum[k] > self.sum[top] { k } else { top },
        )
    }
}

/// splitmix64: the next raw event word of `parse`'s stream.
fn next_word(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The summary the chain must end with for `size` bytes of state and
/// `parse`'s stream from `seed`.
pub fn expected(size: u64, seed: u64) -> Summary {
    let records = size / RECORD_SIZE;
    let mut summary = Summary {
        records,
        ..Summary::default()
    };
    let mut state = seed;
    let mut hash = FNV_OFFSET;
    for id in 0..records {
        // parse
        let word = next_word(&mut state);
        let kind = (word & (KINDS as u64 - 1)) as usize;
        let amount = ((word >> 4) & 0xf_ffff) as u32;
        let tag = (word >> 32) as u32;
        // transform
        let value = amount.wrapping_mul(RATE[kind]) >> 10;
        let mix = tag.wrapping_mul(0x9e37_79b1) ^ id as u32;
        // aggregate
        summary.count[kind] += 1;
        summary.sum[kind] += u64::from(value);
        summary.total += u64::from(value);
        hash = (hash ^ (u64::from(value) << 32 | u64::from(mix))).wrapping_mul(FNV_PRIME);
    }
    summary.checksum = hash;
    summary
}

/// 64-bit FNV-1a over 8-byte words (a trailing part is padded with
/// zeros): a quick fingerprint of a region's bytes.
pub fn fingerprint(hash: u64, bytes: &[u8]) -> u64 {
    bytes.chunks(8).fold(hash, |hash, chunk| {
        let mut word = [0; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        (hash ^ u64::from_le_bytes(word)).wrapping_mul(FNV_PRIME)
    })
}

/// The start value of [`fingerprint`].
pub const FINGERPRINT_START: u64 = FNV_OFFSET;

/// The price of item `sku` in `faas-price.wasm`'s catalog: `sku`'s five
/// hexadecimal digits reversed.
pub fn price(sku: u32) -> u32 {
    (0..5).fold(0, |price, digit| {
        (price << 4) | ((sku >> (4 * digit)) & 0xf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guests_first_event_and_the_manifests_checksum() {
        // What `parse` prints for the default seed at 32 MiB: event 0 has
        // kind 1 and amount 622641; `aggregate` prints the checksum.
        let mut state = DEFAULT_SEED;
        let word = next_word(&mut state);
        assert_eq!(word & 15, 1);
        assert_eq!((word >> 4) & 0xf_ffff, 622_641);
        let summary = expected(32 << 20, DEFAULT_SEED);
        assert_eq!(summary.records, 2_097_152);
        assert_eq!(summary.total, 1_373_161_036_442);
        assert_eq!(summary.checksum, 0x1f7a_9148_2c83_cbe5);
        assert_eq!(summary.top_kind(), 11);
        assert_eq!(summary.count[11], 131_407);
        assert_eq!(
            summary.count.iter().map(|&c| u64::from(c)).sum::<u64>(),
            summary.records
        );
    }

    #[test]
    fn prices_reverse_the_digits() {
        assert_eq!(price(0), 0);
        assert_eq!(price(1), 0x10000);
        assert_eq!(price(16), 0x01000);
        assert_eq!(price(0x7ffff), 0xffff7);
    }

    #[test]
    fn summaries_decode_field_by_field() {
        let mut bytes = [0u8; Summary::SIZE];
        bytes[0] = 3;
        bytes[8] = 7;
        bytes[16..24].copy_from_slice(&0x0123_4567_89ab_cdefu64.to_le_bytes());
        bytes[24 + 8 * 15] = 9;
        bytes[24 + 128 + 4 * 2] = 5;
        bytes[Summary::SIZE - 4] = 1;
        let summary = Summary::decode(&bytes);
        assert_eq!(summary.records, 3);
        assert_eq!(summary.total, 7);
        assert_eq!(summary.checksum, 0x0123_4567_89ab_cdef);
        assert_eq!(summary.sum[15], 9);
        assert_eq!(summary.count[2], 5);
        assert_eq!(summary.out_of_order, 0);
        assert_eq!(summary.bad_kind, 1);
    }
}

//! The data set and the results, on the host side: the same generator as
//! `demos/marketplace/marketplace.h`, the host's own computation of every
//! analysis, and the layouts of the result regions the analysts write.
//!
//! Everything here mirrors the C header byte for byte; the analysts' sums
//! are repeated in the same order with the same IEEE operations, so their
//! results must equal the host's exactly, not approximately.

use std::fmt;

/// Bytes per record (`struct mp_record`).
pub const RECORD_BYTES: usize = 16;
/// Columns of a record, in order.
pub const COLUMNS: [&str; 4] = ["store", "quantity", "price", "rating"];
/// Histogram bins (`MP_HIST_BINS`).
pub const HIST_BINS: usize = 16;
/// Width of a histogram bin (`MP_HIST_WIDTH`).
pub const HIST_WIDTH: f32 = 64.0;
/// Entries of the top-k (`MP_TOPK`).
pub const TOPK: usize = 10;

const SEED: u32 = 0x6d61_726b;
const HIST_MAGIC: u32 = 0x5453_4948;
const STATS_MAGIC: u32 = 0x5441_5453;
const TOPK_MAGIC: u32 = 0x4b50_4f54;

/// One sale (`struct mp_record`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    /// 0..999.
    pub store: i32,
    /// 1..20.
    pub quantity: i32,
    /// 0.00..998.00.
    pub price: f32,
    /// 1.00..5.00.
    pub rating: f32,
}

/// `mp_mix`: Chris Wellons' "lowbias32" integer hash.
fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

impl Record {
    /// Record number `i` of the data set (`mp_make_record`).
    pub fn make(i: u32) -> Record {
        let base = SEED.wrapping_add(i.wrapping_mul(4));
        let u = mix(base.wrapping_add(2));
        let cents = (u & 0xffff) % 1000 * ((u >> 16) % 1000) / 10;
        Record {
            store: (mix(base) % 1000) as i32,
            quantity: (1 + mix(base.wrapping_add(1)) % 20) as i32,
            price: cents as f32 / 100.0,
            rating: 1.0 + (mix(base.wrapping_add(3)) % 401) as f32 / 100.0,
        }
    }

    /// The record as the guest reads it: 16 little-endian bytes.
    fn to_bytes(self) -> [u8; RECORD_BYTES] {
        let mut out = [0; RECORD_BYTES];
        out[0..4].copy_from_slice(&self.store.to_le_bytes());
        out[4..8].copy_from_slice(&self.quantity.to_le_bytes());
        out[8..12].copy_from_slice(&self.price.to_le_bytes());
        out[12..16].copy_from_slice(&self.rating.to_le_bytes());
        out
    }

    /// The record at the start of `bytes` (at least 16 of them).
    fn from_bytes(bytes: &[u8]) -> Record {
        let mut r = Reader::new(bytes);
        Record {
            store: r.i32(),
            quantity: r.i32(),
            price: r.f32(),
            rating: r.f32(),
        }
    }

    /// The columns as the stats analyst converts them: to `double`.
    fn columns(self) -> [f64; 4] {
        [
            f64::from(self.store),
            f64::from(self.quantity),
            f64::from(self.price),
            f64::from(self.rating),
        ]
    }

    /// Revenue as the top-k analyst computes it: `price * (float)quantity`.
    fn revenue(self) -> f32 {
        self.price * self.quantity as f32
    }
}

/// The data set of `records` records, as the bytes of the region.
pub fn generate(records: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity(records as usize * RECORD_BYTES);
    for i in 0..records {
        data.extend_from_slice(&Record::make(i).to_bytes());
    }
    data
}

/// Little-endian fields read one after another; reads past the end give
/// zeros (callers check sizes first).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        if let Some(src) = self.bytes.get(self.at..self.at + N) {
            out.copy_from_slice(src);
        }
        self.at += N;
        out
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.take())
    }

    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.take())
    }

    fn f64s<const N: usize>(&mut self) -> [f64; N] {
        std::array::from_fn(|_| self.f64())
    }
}

/// `struct mp_header`: what every result starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Records analysed.
    pub records: u32,
    /// Open and map of the data set, in the analyst's clock.
    pub map_ns: u64,
    /// The analysis.
    pub compute_ns: u64,
}

/// The histogram of prices (`struct mp_hist_result`).
#[derive(Clone, Debug, PartialEq)]
pub struct Hist {
    /// Bin width.
    pub width: f32,
    /// Records per bin.
    pub count: Vec<u32>,
}

/// Mean, population variance, minimum and maximum per column
/// (`struct mp_stats_result`).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Per column.
    pub mean: [f64; 4],
    /// Per column.
    pub variance: [f64; 4],
    /// Per column.
    pub min: [f64; 4],
    /// Per column.
    pub max: [f64; 4],
}

/// One of the top sales (`struct mp_topk_entry`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopEntry {
    /// Record number.
    pub index: u32,
    /// The record's store.
    pub store: i32,
    /// The record's quantity.
    pub quantity: i32,
    /// The record's price.
    pub price: f32,
    /// `price * quantity`.
    pub revenue: f32,
}

/// The three analyses of one data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Analyses {
    /// Records analysed.
    pub records: u32,
    /// The histogram analyst's.
    pub hist: Hist,
    /// The stats analyst's.
    pub stats: Stats,
    /// The top-k analyst's, highest revenue first.
    pub topk: Vec<TopEntry>,
}

impl Analyses {
    /// The host's own computation over the data set's bytes.
    pub fn compute(data: &[u8]) -> Analyses {
        let records = data.chunks_exact(RECORD_BYTES).map(Record::from_bytes);
        let mut count = vec![0u32; HIST_BINS];
        let (mut sum, mut sq) = ([0f64; 4], [0f64; 4]);
        let (mut min, mut max) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
        let mut top: Vec<TopEntry> = Vec::with_capacity(TOPK + 1);
        let mut n = 0u32;
        for (index, record) in (0u32..).zip(records) {
            n += 1;
            let bin = (record.price * (1.0 / HIST_WIDTH)) as usize;
            count[bin.min(HIST_BINS - 1)] += 1;
            for (c, x) in record.columns().into_iter().enumerate() {
                sum[c] += x;
                sq[c] += x * x;
                min[c] = min[c].min(x);
                max[c] = max[c].max(x);
            }
            let revenue = record.revenue();
            if top.len() < TOPK || top.last().is_some_and(|last| revenue > last.revenue) {
                // After every entry of equal or higher revenue: earlier
                // records win ties.
                let at = top.partition_point(|e| e.revenue >= revenue);
                top.insert(
                    at,
                    TopEntry {
                        index,
                        store: record.store,
                        quantity: record.quantity,
                        price: record.price,
                        revenue,
                    },
                );
                top.truncate(TOPK);
            }
        }
        let count_f = f64::from(n);
        let mean: [f64; 4] = std::array::from_fn(|c| sum[c] / count_f);
        Analyses {
            records: n,
            hist: Hist {
                width: HIST_WIDTH,
                count,
            },
            stats: Stats {
                mean,
                variance: std::array::from_fn(|c| sq[c] / count_f - mean[c] * mean[c]),
                min,
                max,
            },
            topk: top,
        }
    }
}

/// Why a result region does not hold a valid result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadResult(pub String);

impl fmt::Display for BadResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The header of a result region's bytes, if it carries `magic` and is
/// at least `size` bytes long.
fn header(bytes: &[u8], magic: u32, size: usize, what: &str) -> Result<Header, BadResult> {
    if bytes.len() < size {
        return Err(BadResult(format!(
            "the {what} result region has {} bytes, fewer than {size}",
            bytes.len()
        )));
    }
    let mut r = Reader::new(bytes);
    if r.u32() != magic {
        return Err(BadResult(format!(
            "the {what} result region holds no complete result"
        )));
    }
    Ok(Header {
        records: r.u32(),
        map_ns: r.u64(),
        compute_ns: r.u64(),
    })
}

/// Parses `struct mp_hist_result`.
pub fn parse_hist(bytes: &[u8]) -> Result<(Header, Hist), BadResult> {
    let head = header(bytes, HIST_MAGIC, 96, "histogram")?;
    let mut r = Reader::new(&bytes[24..]);
    let bins = r.u32() as usize;
    let width = r.f32();
    if bins != HIST_BINS {
        return Err(BadResult(format!("the histogram has {bins} bins")));
    }
    let count = (0..HIST_BINS).map(|_| r.u32()).collect();
    Ok((head, Hist { width, count }))
}

/// Parses `struct mp_stats_result`.
pub fn parse_stats(bytes: &[u8]) -> Result<(Header, Stats), BadResult> {
    let head = header(bytes, STATS_MAGIC, 160, "stats")?;
    let mut r = Reader::new(&bytes[24..]);
    let columns = r.u32() as usize;
    if columns != COLUMNS.len() {
        return Err(BadResult(format!("the stats have {columns} columns")));
    }
    r.u32();
    Ok((
        head,
        Stats {
            mean: r.f64s(),
            variance: r.f64s(),
            min: r.f64s(),
            max: r.f64s(),
        },
    ))
}

/// Parses `struct mp_topk_result`.
pub fn parse_topk(bytes: &[u8]) -> Result<(Header, Vec<TopEntry>), BadResult> {
    let head = header(bytes, TOPK_MAGIC, 232, "top-k")?;
    let mut r = Reader::new(&bytes[24..]);
    let k = r.u32() as usize;
    if k > TOPK {
        return Err(BadResult(format!("the top-k has {k} entries")));
    }
    r.u32();
    let top = (0..k)
        .map(|_| TopEntry {
            index: r.u32(),
            store: r.i32(),
            quantity: r.i32(),
            price: r.f32(),
            revenue: r.f32(),
        })
        .collect();
    Ok((head, top))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_stay_in_range() {
        for i in [0, 1, 2, 1000, 123_456, u32::MAX / 4] {
            let r = Record::make(i);
            assert_eq!(Record::from_bytes(&r.to_bytes()), r);
            assert!((0..1000).contains(&r.store));
            assert!((1..=20).contains(&r.quantity));
            assert!((0.0..=998.0).contains(&r.price));
            assert!((1.0..=5.0).contains(&r.rating));
        }
    }

    #[test]
    fn analyses_of_a_small_data_set() {
        let data = generate(5000);
        let a = Analyses::compute(&data);
        assert_eq!(a.records, 5000);
        assert_eq!(a.hist.count.iter().sum::<u32>(), 5000);
        assert_eq!(a.topk.len(), TOPK);
        assert!(a.topk.windows(2).all(|w| w[0].revenue >= w[1].revenue));
        // The top-k agrees with a full sort.
        let mut all: Vec<(f32, u32)> = (0..5000).map(|i| (Record::make(i).revenue(), i)).collect();
        all.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let indices: Vec<u32> = a.topk.iter().map(|e| e.index).collect();
        let expected: Vec<u32> = all.iter().take(TOPK).map(|e| e.1).collect();
        assert_eq!(indices, expected);
        assert!((a.stats.mean[1] - 10.5).abs() < 0.5);
        assert_eq!(a.stats.min[1], 1.0);
        assert_eq!(a.stats.max[1], 20.0);
    }

    #[test]
    fn short_or_incomplete_results_are_refused() {
        assert!(parse_hist(&[0; 10]).is_err());
        assert!(parse_stats(&[0; 4096]).is_err());
        let mut topk = vec![0; 4096];
        topk[..4].copy_from_slice(&TOPK_MAGIC.to_le_bytes());
        topk[24..28].copy_from_slice(&11u32.to_le_bytes());
        assert!(parse_topk(&topk).is_err());
        topk[24..28].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(parse_topk(&topk).unwrap().1, Vec::new());
    }
}

//! The exclusive bounds of trapping float-to-integer truncation.
//!
//! `iN.trunc_fM_{s,u}` traps with "integer overflow" unless `lo < x < hi`
//! for these bounds (after a NaN test of its own): then `trunc(x)` fits the
//! integer type and the saturating conversion gives exactly the Wasm
//! result. `hi` is `2^(N-1)` or `2^N`; `lo` is `-1` for unsigned
//! targets, and for signed ones the largest float not above
//! `-2^(N-1) - 1` (it is exactly that when the float type has the
//! precision, as `f64` has for `i32`).

/// Bounds for a conversion, as `f64` (exact also for `f32` sources: every
/// bound below is an `f32` value when the source is `f32`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruncBounds {
    /// The largest value that traps on the low side.
    pub lo: f64,
    /// The smallest value that traps on the high side.
    pub hi: f64,
}

/// The bounds of truncating a float of `float_bits` (32 or 64) to an
/// integer of `int_bits` (32 or 64), signed or not.
pub fn trunc_bounds(int_bits: u32, signed: bool, float_bits: u32) -> TruncBounds {
    match (int_bits, signed, float_bits) {
        // -2^31 - 1 rounds down to -2^31 - 2^8 in f32 (24-bit mantissa).
        (32, true, 32) => TruncBounds {
            lo: -2147483904.0,
            hi: 2147483648.0,
        },
        (32, true, _) => TruncBounds {
            lo: -2147483649.0,
            hi: 2147483648.0,
        },
        (32, false, _) => TruncBounds {
            lo: -1.0,
            hi: 4294967296.0,
        },
        // -2^63 - 1 rounds down to -2^63 - 2^40 in f32, -2^63 - 2^11 in f64.
        (_, true, 32) => TruncBounds {
            lo: -9223373136366403584.0,
            hi: 9223372036854775808.0,
        },
        (_, true, _) => TruncBounds {
            lo: -9223372036854777856.0,
            hi: 9223372036854775808.0,
        },
        (_, false, _) => TruncBounds {
            lo: -1.0,
            hi: 18446744073709551616.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `trunc(x)` fits the integer type, computed exactly with
    /// 128-bit integers.
    fn fits(x: f64, int_bits: u32, signed: bool) -> bool {
        let t = x.trunc();
        if t.abs() >= 2f64.powi(100) {
            return false;
        }
        let t = t as i128;
        if signed {
            let half = 1i128 << (int_bits - 1);
            (-half..half).contains(&t)
        } else {
            (0..1i128 << int_bits).contains(&t)
        }
    }

    fn next_up(x: f64, float_bits: u32) -> f64 {
        if float_bits == 32 {
            f64::from((x as f32).next_up())
        } else {
            x.next_up()
        }
    }

    fn next_down(x: f64, float_bits: u32) -> f64 {
        if float_bits == 32 {
            f64::from((x as f32).next_down())
        } else {
            x.next_down()
        }
    }

    #[test]
    fn bounds_are_exact_and_representable() {
        for int_bits in [32, 64] {
            for signed in [true, false] {
                for float_bits in [32, 64] {
                    let TruncBounds { lo, hi } = trunc_bounds(int_bits, signed, float_bits);
                    let case = (int_bits, signed, float_bits);
                    if float_bits == 32 {
                        assert_eq!(f64::from(lo as f32), lo, "{case:?}");
                        assert_eq!(f64::from(hi as f32), hi, "{case:?}");
                    }
                    assert!(!fits(lo, int_bits, signed), "{case:?} lo");
                    assert!(!fits(hi, int_bits, signed), "{case:?} hi");
                    assert!(fits(next_up(lo, float_bits), int_bits, signed), "{case:?}");
                    assert!(
                        fits(next_down(hi, float_bits), int_bits, signed),
                        "{case:?}"
                    );
                }
            }
        }
    }
}

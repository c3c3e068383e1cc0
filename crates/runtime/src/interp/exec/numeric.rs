//! WebAssembly 2.0 semantics of the numeric instructions that are more than
//! a one-liner: trapping integer division, trapping and saturating
//! float-to-integer truncation, and the float operations whose NaN, signed
//! zero or rounding rules differ from Rust's defaults.
//!
//! Every function is pure; traps are returned as [`TrapKind`].

use crate::error::TrapKind;

/// `i32.div_s`: traps on a zero divisor and on `i32::MIN / -1`.
#[inline]
pub(crate) fn i32_div_s(a: i32, b: i32) -> Result<i32, TrapKind> {
    if b == 0 {
        return Err(TrapKind::IntegerDivideByZero);
    }
    a.checked_div(b).ok_or(TrapKind::IntegerOverflow)
}

/// `i32.div_u`: traps on a zero divisor.
#[inline]
pub(crate) fn i32_div_u(a: u32, b: u32) -> Result<u32, TrapKind> {
    a.checked_div(b).ok_or(TrapKind::IntegerDivideByZero)
}

/// `i32.rem_s`: traps on a zero divisor; `i32::MIN % -1` is 0.
#[inline]
pub(crate) fn i32_rem_s(a: i32, b: i32) -> Result<i32, TrapKind> {
    if b == 0 {
        return Err(TrapKind::IntegerDivideByZero);
    }
    Ok(a.wrapping_rem(b))
}

/// `i32.rem_u`: traps on a zero divisor.
#[inline]
pub(crate) fn i32_rem_u(a: u32, b: u32) -> Result<u32, TrapKind> {
    a.checked_rem(b).ok_or(TrapKind::IntegerDivideByZero)
}

/// `i64.div_s`: traps on a zero divisor and on `i64::MIN / -1`.
#[inline]
pub(crate) fn i64_div_s(a: i64, b: i64) -> Result<i64, TrapKind> {
    if b == 0 {
        return Err(TrapKind::IntegerDivideByZero);
    }
    a.checked_div(b).ok_or(TrapKind::IntegerOverflow)
}

/// `i64.div_u`: traps on a zero divisor.
#[inline]
pub(crate) fn i64_div_u(a: u64, b: u64) -> Result<u64, TrapKind> {
    a.checked_div(b).ok_or(TrapKind::IntegerDivideByZero)
}

/// `i64.rem_s`: traps on a zero divisor; `i64::MIN % -1` is 0.
#[inline]
pub(crate) fn i64_rem_s(a: i64, b: i64) -> Result<i64, TrapKind> {
    if b == 0 {
        return Err(TrapKind::IntegerDivideByZero);
    }
    Ok(a.wrapping_rem(b))
}

/// `i64.rem_u`: traps on a zero divisor.
#[inline]
pub(crate) fn i64_rem_u(a: u64, b: u64) -> Result<u64, TrapKind> {
    a.checked_rem(b).ok_or(TrapKind::IntegerDivideByZero)
}

// Truncation. The spec's `trunc` is defined on the exact value truncated
// toward zero, so the trapping form truncates first and compares against the
// bounds `MIN` (inclusive) and `MAX + 1` (exclusive): both are 0 or ±2^N and
// hence exact in either float type, so nothing rounds at the boundary.
// The saturating form is Rust's float-to-int `as`, which is exactly
// `trunc_sat` (truncate toward zero, clamp to the range, NaN to 0).

/// Generates `$op` (trapping) and `$op_sat` (saturating) truncations
/// `$float -> $int` with the exact truncated range `[$lo, $hi)`.
macro_rules! truncs {
    ($op:ident, $op_sat:ident: $float:ty => $int:ty, $lo:expr, $hi:expr) => {
        #[doc = concat!("`", stringify!($op), "`: truncates toward zero, traps on NaN or overflow.")]
        #[inline]
        pub(crate) fn $op(x: $float) -> Result<$int, TrapKind> {
            if x.is_nan() {
                return Err(TrapKind::InvalidConversionToInteger);
            }
            let t = x.trunc();
            if ($lo..$hi).contains(&t) {
                // In range and integral: the cast is exact.
                Ok(t as $int)
            } else {
                Err(TrapKind::IntegerOverflow)
            }
        }

        #[doc = concat!("`", stringify!($op_sat), "`: truncates toward zero, saturates, NaN is 0.")]
        #[inline]
        pub(crate) fn $op_sat(x: $float) -> $int {
            x as $int
        }
    };
}

/// 2^31 as `f32`.
const F32_2P31: f32 = 2_147_483_648.0;
/// 2^32 as `f32`.
const F32_2P32: f32 = 4_294_967_296.0;
/// 2^63 as `f32`.
const F32_2P63: f32 = 9_223_372_036_854_775_808.0;
/// 2^64 as `f32`.
const F32_2P64: f32 = 18_446_744_073_709_551_616.0;
/// 2^31 as `f64`.
const F64_2P31: f64 = 2_147_483_648.0;
/// 2^32 as `f64`.
const F64_2P32: f64 = 4_294_967_296.0;
/// 2^63 as `f64`.
const F64_2P63: f64 = 9_223_372_036_854_775_808.0;
/// 2^64 as `f64`.
const F64_2P64: f64 = 18_446_744_073_709_551_616.0;

truncs!(i32_trunc_f32_s, i32_trunc_sat_f32_s: f32 => i32, -F32_2P31, F32_2P31);
truncs!(i32_trunc_f32_u, i32_trunc_sat_f32_u: f32 => u32, 0.0, F32_2P32);
truncs!(i32_trunc_f64_s, i32_trunc_sat_f64_s: f64 => i32, -F64_2P31, F64_2P31);
truncs!(i32_trunc_f64_u, i32_trunc_sat_f64_u: f64 => u32, 0.0, F64_2P32);
truncs!(i64_trunc_f32_s, i64_trunc_sat_f32_s: f32 => i64, -F32_2P63, F32_2P63);
truncs!(i64_trunc_f32_u, i64_trunc_sat_f32_u: f32 => u64, 0.0, F32_2P64);
truncs!(i64_trunc_f64_s, i64_trunc_sat_f64_s: f64 => i64, -F64_2P63, F64_2P63);
truncs!(i64_trunc_f64_u, i64_trunc_sat_f64_u: f64 => u64, 0.0, F64_2P64);

/// Sign bit of an `f32`.
const F32_SIGN: u32 = 0x8000_0000;
/// Sign bit of an `f64`.
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
/// Quiet bit (top of the significand) of an `f32`.
const F32_QUIET: u32 = 0x0040_0000;
/// Quiet bit (top of the significand) of an `f64`.
const F64_QUIET: u64 = 0x0008_0000_0000_0000;

// NaN results. Where the spec asks for `nans{z...}` (a canonical NaN if every
// NaN input is canonical, else any arithmetic, i.e. quiet, NaN) we return the
// NaN input with its quiet bit set, the first one if both are NaN. Float
// arithmetic such as `a + b` does not guarantee a quiet NaN: LLVM folds
// `x + -0.0` to `x`, which keeps a signaling NaN signaling.
// fmin/fmax: non-NaN operands that compare equal can only differ as +0 and
// -0; OR-ing their bits picks -0 (min) and AND-ing them picks +0 (max).

/// Generates the sign, NaN, min/max and rounding operations of one float type.
macro_rules! float_ops {
    ($float:ident, $sign:expr, $quiet_bit:expr;
     $quiet:ident, $min:ident, $max:ident, $nearest:ident, $copysign:ident, $abs:ident, $neg:ident) => {
        /// `x` with its quiet bit set if it is a NaN, else `x` unchanged.
        #[inline]
        fn $quiet(x: $float) -> $float {
            if x.is_nan() {
                $float::from_bits(x.to_bits() | $quiet_bit)
            } else {
                x
            }
        }

        #[doc = concat!("`", stringify!($float), ".min`: NaN if an operand is; `min(-0, +0) = -0`.")]
        #[inline]
        pub(crate) fn $min(a: $float, b: $float) -> $float {
            if a.is_nan() || b.is_nan() {
                $quiet(if a.is_nan() { a } else { b })
            } else if a == b {
                $float::from_bits(a.to_bits() | b.to_bits())
            } else {
                a.min(b)
            }
        }

        #[doc = concat!("`", stringify!($float), ".max`: NaN if an operand is; `max(-0, +0) = +0`.")]
        #[inline]
        pub(crate) fn $max(a: $float, b: $float) -> $float {
            if a.is_nan() || b.is_nan() {
                $quiet(if a.is_nan() { a } else { b })
            } else if a == b {
                $float::from_bits(a.to_bits() & b.to_bits())
            } else {
                a.max(b)
            }
        }

        #[doc = concat!("`", stringify!($float), ".nearest`: rounds half to even, keeps the sign of zero.")]
        #[inline]
        pub(crate) fn $nearest(x: $float) -> $float {
            if x.is_nan() {
                $quiet(x)
            } else {
                x.round_ties_even()
            }
        }

        #[doc = concat!("`", stringify!($float), ".copysign`: `a`'s magnitude, `b`'s sign bit, payloads kept.")]
        #[inline]
        pub(crate) fn $copysign(a: $float, b: $float) -> $float {
            $float::from_bits((a.to_bits() & !$sign) | (b.to_bits() & $sign))
        }

        #[doc = concat!("`", stringify!($float), ".abs`: clears the sign bit only, payloads kept.")]
        #[inline]
        pub(crate) fn $abs(x: $float) -> $float {
            $float::from_bits(x.to_bits() & !$sign)
        }

        #[doc = concat!("`", stringify!($float), ".neg`: flips the sign bit only, payloads kept.")]
        #[inline]
        pub(crate) fn $neg(x: $float) -> $float {
            $float::from_bits(x.to_bits() ^ $sign)
        }
    };
}

float_ops!(f32, F32_SIGN, F32_QUIET;
    quiet_f32, f32_min, f32_max, f32_nearest, f32_copysign, f32_abs, f32_neg);
float_ops!(f64, F64_SIGN, F64_QUIET;
    quiet_f64, f64_min, f64_max, f64_nearest, f64_copysign, f64_abs, f64_neg);

/// A NaN result made quiet (libm's rounding functions return signalling
/// NaN inputs unchanged; Wasm requires an arithmetic NaN).
#[inline]
pub(crate) fn f32_quiet(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}

/// A NaN result made quiet, as [`f32_quiet`].
#[inline]
pub(crate) fn f64_quiet(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

/// `f32.convert_i64_u`: rounds to nearest, ties to even, in a single rounding (as `as` does).
#[inline]
pub(crate) fn f32_convert_i64_u(x: u64) -> f32 {
    x as f32
}

/// `f64.convert_i64_u`: rounds to nearest, ties to even, in a single rounding (as `as` does).
#[inline]
pub(crate) fn f64_convert_i64_u(x: u64) -> f64 {
    x as f64
}

/// `f32.demote_f64`: rounds to nearest even; NaN gives a quiet NaN (payload may be canonicalized).
#[inline]
pub(crate) fn f32_demote_f64(x: f64) -> f32 {
    quiet_f32(x as f32)
}

/// `f64.promote_f32`: exact; NaN gives a quiet NaN (payload may be canonicalized).
#[inline]
pub(crate) fn f64_promote_f32(x: f32) -> f64 {
    quiet_f64(x as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrapKind::InvalidConversionToInteger as Inv;
    use TrapKind::{IntegerDivideByZero as Div0, IntegerOverflow as Ovf};

    /// A signaling f32 NaN with a payload.
    const F32_SNAN: u32 = 0x7fa0_0001;
    /// A quiet f32 NaN with a payload.
    const F32_QNAN: u32 = 0x7fc0_1234;
    /// A signaling f64 NaN with a payload.
    const F64_SNAN: u64 = 0x7ff4_0000_0000_0001;
    /// A quiet f64 NaN with a payload.
    const F64_QNAN: u64 = 0x7ff8_0000_1234_5678;

    /// Whether `x` is an arithmetic (quiet) f32 NaN.
    fn quiet32(x: f32) -> bool {
        x.is_nan() && x.to_bits() & F32_QUIET != 0
    }

    /// Whether `x` is an arithmetic (quiet) f64 NaN.
    fn quiet64(x: f64) -> bool {
        x.is_nan() && x.to_bits() & F64_QUIET != 0
    }

    /// The f32 NaNs every float test feeds in: canonical, signaling, with payloads, both signs.
    fn nans32() -> [f32; 4] {
        let (s, q) = (f32::from_bits(F32_SNAN), f32::from_bits(F32_QNAN));
        [f32::NAN, -f32::NAN, s, -q]
    }

    /// The f64 NaNs every float test feeds in: canonical, signaling, with payloads, both signs.
    fn nans64() -> [f64; 4] {
        let (s, q) = (f64::from_bits(F64_SNAN), f64::from_bits(F64_QNAN));
        [f64::NAN, -f64::NAN, s, -q]
    }

    #[test]
    fn div_rem_i32() {
        assert_eq!(i32_div_s(7, -2), Ok(-3));
        assert_eq!(i32_div_s(-7, 2), Ok(-3));
        assert_eq!(i32_div_s(i32::MIN, -1), Err(Ovf));
        assert_eq!(i32_div_s(i32::MIN, 1), Ok(i32::MIN));
        assert_eq!(i32_div_s(i32::MAX, -1), Ok(-i32::MAX));
        assert_eq!(i32_div_s(1, 0), Err(Div0));
        assert_eq!(i32_div_s(i32::MIN, 0), Err(Div0));
        assert_eq!(i32_div_u(u32::MAX, 2), Ok(0x7fff_ffff));
        assert_eq!(i32_div_u(0x8000_0000, u32::MAX), Ok(0));
        assert_eq!(i32_div_u(0, 0), Err(Div0));
        assert_eq!(i32_rem_s(i32::MIN, -1), Ok(0));
        assert_eq!(i32_rem_s(-7, 2), Ok(-1));
        assert_eq!(i32_rem_s(7, -2), Ok(1));
        assert_eq!(i32_rem_s(1, 0), Err(Div0));
        assert_eq!(i32_rem_u(u32::MAX, 10), Ok(5));
        assert_eq!(i32_rem_u(0x8000_0000, u32::MAX), Ok(0x8000_0000));
        assert_eq!(i32_rem_u(1, 0), Err(Div0));
    }

    #[test]
    fn div_rem_i64() {
        assert_eq!(i64_div_s(7, -2), Ok(-3));
        assert_eq!(i64_div_s(-7, 2), Ok(-3));
        assert_eq!(i64_div_s(i64::MIN, -1), Err(Ovf));
        assert_eq!(i64_div_s(i64::MIN, 2), Ok(i64::MIN / 2));
        assert_eq!(i64_div_s(1, 0), Err(Div0));
        assert_eq!(i64_div_s(i64::MIN, 0), Err(Div0));
        assert_eq!(i64_div_u(u64::MAX, 2), Ok(u64::MAX >> 1));
        assert_eq!(i64_div_u(0, 0), Err(Div0));
        assert_eq!(i64_rem_s(i64::MIN, -1), Ok(0));
        assert_eq!(i64_rem_s(-7, 2), Ok(-1));
        assert_eq!(i64_rem_s(7, -2), Ok(1));
        assert_eq!(i64_rem_s(1, 0), Err(Div0));
        assert_eq!(i64_rem_u(u64::MAX, 10), Ok(5));
        assert_eq!(i64_rem_u(1, 0), Err(Div0));
    }

    /// Generates a test of a trapping truncation and its saturating twin:
    /// `lo`/`hi` are the extreme values that do not trap with their results,
    /// `lo_out`/`hi_out` the nearest ones that do.
    macro_rules! trunc_test {
        ($test:ident, $op:ident, $op_sat:ident, $float:ident, $int:ident, $nans:ident,
         lo: $lo:expr => $lo_r:expr, lo_out: $lo_out:expr,
         hi: $hi:expr => $hi_r:expr, hi_out: $hi_out:expr) => {
            #[test]
            fn $test() {
                let (lo, hi): ($float, $float) = ($lo, $hi);
                let (lo_out, hi_out): ($float, $float) = ($lo_out, $hi_out);
                let signed = $int::MIN != 0;
                let inside = [(0.0, 0), (-0.0, 0), (0.9, 0), (-0.9, 0), (1.9, 1)];
                for (x, r) in inside.into_iter().chain([(lo, $lo_r), (hi, $hi_r)]) {
                    assert_eq!($op(x), Ok(r), "{x}");
                    assert_eq!($op_sat(x), r, "{x}");
                }
                let minus_one = $op(-1.9).map(|r| r as i64);
                assert_eq!(minus_one, if signed { Ok(-1) } else { Err(Ovf) });
                let below = [lo_out, $float::MIN, $float::NEG_INFINITY];
                let above = [hi_out, $float::MAX, $float::INFINITY];
                for (x, clamp) in below
                    .map(|x| (x, $int::MIN))
                    .into_iter()
                    .chain(above.map(|x| (x, $int::MAX)))
                {
                    assert_eq!($op(x), Err(Ovf), "{x}");
                    assert_eq!($op_sat(x), clamp, "{x}");
                }
                for n in $nans() {
                    assert_eq!($op(n), Err(Inv));
                    assert_eq!($op_sat(n), 0);
                }
            }
        };
    }

    trunc_test!(trunc_i32_f32_s, i32_trunc_f32_s, i32_trunc_sat_f32_s, f32, i32, nans32,
        lo: -2147483648.0 => i32::MIN, lo_out: -2147483904.0,
        hi: 2147483520.0 => 2147483520, hi_out: F32_2P31);
    trunc_test!(trunc_i32_f32_u, i32_trunc_f32_u, i32_trunc_sat_f32_u, f32, u32, nans32,
        lo: (-1.0f32).next_up() => 0, lo_out: -1.0,
        hi: F32_2P32.next_down() => 4294967040, hi_out: F32_2P32);
    trunc_test!(trunc_i32_f64_s, i32_trunc_f64_s, i32_trunc_sat_f64_s, f64, i32, nans64,
        lo: -2147483648.9 => i32::MIN, lo_out: -2147483649.0,
        hi: 2147483647.9 => i32::MAX, hi_out: F64_2P31);
    trunc_test!(trunc_i32_f64_u, i32_trunc_f64_u, i32_trunc_sat_f64_u, f64, u32, nans64,
        lo: (-1.0f64).next_up() => 0, lo_out: -1.0,
        hi: 4294967295.9 => u32::MAX, hi_out: F64_2P32);
    trunc_test!(trunc_i64_f32_s, i64_trunc_f32_s, i64_trunc_sat_f32_s, f32, i64, nans32,
        lo: -F32_2P63 => i64::MIN, lo_out: (-F32_2P63).next_down(),
        hi: F32_2P63.next_down() => i64::MAX - (1 << 39) + 1, hi_out: F32_2P63);
    trunc_test!(trunc_i64_f32_u, i64_trunc_f32_u, i64_trunc_sat_f32_u, f32, u64, nans32,
        lo: (-1.0f32).next_up() => 0, lo_out: -1.0,
        hi: F32_2P64.next_down() => u64::MAX - (1 << 40) + 1, hi_out: F32_2P64);
    trunc_test!(trunc_i64_f64_s, i64_trunc_f64_s, i64_trunc_sat_f64_s, f64, i64, nans64,
        lo: -F64_2P63 => i64::MIN, lo_out: (-F64_2P63).next_down(),
        hi: F64_2P63.next_down() => i64::MAX - 1023, hi_out: F64_2P63);
    trunc_test!(trunc_i64_f64_u, i64_trunc_f64_u, i64_trunc_sat_f64_u, f64, u64, nans64,
        lo: (-1.0f64).next_up() => 0, lo_out: -1.0,
        hi: F64_2P64.next_down() => u64::MAX - 2047, hi_out: F64_2P64);

    #[test]
    fn trunc_boundaries_are_adjacent() {
        // The f32 literals above are the neighbours of -2^31 and 2^31.
        assert_eq!((-F32_2P31).next_down(), -2147483904.0);
        assert_eq!(F32_2P31.next_down(), 2147483520.0);
    }

    /// Generates tests of min, max, nearest, copysign, abs and neg for one float type;
    /// `$p_mant` is 2^23 (f32) or 2^52 (f64), from where on all values are integers.
    macro_rules! float_tests {
        ($m:ident, $float:ident, $min:ident, $max:ident, $nearest:ident, $copysign:ident,
         $abs:ident, $neg:ident, $snan:ident, $qnan:ident, $sign:ident, $quiet:ident,
         $nans:ident, $is_quiet:ident, $p_mant:expr) => {
            mod $m {
                use super::*;

                #[test]
                fn min_max() {
                    let b = |x: $float| x.to_bits();
                    assert_eq!(b($min(-0.0, 0.0)), b(-0.0));
                    assert_eq!(b($min(0.0, -0.0)), b(-0.0));
                    assert_eq!(b($max(-0.0, 0.0)), b(0.0));
                    assert_eq!(b($max(0.0, -0.0)), b(0.0));
                    assert_eq!(b($min(0.0, 0.0)), b(0.0));
                    assert_eq!(b($max(-0.0, -0.0)), b(-0.0));
                    assert_eq!(($min(1.0, -2.0), $max(1.0, -2.0)), (-2.0, 1.0));
                    assert_eq!(($min(-2.0, 1.0), $max(-2.0, 1.0)), (-2.0, 1.0));
                    assert_eq!(
                        $min($float::NEG_INFINITY, $float::MIN),
                        $float::NEG_INFINITY
                    );
                    assert_eq!($max($float::INFINITY, $float::MAX), $float::INFINITY);
                    // The NaN operand comes back quieted, payload and sign kept.
                    let (s, q) = ($float::from_bits($snan), $float::from_bits($qnan | $sign));
                    assert_eq!(b($min(s, 1.0)), $snan | $quiet);
                    assert_eq!(b($max(-0.0, s)), $snan | $quiet);
                    assert_eq!(b($max(q, s)), $qnan | $sign);
                    assert_eq!(b($min($float::NAN, -0.0)), b($float::NAN));
                    for n in $nans() {
                        for x in [0.0, -0.0, 1.0, $float::INFINITY, $float::NEG_INFINITY, n] {
                            assert!($is_quiet($min(n, x)) && $is_quiet($min(x, n)));
                            assert!($is_quiet($max(n, x)) && $is_quiet($max(x, n)));
                        }
                    }
                }

                #[test]
                fn nearest() {
                    let p: $float = $p_mant;
                    let below_half = (0.5 as $float).next_down();
                    let cases = [
                        (0.5, 0.0),
                        (1.5, 2.0),
                        (2.5, 2.0),
                        (3.5, 4.0),
                        (below_half, 0.0),
                        (0.0, 0.0),
                        (1.0, 1.0),
                        (p - 0.5, p),
                        (p, p),
                        (p + 1.0, p + 1.0),
                        (2.0 * p - 1.0, 2.0 * p - 1.0),
                        ($float::MAX, $float::MAX),
                        ($float::INFINITY, $float::INFINITY),
                    ];
                    // Negated too: nearest(-0.5) = -0.0, nearest(-1.5) = -2.0.
                    for (x, w) in cases {
                        assert_eq!($nearest(x).to_bits(), w.to_bits(), "nearest({x})");
                        assert_eq!($nearest(-x).to_bits(), (-w).to_bits(), "nearest(-{x})");
                    }
                    for n in $nans() {
                        assert_eq!($nearest(n).to_bits(), n.to_bits() | $quiet);
                    }
                }

                #[test]
                fn sign_ops() {
                    let f = $float::from_bits;
                    let c = |a, b| $copysign(f(a), f(b)).to_bits();
                    assert_eq!(c($snan, $sign), $snan | $sign);
                    assert_eq!(c($snan | $sign, 0), $snan);
                    assert_eq!(c($qnan, $snan | $sign), $qnan | $sign);
                    assert_eq!(c($qnan, $snan), $qnan);
                    assert_eq!(($copysign(1.5, -0.0), $copysign(-1.5, 0.0)), (-1.5, 1.5));
                    assert_eq!($copysign(0.0, -1.0).to_bits(), (-0.0 as $float).to_bits());
                    let inf = $float::INFINITY.to_bits();
                    for p in [$snan, $qnan, 0, (1.5 as $float).to_bits(), inf] {
                        assert_eq!($abs(f(p)).to_bits(), p);
                        assert_eq!($abs(f(p | $sign)).to_bits(), p);
                        assert_eq!($neg(f(p)).to_bits(), p | $sign);
                        assert_eq!($neg(f(p | $sign)).to_bits(), p);
                    }
                }
            }
        };
    }

    float_tests!(
        f32_ops,
        f32,
        f32_min,
        f32_max,
        f32_nearest,
        f32_copysign,
        f32_abs,
        f32_neg,
        F32_SNAN,
        F32_QNAN,
        F32_SIGN,
        F32_QUIET,
        nans32,
        quiet32,
        8388608.0
    );
    float_tests!(
        f64_ops,
        f64,
        f64_min,
        f64_max,
        f64_nearest,
        f64_copysign,
        f64_abs,
        f64_neg,
        F64_SNAN,
        F64_QNAN,
        F64_SIGN,
        F64_QUIET,
        nans64,
        quiet64,
        4503599627370496.0
    );

    #[test]
    fn convert_i64_u() {
        assert_eq!(f32_convert_i64_u(0).to_bits(), 0);
        assert_eq!(f32_convert_i64_u(u64::MAX), F32_2P64);
        assert_eq!(f32_convert_i64_u(16777217), 16777216.0);
        assert_eq!(f32_convert_i64_u(16777219), 16777220.0);
        // 2^63 + 2^39 + 1 is just above the tie: a single rounding goes up,
        // a double rounding through f64 would land on the tie and go down.
        let up = (1u64 << 63) + (1 << 39) + 1;
        assert_eq!(f32_convert_i64_u(up), F32_2P63 + 1099511627776.0);
        assert_eq!(f32_convert_i64_u(up - 1), F32_2P63);
        assert_eq!(f64_convert_i64_u(0).to_bits(), 0);
        assert_eq!(f64_convert_i64_u(u64::MAX), F64_2P64);
        assert_eq!(f64_convert_i64_u((1 << 63) + 1024), F64_2P63);
        assert_eq!(f64_convert_i64_u((1 << 63) + 1025), F64_2P63 + 2048.0);
        assert_eq!(f64_convert_i64_u((1 << 63) + 3072), F64_2P63 + 4096.0);
        assert_eq!(f64_convert_i64_u(9007199254740993), 9007199254740992.0);
    }

    #[test]
    fn demote_promote() {
        assert_eq!(f32_demote_f64(1.5), 1.5);
        assert_eq!(f32_demote_f64(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f32_demote_f64(f64::MAX), f32::INFINITY);
        assert_eq!(f32_demote_f64(f64::MIN), f32::NEG_INFINITY);
        assert_eq!(f32_demote_f64(1e-50).to_bits(), 0);
        // Ties to even: 1 + 2^-24 is halfway between 1 and 1 + 2^-23.
        assert_eq!(f32_demote_f64(1.0 + 2f64.powi(-24)), 1.0);
        let three_halves_ulp = 1.0 + 3.0 * 2f64.powi(-24);
        assert_eq!(f32_demote_f64(three_halves_ulp), 1.0 + 2f32.powi(-22));
        assert_eq!(f32_demote_f64(f32::MAX as f64), f32::MAX);
        assert_eq!(f64_promote_f32(f32::MAX), 3.4028234663852886e38);
        assert_eq!(f64_promote_f32(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f64_promote_f32(f32::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(f64_promote_f32(f32::from_bits(1)), 2f64.powi(-149));
        assert_eq!(f32_demote_f64(f64::NAN).to_bits(), f32::NAN.to_bits());
        assert_eq!(f64_promote_f32(f32::NAN).to_bits(), f64::NAN.to_bits());
        for n in nans64() {
            assert!(quiet32(f32_demote_f64(n)));
        }
        for n in nans32() {
            assert!(quiet64(f64_promote_f32(n)));
        }
    }
}

//! The forward pass's element-wise loops, each compiled for several instruction sets and
//! chosen at run time (`multiversion`): the crate itself builds for baseline x86-64, whose
//! 4-wide SSE left these loops, not the matrix products, the bulk of the time once the
//! products ran in 8 bits.
//!
//! Sums go through [`lane_sum`]: a plain `iter().sum()` over floats must add in order, so it
//! never vectorises.

use multiversion::multiversion;

/// Floats per accumulator set: one AVX-512 register, or several narrower ones.
const LANES: usize = 16;

/// The sum of `x`, in [`LANES`] partial sums (a different rounding order from a plain sum).
#[inline(always)]
pub(crate) fn lane_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

/// The largest of `x` (negative infinity for none).
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter()
        .chain(tail)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

/// The smallest and the largest of `x` and 0.
#[inline(always)]
pub(crate) fn range_with_zero(x: &[f32]) -> (f32, f32) {
    let mut lo = [0f32; LANES];
    let mut hi = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(chunk) {
            *l = if v < *l { v } else { *l };
            *h = if v > *h { v } else { *h };
        }
    }
    let lo = lo.iter().chain(tail).copied().fold(0f32, f32::min);
    let hi = hi.iter().chain(tail).copied().fold(0f32, f32::max);
    (lo, hi)
}

/// `f(x)` for each `x` of `values`, in place. Generic rather than a function pointer, so
/// that `f` is inlined into the loop.
#[multiversion(targets = "simd")]
pub(crate) fn map(values: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in values.iter_mut() {
        *v = f(*v);
    }
}

/// Each row of `x` (rows as wide as `q`'s, `scales.len()` of them) as bytes over the row's
/// own range, widened to take in 0 so that 0 is exact: into `q` the bytes, `scales` the
/// value of one step, `zeros` the byte that stands for 0.
#[multiversion(targets = "simd")]
pub(crate) fn quantise_rows(q: &mut [u8], x: &[f32], scales: &mut [f32], zeros: &mut [u8]) {
    let width = x.len() / scales.len().max(1);
    for (((q, x), scale), zero) in q
        .chunks_exact_mut(width)
        .zip(x.chunks_exact(width))
        .zip(scales.iter_mut())
        .zip(zeros.iter_mut())
    {
        let (lo, hi) = range_with_zero(x);
        let step = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
        let inv = 1.0 / step;
        // Rounded, and within 0..=255 since lo <= 0 <= hi.
        let z = round_to_byte(-lo * inv);
        let zf = f32::from(z);
        for (q, &v) in q.iter_mut().zip(x) {
            *q = round_to_byte(v * inv + zf);
        }
        *scale = step;
        *zero = z;
    }
}

/// `v` rounded to the nearest byte, clamped to 0..=255 (NaN gives 0). Adding 1.5 * 2^23
/// leaves the rounded integer in the low mantissa bits: plain arithmetic and bit masks,
/// which vectorise, where `as u8` (a saturating conversion) does not.
#[inline(always)]
fn round_to_byte(v: f32) -> u8 {
    const ROUNDER: f32 = 12_582_912.0;
    let clamped = if v > 0.0 { v } else { 0.0 };
    let clamped = if clamped < 255.0 { clamped } else { 255.0 };
    ((clamped + ROUNDER).to_bits() & 0xFF) as u8
}

/// What turns the integer sums of a product of quantised rows and columns back into
/// floats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scales<'a> {
    /// Per row: the value of one step.
    pub(crate) rows: &'a [f32],
    /// Per row: the byte that stands for 0.
    pub(crate) zeros: &'a [u8],
    /// Per column: the value of one step.
    pub(crate) columns: &'a [f32],
    /// Per column: the sum of its integer weights.
    pub(crate) column_sums: &'a [i32],
    /// Per column: the layer's bias.
    pub(crate) bias: &'a [f32],
}

/// `out` = `f(product + bias)`, for the products whose integer sums over the rows' bytes
/// are `sums`.
#[multiversion(targets = "simd")]
pub(crate) fn dequantise_then(
    out: &mut [f32],
    sums: &[i32],
    scales: Scales<'_>,
    f: impl Fn(f32) -> f32,
) {
    let width = scales.columns.len();
    for (((out, sums), rs), &zero) in out
        .chunks_exact_mut(width)
        .zip(sums.chunks_exact(width))
        .zip(scales.rows)
        .zip(scales.zeros)
    {
        let zero = i32::from(zero);
        for ((((o, &s), cs), &w), b) in out
            .iter_mut()
            .zip(sums)
            .zip(scales.columns)
            .zip(scales.column_sums)
            .zip(scales.bias)
        {
            // (q - zero) · w = q · w - zero * sum(w): exact in i32.
            *o = f((s - zero * w) as f32 * rs * cs + b);
        }
    }
}

/// A layer norm's learnt scale and shift.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NormParams<'a> {
    pub(crate) weight: &'a [f32],
    pub(crate) bias: &'a [f32],
    pub(crate) eps: f32,
}

/// Layer normalisation of each row of `rows`, in place.
#[multiversion(targets = "simd")]
pub(crate) fn normalise(rows: &mut [f32], norm: NormParams<'_>) {
    for row in rows.chunks_exact_mut(norm.weight.len()) {
        normalise_row(row, norm);
    }
}

/// Layer normalisation of `x + residual`, row by row, into `rows`: one pass over memory
/// instead of two.
#[multiversion(targets = "simd")]
pub(crate) fn residual_normalise(rows: &mut [f32], residual: &[f32], norm: NormParams<'_>) {
    let width = norm.weight.len();
    for (row, res) in rows
        .chunks_exact_mut(width)
        .zip(residual.chunks_exact(width))
    {
        for (v, r) in row.iter_mut().zip(res) {
            *v += r;
        }
        normalise_row(row, norm);
    }
}

#[inline(always)]
fn normalise_row(row: &mut [f32], norm: NormParams<'_>) {
    let n = row.len() as f32;
    let mean = lane_sum(row) / n;
    for v in row.iter_mut() {
        *v -= mean;
    }
    let mut acc = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a += v * v;
        }
    }
    let var = (acc.iter().sum::<f32>() + tail) / n;
    let inv = 1.0 / (var + norm.eps).sqrt();
    for ((v, w), b) in row.iter_mut().zip(norm.weight).zip(norm.bias) {
        *v = *v * inv * w + b;
    }
}

/// Softmax of each row of `rows` (rows `width` wide), in place.
#[multiversion(targets = "simd")]
pub(crate) fn softmax_rows(rows: &mut [f32], width: usize) {
    for row in rows.chunks_exact_mut(width) {
        let max = lane_max(row);
        for s in row.iter_mut() {
            *s = exp(*s - max);
        }
        let inv = 1.0 / lane_sum(row);
        for s in row.iter_mut() {
            *s *= inv;
        }
    }
}

/// GELU with the exact (erf) form BERT was trained with.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU's tanh approximation, for models configured with it.
#[inline(always)]
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    const C: f32 = 0.797_884_6; // sqrt(2 / pi)
    let u = C * (x + 0.044_715 * x * x * x);
    // tanh(u) = 1 - 2 / (exp(2u) + 1), which saturates cleanly at both ends.
    0.5 * x * (2.0 - 2.0 / (exp(2.0 * u) + 1.0))
}

/// erf by Abramowitz and Stegun 7.1.26: absolute error under 1.5e-7 (5e-7 in f32), branch-free so that
/// the loops over it vectorise (libm's exact `erff` was 9% of the forward pass).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// e^x to about 2e-7 relative, branch-free: x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its
/// Taylor series to r^6, 2^n from the exponent bits. Below -87 it returns 0-ish, above 88
/// the largest finite range.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer in plain arithmetic
    // (f32::round is a library call on baseline x86-64, which would stop vectorisation).
    const ROUNDER: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // The low bits of `shifted` hold n + 2^22 (in two's complement for negative n).
    let n = (shifted.to_bits() as i32) - 0x4B40_0000;
    p * f32::from_bits(((n + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_rounded_and_clamped() {
        let cases = [
            (0.0, 0),
            (0.49, 0),
            (0.51, 1),
            (127.4, 127),
            (254.6, 255),
            (255.0, 255),
            (300.0, 255),
            (-3.0, 0),
            (f32::NAN, 0),
            (f32::INFINITY, 255),
        ];
        for (v, want) in cases {
            assert_eq!(round_to_byte(v), want, "{v}");
        }
    }

    #[test]
    fn exp_and_erf_match_the_library_functions() {
        let mut worst_exp = 0f32;
        let mut worst_erf = 0f32;
        for i in -8000..=8000 {
            let x = i as f32 / 100.0;
            if x > -80.0 {
                let rel = ((exp(x) - x.exp()) / x.exp()).abs();
                worst_exp = worst_exp.max(rel);
            }
            let x = i as f32 / 1000.0;
            worst_erf = worst_erf.max((erf(x) - libm_erf(x)).abs());
        }
        assert!(worst_exp < 5e-7, "exp relative error {worst_exp}");
        assert!(worst_erf < 1e-6, "erf absolute error {worst_erf}");
        assert_eq!(exp(-200.0).min(1e-30), exp(-200.0), "tiny, not garbage");
        assert!(exp(200.0).is_finite());
        assert_eq!(gelu(0.0), 0.0);
        assert!((gelu(3.0) - 2.995_95).abs() < 1e-4);
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-4);
    }

    /// erf from its series (terms to 60), accurate to f32 on |x| <= 8: the reference.
    fn libm_erf(x: f32) -> f32 {
        let x = f64::from(x);
        if x.abs() > 4.0 {
            return x.signum() as f32;
        }
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        (sum * 2.0 / std::f64::consts::PI.sqrt()) as f32
    }
}

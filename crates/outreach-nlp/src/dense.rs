//! A linear layer's matrix product, in f32 or in 8-bit integers.
//!
//! The products are most of a forward pass, and f32 cannot go faster than the core's
//! floating-point rate. In 8 bits (weights per output column, activations per row,
//! quantised as each batch comes) the same core does about four times the work per
//! second where it has VNNI, with rten's kernels. The f32 form stays for exact results.

use rayon::prelude::*;
use rten_gemm::{BiasVector, GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedBMatrix};
use rten_tensor::NdTensorView;

use crate::kernels::{self, Scales};

/// Rows per task for row-wise work: enough to outweigh rayon's hand-off.
pub(crate) const ROWS_PER_TASK: usize = 32;

/// How the model's matrix products are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout: the model's own numbers.
    Exact,
    /// 8-bit weights and activations, 32-bit sums: within a percent of exact.
    Int8,
}

/// A linear layer: `x · w + b`, with `w` of (inputs, outputs), packed for the kernel once.
pub(crate) struct Dense {
    inputs: usize,
    weight: Weight,
    pub(crate) bias: Vec<f32>,
}

enum Weight {
    Exact(PackedBMatrix<f32>),
    Int8 {
        packed: PackedBMatrix<i8>,
        /// Per output column: the value of one step of the integer weight.
        scales: Vec<f32>,
        /// Per output column: the sum of its integer weights, to take each row's zero
        /// byte back out of the integer sums.
        sums: Vec<i32>,
    },
}

impl Dense {
    /// A layer from `weight`, row-major (inputs, outputs), and `bias` (one per output).
    pub(crate) fn new(weight: &[f32], bias: Vec<f32>, precision: Precision) -> Self {
        let outputs = bias.len();
        let inputs = weight.len() / outputs.max(1);
        let weight = match precision {
            Precision::Exact => Weight::Exact(
                GemmExecutor::<f32>::default()
                    .prepack_b(NdTensorView::from_data([inputs, outputs], weight)),
            ),
            Precision::Int8 => {
                let gemm = GemmExecutor::<u8, i8, i32>::default();
                // Without VNNI the kernel adds pairs of products in 16 bits, which 7-bit
                // weights cannot overflow (2 * 255 * 63 < 2^15).
                let limit = if gemm.may_saturate() { 63.0 } else { 127.0 };
                let (q, scales) = quantise_columns(weight, outputs, limit);
                let mut sums = vec![0i32; outputs];
                for row in q.chunks_exact(outputs) {
                    for (s, &v) in sums.iter_mut().zip(row) {
                        *s += i32::from(v);
                    }
                }
                Weight::Int8 {
                    packed: gemm.prepack_b(NdTensorView::from_data([inputs, outputs], &q[..])),
                    scales,
                    sums,
                }
            }
        };
        Self {
            inputs,
            weight,
            bias,
        }
    }

    /// `f(x · w + b)` for the rows of `x`, into `out` (as many rows, `outputs` wide),
    /// with the work space in `scratch`. The bias and `f` are applied in the pass that
    /// turns the integer sums back into floats.
    pub(crate) fn apply(
        &self,
        x: &[f32],
        out: &mut [f32],
        scratch: &mut Scratch,
        f: impl Fn(f32) -> f32 + Sync + Copy,
    ) {
        let rows = x.len() / self.inputs;
        let outputs = self.bias.len();
        debug_assert_eq!(out.len(), rows * outputs);
        if rows == 0 {
            return;
        }
        let a = NdTensorView::from_data([rows, self.inputs], x);
        match &self.weight {
            Weight::Exact(packed) => {
                GemmExecutor::<f32>::default()
                    .gemm(
                        out,
                        GemmInputA::Unpacked(a),
                        GemmInputB::Packed(packed),
                        GemmOptions {
                            bias: Some(BiasVector::Row(&self.bias)),
                            ..GemmOptions::default()
                        },
                    )
                    .expect("shapes are fixed at load");
                out.par_chunks_mut(outputs * ROWS_PER_TASK)
                    .for_each(|chunk| kernels::map(chunk, f));
            }
            Weight::Int8 {
                packed,
                scales,
                sums: column_sums,
            } => {
                let (q, row_scales, zeros, sums) = scratch.sized(rows, self.inputs, outputs);
                q.par_chunks_mut(self.inputs * ROWS_PER_TASK)
                    .zip(x.par_chunks(self.inputs * ROWS_PER_TASK))
                    .zip(row_scales.par_chunks_mut(ROWS_PER_TASK))
                    .zip(zeros.par_chunks_mut(ROWS_PER_TASK))
                    .for_each(|(((q, x), scales), zeros)| {
                        kernels::quantise_rows(q, x, scales, zeros)
                    });
                // The zero bytes are taken out below rather than passed to the kernel:
                // rten-gemm 0.27 applies per-row zero points of the first 8 rows to every
                // group of 8 rows.
                GemmExecutor::<u8, i8, i32>::default()
                    .gemm(
                        sums,
                        GemmInputA::Unpacked(NdTensorView::from_data([rows, self.inputs], &*q)),
                        GemmInputB::Packed(packed),
                        GemmOptions::default(),
                    )
                    .expect("shapes are fixed at load");
                out.par_chunks_mut(outputs * ROWS_PER_TASK)
                    .zip(sums.par_chunks(outputs * ROWS_PER_TASK))
                    .zip(row_scales.par_chunks(ROWS_PER_TASK))
                    .zip(zeros.par_chunks(ROWS_PER_TASK))
                    .for_each(|(((out, sums), row_scales), zeros)| {
                        kernels::dequantise_then(
                            out,
                            sums,
                            Scales {
                                rows: row_scales,
                                zeros,
                                columns: scales,
                                column_sums,
                                bias: &self.bias,
                            },
                            f,
                        );
                    });
            }
        }
    }

    /// `x · w + b` for the rows of `x`, in a new vector.
    #[cfg(test)]
    fn product(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; x.len() / self.inputs * self.bias.len()];
        self.apply(x, &mut out, &mut Scratch::default(), |v| v);
        out
    }
}

/// The int8 product's work space, kept from call to call: fresh multi-megabyte vectors
/// cost a page fault per 4 KB every time.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    bytes: Vec<u8>,
    row_scales: Vec<f32>,
    zeros: Vec<u8>,
    sums: Vec<i32>,
}

impl Scratch {
    /// The bytes of `rows` rows `inputs` wide, their scales and zero bytes, and the sums of
    /// `rows` rows `outputs` wide. Grown when too small, never cleared.
    fn sized(
        &mut self,
        rows: usize,
        inputs: usize,
        outputs: usize,
    ) -> (&mut [u8], &mut [f32], &mut [u8], &mut [i32]) {
        (
            grown(&mut self.bytes, rows * inputs),
            grown(&mut self.row_scales, rows),
            grown(&mut self.zeros, rows),
            grown(&mut self.sums, rows * outputs),
        )
    }
}

/// The first `n` elements of `v`, grown (with defaults) when it is shorter.
pub(crate) fn grown<T: Default + Clone>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    if v.len() < n {
        v.resize(n, T::default());
    }
    &mut v[..n]
}

/// Each column of `w` (row-major, `columns` wide) as integers in `-limit..=limit`, and the
/// value of one step per column.
fn quantise_columns(w: &[f32], columns: usize, limit: f32) -> (Vec<i8>, Vec<f32>) {
    let mut largest = vec![0f32; columns];
    for row in w.chunks_exact(columns) {
        for (m, v) in largest.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    let scales: Vec<f32> = largest
        .iter()
        .map(|&m| if m > 0.0 { m / limit } else { 1.0 })
        .collect();
    let q = w
        .chunks_exact(columns)
        .flat_map(|row| {
            row.iter()
                .zip(&scales)
                .map(|(v, s)| (v / s).round().clamp(-limit, limit) as i8)
        })
        .collect();
    (q, scales)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row of `x` (`width` wide) as bytes: the bytes, the value of one step and the
    /// byte that stands for 0, per row.
    fn quantise_rows(x: &[f32], width: usize) -> (Vec<u8>, Vec<f32>, Vec<u8>) {
        let rows = x.len() / width;
        let (mut q, mut scales, mut zeros) = (vec![0; x.len()], vec![0.0; rows], vec![0; rows]);
        kernels::quantise_rows(&mut q, x, &mut scales, &mut zeros);
        (q, scales, zeros)
    }

    /// A deterministic spread of values in -1..1.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn reference(x: &[f32], w: &[f32], inputs: usize, outputs: usize) -> Vec<f32> {
        x.chunks_exact(inputs)
            .flat_map(|row| {
                (0..outputs).map(move |c| {
                    row.iter()
                        .enumerate()
                        .map(|(k, v)| v * w[k * outputs + c])
                        .sum::<f32>()
                })
            })
            .collect()
    }

    /// Rows past the first 8 have zero bytes of their own (rten-gemm 0.27 mixed them up
    /// when given them), and a column of zeros and a column far larger than the rest
    /// each have a scale of their own.
    #[test]
    fn both_precisions_multiply_like_the_textbook_product() {
        let (rows, inputs, outputs) = (37, 96, 50);
        let x = values(rows * inputs, 1);
        let mut w = values(inputs * outputs, 2);
        for k in 0..inputs {
            w[k * outputs] = 0.0;
            w[k * outputs + 1] *= 40.0;
        }
        let want = reference(&x, &w, inputs, outputs);
        let exact = Dense::new(&w, vec![0.0; outputs], Precision::Exact).product(&x);
        let int8 = Dense::new(&w, vec![0.0; outputs], Precision::Int8).product(&x);
        let norm = want.iter().map(|v| v * v).sum::<f32>().sqrt();
        let error = |got: &[f32]| {
            got.iter()
                .zip(&want)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt()
                / norm
        };
        assert!(error(&exact) < 1e-6, "exact: {}", error(&exact));
        assert!(error(&int8) < 0.02, "int8: {}", error(&int8));
        for r in 0..rows {
            assert_eq!(int8[r * outputs], 0.0, "a zero column stays exactly zero");
        }
        assert!(
            Dense::new(&w, vec![0.0; outputs], Precision::Int8)
                .product(&[])
                .is_empty()
        );
    }

    #[test]
    fn rows_are_quantised_over_their_own_range_with_zero_exact() {
        let width = 4;
        let x = [-1.0, 0.0, 0.5, 3.0, 0.2, 0.4, 0.6, 0.8, 0.0, 0.0, 0.0, 0.0];
        let (q, scales, zeros) = quantise_rows(&x, width);
        // Row 0 spans -1..3; row 1 is positive, so its range starts at 0; row 2 is flat.
        assert!((scales[0] - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(q[1], zeros[0], "0 maps to the zero byte");
        assert_eq!((q[0], q[3]), (0, 255));
        assert_eq!(zeros[1], 0);
        assert_eq!(q[7], 255);
        for (i, v) in x.iter().enumerate() {
            let r = i / width;
            let back = (f32::from(q[i]) - f32::from(zeros[r])) * scales[r];
            assert!(
                (back - v).abs() <= scales[r] / 2.0 + 1e-6,
                "{v} came back as {back}"
            );
        }
        let (q, _, zeros) = quantise_rows(&[1e30, -1e30], 2);
        assert!(q[0] >= 254 && q[1] == 0, "extremes stay in range: {q:?}");
        assert!((127..=128).contains(&zeros[0]));
    }

    #[test]
    fn columns_are_quantised_symmetrically_each_with_its_own_scale() {
        let w = [0.5, -0.0005, 0.0, -2.0, 0.002, 0.0];
        let (q, scales) = quantise_columns(&w, 3, 127.0);
        assert_eq!(q, vec![32, -32, 0, -127, 127, 0]);
        assert_eq!(scales[2], 1.0, "an all-zero column keeps a usable scale");
        assert!((scales[1] - 0.002 / 127.0).abs() < 1e-9);
    }
}

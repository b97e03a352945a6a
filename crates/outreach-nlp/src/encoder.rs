//! The BERT encoder's forward pass over packed texts: the tokens of a batch laid end to
//! end, with no padding, so that every matrix product runs over real tokens only.
//!
//! candle multiplies the matrices (its `gemm`); the rest is done here in plain loops:
//! candle's own BERT spent half its time outside the matrix products, in its exact `erf`
//! for GELU (9%), its element-wise thread pool, and allocating and masking padded
//! tensors. Attention runs per text, so texts of a batch never see each other and a text
//! gives the same vectors alone as in any batch.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

/// Rows per task for row-wise work: enough to outweigh rayon's hand-off.
const ROWS_PER_TASK: usize = 32;

/// A text's tokens: word-piece ids and segment ids, of the same length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tokens<'a> {
    pub(crate) ids: &'a [u32],
    pub(crate) type_ids: &'a [u32],
}

impl<'a> From<&'a tokenizers::Encoding> for Tokens<'a> {
    fn from(encoding: &'a tokenizers::Encoding) -> Self {
        Self {
            ids: encoding.get_ids(),
            type_ids: encoding.get_type_ids(),
        }
    }
}

/// A BERT encoder's weights, laid out for [`Encoder::forward`].
pub(crate) struct Encoder {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    vocab: usize,
    types: usize,
    max_positions: usize,
    activation: HiddenAct,
}

struct Layer {
    /// Query, key and value in one product.
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    up: Dense,
    down: Dense,
    output_norm: Norm,
}

/// A linear layer: the weight transposed to (in, out), contiguous, for `x · w`.
struct Dense {
    weight: Tensor,
    bias: Vec<f32>,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Encoder {
    /// The encoder in `vb` (tensors named as in Hugging Face's `BertModel`, with or without
    /// a `bert.` prefix) for `config`.
    pub(crate) fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let (h, heads) = (config.hidden_size, config.num_attention_heads);
        if heads == 0 || h % heads != 0 {
            return Err(candle_core::Error::Msg(format!(
                "hidden size {h} does not split into {heads} attention heads"
            )));
        }
        let eps = config.layer_norm_eps as f32;
        let e = vb.pp("embeddings");
        let table = |name: &str, rows: usize| -> candle_core::Result<Vec<f32>> {
            flat(&e.pp(name).get((rows, h), "weight")?)
        };
        let word = table("word_embeddings", config.vocab_size)?;
        let position = table("position_embeddings", config.max_position_embeddings)?;
        let token_type = table("token_type_embeddings", config.type_vocab_size)?;
        let embedding_norm = Norm::load(e.pp("LayerNorm"), h, eps)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                let s = a.pp("self");
                let (q, k, v) = (
                    s.pp("query").get((h, h), "weight")?,
                    s.pp("key").get((h, h), "weight")?,
                    s.pp("value").get((h, h), "weight")?,
                );
                let (qb, kb, vb_) = (
                    s.pp("query").get(h, "bias")?,
                    s.pp("key").get(h, "bias")?,
                    s.pp("value").get(h, "bias")?,
                );
                let qkv = Dense {
                    weight: Tensor::cat(&[&q, &k, &v], 0)?.t()?.contiguous()?,
                    bias: flat(&Tensor::cat(&[&qb, &kb, &vb_], 0)?)?,
                };
                Ok(Layer {
                    qkv,
                    attention_out: Dense::load(a.pp("output.dense"), h, h)?,
                    attention_norm: Norm::load(a.pp("output.LayerNorm"), h, eps)?,
                    up: Dense::load(l.pp("intermediate.dense"), h, config.intermediate_size)?,
                    down: Dense::load(l.pp("output.dense"), config.intermediate_size, h)?,
                    output_norm: Norm::load(l.pp("output.LayerNorm"), h, eps)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            word,
            position,
            token_type,
            embedding_norm,
            layers,
            hidden: h,
            heads,
            vocab: config.vocab_size,
            types: config.type_vocab_size,
            max_positions: config.max_position_embeddings,
            activation: config.hidden_act,
        })
    }

    /// The last layer's token vectors of each text, end to end: row `start + i` (of
    /// `hidden` floats) is token `i` of the text whose tokens start at `start` (the sum of
    /// the lengths before it). Run it inside the rayon pool that should do the work.
    pub(crate) fn forward(&self, texts: &[Tokens<'_>]) -> candle_core::Result<Vec<f32>> {
        let h = self.hidden;
        let lengths: Vec<usize> = texts.iter().map(|t| t.ids.len()).collect();
        let rows: usize = lengths.iter().sum();
        let mut x = vec![0f32; rows * h];
        if rows == 0 {
            return Ok(x);
        }
        let mut at = 0;
        for text in texts {
            if text.type_ids.len() != text.ids.len() || text.ids.len() > self.max_positions {
                return Err(candle_core::Error::Msg(format!(
                    "a text of {} tokens ({} segment ids) for a model of {} positions",
                    text.ids.len(),
                    text.type_ids.len(),
                    self.max_positions
                )));
            }
            for (p, (&id, &ty)) in text.ids.iter().zip(text.type_ids).enumerate() {
                let (id, ty) = (id as usize, ty as usize);
                if id >= self.vocab || ty >= self.types {
                    return Err(candle_core::Error::Msg(format!(
                        "token {id} (segment {ty}) is outside the model's vocabulary"
                    )));
                }
                let row = &mut x[at * h..(at + 1) * h];
                let (w, pos, t) = (
                    &self.word[id * h..(id + 1) * h],
                    &self.position[p * h..(p + 1) * h],
                    &self.token_type[ty * h..(ty + 1) * h],
                );
                for (i, out) in row.iter_mut().enumerate() {
                    *out = w[i] + pos[i] + t[i];
                }
                at += 1;
            }
        }
        self.embedding_norm.apply(&mut x, h);

        for layer in &self.layers {
            let qkv = layer.qkv.apply(&x, rows)?;
            let context = self.attention(&qkv, &lengths);
            let mut attended = layer.attention_out.product(&context, rows)?;
            layer
                .attention_norm
                .apply_residual(&mut attended, &layer.attention_out.bias, &x);
            x = attended;

            let mut up = layer.up.product(&x, rows)?;
            activate(&mut up, &layer.up.bias, self.activation);
            let mut down = layer.down.product(&up, rows)?;
            layer
                .output_norm
                .apply_residual(&mut down, &layer.down.bias, &x);
            x = down;
        }
        Ok(x)
    }

    /// Scaled dot-product attention of each text over its own tokens, all heads.
    fn attention(&self, qkv: &[f32], lengths: &[usize]) -> Vec<f32> {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let rows: usize = lengths.iter().sum();
        let mut context = vec![0f32; rows * h];
        // One slice of the output per text, so that texts run in parallel.
        let mut slices = Vec::with_capacity(lengths.len());
        let mut rest = context.as_mut_slice();
        let mut start = 0;
        for &n in lengths {
            let (mine, tail) = rest.split_at_mut(n * h);
            slices.push((start, n, mine));
            rest = tail;
            start += n;
        }
        slices.into_par_iter().for_each(|(start, n, out)| {
            // Per head, the keys transposed (d rows of n) and the values packed (n rows of
            // d): each score row and each output row is then a run of multiply-adds over
            // contiguous memory, which vectorises, instead of strided dot products.
            let mut keys = vec![0f32; d * n];
            let mut values = vec![0f32; n * d];
            let mut scores = vec![0f32; n];
            let row = |i: usize| &qkv[(start + i) * 3 * h..(start + i + 1) * 3 * h];
            for head in 0..self.heads {
                let (q0, k0, v0) = (head * d, h + head * d, 2 * h + head * d);
                for j in 0..n {
                    let r = row(j);
                    for c in 0..d {
                        keys[c * n + j] = r[k0 + c];
                    }
                    values[j * d..(j + 1) * d].copy_from_slice(&r[v0..v0 + d]);
                }
                for i in 0..n {
                    let q = &row(i)[q0..q0 + d];
                    scores.fill(0.0);
                    for (c, &qc) in q.iter().enumerate() {
                        let qc = qc * scale;
                        for (s, k) in scores.iter_mut().zip(&keys[c * n..(c + 1) * n]) {
                            *s += qc * k;
                        }
                    }
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    // Apart from the sum, so that the exponentials vectorise.
                    for s in scores.iter_mut() {
                        *s = exp(*s - max);
                    }
                    let inv = 1.0 / scores.iter().sum::<f32>();
                    let target = &mut out[i * h + head * d..i * h + head * d + d];
                    target.fill(0.0);
                    for (s, v) in scores.iter().zip(values.chunks_exact(d)) {
                        let p = s * inv;
                        for (t, v) in target.iter_mut().zip(v) {
                            *t += p * v;
                        }
                    }
                }
            }
        });
        context
    }
}

impl Dense {
    fn load(vb: VarBuilder, inputs: usize, outputs: usize) -> candle_core::Result<Self> {
        Ok(Self {
            weight: vb.get((outputs, inputs), "weight")?.t()?.contiguous()?,
            bias: flat(&vb.get(outputs, "bias")?)?,
        })
    }

    /// `x · w` for `rows` rows of `x`, without the bias.
    fn product(&self, x: &[f32], rows: usize) -> candle_core::Result<Vec<f32>> {
        let inputs = x.len() / rows.max(1);
        flat(&Tensor::from_slice(x, (rows, inputs), &Device::Cpu)?.matmul(&self.weight)?)
    }

    /// `x · w + b` for `rows` rows of `x`.
    fn apply(&self, x: &[f32], rows: usize) -> candle_core::Result<Vec<f32>> {
        let mut out = self.product(x, rows)?;
        add_bias_then(&mut out, &self.bias, |v| v);
        Ok(out)
    }
}

impl Norm {
    fn load(vb: VarBuilder, width: usize, eps: f32) -> candle_core::Result<Self> {
        Ok(Self {
            weight: flat(&vb.get(width, "weight")?)?,
            bias: flat(&vb.get(width, "bias")?)?,
            eps,
        })
    }

    /// Layer normalisation of `x + bias + residual`, row by row, into `x`: one pass over
    /// memory instead of three.
    fn apply_residual(&self, x: &mut [f32], bias: &[f32], residual: &[f32]) {
        let width = bias.len();
        x.par_chunks_mut(width * ROWS_PER_TASK)
            .zip(residual.par_chunks(width * ROWS_PER_TASK))
            .for_each(|(chunk, residual)| {
                for (row, res) in chunk.chunks_mut(width).zip(residual.chunks(width)) {
                    for ((v, b), r) in row.iter_mut().zip(bias).zip(res) {
                        *v += b + r;
                    }
                    self.normalise(row);
                }
            });
    }

    /// Layer normalisation of each row of `x`, in place.
    fn apply(&self, x: &mut [f32], width: usize) {
        x.par_chunks_mut(width * ROWS_PER_TASK).for_each(|chunk| {
            for row in chunk.chunks_mut(width) {
                self.normalise(row);
            }
        });
    }

    fn normalise(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + self.eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

fn flat(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// `activation(x + bias)` for each row of `x`, in place: the bias in the same pass.
fn activate(x: &mut [f32], bias: &[f32], activation: HiddenAct) {
    match activation {
        HiddenAct::Gelu => add_bias_then(x, bias, gelu),
        HiddenAct::GeluApproximate => add_bias_then(x, bias, gelu_tanh),
        HiddenAct::Relu => add_bias_then(x, bias, |v: f32| v.max(0.0)),
    }
}

/// `f(x + bias)` for each row of `x`, in place. Generic rather than a function pointer, so
/// that `f` is inlined into the loop and the loop vectorises.
fn add_bias_then(x: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32 + Sync) {
    let width = bias.len();
    x.par_chunks_mut(width * ROWS_PER_TASK).for_each(|chunk| {
        for row in chunk.chunks_mut(width) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = f(*v + b);
            }
        }
    });
}

/// GELU with the exact (erf) form BERT was trained with.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU's tanh approximation, for models configured with it.
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    const C: f32 = 0.797_884_6; // sqrt(2 / pi)
    let u = C * (x + 0.044_715 * x * x * x);
    // tanh(u) = 1 - 2 / (exp(2u) + 1), which saturates cleanly at both ends.
    0.5 * x * (2.0 - 2.0 / (exp(2.0 * u) + 1.0))
}

/// erf by Abramowitz and Stegun 7.1.26: absolute error under 1.5e-7 (5e-7 in f32), branch-free so that
/// the loops over it vectorise (libm's exact `erff` was 9% of the forward pass).
#[inline(always)]
fn erf(x: f32) -> f32 {
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
fn exp(x: f32) -> f32 {
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
    use crate::test_support::tiny_model;
    use candle_transformers::models::bert::BertModel;
    use tokenizers::Tokenizer;

    #[test]
    fn packed_texts_give_what_candles_bert_gives_each_text_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = tiny_model(dir.path());
        let config: Config =
            serde_json::from_slice(&std::fs::read(files.config()).expect("read config"))
                .expect("config");
        assert!(
            matches!(config.hidden_act, HiddenAct::Gelu),
            "the erf form is tested"
        );
        let tensors =
            candle_core::safetensors::load(files.weights(), &Device::Cpu).expect("weights");
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let ours = Encoder::load(vb.clone(), &config).expect("our encoder");
        let reference = BertModel::load(vb, &config).expect("candle's BERT");
        let mut tokenizer = Tokenizer::from_file(files.tokenizer()).expect("tokenizer");
        tokenizer.with_padding(None);
        let texts = [
            "yes please, call me",
            "remove me",
            "interested call interested call thanks. who is this?",
            "no",
        ];
        let encodings: Vec<_> = texts
            .iter()
            .map(|t| tokenizer.encode(*t, true).expect("encode"))
            .collect();
        let tokens: Vec<Tokens<'_>> = encodings.iter().map(Tokens::from).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let packed = pool.install(|| ours.forward(&tokens)).expect("forward");
        let h = config.hidden_size;
        let total: usize = encodings.iter().map(|e| e.len()).sum();
        assert_eq!(packed.len(), total * h);
        let mut at = 0;
        for (text, e) in texts.iter().zip(&encodings) {
            let n = e.len();
            let ids = Tensor::new(e.get_ids(), &Device::Cpu)
                .and_then(|t| t.unsqueeze(0))
                .expect("ids");
            let types = Tensor::new(e.get_type_ids(), &Device::Cpu)
                .and_then(|t| t.unsqueeze(0))
                .expect("types");
            let want = reference
                .forward(&ids, &types, None)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .expect("reference forward");
            let got = &packed[at * h..(at + n) * h];
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{text}: differs by {worst}");
            at += n;
        }
        // Bad input is an error, not a panic.
        let bad = [Tokens {
            ids: &[u32::MAX],
            type_ids: &[0],
        }];
        assert!(ours.forward(&bad).is_err());
        let ragged = [Tokens {
            ids: &[1, 2],
            type_ids: &[0],
        }];
        assert!(ours.forward(&ragged).is_err());
        assert!(ours.forward(&[]).expect("nothing").is_empty());
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

//! The BERT encoder's forward pass over packed texts: the tokens of a batch laid end to
//! end, with no padding, so that every matrix product runs over real tokens only.
//!
//! [`Dense`] multiplies the matrices; the rest is done here in plain loops: candle's own
//! BERT spent half its time outside the matrix products, in its exact `erf`
//! for GELU (9%), its element-wise thread pool, and allocating and masking padded
//! tensors. Attention runs per text, so texts of a batch never see each other and a text
//! gives the same vectors alone as in any batch.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use std::sync::Mutex;

use rayon::prelude::*;
use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions};
use rten_tensor::NdTensorView;

use crate::dense::{Dense, Precision, ROWS_PER_TASK, Scratch, grown};
use crate::kernels::{self, NormParams, gelu, gelu_tanh};

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
    intermediate: usize,
    activation: HiddenAct,
    /// The buffers of the last pass, for the next: multi-megabyte vectors allocated afresh
    /// cost a page fault per 4 KB each time (an eighth of the time).
    spare: Mutex<Option<Buffers>>,
}

/// A pass's activations and work space, kept by the encoder between passes.
#[derive(Debug, Default)]
struct Buffers {
    x: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    wide: Vec<f32>,
    next: Vec<f32>,
    scratch: Scratch,
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

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Encoder {
    /// The encoder in `vb` (tensors named as in Hugging Face's `BertModel`, with or without
    /// a `bert.` prefix) for `config`, its products computed in `precision`.
    pub(crate) fn load(
        vb: VarBuilder,
        config: &Config,
        precision: Precision,
    ) -> candle_core::Result<Self> {
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
                let qkv = Dense::new(
                    &flat(&Tensor::cat(&[&q, &k, &v], 0)?.t()?)?,
                    flat(&Tensor::cat(&[&qb, &kb, &vb_], 0)?)?,
                    precision,
                );
                let dense = |vb: VarBuilder, inputs: usize, outputs: usize| {
                    candle_core::Result::Ok(Dense::new(
                        &flat(&vb.get((outputs, inputs), "weight")?.t()?)?,
                        flat(&vb.get(outputs, "bias")?)?,
                        precision,
                    ))
                };
                let wide = config.intermediate_size;
                Ok(Layer {
                    qkv,
                    attention_out: dense(a.pp("output.dense"), h, h)?,
                    attention_norm: Norm::load(a.pp("output.LayerNorm"), h, eps)?,
                    up: dense(l.pp("intermediate.dense"), h, wide)?,
                    down: dense(l.pp("output.dense"), wide, h)?,
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
            intermediate: config.intermediate_size,
            activation: config.hidden_act,
            spare: Mutex::new(None),
        })
    }

    /// The last layer's token vectors of each text, end to end: row `start + i` (of
    /// `hidden` floats) is token `i` of the text whose tokens start at `start` (the sum of
    /// the lengths before it). Run it inside the rayon pool that should do the work.
    #[cfg(test)]
    pub(crate) fn forward(&self, texts: &[Tokens<'_>]) -> candle_core::Result<Vec<f32>> {
        self.forward_with(texts, <[f32]>::to_vec)
    }

    /// `read` of the last layer's token vectors (laid out as [`Encoder::forward`] returns
    /// them), computed in buffers kept from pass to pass.
    pub(crate) fn forward_with<R>(
        &self,
        texts: &[Tokens<'_>],
        read: impl FnOnce(&[f32]) -> R,
    ) -> candle_core::Result<R> {
        // Another caller's pass may hold the kept buffers: this one then works in its own.
        let mut buffers = self
            .spare
            .lock()
            .ok()
            .and_then(|mut spare| spare.take())
            .unwrap_or_default();
        let result = self.run(texts, &mut buffers).map(read);
        if let Ok(mut spare) = self.spare.lock() {
            *spare = Some(buffers);
        }
        result
    }

    fn run<'b>(
        &self,
        texts: &[Tokens<'_>],
        buffers: &'b mut Buffers,
    ) -> candle_core::Result<&'b [f32]> {
        let h = self.hidden;
        let lengths: Vec<usize> = texts.iter().map(|t| t.ids.len()).collect();
        let rows: usize = lengths.iter().sum();
        let Buffers {
            x,
            qkv,
            context,
            wide,
            next,
            scratch,
        } = buffers;
        let mut x = grown(x, rows * h);
        let mut next = grown(next, rows * h);
        let qkv = grown(qkv, rows * 3 * h);
        let context = grown(context, rows * h);
        let wide = grown(wide, rows * self.intermediate);
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
        self.embedding_norm.apply(x, h);

        let same = |v: f32| v;
        for layer in &self.layers {
            layer.qkv.apply(x, qkv, scratch, same);
            self.attention(qkv, &lengths, context);
            layer.attention_out.apply(context, next, scratch, same);
            layer.attention_norm.apply_residual(next, x);
            std::mem::swap(&mut x, &mut next);

            match self.activation {
                HiddenAct::Gelu => layer.up.apply(x, wide, scratch, gelu),
                HiddenAct::GeluApproximate => layer.up.apply(x, wide, scratch, gelu_tanh),
                HiddenAct::Relu => layer.up.apply(x, wide, scratch, |v: f32| v.max(0.0)),
            }
            layer.down.apply(wide, next, scratch, same);
            layer.output_norm.apply_residual(next, x);
            std::mem::swap(&mut x, &mut next);
        }
        Ok(x)
    }

    /// Scaled dot-product attention of each text over its own tokens, all heads.
    fn attention(&self, qkv: &[f32], lengths: &[usize], context: &mut [f32]) {
        let h = self.hidden;
        // One slice of the input and of the output per text, so that texts run in parallel.
        let mut slices = Vec::with_capacity(lengths.len());
        let (mut input, mut output) = (qkv, context);
        for &n in lengths {
            let (theirs, rest_in) = input.split_at(n * 3 * h);
            let (mine, rest_out) = output.split_at_mut(n * h);
            slices.push((n, theirs, mine));
            (input, output) = (rest_in, rest_out);
        }
        slices
            .into_par_iter()
            .for_each(|(n, qkv, out)| self.attend(qkv, out, n));
    }

    /// Attention of one text of `n` tokens: `qkv` holds its rows of query, key and value,
    /// `out` gets its context rows. Per head, two small products on the f32 kernel, over
    /// strided views of `qkv` (rten packs them itself, so nothing is copied first).
    fn attend(&self, qkv: &[f32], out: &mut [f32], n: usize) {
        let h = self.hidden;
        let d = h / self.heads;
        let gemm = GemmExecutor::<f32>::default();
        let all = NdTensorView::from_data([n, 3 * h], qkv);
        let mut scores = vec![0f32; n * n];
        let mut context = vec![0f32; n * d];
        for head in 0..self.heads {
            let columns = |at: usize| all.slice((.., at + head * d..at + (head + 1) * d));
            gemm.gemm(
                &mut scores,
                GemmInputA::Unpacked(columns(0)),
                GemmInputB::Unpacked(columns(h).transposed()),
                GemmOptions {
                    alpha: 1.0 / (d as f32).sqrt(),
                    ..GemmOptions::default()
                },
            )
            .expect("shapes follow from n");
            kernels::softmax_rows(&mut scores, n);
            gemm.gemm(
                &mut context,
                GemmInputA::Unpacked(NdTensorView::from_data([n, n], &scores[..])),
                GemmInputB::Unpacked(columns(2 * h)),
                GemmOptions::default(),
            )
            .expect("shapes follow from n");
            for (row, c) in out.chunks_exact_mut(h).zip(context.chunks_exact(d)) {
                row[head * d..(head + 1) * d].copy_from_slice(c);
            }
        }
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

    fn params(&self) -> NormParams<'_> {
        NormParams {
            weight: &self.weight,
            bias: &self.bias,
            eps: self.eps,
        }
    }

    /// Layer normalisation of `x + residual`, row by row, into `x`.
    fn apply_residual(&self, x: &mut [f32], residual: &[f32]) {
        let width = self.weight.len();
        x.par_chunks_mut(width * ROWS_PER_TASK)
            .zip(residual.par_chunks(width * ROWS_PER_TASK))
            .for_each(|(chunk, residual)| {
                kernels::residual_normalise(chunk, residual, self.params());
            });
    }

    /// Layer normalisation of each row of `x`, in place.
    fn apply(&self, x: &mut [f32], width: usize) {
        x.par_chunks_mut(width * ROWS_PER_TASK)
            .for_each(|chunk| kernels::normalise(chunk, self.params()));
    }
}

/// The values of `t` in row-major order (a transposed view is laid out first).
fn flat(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_model;
    use candle_core::Device;
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
        let ours = Encoder::load(vb.clone(), &config, Precision::Exact).expect("our encoder");
        let int8 = Encoder::load(vb.clone(), &config, Precision::Int8).expect("int8 encoder");
        let reference = BertModel::load(vb, &config).expect("candle's BERT");
        let mut tokenizer = Tokenizer::from_file(files.tokenizer()).expect("tokenizer");
        tokenizer.with_padding(None);
        let texts = [
            "yes please, call me",
            "remove me",
            "interested call interested call thanks. who is this?",
            "no",
            // Longer than one tile of the matrix kernels.
            "yes please call me, remove me, interested thanks. who is this? no no yes please \
             call me interested call thanks remove me who is this no. yes please call me, \
             remove me, interested thanks. who is this? no no yes please call me",
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
        assert!(
            encodings.iter().any(|e| e.len() > 32),
            "a long text is tested"
        );
        let packed = pool.install(|| ours.forward(&tokens)).expect("forward");
        let in_8_bits = pool
            .install(|| int8.forward(&tokens))
            .expect("int8 forward");
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
            // In 8 bits, each token's vector stays within a few percent of the exact one.
            for (exact, approx) in got
                .chunks_exact(h)
                .zip(in_8_bits[at * h..(at + n) * h].chunks_exact(h))
            {
                let error = exact
                    .iter()
                    .zip(approx)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
                    .sqrt()
                    / exact.iter().map(|a| a * a).sum::<f32>().sqrt();
                assert!(error < 0.05, "{text}: int8 is {error} off");
            }
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
}

//! Sentence embeddings: a BERT encoder run on candle, mean-pooled over the real tokens and
//! L2-normalised (the recipe all-MiniLM-L6-v2 was trained with).

use std::fmt;
use std::ops::Range;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::NlpError;
use crate::model_files::ModelFiles;

/// Texts per forward pass: enough to amortise the per-call overhead, small enough that the
/// activations of long replies stay in the tens of megabytes.
const BATCH: usize = 32;

/// all-MiniLM-L6-v2 was trained on at most 256 word pieces (its `max_seq_length`); the
/// shipped `tokenizer.json` cuts at 128, which would drop the end of longer replies.
const MAX_TOKENS: usize = 256;

/// Turns texts into unit-length vectors whose dot product measures how alike they mean.
///
/// # Threads
///
/// In candle 0.11 the CPU work of a forward pass runs in three places:
/// - matrix products (`gemm`) split into `RAYON_NUM_THREADS` (default: the number of
///   physical cores) tasks on the *current* rayon pool;
/// - softmax and layer norm use `par_chunks` on the current rayon pool;
/// - element-wise operations on 64 Ki elements or more use a process-wide pool that candle
///   creates on first use, sized from `CANDLE_NUM_THREADS` (else `RAYON_NUM_THREADS`, else
///   the physical cores).
///
/// The embedder owns a rayon pool of the requested size and runs every pass inside it,
/// which bounds the first two (most of the time is spent in matrix products). The third can
/// only be bounded by setting `CANDLE_NUM_THREADS` in the process's environment before the
/// first pass, which a binary's launcher can do.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pool: rayon::ThreadPool,
    dim: usize,
}

impl fmt::Debug for Embedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Embedder")
            .field("dim", &self.dim)
            .field("threads", &self.pool.current_num_threads())
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model in `files` on the CPU, to run on `threads` threads (0 counts as 1).
    pub fn load(files: &ModelFiles, threads: usize) -> Result<Self, NlpError> {
        let config_text =
            std::fs::read(files.config()).map_err(NlpError::io("read", files.config()))?;
        let config: Config =
            serde_json::from_slice(&config_text).map_err(|err| NlpError::Model {
                reason: format!("config.json is not a BERT configuration: {err}"),
            })?;

        let mut tokenizer = Tokenizer::from_file(files.tokenizer()).map_err(NlpError::tokenizer)?;
        let padding = PaddingParams {
            // The shipped file pads every text to 128 tokens, which would make short replies
            // cost as much as long ones.
            strategy: PaddingStrategy::BatchLongest,
            ..tokenizer
                .get_padding()
                .cloned()
                .unwrap_or_else(|| PaddingParams {
                    pad_id: tokenizer.token_to_id("[PAD]").unwrap_or(0),
                    ..PaddingParams::default()
                })
        };
        tokenizer.with_padding(Some(padding));
        tokenizer
            .with_truncation(Some(TruncationParams {
                // Positions past the model's table have no embedding.
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..TruncationParams::default()
            }))
            .map_err(NlpError::tokenizer)?;

        let device = Device::Cpu;
        // Read rather than memory-mapped: candle's mmap loader is `unsafe` (the file could
        // change under us) and CPU tensors are copied into owned memory either way, so a map
        // would only lower the peak while loading.
        let tensors = candle_core::safetensors::load(files.weights(), &device).map_err(|err| {
            NlpError::Model {
                reason: format!("cannot read model.safetensors: {err}"),
            }
        })?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(|err| NlpError::Model {
            reason: format!("model.safetensors does not fit config.json: {err}"),
        })?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("outreach-nlp-{i}"))
            .build()
            .map_err(|err| NlpError::Model {
                reason: format!("cannot start the model's threads: {err}"),
            })?;
        Ok(Self {
            model,
            tokenizer,
            pool,
            dim: config.hidden_size,
        })
    }

    /// The length of every embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many threads the forward passes run on.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// One unit-length embedding per text, in the order of `texts`.
    ///
    /// Texts are run in batches of similar length, so that padding costs little; padding
    /// does not change a text's embedding.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NlpError> {
        let none: Vec<Vec<Range<usize>>> = vec![Vec::new(); texts.len()];
        Ok(self
            .embed_parts(texts, &none)?
            .into_iter()
            .map(|p| p.whole)
            .collect())
    }

    /// Like [`Embedder::embed`], and for each text also one unit-length vector per byte
    /// range in `parts` (same order as `texts`): the mean of the range's token vectors, read
    /// from the same forward pass as the whole text. A part is thus seen in its context and
    /// costs nothing extra; a part without tokens (blank, or cut off at the length limit)
    /// gets no vector.
    pub fn embed_parts(
        &self,
        texts: &[&str],
        parts: &[Vec<Range<usize>>],
    ) -> Result<Vec<Pooled>, NlpError> {
        if parts.len() != texts.len() {
            return Err(NlpError::Model {
                reason: format!("{} texts but {} lists of parts", texts.len(), parts.len()),
            });
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out: Vec<Pooled> = vec![Pooled::default(); texts.len()];
        self.pool.install(|| {
            for chunk in order.chunks(BATCH) {
                let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
                let batch_parts: Vec<&[Range<usize>]> =
                    chunk.iter().map(|&i| parts[i].as_slice()).collect();
                for (&i, pooled) in chunk.iter().zip(self.embed_batch(&batch, &batch_parts)?) {
                    out[i] = pooled;
                }
            }
            Ok::<_, NlpError>(())
        })?;
        Ok(out)
    }

    fn embed_batch(
        &self,
        texts: &[&str],
        parts: &[&[Range<usize>]],
    ) -> Result<Vec<Pooled>, NlpError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(NlpError::tokenizer)?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut type_ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for encoding in &encodings {
            if encoding.get_ids().len() != len {
                return Err(NlpError::tokenizer(
                    "texts of one batch were padded to different lengths",
                ));
            }
            ids.extend_from_slice(encoding.get_ids());
            type_ids.extend_from_slice(encoding.get_type_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        let shape = (texts.len(), len);
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, shape, &device).map_err(NlpError::model)?;
        let type_ids = Tensor::from_vec(type_ids, shape, &device).map_err(NlpError::model)?;
        let mask = Tensor::from_vec(mask, shape, &device).map_err(NlpError::model)?;
        let hidden = self
            .model
            .forward(&ids, &type_ids, Some(&mask))
            .map_err(NlpError::model)?
            .to_vec3::<f32>()
            .map_err(NlpError::model)?;
        Ok(encodings
            .iter()
            .zip(&hidden)
            .zip(parts)
            .map(|((encoding, tokens), parts)| {
                let kept = encoding.get_attention_mask();
                let whole = mean_normalised(
                    tokens
                        .iter()
                        .zip(kept)
                        .filter(|(_, m)| **m == 1)
                        .map(|(t, _)| t.as_slice()),
                    self.dim,
                )
                .unwrap_or_else(|| vec![0.0; self.dim]);
                let special = encoding.get_special_tokens_mask();
                let offsets = encoding.get_offsets();
                let parts = parts
                    .iter()
                    .filter_map(|range| {
                        let inside = tokens.iter().enumerate().filter(|(t, _)| {
                            special[*t] == 0
                                && kept[*t] == 1
                                && offsets[*t].0 >= range.start
                                && offsets[*t].1 <= range.end
                                && offsets[*t].1 > offsets[*t].0
                        });
                        mean_normalised(inside.map(|(_, v)| v.as_slice()), self.dim)
                    })
                    .collect();
                Pooled { whole, parts }
            })
            .collect())
    }
}

/// A text's embedding and the embeddings of the parts asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pooled {
    /// The whole text: the mean over all its tokens, [CLS] and [SEP] included (the recipe
    /// all-MiniLM-L6-v2 was trained with).
    pub whole: Vec<f32>,
    /// One per part that has tokens, in the order asked.
    pub parts: Vec<Vec<f32>>,
}

/// The mean of `rows`, scaled to unit length; `None` for no rows.
fn mean_normalised<'a>(rows: impl Iterator<Item = &'a [f32]>, dim: usize) -> Option<Vec<f32>> {
    let mut sum = vec![0f32; dim];
    let mut count = 0usize;
    for row in rows {
        for (s, x) in sum.iter_mut().zip(row) {
            *s += x;
        }
        count += 1;
    }
    if count == 0 {
        return None;
    }
    // The scale of the mean cancels in the normalisation; the floor only guards division.
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    sum.iter_mut().for_each(|s| *s /= norm);
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_model;

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn embeddings_have_the_model_width_and_unit_length() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = tiny_model(dir.path());
        let embedder = Embedder::load(&files, 1).expect("load");
        assert_eq!(embedder.dim(), crate::test_support::TINY_HIDDEN);
        assert_eq!(embedder.threads(), 1);
        let out = embedder
            .embed(&["yes please, call me", "", "remove me"])
            .expect("embed");
        assert_eq!(out.len(), 3);
        for v in &out {
            assert_eq!(v.len(), crate::test_support::TINY_HIDDEN);
            assert!((norm(v) - 1.0).abs() < 1e-5, "norm {}", norm(v));
        }
        assert!(
            max_diff(&out[0], &out[2]) > 1e-3,
            "different texts, different vectors"
        );
        assert!(embedder.embed(&[]).expect("embed nothing").is_empty());
    }

    #[test]
    fn a_batch_gives_what_one_by_one_gives_in_input_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let embedder = Embedder::load(&tiny_model(dir.path()), 2).expect("load");
        // Different lengths, so that the short ones are padded in a batch, and more than
        // one batch, so that the length sort has to be undone.
        let texts: Vec<String> = (0..(BATCH + 7))
            .map(|i| format!("{} thanks {}", "interested call ".repeat(i % 9), i))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let batched = embedder.embed(&refs).expect("batch");
        for (text, got) in refs.iter().zip(&batched) {
            let alone = embedder.embed(&[text]).expect("one");
            assert!(
                max_diff(got, &alone[0]) < 1e-5,
                "{text}: {}",
                max_diff(got, &alone[0])
            );
        }
    }

    #[test]
    fn parts_are_pooled_from_their_own_tokens_in_the_pass_over_the_whole_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        let embedder = Embedder::load(&tiny_model(dir.path()), 1).expect("load");
        let text = "yes please. remove me";
        let long = "interested ".repeat(500);
        let parts = [vec![0..11, 12..21, 5..5], vec![0..10, 4000..4010]];
        let pooled = embedder
            .embed_parts(&[text, &long], &parts)
            .expect("embed parts");
        let whole = embedder.embed(&[text, &long]).expect("embed");
        assert_eq!(pooled[0].whole, whole[0], "parts do not change the whole");
        assert_eq!(pooled[1].whole, whole[1]);
        // The empty range has no tokens, nor has the range past the length limit.
        assert_eq!(pooled[0].parts.len(), 2);
        assert_eq!(pooled[1].parts.len(), 1);
        for v in pooled[0].parts.iter().chain(&pooled[1].parts) {
            assert!((norm(v) - 1.0).abs() < 1e-5);
        }
        assert!(max_diff(&pooled[0].parts[0], &pooled[0].parts[1]) > 1e-3);
        // In context: the same words pooled alone give another vector.
        let alone = embedder.embed(&["remove me"]).expect("embed");
        assert!(max_diff(&pooled[0].parts[1], &alone[0]) > 1e-4);
        assert!(matches!(
            embedder.embed_parts(&[text], &[]),
            Err(NlpError::Model { .. })
        ));
    }

    #[test]
    fn padding_is_to_the_longest_text_and_long_texts_are_cut() {
        let dir = tempfile::tempdir().expect("temp dir");
        let embedder = Embedder::load(&tiny_model(dir.path()), 1).expect("load");
        // The tiny tokenizer.json pads to a fixed length, like the real one.
        let short = embedder
            .tokenizer
            .encode_batch(vec!["yes", "no thanks"], true)
            .expect("encode");
        assert_eq!(short[0].get_ids().len(), 4, "[CLS] no thanks [SEP]");
        let long = "interested ".repeat(500);
        let cut = embedder
            .tokenizer
            .encode(long.as_str(), true)
            .expect("encode");
        assert_eq!(cut.get_ids().len(), crate::test_support::TINY_POSITIONS);
        let v = embedder.embed(&[&long]).expect("a long text embeds");
        assert!((norm(&v[0]) - 1.0).abs() < 1e-5);
    }
}

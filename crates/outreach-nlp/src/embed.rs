//! Sentence embeddings: a BERT encoder ([`crate::encoder`], matrix products in 8 bits),
//! mean-pooled over each text's tokens and L2-normalised (the recipe all-MiniLM-L6-v2 was
//! trained with).

use std::fmt;
use std::ops::Range;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use sha2::{Digest, Sha256};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use crate::dense::Precision;
use crate::encoder::{Encoder, Tokens};
use crate::error::NlpError;
use crate::model_files::ModelFiles;

/// Tokens per forward pass: enough for the matrix products to run at full speed (512, 1,024
/// and 4,096 measured alike), few enough that the widest activation stays near 6 MB
/// (1,024 tokens x 1,536 floats).
const BATCH_TOKENS: usize = 1024;

/// all-MiniLM-L6-v2 was trained on at most 256 word pieces (its `max_seq_length`); the
/// shipped `tokenizer.json` cuts at 128, which would drop the end of longer replies.
const MAX_TOKENS: usize = 256;

/// Turns texts into unit-length vectors whose dot product measures how alike they mean.
///
/// # Threads
///
/// The embedder owns a rayon pool of the requested size and runs every forward pass in
/// it: the row-wise work of [`crate::encoder`] and rten's matrix products, which split
/// their work on the *current* rayon pool. Candle only reads the weights.
pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tokenizer,
    pool: rayon::ThreadPool,
    dim: usize,
    weights_sha256: String,
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
    /// Loads the model in `files` on the CPU, to run on `threads` threads (0 counts as 1),
    /// its matrix products in 8 bits: four times the speed, embeddings within a percent.
    pub fn load(files: &ModelFiles, threads: usize) -> Result<Self, NlpError> {
        Self::load_with(files, threads, Precision::Int8)
    }

    /// [`Embedder::load`] with the matrix products in `precision`.
    pub fn load_with(
        files: &ModelFiles,
        threads: usize,
        precision: Precision,
    ) -> Result<Self, NlpError> {
        let config_text =
            std::fs::read(files.config()).map_err(NlpError::io("read", files.config()))?;
        let config: Config =
            serde_json::from_slice(&config_text).map_err(|err| NlpError::Model {
                reason: format!("config.json is not a BERT configuration: {err}"),
            })?;

        let mut tokenizer = Tokenizer::from_file(files.tokenizer()).map_err(NlpError::tokenizer)?;
        // Texts are packed end to end, never padded (the shipped file pads every text to
        // 128 tokens).
        tokenizer.with_padding(None);
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
        let weights =
            std::fs::read(files.weights()).map_err(NlpError::io("read", files.weights()))?;
        let weights_sha256 = hex::encode(Sha256::digest(&weights));
        let tensors = candle_core::safetensors::load_buffer(&weights, &device).map_err(|err| {
            NlpError::Model {
                reason: format!("cannot read model.safetensors: {err}"),
            }
        })?;
        drop(weights);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let encoder = Encoder::load(vb, &config, precision).map_err(|err| NlpError::Model {
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
            encoder,
            tokenizer,
            pool,
            dim: config.hidden_size,
            weights_sha256,
        })
    }

    /// The length of every embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// SHA-256 (lowercase hex) of the `model.safetensors` it runs: what model-specific data,
    /// such as a fitted head, is keyed by.
    pub fn weights_sha256(&self) -> &str {
        &self.weights_sha256
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
        self.pool.install(|| {
            let encodings = self
                .tokenizer
                .encode_batch(texts.to_vec(), true)
                .map_err(NlpError::tokenizer)?;
            let mut out = Vec::with_capacity(texts.len());
            let mut start = 0;
            while start < encodings.len() {
                // At least one text per pass, however long.
                let mut end = start + 1;
                let mut tokens = encodings[start].len();
                while end < encodings.len() && tokens + encodings[end].len() <= BATCH_TOKENS {
                    tokens += encodings[end].len();
                    end += 1;
                }
                out.extend(self.embed_batch(&encodings[start..end], &parts[start..end])?);
                start = end;
            }
            Ok(out)
        })
    }

    fn embed_batch(
        &self,
        encodings: &[Encoding],
        parts: &[Vec<Range<usize>>],
    ) -> Result<Vec<Pooled>, NlpError> {
        let tokens: Vec<Tokens<'_>> = encodings.iter().map(Tokens::from).collect();
        let dim = self.dim;
        let pool = |hidden: &[f32]| {
            let mut at = 0;
            encodings
                .iter()
                .zip(parts)
                .map(|(encoding, parts)| {
                    let n = encoding.len();
                    let rows = &hidden[at * dim..(at + n) * dim];
                    at += n;
                    let row = |t: usize| &rows[t * dim..(t + 1) * dim];
                    let whole =
                        mean_normalised((0..n).map(row), dim).unwrap_or_else(|| vec![0.0; dim]);
                    let special = encoding.get_special_tokens_mask();
                    let offsets = encoding.get_offsets();
                    let parts = parts
                        .iter()
                        .filter_map(|range| {
                            let inside = (0..n).filter(|&t| {
                                special[t] == 0
                                    && offsets[t].0 >= range.start
                                    && offsets[t].1 <= range.end
                                    && offsets[t].1 > offsets[t].0
                            });
                            mean_normalised(inside.map(row), dim)
                        })
                        .collect();
                    Pooled { whole, parts }
                })
                .collect::<Vec<Pooled>>()
        };
        self.encoder
            .forward_with(&tokens, pool)
            .map_err(NlpError::model)
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
        // Different lengths, packed together, and enough tokens for more than one pass.
        let texts: Vec<String> = (0..700)
            .map(|i| format!("{} thanks {}", "interested call ".repeat(i % 9), i))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let batched = embedder.embed(&refs).expect("batch");
        let tokens: usize = refs
            .iter()
            .map(|t| embedder.tokenizer.encode(*t, true).expect("encode").len())
            .sum();
        assert!(tokens > 2 * BATCH_TOKENS, "{tokens} tokens");
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
    fn texts_are_not_padded_and_long_texts_are_cut() {
        let dir = tempfile::tempdir().expect("temp dir");
        let embedder = Embedder::load(&tiny_model(dir.path()), 1).expect("load");
        // The tiny tokenizer.json pads to a fixed length, like the real one.
        let short = embedder
            .tokenizer
            .encode_batch(vec!["yes", "no thanks"], true)
            .expect("encode");
        assert_eq!(short[0].get_ids().len(), 3, "[CLS] yes [SEP]");
        assert_eq!(short[1].get_ids().len(), 4, "[CLS] no thanks [SEP]");
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

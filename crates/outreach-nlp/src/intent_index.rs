//! Few-shot intent classification over sentence embeddings: the shipped examples plus a
//! workspace's own corrections.

use std::collections::HashMap;
use std::fmt;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use outreach_core::reply::Intent;

use crate::error::NlpError;

/// A correction outweighs this many shipped examples: the user has seen the reply and said
/// what it means in their workspace.
pub(crate) const CORRECTION_WEIGHT: f32 = 3.0;
/// Above this cosine similarity two texts say the same thing; a correction replaces the
/// shipped examples this close to it, and settles the intent of a reply this close to it.
pub(crate) const SAME_MEANING: f32 = 0.95;

/// An example as the index holds it.
#[derive(Clone)]
pub(crate) struct Embedded {
    pub(crate) embedding: Vec<f32>,
    pub(crate) intent: Intent,
}

struct Indexed {
    embedding: Vec<f32>,
    intent: Intent,
    weight: f32,
    correction: bool,
}

/// The classifier used for one workspace: built once from the shipped examples and that
/// workspace's corrections (see [`crate::Analyzer::index_with`]), then reused for every
/// reply.
pub struct IntentIndex {
    dim: usize,
    examples: Vec<Indexed>,
    head: Option<SoftmaxHead>,
    /// Corrections by normalised text, so that a corrected text is recognised even
    /// without a model.
    exact: HashMap<String, Intent>,
}

impl fmt::Debug for IntentIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntentIndex")
            .field("examples", &self.examples.len())
            .field("corrections", &self.exact.len())
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

/// How an embedding is turned into an intent (compared while choosing; see the crate docs
/// for the measured figures).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    Knn { k: usize },
    Centroid,
    Softmax,
    SoftmaxKnn { k: usize },
}

impl IntentIndex {
    /// Builds the index; `dim` is the embedder's width (0 when there is no model, in which
    /// case only the exact text of corrections is used).
    pub(crate) fn build(
        dim: usize,
        shipped: &[Embedded],
        corrections: &[(String, Embedded)],
    ) -> Result<Self, NlpError> {
        let mut examples: Vec<Indexed> = Vec::with_capacity(shipped.len() + corrections.len());
        for s in shipped {
            let overruled = corrections.iter().any(|(_, c)| {
                c.intent != s.intent && cosine(&c.embedding, &s.embedding) >= SAME_MEANING
            });
            if !overruled {
                examples.push(Indexed {
                    embedding: s.embedding.clone(),
                    intent: s.intent,
                    weight: 1.0,
                    correction: false,
                });
            }
        }
        let mut exact = HashMap::new();
        for (text, c) in corrections {
            // A later correction of the same text wins over an earlier one.
            exact.insert(normalise(text), c.intent);
            examples.push(Indexed {
                embedding: c.embedding.clone(),
                intent: c.intent,
                weight: CORRECTION_WEIGHT,
                correction: true,
            });
        }
        examples.retain(|e| e.embedding.len() == dim && dim > 0);
        let head = if examples.is_empty() {
            None
        } else {
            Some(SoftmaxHead::train(dim, &examples)?)
        };
        Ok(Self {
            dim,
            examples,
            head,
            exact,
        })
    }

    /// How many examples (shipped and corrections) the index holds.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether it holds no examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// How many corrections it was built with.
    pub fn corrections(&self) -> usize {
        self.exact.len()
    }

    /// The width of the embeddings it was built from (0 for a rules-only index).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The intent of a corrected text, when `text` is one.
    pub(crate) fn corrected(&self, text: &str) -> Option<Intent> {
        self.exact.get(&normalise(text)).copied()
    }

    /// The intent of `embedding` and how sure the index is, 0..1.
    pub(crate) fn classify(&self, embedding: &[f32]) -> (Intent, f32) {
        self.classify_with(embedding, Method::SoftmaxKnn { k: 7 })
    }

    pub(crate) fn classify_with(&self, embedding: &[f32], method: Method) -> (Intent, f32) {
        if self.examples.is_empty() || embedding.len() != self.dim {
            return (Intent::Other, 0.0);
        }
        // A correction this close settles it: the user said what this reply means.
        let closest_correction = self
            .examples
            .iter()
            .filter(|e| e.correction)
            .map(|e| (cosine(&e.embedding, embedding), e.intent))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((similarity, intent)) = closest_correction {
            if similarity >= SAME_MEANING {
                return (intent, similarity.clamp(0.0, 1.0));
            }
        }
        let probabilities = match method {
            Method::Knn { k } => self.knn(embedding, k),
            Method::Centroid => self.centroids(embedding),
            Method::Softmax => self.softmax(embedding),
            Method::SoftmaxKnn { k } => {
                let a = self.softmax(embedding);
                let b = self.knn(embedding, k);
                std::array::from_fn(|i| (a[i] + b[i]) / 2.0)
            }
        };
        best(&probabilities)
    }

    /// Similarity-weighted votes of the `k` nearest examples, as shares.
    fn knn(&self, embedding: &[f32], k: usize) -> [f32; 7] {
        let mut scored: Vec<(f32, &Indexed)> = self
            .examples
            .iter()
            .map(|e| (cosine(&e.embedding, embedding), e))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut votes = [0f32; 7];
        for (similarity, e) in scored.iter().take(k.max(1)) {
            votes[label(e.intent)] += e.weight * similarity.max(0.0).powi(3);
        }
        shares(votes)
    }

    /// Softmax over the cosine similarity to each intent's weighted mean.
    fn centroids(&self, embedding: &[f32]) -> [f32; 7] {
        let mut sums = vec![vec![0f32; self.dim]; 7];
        for e in &self.examples {
            for (s, x) in sums[label(e.intent)].iter_mut().zip(&e.embedding) {
                *s += e.weight * x;
            }
        }
        let mut logits = [f32::NEG_INFINITY; 7];
        for (i, sum) in sums.iter().enumerate() {
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                logits[i] = cosine(sum, embedding) / norm * 20.0;
            }
        }
        softmax(logits)
    }

    fn softmax(&self, embedding: &[f32]) -> [f32; 7] {
        match &self.head {
            Some(head) => head.probabilities(embedding),
            None => [1.0 / 7.0; 7],
        }
    }
}

/// A linear layer with softmax over the seven intents, trained on the examples when the
/// index is built (a convex problem: a few hundred full-batch steps from zero weights give
/// the same result every time).
struct SoftmaxHead {
    weights: Vec<[f32; 7]>,
    bias: [f32; 7],
}

const TRAIN_STEPS: usize = 300;
const LEARNING_RATE: f64 = 0.05;
const WEIGHT_DECAY: f64 = 0.01;

impl SoftmaxHead {
    fn train(dim: usize, examples: &[Indexed]) -> Result<Self, NlpError> {
        let device = Device::Cpu;
        let n = examples.len();
        let flat: Vec<f32> = examples
            .iter()
            .flat_map(|e| e.embedding.iter().copied())
            .collect();
        let x = Tensor::from_vec(flat, (n, dim), &device).map_err(NlpError::model)?;
        let labels: Vec<u32> = examples.iter().map(|e| label(e.intent) as u32).collect();
        let labels = Tensor::from_vec(labels, (n, 1), &device).map_err(NlpError::model)?;
        let total_weight: f32 = examples.iter().map(|e| e.weight).sum();
        let sample_weights: Vec<f32> = examples.iter().map(|e| e.weight / total_weight).collect();
        let sample_weights =
            Tensor::from_vec(sample_weights, (n, 1), &device).map_err(NlpError::model)?;
        let train = || -> candle_core::Result<(Vec<Vec<f32>>, Vec<f32>)> {
            let w = Var::zeros((dim, 7), DType::F32, &device)?;
            let b = Var::zeros(7, DType::F32, &device)?;
            let mut optimizer = AdamW::new(
                vec![w.clone(), b.clone()],
                ParamsAdamW {
                    lr: LEARNING_RATE,
                    weight_decay: WEIGHT_DECAY,
                    ..ParamsAdamW::default()
                },
            )?;
            for _ in 0..TRAIN_STEPS {
                let logits = x.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
                let log_p = candle_nn::ops::log_softmax(&logits, 1)?;
                let picked = log_p.gather(&labels, 1)?;
                let loss = (picked * &sample_weights)?.sum_all()?.neg()?;
                optimizer.backward_step(&loss)?;
            }
            Ok((w.as_tensor().to_vec2()?, b.as_tensor().to_vec1()?))
        };
        let (w, b) = train().map_err(|err| NlpError::Model {
            reason: format!("training the intent classifier failed: {err}"),
        })?;
        Ok(Self {
            weights: w
                .into_iter()
                .map(|row| std::array::from_fn(|i| row.get(i).copied().unwrap_or(0.0)))
                .collect(),
            bias: std::array::from_fn(|i| b.get(i).copied().unwrap_or(0.0)),
        })
    }

    fn probabilities(&self, embedding: &[f32]) -> [f32; 7] {
        let mut logits = self.bias;
        for (x, row) in embedding.iter().zip(&self.weights) {
            for (l, w) in logits.iter_mut().zip(row) {
                *l += x * w;
            }
        }
        softmax(logits)
    }
}

/// The label index of an intent: its position in [`Intent::ALL`].
fn label(intent: Intent) -> usize {
    Intent::ALL
        .iter()
        .position(|i| *i == intent)
        .unwrap_or(Intent::ALL.len() - 1)
}

fn best(probabilities: &[f32; 7]) -> (Intent, f32) {
    let (i, p) = probabilities
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or((6, 0.0), |(i, p)| (i, *p));
    (Intent::ALL[i], p.clamp(0.0, 1.0))
}

fn shares(votes: [f32; 7]) -> [f32; 7] {
    let total: f32 = votes.iter().sum();
    if total > 0.0 {
        votes.map(|v| v / total)
    } else {
        [1.0 / 7.0; 7]
    }
}

fn softmax(logits: [f32; 7]) -> [f32; 7] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    shares(logits.map(|l| (l - max).exp()))
}

/// Cosine similarity; the embeddings are unit length, so it is their dot product.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The form in which two texts count as the same correction: case and spacing ignored.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod experiment {
    use super::*;
    use crate::examples::{Example, held_out_examples, shipped_examples};
    use crate::features::Lexical;
    use crate::softmax::{SoftmaxHead, Training};

    fn sentences(text: &str) -> Vec<&str> {
        let parts: Vec<&str> = text
            .split_inclusive(['.', '!', '?', '\n'])
            .map(str::trim)
            .filter(|s| s.chars().any(char::is_alphanumeric))
            .collect();
        if parts.is_empty() { vec![text] } else { parts }
    }

    fn pooled(embedder: &crate::Embedder, ex: &[Example]) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let mut all: Vec<&str> = Vec::new();
        let mut spans = Vec::new();
        for x in ex {
            let s = sentences(&x.text);
            spans.push((all.len(), s.len()));
            all.extend(s);
        }
        let e = embedder.embed(&all).expect("embed sentences");
        let mut means = Vec::new();
        let mut maxes = Vec::new();
        for (start, n) in spans {
            let rows = &e[start..start + n];
            let dim = rows[0].len();
            let mut mean = vec![0f32; dim];
            let mut max = vec![f32::NEG_INFINITY; dim];
            for r in rows {
                for i in 0..dim {
                    mean[i] += r[i] / n as f32;
                    max[i] = max[i].max(r[i]);
                }
            }
            let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
            means.push(mean.into_iter().map(|x| x / norm).collect());
            maxes.push(max);
        }
        (means, maxes)
    }

    fn rows(emb: &[Vec<f32>], ex: &[Example], lex: &Lexical, emb_scale: f32) -> Vec<Vec<f32>> {
        emb.iter()
            .zip(ex)
            .map(|(e, x)| {
                let mut r: Vec<f32> = e.iter().map(|v| v * emb_scale).collect();
                r.extend(lex.features(&x.text));
                r
            })
            .collect()
    }

    fn accuracy(head: &SoftmaxHead, rows: &[Vec<f32>], ex: &[&Example], settle: bool) -> f32 {
        let mut ok = 0;
        for (r, x) in rows.iter().zip(ex) {
            let (mut got, _) = best(&head.probabilities(r));
            if settle {
                if let Some((i, _)) = crate::rules::settled_intent(&x.text) {
                    got = i;
                }
            }
            if got == x.intent {
                ok += 1;
            }
        }
        ok as f32 / ex.len() as f32
    }

    #[test]
    #[ignore = "experiment"]
    fn compare_methods() {
        let Ok(dir) = std::env::var("OUTREACH_NLP_MODEL_DIR") else {
            return;
        };
        let files = crate::ModelFiles::in_dir(&dir).expect("model");
        let embedder = crate::Embedder::load(&files, 1).expect("load");
        let train = shipped_examples();
        let test = held_out_examples();
        let embed = |ex: &[Example]| {
            let texts: Vec<&str> = ex.iter().map(|e| e.text.as_str()).collect();
            embedder.embed(&texts).expect("embed")
        };
        let train_e = embed(&train);
        let test_e = embed(&test);
        let (train_mean, train_max) = pooled(&embedder, &train);
        let (test_mean, test_max) = pooled(&embedder, &test);
        let cat = |a: &[Vec<f32>], b: &[Vec<f32>]| -> Vec<Vec<f32>> {
            a.iter()
                .zip(b)
                .map(|(x, y)| x.iter().chain(y).copied().collect())
                .collect()
        };
        let inputs: Vec<(&str, Vec<Vec<f32>>, Vec<Vec<f32>>)> = vec![
            ("whole", train_e.clone(), test_e.clone()),
            ("sent-mean", train_mean.clone(), test_mean.clone()),
            (
                "whole+sent-mean",
                cat(&train_e, &train_mean),
                cat(&test_e, &test_mean),
            ),
            (
                "whole+sent-max",
                cat(&train_e, &train_max),
                cat(&test_e, &test_max),
            ),
        ];
        let off = Lexical {
            rules: 0.0,
            cues: 0.0,
            word_buckets: 0,
            char_buckets: 0,
            hashed_scale: 1.0,
        };
        let t = |steps, lr, wd| Training {
            steps,
            learning_rate: lr,
            weight_decay: wd,
        };
        let labels: Vec<usize> = train.iter().map(|e| label(e.intent)).collect();
        let tr = t(300, 0.05, 0.1);
        // Each config: list of (input index, cue scale); heads averaged.
        let configs: Vec<(&str, Vec<(usize, f32, f32)>)> = vec![
            ("whole c0", vec![(0, 0.0, 1.0)]),
            ("whole c2", vec![(0, 2.0, 1.0)]),
            ("sent c2", vec![(1, 2.0, 1.0)]),
            ("sent c2 e2", vec![(1, 2.0, 2.0)]),
            ("w+s c2", vec![(2, 2.0, 1.0)]),
            ("ens whole,sent c2", vec![(0, 2.0, 1.0), (1, 2.0, 1.0)]),
            ("ens whole,sent c2 e2", vec![(0, 2.0, 2.0), (1, 2.0, 2.0)]),
            (
                "ens whole,sent,w+s c2",
                vec![(0, 2.0, 1.0), (1, 2.0, 1.0), (2, 2.0, 1.0)],
            ),
        ];
        let all: Vec<Example> = train.iter().chain(&test).cloned().collect();
        let all_labels: Vec<usize> = all.iter().map(|e| label(e.intent)).collect();
        let rounds = 8;
        for (name, parts) in configs {
            let start = std::time::Instant::now();
            let mut ok = 0usize;
            let mut seen = 0usize;
            let mut official = 0usize;
            let mut p_all: Vec<Vec<[f32; 7]>> = vec![vec![[0f32; 7]; all.len()]; rounds + 1];
            for &(input, cue, emb_scale) in &parts {
                let lex = Lexical { cues: cue, ..off };
                let emb: Vec<Vec<f32>> = inputs[input]
                    .1
                    .iter()
                    .chain(&inputs[input].2)
                    .cloned()
                    .collect();
                let all_rows = rows(&emb, &all, &lex, emb_scale);
                for round in 0..=rounds {
                    // Round `rounds` is the official split; the others are random 70/30 splits.
                    let in_test: Vec<bool> = if round == rounds {
                        (0..all.len()).map(|i| i >= train.len()).collect()
                    } else {
                        let mut state = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(round as u64 + 1);
                        (0..all.len())
                            .map(|_| {
                                state ^= state << 13;
                                state ^= state >> 7;
                                state ^= state << 17;
                                state % 100 < 30
                            })
                            .collect()
                    };
                    let fit: Vec<usize> = (0..all.len()).filter(|&i| !in_test[i]).collect();
                    let r: Vec<Vec<f32>> = fit.iter().map(|&i| all_rows[i].clone()).collect();
                    let l: Vec<usize> = fit.iter().map(|&i| all_labels[i]).collect();
                    let head = SoftmaxHead::train(&r, &l, &vec![1.0; r.len()], tr).expect("train");
                    for i in (0..all.len()).filter(|&i| in_test[i]) {
                        let p = head.probabilities(&all_rows[i]);
                        for k in 0..7 {
                            p_all[round][i][k] += p[k];
                        }
                    }
                }
            }
            for round in 0..=rounds {
                for i in 0..all.len() {
                    if p_all[round][i].iter().all(|&v| v == 0.0) {
                        continue;
                    }
                    let got = crate::rules::settled_intent(&all[i].text)
                        .map_or(best(&p_all[round][i]).0, |s| s.0);
                    if round == rounds {
                        official += usize::from(got == all[i].intent);
                    } else {
                        seen += 1;
                        ok += usize::from(got == all[i].intent);
                    }
                }
            }
            println!(
                "{name:24} repeated-split {:.3} (n={seen})  official test {:.3}  [{:?}]",
                ok as f32 / seen as f32,
                official as f32 / test.len() as f32,
                start.elapsed()
            );
        }
        let _ = (&train_max, &test_max);
    }
}

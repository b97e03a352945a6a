//! Few-shot intent classification: a softmax head over [`crate::features`], trained on the
//! shipped examples plus a workspace's own corrections when the index is built.

use std::collections::HashMap;
use std::fmt;

use outreach_core::reply::Intent;

use crate::error::NlpError;
use crate::features::{Represented, features};
use crate::softmax::{SoftmaxHead, Training};

/// A correction outweighs this many shipped examples: the user has seen the reply and said
/// what it means in their workspace.
const CORRECTION_WEIGHT: f32 = 3.0;
/// Above this cosine similarity two texts say the same thing: a correction replaces the
/// shipped examples this close to it, and settles the intent of a reply this close to it.
const SAME_MEANING: f32 = 0.95;
/// Chosen by held-out accuracy: longer training or weaker decay learns the few hundred
/// examples by heart and does worse on new replies.
const TRAINING: Training = Training {
    steps: 300,
    learning_rate: 0.05,
    weight_decay: 0.1,
};

/// An example as the index takes it: text, vectors and intent.
#[derive(Debug, Clone)]
pub(crate) struct Embedded {
    pub(crate) text: String,
    pub(crate) vectors: Represented,
    pub(crate) intent: Intent,
}

/// The classifier used for one workspace: built once from the shipped examples and that
/// workspace's corrections (see [`crate::Analyzer::index_with`]), then reused for every
/// reply.
pub struct IntentIndex {
    dim: usize,
    examples: usize,
    head: Option<SoftmaxHead>,
    /// The whole-text embeddings of the corrections, with their intents.
    corrections: Vec<(Vec<f32>, Intent)>,
    /// Corrections by normalised text, so that a corrected text is recognised even without
    /// a model.
    exact: HashMap<String, Intent>,
}

impl fmt::Debug for IntentIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntentIndex")
            .field("examples", &self.examples)
            .field("corrections", &self.exact.len())
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl IntentIndex {
    /// Builds the index over embeddings `dim` wide, trained on `shipped` and `corrections`.
    pub(crate) fn build(
        dim: usize,
        shipped: &[Embedded],
        corrections: &[Embedded],
    ) -> Result<Self, NlpError> {
        let mut rows: Vec<Vec<f32>> = Vec::with_capacity(shipped.len() + corrections.len());
        let mut labels = Vec::with_capacity(rows.capacity());
        let mut weights = Vec::with_capacity(rows.capacity());
        for s in shipped {
            let overruled = corrections.iter().any(|c| {
                c.intent != s.intent && cosine(&c.vectors.whole, &s.vectors.whole) >= SAME_MEANING
            });
            if !overruled {
                rows.push(features(&s.text, &s.vectors));
                labels.push(label(s.intent));
                weights.push(1.0);
            }
        }
        let mut exact = HashMap::new();
        for c in corrections {
            // A later correction of the same text wins over an earlier one.
            exact.insert(normalise(&c.text), c.intent);
            rows.push(features(&c.text, &c.vectors));
            labels.push(label(c.intent));
            weights.push(CORRECTION_WEIGHT);
        }
        let head = if dim == 0 || rows.is_empty() {
            None
        } else {
            Some(SoftmaxHead::train(&rows, &labels, &weights, TRAINING)?)
        };
        Ok(Self {
            dim,
            examples: rows.len(),
            head,
            corrections: corrections
                .iter()
                .map(|c| (c.vectors.whole.clone(), c.intent))
                .collect(),
            exact,
        })
    }

    /// An index without a model: it only knows the corrections' texts.
    pub(crate) fn texts_only(corrections: &[(String, Intent)]) -> Self {
        Self {
            dim: 0,
            examples: 0,
            head: None,
            corrections: Vec::new(),
            exact: corrections
                .iter()
                .map(|(text, intent)| (normalise(text), *intent))
                .collect(),
        }
    }

    /// How many examples (shipped and corrections) the classifier was trained on.
    pub fn len(&self) -> usize {
        self.examples
    }

    /// Whether it was trained on none (an index built without a model).
    pub fn is_empty(&self) -> bool {
        self.examples == 0
    }

    /// How many distinct corrected texts it holds.
    pub fn corrections(&self) -> usize {
        self.exact.len()
    }

    /// The width of the embeddings it was built from (0 without a model).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The intent of a corrected text, when `text` is one.
    pub(crate) fn corrected(&self, text: &str) -> Option<Intent> {
        self.exact.get(&normalise(text)).copied()
    }

    /// The intent of a reply and how sure the index is, 0..1.
    pub(crate) fn classify(&self, text: &str, vectors: &Represented) -> (Intent, f32) {
        // A correction this close settles it: the user said what such a reply means.
        let closest = self
            .corrections
            .iter()
            .map(|(embedding, intent)| (cosine(embedding, &vectors.whole), *intent))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((similarity, intent)) = closest
            && similarity >= SAME_MEANING
        {
            return (intent, similarity.clamp(0.0, 1.0));
        }
        match &self.head {
            Some(head) if vectors.whole.len() == self.dim => {
                best(&head.probabilities(&features(text, vectors)))
            }
            _ => (Intent::Other, 0.0),
        }
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
        .map_or((Intent::ALL.len() - 1, 0.0), |(i, p)| (i, *p));
    (Intent::ALL[i], p.clamp(0.0, 1.0))
}

/// Cosine similarity; the embeddings are unit length, so it is their dot product.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
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
mod tests {
    use super::*;

    /// A reply whose vectors point along axis `axis` of a 4-dimensional space.
    fn along(text: &str, axis: usize, intent: Intent) -> Embedded {
        let mut v = vec![0f32; 4];
        v[axis] = 1.0;
        Embedded {
            text: text.into(),
            vectors: Represented {
                whole: v.clone(),
                sentences: v,
            },
            intent,
        }
    }

    fn shipped() -> Vec<Embedded> {
        let mut out = Vec::new();
        for i in 0..5 {
            out.push(along(&format!("great {i}"), 0, Intent::Interested));
            out.push(along(&format!("nah {i}"), 1, Intent::NotInterested));
            out.push(along(&format!("hm {i}"), 2, Intent::Other));
        }
        out
    }

    #[test]
    fn the_head_learns_the_examples() {
        let index = IntentIndex::build(4, &shipped(), &[]).expect("build");
        assert_eq!(index.len(), 15);
        assert_eq!(index.corrections(), 0);
        for (axis, want) in [
            (0, Intent::Interested),
            (1, Intent::NotInterested),
            (2, Intent::Other),
        ] {
            let probe = along("probe", axis, Intent::Other);
            let (got, confidence) = index.classify(&probe.text, &probe.vectors);
            assert_eq!(got, want);
            // Weight decay keeps the head from certainty on fifteen examples.
            assert!(confidence > 0.3 && confidence <= 1.0, "{confidence}");
        }
    }

    #[test]
    fn a_correction_overrules_the_shipped_examples_that_say_the_same() {
        // The user says that what the shipped examples call interested is a question here.
        let correction = along("Great, what's the rate", 0, Intent::Question);
        let index =
            IntentIndex::build(4, &shipped(), std::slice::from_ref(&correction)).expect("build");
        assert_eq!(index.len(), 11, "the five overruled examples are left out");
        assert_eq!(index.corrections(), 1);
        let probe = along("something new", 0, Intent::Other);
        assert_eq!(
            index.classify(&probe.text, &probe.vectors).0,
            Intent::Question
        );
        assert_eq!(
            index.corrected("great,  WHAT'S the rate"),
            Some(Intent::Question)
        );
        assert_eq!(index.corrected("great"), None);
        // Elsewhere the shipped examples still hold.
        let probe = along("x", 1, Intent::Other);
        assert_eq!(
            index.classify(&probe.text, &probe.vectors).0,
            Intent::NotInterested
        );
    }

    #[test]
    fn a_text_only_index_knows_only_the_corrected_texts() {
        let index = IntentIndex::texts_only(&[("Ping me in May".into(), Intent::NotInterested)]);
        assert!(index.is_empty());
        assert_eq!(
            index.corrected("ping me in may"),
            Some(Intent::NotInterested)
        );
        let probe = along("x", 0, Intent::Other);
        assert_eq!(index.classify("x", &probe.vectors), (Intent::Other, 0.0));
    }
}

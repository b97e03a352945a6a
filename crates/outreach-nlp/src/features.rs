//! Features of a reply beside its embedding: what the keyword rules say and which words
//! and word pieces it uses. MiniLM is an English model that averages a whole reply into one
//! vector; these carry the cues it blurs (a question mark, an address to write to, "bis
//! zum", "interesa").

use std::hash::{DefaultHasher, Hash, Hasher};

use outreach_core::reply::Intent;

use crate::rules;

/// Which lexical features to compute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lexical {
    /// The keyword rules' intent (one-hot) and a few flags, times this (0 = off).
    pub(crate) rules: f32,
    /// The keyword cue families, times this (0 = off).
    pub(crate) cues: f32,
    /// Hashed word unigrams and bigrams into this many buckets (0 = off).
    pub(crate) word_buckets: usize,
    /// Hashed character 3- to 5-grams into this many buckets (0 = off).
    pub(crate) char_buckets: usize,
    /// The scale of the hashed blocks (each L2-normalised first).
    pub(crate) hashed_scale: f32,
}

impl Lexical {
    /// The length of [`Lexical::features`].
    pub(crate) fn len(&self) -> usize {
        let rules = if self.rules > 0.0 {
            Intent::ALL.len() + 3
        } else {
            0
        };
        let rules = rules + if self.cues > 0.0 { rules::CUES } else { 0 };
        rules + self.word_buckets + self.char_buckets
    }

    pub(crate) fn features(&self, text: &str) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len());
        let lower = text.to_lowercase();
        if self.rules > 0.0 {
            let (intent, _) = rules::rule_intent(text);
            out.extend(
                Intent::ALL
                    .iter()
                    .map(|i| if *i == intent { self.rules } else { 0.0 }),
            );
            out.push(if lower.contains('?') { self.rules } else { 0.0 });
            out.push(if rules::has_email_address(&lower) {
                self.rules
            } else {
                0.0
            });
            out.push(if lower.contains("http") || lower.contains("www.") {
                self.rules
            } else {
                0.0
            });
        }
        if self.cues > 0.0 {
            out.extend(rules::cues(text).map(|c| c * self.cues));
        }
        if self.word_buckets > 0 {
            let words: Vec<&str> = lower
                .split(|c: char| !c.is_alphanumeric() && c != '\'')
                .filter(|w| !w.is_empty())
                .collect();
            let mut block = vec![0f32; self.word_buckets];
            for w in &words {
                block[bucket(&("w", w), self.word_buckets)] += 1.0;
            }
            for pair in words.windows(2) {
                block[bucket(&("b", pair[0], pair[1]), self.word_buckets)] += 1.0;
            }
            out.extend(normalised(block, self.hashed_scale));
        }
        if self.char_buckets > 0 {
            let chars: Vec<char> = format!(
                " {} ",
                lower.split_whitespace().collect::<Vec<_>>().join(" ")
            )
            .chars()
            .collect();
            let mut block = vec![0f32; self.char_buckets];
            for n in 3..=5 {
                for gram in chars.windows(n) {
                    block[bucket(&gram, self.char_buckets)] += 1.0;
                }
            }
            out.extend(normalised(block, self.hashed_scale));
        }
        out
    }
}

fn bucket(item: &impl Hash, buckets: usize) -> usize {
    // SipHash with fixed keys: the same bucket for the same text within a run, which is
    // all that is needed, since the classifier is trained in the same process.
    let mut h = DefaultHasher::new();
    item.hash(&mut h);
    (h.finish() % buckets as u64) as usize
}

/// Counts dampened (sqrt) and scaled to length `scale`.
fn normalised(block: Vec<f32>, scale: f32) -> Vec<f32> {
    let block: Vec<f32> = block.into_iter().map(f32::sqrt).collect();
    let norm = block.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        block.into_iter().map(|x| x / norm * scale).collect()
    } else {
        block
    }
}

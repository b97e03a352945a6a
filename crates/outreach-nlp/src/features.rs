//! What the intent classifier sees of a reply: its embedding as a whole, the mean of its
//! sentences' embeddings, and keyword cues.
//!
//! MiniLM averages a whole reply into one vector, in which the one sentence that decides
//! the intent ("I'm on leave until May" before "contact Jana in the meantime") is blurred
//! by pleasantries; embedding each sentence and averaging them gives each sentence an equal
//! say. MiniLM is also an English model, and the cues carry what it cannot read in German,
//! French or Spanish, plus a question mark or an address to write to.

use std::ops::Range;

use crate::embed::Embedder;
use crate::error::NlpError;
use crate::rules;

/// The weight of the cue block against the two unit-length embeddings: chosen by
/// held-out accuracy (1.5 to 2 best, 0.5 and 3 worse).
const CUE_SCALE: f32 = 2.0;

/// A reply as vectors.
#[derive(Debug, Clone)]
pub(crate) struct Represented {
    /// The embedding of the whole text.
    pub(crate) whole: Vec<f32>,
    /// The normalised mean of its sentences' embeddings.
    pub(crate) sentences: Vec<f32>,
}

/// The vectors of each text, in order, from one batched run of the embedder: each
/// sentence's vector is pooled from its tokens in the pass over the whole text.
pub(crate) fn represent(embedder: &Embedder, texts: &[&str]) -> Result<Vec<Represented>, NlpError> {
    let parts: Vec<Vec<Range<usize>>> = texts
        .iter()
        .map(|text| {
            let parts = sentences(text);
            if parts.len() > 1 {
                parts.iter().map(|part| span_in(text, part)).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    Ok(embedder
        .embed_parts(texts, &parts)?
        .into_iter()
        .map(|pooled| {
            // A text of one sentence (or whose later sentences were cut off) is its own
            // sentence mean.
            let sentences = if pooled.parts.len() > 1 {
                mean_normalised(&pooled.parts)
            } else {
                pooled.whole.clone()
            };
            Represented {
                whole: pooled.whole,
                sentences,
            }
        })
        .collect())
}

/// The byte range of `part`, a slice of `text`, within `text`.
fn span_in(text: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    start..start + part.len()
}

/// The classifier's input for a text and its vectors.
pub(crate) fn features(text: &str, vectors: &Represented) -> Vec<f32> {
    let mut out = Vec::with_capacity(vectors.whole.len() * 2 + rules::CUES);
    out.extend_from_slice(&vectors.whole);
    out.extend_from_slice(&vectors.sentences);
    out.extend(rules::cues(text).map(|c| c * CUE_SCALE));
    out
}

/// The sentences of a reply: split at line breaks and after `.`, `!` or `?` followed by a
/// space (so "3.5%" stays whole), keeping only parts with a letter or digit. A text with
/// none is its own one sentence.
fn sentences(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let ends = c == '\n'
            || (matches!(c, '.' | '!' | '?')
                && chars.peek().is_none_or(|(_, next)| next.is_whitespace()));
        if ends {
            let end = i + c.len_utf8();
            parts.push(&text[start..end]);
            start = end;
        }
    }
    parts.push(&text[start..]);
    let parts: Vec<&str> = parts
        .into_iter()
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect();
    if parts.is_empty() { vec![text] } else { parts }
}

fn mean_normalised(rows: &[Vec<f32>]) -> Vec<f32> {
    let dim = rows.first().map_or(0, Vec::len);
    let mut mean = vec![0f32; dim];
    for row in rows {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        mean.iter_mut().for_each(|m| *m /= norm);
    }
    mean
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_model;

    #[test]
    fn a_reply_is_cut_into_its_sentences() {
        assert_eq!(
            sentences("Thanks for writing.\nI'm on leave until May! Contact Jana? ok"),
            [
                "Thanks for writing.",
                "I'm on leave until May!",
                "Contact Jana?",
                "ok"
            ]
        );
        assert_eq!(
            sentences("3.5% is low... right?"),
            ["3.5% is low...", "right?"]
        );
        assert_eq!(sentences("🙏"), ["🙏"]);
        assert_eq!(sentences("..."), ["..."]);
    }

    #[test]
    fn vectors_are_unit_length_and_one_sentence_is_its_own_mean() {
        let dir = tempfile::tempdir().expect("temp dir");
        let embedder = Embedder::load(&tiny_model(dir.path()), 1).expect("load");
        let texts = ["yes please", "Thanks. Who is this? Remove me.", ""];
        let vectors = represent(&embedder, &texts).expect("represent");
        assert_eq!(vectors.len(), 3);
        assert_eq!(vectors[0].whole, vectors[0].sentences);
        assert_ne!(vectors[1].whole, vectors[1].sentences);
        let text = texts[1];
        let pooled = embedder
            .embed_parts(&[text], &[vec![0..7, 8..20, 21..31]])
            .expect("embed parts");
        assert_eq!(pooled[0].parts.len(), 3);
        assert_eq!(pooled[0].whole, vectors[1].whole);
        let expected = mean_normalised(&pooled[0].parts);
        let diff = vectors[1]
            .sentences
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-5, "{diff}");
        for v in &vectors {
            let norm = v.sentences.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
            let f = features(texts[0], v);
            assert_eq!(f.len(), embedder.dim() * 2 + rules::CUES);
        }
    }
}

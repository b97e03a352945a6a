//! The entry point: sentiment and intent for a batch of replies, with or without a model.

use std::fmt;

use outreach_core::reply::Intent;

use crate::embed::Embedder;
use crate::error::NlpError;
use crate::examples::{Example, shipped_examples};
use crate::intent_index::{Embedded, IntentIndex};
use crate::model_files::ModelFiles;
use crate::sentiment::lexicon_sentiment;
use crate::{Analysis, rules};

/// A reply to analyse, with what the caller already knows from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyInput<'a> {
    /// The reply's new text: no quoted history, no signature
    /// ([`outreach_core::reply::new_text`]).
    pub text: &'a str,
    /// The headers mark it as an automatic reply (`Auto-Submitted`, `X-Autoreply`, …): its
    /// intent is then [`Intent::OutOfOffice`] whatever the text says.
    pub auto_reply: bool,
}

/// How sure the analyzer is of what the caller or the user already settled.
const CERTAIN: f32 = 1.0;

/// Reads replies: VADER sentiment always, intent from the MiniLM embeddings when a model is
/// loaded and from keyword rules otherwise.
///
/// One analyzer serves the whole app (it is `Send + Sync`; run it with `spawn_blocking`,
/// a batch takes milliseconds per reply), with one [`IntentIndex`] per workspace.
pub struct Analyzer {
    model: Option<Model>,
}

struct Model {
    embedder: Embedder,
    shipped: Vec<Embedded>,
    default_index: IntentIndex,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("embedder", &self.model.as_ref().map(|m| &m.embedder))
            .finish()
    }
}

impl Analyzer {
    /// An analyzer without a model: keyword rules for intent, with lower confidences.
    pub fn rules_only() -> Self {
        Self { model: None }
    }

    /// An analyzer with the model in `files`, run on `threads` threads (see [`Embedder`]
    /// for what that bounds). Embeds the shipped examples once, which takes about a second.
    pub fn with_model(files: &ModelFiles, threads: usize) -> Result<Self, NlpError> {
        let embedder = Embedder::load(files, threads)?;
        let examples = shipped_examples();
        let shipped = embed_examples(&embedder, &examples)?;
        let default_index = IntentIndex::build(embedder.dim(), &shipped, &[])?;
        Ok(Self {
            model: Some(Model {
                embedder,
                shipped,
                default_index,
            }),
        })
    }

    /// Whether intents come from the model rather than keyword rules.
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// The embedder, when a model is loaded.
    pub fn embedder(&self) -> Option<&Embedder> {
        self.model.as_ref().map(|m| &m.embedder)
    }

    /// The classifier for a workspace whose user corrected the intents of `corrections`
    /// (later ones win over earlier ones with the same text). Build it once per workspace
    /// and again when its corrections change.
    ///
    /// A correction weighs more than a shipped example, replaces shipped examples that say
    /// the same thing with another intent, and settles the intent of a reply that says the
    /// same thing. Without a model only a reply with the same text as a correction is
    /// affected.
    pub fn index_with(&self, corrections: &[Example]) -> Result<IntentIndex, NlpError> {
        let Some(model) = &self.model else {
            let corrections: Vec<(String, Embedded)> = corrections
                .iter()
                .map(|c| {
                    let embedded = Embedded {
                        embedding: Vec::new(),
                        intent: c.intent,
                    };
                    (c.text.clone(), embedded)
                })
                .collect();
            return IntentIndex::build(0, &[], &corrections);
        };
        let embedded = embed_examples(&model.embedder, corrections)?;
        let corrections: Vec<(String, Embedded)> = corrections
            .iter()
            .map(|c| c.text.clone())
            .zip(embedded)
            .collect();
        IntentIndex::build(model.embedder.dim(), &model.shipped, &corrections)
    }

    /// Sentiment and intent of each text (a reply's new text), in order. `index` is the
    /// workspace's classifier from [`Analyzer::index_with`]; `None` uses the shipped
    /// examples alone.
    ///
    /// Texts are not taken for automatic replies: use [`Analyzer::analyze_replies`] to pass
    /// what the headers say.
    pub fn analyze(
        &self,
        texts: &[&str],
        index: Option<&IntentIndex>,
    ) -> Result<Vec<Analysis>, NlpError> {
        let replies: Vec<ReplyInput<'_>> = texts
            .iter()
            .map(|text| ReplyInput {
                text,
                auto_reply: false,
            })
            .collect();
        self.analyze_replies(&replies, index)
    }

    /// Like [`Analyzer::analyze`], with each reply's auto-reply flag: a flagged reply is
    /// [`Intent::OutOfOffice`] with full confidence.
    ///
    /// Intent is decided, first match wins: the auto-reply flag; a correction with the same
    /// text; a plain request to be removed ([`outreach_core::reply::asks_to_be_removed`]);
    /// an empty text (other); then the model's classifier, or keyword rules without a
    /// model.
    pub fn analyze_replies(
        &self,
        replies: &[ReplyInput<'_>],
        index: Option<&IntentIndex>,
    ) -> Result<Vec<Analysis>, NlpError> {
        let mut intents: Vec<Option<(Intent, f32)>> = replies
            .iter()
            .map(|reply| self.settled(reply, index))
            .collect();
        let pending: Vec<usize> = (0..replies.len())
            .filter(|&i| intents[i].is_none())
            .collect();
        if !pending.is_empty() {
            if let Some(model) = &self.model {
                let index = index.unwrap_or(&model.default_index);
                if index.dim() != model.embedder.dim() {
                    return Err(NlpError::Model {
                        reason: "the intent index was built without this model; build it again \
                                 with this analyzer's index_with"
                            .into(),
                    });
                }
                let texts: Vec<&str> = pending.iter().map(|&i| replies[i].text).collect();
                let embeddings = model.embedder.embed(&texts)?;
                for (&i, embedding) in pending.iter().zip(&embeddings) {
                    intents[i] = Some(index.classify(embedding));
                }
            } else {
                for &i in &pending {
                    intents[i] = Some(rules::rule_intent(replies[i].text));
                }
            }
        }
        Ok(replies
            .iter()
            .zip(intents)
            .map(|(reply, decided)| {
                let (intent, confidence) = decided.unwrap_or((Intent::Other, 0.0));
                Analysis {
                    sentiment: self.sentiment(reply.text),
                    intent,
                    confidence,
                }
            })
            .collect())
    }

    /// The intent when something other than the classifier settles it.
    fn settled(
        &self,
        reply: &ReplyInput<'_>,
        index: Option<&IntentIndex>,
    ) -> Option<(Intent, f32)> {
        if reply.auto_reply {
            return Some((Intent::OutOfOffice, CERTAIN));
        }
        if let Some(intent) = index.and_then(|i| i.corrected(reply.text)) {
            return Some((intent, CERTAIN));
        }
        if let Some(settled) = rules::settled_intent(reply.text) {
            return Some(settled);
        }
        if reply.text.trim().is_empty() {
            return Some((Intent::Other, CERTAIN));
        }
        None
    }

    /// The sentiment of a reply. The one place it is computed: a later blend with a
    /// model-based score goes here.
    fn sentiment(&self, text: &str) -> f32 {
        lexicon_sentiment(text)
    }
}

fn embed_examples(embedder: &Embedder, examples: &[Example]) -> Result<Vec<Embedded>, NlpError> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let embeddings = embedder.embed(&texts)?;
    Ok(embeddings
        .into_iter()
        .zip(examples)
        .map(|(embedding, e)| Embedded {
            embedding,
            intent: e.intent,
        })
        .collect())
}

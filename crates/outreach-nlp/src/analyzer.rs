//! The entry point: sentiment and intent for a batch of replies, with or without a model.

use std::fmt;

use outreach_core::reply::Intent;

use crate::embed::Embedder;
use crate::error::NlpError;
use crate::examples::{Example, shipped_examples};
use crate::features::represent;
use crate::intent_index::{Embedded, IntentIndex};
use crate::model_files::ModelFiles;
use crate::sentiment::lexicon_sentiment;
use crate::sentiment_head::{SentimentHead, blend};
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

/// Reads replies: VADER sentiment, blended with the model's score when a model is loaded;
/// intent from the MiniLM embeddings with a model and from keyword rules without one.
///
/// One analyzer serves the whole app (it is `Send + Sync`; run it with `spawn_blocking`:
/// with a model a short reply takes a few milliseconds of CPU in a release build, one
/// forward pass per reply), with one [`IntentIndex`] per workspace.
pub struct Analyzer {
    model: Option<Model>,
}

struct Model {
    embedder: Embedder,
    shipped: Vec<Embedded>,
    default_index: IntentIndex,
    sentiment: SentimentHead,
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
    /// for what that bounds). Embeds the shipped examples once (312 texts: some 2–3 s on
    /// one core in a release build). Weights other than the pinned model's also get their
    /// sentiment head fitted (some 7,500 lexicon words embedded: seconds more).
    pub fn with_model(files: &ModelFiles, threads: usize) -> Result<Self, NlpError> {
        let embedder = Embedder::load(files, threads)?;
        let examples = shipped_examples();
        let shipped = embed_examples(&embedder, &examples)?;
        let default_index = IntentIndex::build(embedder.dim(), &shipped, &[])?;
        let sentiment = match SentimentHead::shipped_for(embedder.weights_sha256()) {
            Some(head) => head,
            None => SentimentHead::fit(&embedder, embedder.weights_sha256())?,
        };
        Ok(Self {
            model: Some(Model {
                embedder,
                shipped,
                default_index,
                sentiment,
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
            let texts: Vec<(String, Intent)> = corrections
                .iter()
                .map(|c| (c.text.clone(), c.intent))
                .collect();
            return Ok(IntentIndex::texts_only(&texts));
        };
        let corrections = embed_examples(&model.embedder, corrections)?;
        IntentIndex::build(model.embedder.dim(), &model.shipped, &corrections)
    }

    /// Sentiment and intent of each text (a reply's new text), in order. `index` is the
    /// workspace's classifier from [`Analyzer::index_with`]; `None` uses the shipped
    /// examples alone, and so does an index built by an analyzer without a model (apart
    /// from its corrected texts).
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
        // The model's sentiment score for each reply it embedded.
        let mut model_scores: Vec<Option<f32>> = vec![None; replies.len()];
        if let Some(model) = &self.model {
            // An index built before the model was loaded only knows corrected texts (used
            // above); the shipped examples still classify the rest.
            let index = index
                .filter(|i| i.dim() == model.embedder.dim())
                .unwrap_or(&model.default_index);
            // Settled replies are embedded too, for their sentiment; a blank one has none.
            let embedded: Vec<usize> = (0..replies.len())
                .filter(|&i| !replies[i].text.trim().is_empty())
                .collect();
            let texts: Vec<&str> = embedded.iter().map(|&i| replies[i].text).collect();
            let vectors = represent(&model.embedder, &texts)?;
            for ((&i, text), vectors) in embedded.iter().zip(&texts).zip(&vectors) {
                model_scores[i] = Some(model.sentiment.score(&vectors.whole));
                if intents[i].is_none() {
                    intents[i] = Some(index.classify(text, vectors));
                }
            }
        } else {
            for (reply, intent) in replies.iter().zip(intents.iter_mut()) {
                if intent.is_none() {
                    *intent = Some(rules::rule_intent(reply.text));
                }
            }
        }
        Ok(replies
            .iter()
            .zip(intents)
            .zip(model_scores)
            .map(|((reply, decided), model_score)| {
                let (intent, confidence) = decided.unwrap_or((Intent::Other, 0.0));
                let lexicon = lexicon_sentiment(reply.text);
                Analysis {
                    sentiment: model_score.map_or(lexicon, |m| blend(lexicon, m)),
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
}

fn embed_examples(embedder: &Embedder, examples: &[Example]) -> Result<Vec<Embedded>, NlpError> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let vectors = represent(embedder, &texts)?;
    Ok(vectors
        .into_iter()
        .zip(examples)
        .map(|(vectors, e)| Embedded {
            text: e.text.clone(),
            vectors,
            intent: e.intent,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_model;

    const fn assert_send_sync<T: Send + Sync>() {}
    const _: () = assert_send_sync::<Analyzer>();
    const _: () = assert_send_sync::<IntentIndex>();

    fn in_range(a: &Analysis) -> bool {
        (-1.0..=1.0).contains(&a.sentiment) && (0.0..=1.0).contains(&a.confidence)
    }

    #[test]
    fn rules_only_reads_intent_from_phrases_with_low_confidence() {
        let analyzer = Analyzer::rules_only();
        assert!(!analyzer.has_model());
        assert!(analyzer.embedder().is_none());
        let out = analyzer
            .analyze(
                &[
                    "Sounds great, I'd love to hop on a call!",
                    "Please remove me from your list.",
                    "What's the commission?",
                    "   ",
                ],
                None,
            )
            .expect("analyze");
        let intents: Vec<Intent> = out.iter().map(|a| a.intent).collect();
        assert_eq!(
            intents,
            [
                Intent::Interested,
                Intent::Unsubscribe,
                Intent::Question,
                Intent::Other
            ]
        );
        assert!(out.iter().all(in_range));
        assert!(out[0].sentiment > 0.5, "{:?}", out[0]);
        assert!(out[0].confidence < 0.7);
        assert!(out[1].confidence > 0.9);
    }

    #[test]
    fn the_auto_reply_flag_and_corrections_settle_the_intent() {
        let analyzer = Analyzer::rules_only();
        let index = analyzer
            .index_with(&[
                Example::new("Ping me in May", Intent::Interested),
                Example::new("ping me   in may", Intent::NotInterested),
            ])
            .expect("index");
        assert_eq!(index.corrections(), 1);
        let out = analyzer
            .analyze_replies(
                &[
                    ReplyInput {
                        text: "Sounds great!",
                        auto_reply: true,
                    },
                    ReplyInput {
                        text: "PING me in May",
                        auto_reply: false,
                    },
                ],
                Some(&index),
            )
            .expect("analyze");
        assert_eq!(out[0].intent, Intent::OutOfOffice);
        assert_eq!(out[0].confidence, 1.0);
        assert_eq!(
            out[1].intent,
            Intent::NotInterested,
            "the later correction wins"
        );
        assert_eq!(out[1].confidence, 1.0);
    }

    #[test]
    fn with_a_model_every_reply_gets_an_analysis_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let analyzer = Analyzer::with_model(&tiny_model(dir.path()), 1).expect("analyzer");
        assert!(analyzer.has_model());
        let texts = [
            "Yes, let's set up a call next week.",
            "Please remove me from your list.",
            "I'm out of the office until Monday. For urgent matters contact ana@example.com.",
            "",
            "Who is this?",
        ];
        let out = analyzer.analyze(&texts, None).expect("analyze");
        assert_eq!(out.len(), texts.len());
        assert!(out.iter().all(in_range), "{out:?}");
        assert_eq!(out[1].intent, Intent::Unsubscribe);
        assert_eq!(out[3].intent, Intent::Other);
        // The same texts one by one give the same answers: batching changes nothing.
        for (text, batched) in texts.iter().zip(&out) {
            let alone = analyzer.analyze(&[text], None).expect("analyze one");
            assert_eq!(alone[0].intent, batched.intent, "{text}");
            assert!(
                (alone[0].confidence - batched.confidence).abs() < 1e-4,
                "{text}"
            );
        }
        assert!(analyzer.analyze(&[], None).expect("nothing").is_empty());
    }

    #[test]
    fn a_workspace_correction_wins_over_the_shipped_examples() {
        let dir = tempfile::tempdir().expect("temp dir");
        let analyzer = Analyzer::with_model(&tiny_model(dir.path()), 1).expect("analyzer");
        let text = "Out of office until the 22nd.";
        assert!(shipped_examples().iter().any(|e| e.text == text));
        let index = analyzer
            .index_with(&[Example::new(text, Intent::Referral)])
            .expect("index");
        assert_eq!(index.corrections(), 1);
        // (How many shipped examples it replaces depends on the model: the random one
        // finds most texts alike.)
        assert!(index.len() <= shipped_examples().len() + 1);
        // Not the same text, but the same meaning to the model: the correction decides.
        let out = analyzer
            .analyze(&["Out of office until the 22nd!"], Some(&index))
            .expect("analyze");
        assert_eq!(out[0].intent, Intent::Referral);
        // An index built without the model still applies its corrected texts.
        let texts_only = Analyzer::rules_only()
            .index_with(&[Example::new("hello there", Intent::Question)])
            .expect("index");
        let out = analyzer
            .analyze(&["Hello   there", "Please remove me"], Some(&texts_only))
            .expect("analyze");
        assert_eq!(out[0].intent, Intent::Question);
        assert_eq!(out[1].intent, Intent::Unsubscribe);
    }
}

//! The engine's use of the reply classifier: one analyzer for the process (rules and lexicon
//! until the model files are there, then the model), one few-shot index per workspace built
//! from the shipped examples and that workspace's corrections, rebuilt when a correction is
//! added.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use outreach_core::reply::Intent;
use outreach_nlp::{Analyzer, Example, IntentIndex};
use outreach_store::Store;
use tokio::sync::Mutex;

use crate::EngineError;

/// What the classifier says about one reply's new text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Intent.
    pub intent: Intent,
    /// Its confidence in 0..1.
    pub confidence: f32,
    /// `user` (a correction of this very text), `model`, or `lexicon` (rules and the VADER
    /// lexicon, before the model files are there).
    pub source: &'static str,
    /// Sentiment in -1..1.
    pub sentiment: Option<f32>,
}

impl Default for Verdict {
    fn default() -> Self {
        Self {
            intent: Intent::Other,
            confidence: 0.0,
            source: "lexicon",
            sentiment: None,
        }
    }
}

/// The analyzer and the per-workspace indexes.
pub(crate) struct Classifier {
    analyzer: RwLock<Arc<Analyzer>>,
    /// Per workspace: the correction count it was built with, and the index.
    indexes: Mutex<HashMap<i64, (i64, Arc<IntentIndex>)>>,
}

impl Classifier {
    pub(crate) fn new() -> Self {
        Self {
            analyzer: RwLock::new(Arc::new(Analyzer::rules_only())),
            indexes: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the analyzer (when the model files arrive); indexes built with the old one
    /// are dropped.
    pub(crate) async fn set(&self, analyzer: Arc<Analyzer>) {
        if let Ok(mut a) = self.analyzer.write() {
            *a = analyzer;
        }
        self.indexes.lock().await.clear();
    }

    pub(crate) fn current(&self) -> Arc<Analyzer> {
        match self.analyzer.read() {
            Ok(a) => Arc::clone(&a),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Classifies the new texts of a workspace's replies, in order.
    pub(crate) async fn classify(
        &self,
        store: &Store,
        workspace_id: i64,
        texts: Vec<String>,
    ) -> Result<Vec<Verdict>, EngineError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let analyzer = self.current();
        let corrections = store.intent_corrections(workspace_id).await?;
        let index = if analyzer.has_model() {
            Some(self.index(&analyzer, workspace_id, &corrections).await?)
        } else {
            None
        };
        let source = if analyzer.has_model() {
            "model"
        } else {
            "lexicon"
        };
        let owned = texts.clone();
        let analyses = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            analyzer.analyze(&refs, index.as_deref())
        })
        .await
        .map_err(|e| EngineError::Classifier(e.to_string()))?
        .map_err(|e| EngineError::Classifier(e.to_string()))?;
        Ok(texts
            .iter()
            .zip(analyses)
            .map(|(text, a)| {
                // A person already said what this very text means.
                let key = normalised(text);
                if let Some((_, intent)) =
                    corrections.iter().rev().find(|(t, _)| normalised(t) == key)
                {
                    return Verdict {
                        intent: *intent,
                        confidence: 1.0,
                        source: "user",
                        sentiment: Some(a.sentiment),
                    };
                }
                Verdict {
                    intent: a.intent,
                    confidence: a.confidence,
                    source,
                    sentiment: Some(a.sentiment),
                }
            })
            .collect())
    }

    async fn index(
        &self,
        analyzer: &Arc<Analyzer>,
        workspace_id: i64,
        corrections: &[(String, Intent)],
    ) -> Result<Arc<IntentIndex>, EngineError> {
        let count = i64::try_from(corrections.len()).unwrap_or(i64::MAX);
        let mut indexes = self.indexes.lock().await;
        if let Some((built_with, index)) = indexes.get(&workspace_id)
            && *built_with == count
        {
            return Ok(Arc::clone(index));
        }
        let examples: Vec<Example> = corrections
            .iter()
            .map(|(t, i)| Example::new(t.clone(), *i))
            .collect();
        let a = Arc::clone(analyzer);
        let index = tokio::task::spawn_blocking(move || a.index_with(&examples))
            .await
            .map_err(|e| EngineError::Classifier(e.to_string()))?
            .map_err(|e| EngineError::Classifier(e.to_string()))?;
        let index = Arc::new(index);
        indexes.insert(workspace_id, (count, Arc::clone(&index)));
        Ok(index)
    }
}

fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

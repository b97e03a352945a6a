//! The labelled replies shipped with the crate (`data/intents.jsonl`): the `train` split is
//! the classifier's few-shot examples, the `test` split is only for measuring it.

use outreach_core::reply::Intent;
use serde::Deserialize;

/// The dataset, compiled in so that the app needs no data file next to it.
const INTENTS_JSONL: &str = include_str!("../data/intents.jsonl");

/// A reply text with the intent it expresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The reply's new text (no quoted history, no signature).
    pub text: String,
    /// What the reply means.
    pub intent: Intent,
}

impl Example {
    /// An example from a text and its intent.
    pub fn new(text: impl Into<String>, intent: Intent) -> Self {
        Self {
            text: text.into(),
            intent,
        }
    }
}

#[derive(Deserialize)]
struct Line {
    intent: Intent,
    split: Split,
    text: String,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Split {
    Train,
    Test,
}

/// The few-shot examples the app ships: the `train` split.
pub fn shipped_examples() -> Vec<Example> {
    examples_of(Split::Train)
}

/// The held-out `test` split, never used as an example: for measuring a classifier.
pub fn held_out_examples() -> Vec<Example> {
    examples_of(Split::Test)
}

fn examples_of(split: Split) -> Vec<Example> {
    // A malformed line cannot happen at run time without also failing this crate's tests
    // (`every_line_of_the_dataset_is_used`), so skipping it here is only a fallback.
    parse_lines(INTENTS_JSONL)
        .filter_map(Result::ok)
        .filter(|line| line.split == split)
        .map(|line| Example::new(line.text, line.intent))
        .collect()
}

fn parse_lines(jsonl: &str) -> impl Iterator<Item = Result<Line, serde_json::Error>> + '_ {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str::<Line>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_line_of_the_dataset_is_used() {
        let lines = INTENTS_JSONL
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        for (i, parsed) in parse_lines(INTENTS_JSONL).enumerate() {
            assert!(parsed.is_ok(), "line {}: {:?}", i + 1, parsed.err());
        }
        assert_eq!(shipped_examples().len() + held_out_examples().len(), lines);
    }

    #[test]
    fn both_splits_cover_every_intent_and_do_not_overlap() {
        let train = shipped_examples();
        let test = held_out_examples();
        for intent in Intent::ALL {
            assert!(
                train.iter().filter(|e| e.intent == intent).count() >= 10,
                "{intent:?}"
            );
            assert!(
                test.iter().filter(|e| e.intent == intent).count() >= 5,
                "{intent:?}"
            );
        }
        let train_texts: HashSet<&str> = train.iter().map(|e| e.text.as_str()).collect();
        for e in &test {
            assert!(
                !train_texts.contains(e.text.as_str()),
                "in both splits: {}",
                e.text
            );
        }
    }
}

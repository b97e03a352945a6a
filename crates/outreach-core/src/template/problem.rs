//! What the pre-send check can find, with the sentence the UI shows for each.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{OPT_OUT, POSTAL_ADDRESS, PRIVACY_NOTICE, Part};

/// Something the pre-send check found. Counts of 0 prospects mean the template was checked
/// without recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The part does not parse; no other check ran on it.
    Syntax {
        /// The part.
        part: Part,
        /// 1-based line, when known.
        line: Option<u32>,
        /// What is wrong.
        message: String,
    },
    /// The part parses but failed to render for some recipients.
    RenderFailed {
        /// The part.
        part: Part,
        /// 1-based line, when known.
        line: Option<u32>,
        /// What went wrong.
        message: String,
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// A `{{ ... }}` expression renders empty (undefined, none or "") for some recipients.
    EmptyVariable {
        /// The part.
        part: Part,
        /// The variable that is empty (or the expression, when no variable explains it).
        variable: String,
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// A placeholder such as `[FIRST LINE]` or `<<NAME>>` is left in the rendered text.
    LeftoverPlaceholder {
        /// The part.
        part: Part,
        /// The placeholder as it appears.
        text: String,
    },
    /// The rendered body lacks the recipient's opt-out line.
    MissingOptOut {
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// The rendered body lacks the postal address, or the workspace has none.
    MissingPostalAddress {
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// The rendered body of a first message lacks the recipient's Art. 14 privacy notice.
    MissingPrivacyNotice {
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// The rendered subject contains a line break or NUL, which could inject mail headers.
    HeaderInjection {
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// The subject renders empty.
    EmptySubject {
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
    /// The body renders empty.
    EmptyBody {
        /// Recipients affected.
        prospects: u32,
        /// Up to five of their prospect ids.
        #[ts(type = "Array<number>")]
        examples: Vec<i64>,
    },
}

impl Problem {
    /// The English sentence shown to users, naming example prospects by id (`#4`).
    pub fn message(&self) -> String {
        self.message_naming(|_| None)
    }

    /// The prospects given as examples (at most five), by id.
    pub fn examples(&self) -> &[i64] {
        match self {
            Self::Syntax { .. } | Self::LeftoverPlaceholder { .. } => &[],
            Self::RenderFailed { examples, .. }
            | Self::EmptyVariable { examples, .. }
            | Self::MissingOptOut { examples, .. }
            | Self::MissingPostalAddress { examples, .. }
            | Self::MissingPrivacyNotice { examples, .. }
            | Self::HeaderInjection { examples, .. }
            | Self::EmptySubject { examples, .. }
            | Self::EmptyBody { examples, .. } => examples,
        }
    }

    /// The English sentence shown to users, naming each example prospect as `name` does
    /// (`"Ada Lovelace"`), or by id where it gives no name: people recognise whom to fix by
    /// name, not by a row id.
    pub fn message_naming(&self, name: impl Fn(i64) -> Option<String>) -> String {
        self.sentence(|prospects, examples| for_prospects(prospects, examples, &name))
    }

    /// The English sentence without whom it concerns: for the refusal of one message, whose
    /// recipient is known. Refusals are grouped by their sentence, so it must be the same for
    /// every recipient the problem stops.
    pub fn message_for_one(&self) -> String {
        self.sentence(|_, _| String::new())
    }

    /// The sentence, with `among(prospects, examples)` saying whom it concerns.
    fn sentence(&self, among: impl Fn(u32, &[i64]) -> String) -> String {
        match self {
            Self::Syntax {
                part,
                line,
                message,
            } => format!(
                "The {part} has a syntax error{}: {message}.",
                at_line(*line)
            ),
            Self::RenderFailed {
                part,
                line,
                message,
                prospects,
                examples,
            } => format!(
                "The {part} could not be rendered{}{}: {message}.",
                among(*prospects, examples),
                at_line(*line)
            ),
            Self::EmptyVariable {
                part,
                variable,
                prospects,
                examples,
            } => format!(
                "{{{{ {variable} }}}} in the {part} is empty{}. Fill it in or give it a \
                 fallback, e.g. {{{{ {variable} | default(\"...\") }}}}.",
                among(*prospects, examples)
            ),
            Self::LeftoverPlaceholder { part, text } => {
                format!("The {part} still contains the placeholder \"{text}\" after rendering.")
            }
            Self::MissingOptOut {
                prospects,
                examples,
            } => format!(
                "The body does not include the opt-out line{}. Add {{{{ {OPT_OUT} }}}}.",
                among(*prospects, examples)
            ),
            Self::MissingPostalAddress {
                prospects,
                examples,
            } => format!(
                "The body does not include the postal address{}. Add {{{{ {POSTAL_ADDRESS} }}}} \
                 and make sure the workspace has a postal address.",
                among(*prospects, examples)
            ),
            Self::MissingPrivacyNotice {
                prospects,
                examples,
            } => format!(
                "The first message does not include the privacy notice{}. Add \
                 {{{{ {PRIVACY_NOTICE} }}}}.",
                among(*prospects, examples)
            ),
            Self::HeaderInjection {
                prospects,
                examples,
            } => format!(
                "The subject contains a line break{}; a subject must be a single line. Check \
                 the template and the prospects' data.",
                among(*prospects, examples)
            ),
            Self::EmptySubject {
                prospects,
                examples,
            } => format!("The subject is empty{}.", among(*prospects, examples)),
            Self::EmptyBody {
                prospects,
                examples,
            } => format!("The body is empty{}.", among(*prospects, examples)),
        }
    }
}

/// `" (line 3)"` or nothing.
fn at_line(line: Option<u32>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// `" for 3 prospects (e.g. Ada Lovelace, #9)"`, or nothing for a check without recipients.
fn for_prospects(
    prospects: u32,
    examples: &[i64],
    name: &impl Fn(i64) -> Option<String>,
) -> String {
    if prospects == 0 {
        return String::new();
    }
    let noun = if prospects == 1 {
        "prospect"
    } else {
        "prospects"
    };
    let ids: Vec<String> = examples
        .iter()
        .map(|&id| name(id).unwrap_or_else(|| format!("#{id}")))
        .collect();
    if ids.is_empty() {
        format!(" for {prospects} {noun}")
    } else {
        format!(" for {prospects} {noun} (e.g. {})", ids.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn problems_serialise_for_the_ui() {
        let p = Problem::EmptyVariable {
            part: Part::Body,
            variable: "company".into(),
            prospects: 2,
            examples: vec![7, 9],
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"kind": "empty_variable", "part": "body", "variable": "company",
                   "prospects": 2, "examples": [7, 9]})
        );
        let back: Problem = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let ts = Problem::decl();
        assert!(ts.contains("\"kind\": \"empty_variable\""), "{ts}");
        assert!(ts.contains("examples: Array<number>"), "{ts}");
    }

    #[test]
    fn every_message_is_a_sentence() {
        let examples = vec![1, 2];
        let all = [
            Problem::Syntax {
                part: Part::Subject,
                line: None,
                message: "bad".into(),
            },
            Problem::RenderFailed {
                part: Part::Body,
                line: Some(3),
                message: "bad".into(),
                prospects: 1,
                examples: vec![1],
            },
            Problem::MissingOptOut {
                prospects: 2,
                examples: examples.clone(),
            },
            Problem::MissingPrivacyNotice {
                prospects: 2,
                examples: examples.clone(),
            },
            Problem::HeaderInjection {
                prospects: 2,
                examples: examples.clone(),
            },
            Problem::EmptyBody {
                prospects: 2,
                examples,
            },
        ];
        let messages: Vec<String> = all.iter().map(Problem::message).collect();
        assert_eq!(messages[0], "The subject has a syntax error: bad.");
        assert_eq!(
            messages[1],
            "The body could not be rendered for 1 prospect (e.g. #1) (line 3): bad."
        );
        assert_eq!(
            messages[2],
            "The body does not include the opt-out line for 2 prospects (e.g. #1, #2). Add \
             {{ opt_out }}."
        );
        assert!(
            messages
                .iter()
                .all(|m| m.starts_with("The ") && m.ends_with('.'))
        );
    }

    #[test]
    fn examples_are_named_where_a_name_is_known() {
        let p = Problem::EmptyVariable {
            part: Part::Subject,
            variable: "company".into(),
            prospects: 3,
            examples: vec![4, 9, 12],
        };
        assert_eq!(p.examples(), [4, 9, 12]);
        let names = |id: i64| match id {
            4 => Some("Ada Lovelace".to_string()),
            12 => Some("grace@navy.example".to_string()),
            _ => None,
        };
        assert_eq!(
            p.message_naming(names),
            "{{ company }} in the subject is empty for 3 prospects (e.g. Ada Lovelace, #9, \
             grace@navy.example). Fill it in or give it a fallback, e.g. \
             {{ company | default(\"...\") }}."
        );
        let syntax = Problem::Syntax {
            part: Part::Body,
            line: Some(2),
            message: "unexpected end".into(),
        };
        assert!(syntax.examples().is_empty());
        assert_eq!(syntax.message_naming(names), syntax.message());
    }

    #[test]
    fn the_sentence_for_one_message_is_the_same_whoever_it_stops() {
        let for_one = |id| {
            Problem::MissingOptOut {
                prospects: 1,
                examples: vec![id],
            }
            .message_for_one()
        };
        assert_eq!(
            for_one(4),
            "The body does not include the opt-out line. Add {{ opt_out }}."
        );
        assert_eq!(for_one(4), for_one(9));
    }
}

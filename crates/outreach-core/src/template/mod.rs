//! Message templates: variables with fallbacks, conditionals and spintax, and the pre-send check.
//!
//! A template is plain text in two parts, subject and body. Rendering first resolves spintax
//! (`{Hi|Hello}`, rules below), then runs minijinja over the result with
//! the recipient's [`Variables`]: `{{ first_name | default("there") }}`,
//! `{% if score >= 80 %}...{% endif %}`. Undefined variables render as nothing; finding them is
//! the job of [`pre_send_check`], which renders the template for every recipient and reports
//! [`Problem`]s for the UI before anything is sent.
//!
//! Spintax rules: `{` followed by `{`, `%` or `#` opens a Jinja tag and is never spintax; a brace
//! group needs a `|` to be spintax (`{name}` stays as written); options may nest; the choice is
//! fixed by a seed, so a message renders the same every time.
//!
//! ```
//! use outreach_core::template::{render, MessageTemplate, Variables};
//!
//! let template = MessageTemplate {
//!     subject: r#"{Hi|Hello} {{ first_name | default("there") }}"#.to_owned(),
//!     body: "{% if score >= 80 %}\nYou are a great fit.\n{% endif %}\n{{ opt_out }}\n".to_owned(),
//! };
//! let mut vars = Variables::new();
//! vars.insert("score".into(), 91.into());
//! vars.insert("opt_out".into(), "Reply STOP to opt out.".into());
//!
//! let message = render(&template, &vars, 7).unwrap();
//! assert!(message.subject == "Hi there" || message.subject == "Hello there");
//! assert_eq!(message.body, "You are a great fit.\nReply STOP to opt out.\n");
//! // The same seed always gives the same message.
//! assert_eq!(render(&template, &vars, 7).unwrap(), message);
//! ```

mod check;
mod lexer;
mod placeholder;
mod problem;
mod render;
mod spintax;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use check::{CheckRecipient, PreSendCheck, SendCheck, pre_send_check};
pub use placeholder::find_placeholders;
pub use problem::Problem;
pub use render::{PreparedTemplate, check_syntax, render, spin_seed, variables_used};

/// The variable holding the visible opt-out line.
pub const OPT_OUT: &str = "opt_out";
/// The variable holding the workspace's postal address.
pub const POSTAL_ADDRESS: &str = "postal_address";
/// The variable holding the GDPR Art. 14 notice.
pub const PRIVACY_NOTICE: &str = "privacy_notice";

/// A template's two parts as the user wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageTemplate {
    /// Subject line (one line once rendered).
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RenderedMessage {
    /// Rendered subject.
    pub subject: String,
    /// Rendered body.
    pub body: String,
}

/// Values a template can use: a JSON object.
///
/// The engine omits unknown or blank prospect fields so that `default(...)` applies.
pub type Variables = serde_json::Map<String, serde_json::Value>;

/// Which part of a template something refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The subject line.
    Subject,
    /// The body.
    Body,
}

impl Part {
    /// Both parts, subject first.
    pub const ALL: [Part; 2] = [Part::Subject, Part::Body];

    /// The lower-case name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Body => "body",
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a template failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TemplateErrorKind {
    /// The template is malformed (Jinja syntax or unbalanced spintax).
    Syntax,
    /// The template is well-formed but failed while rendering (e.g. `{{ "a" + 1 }}`, a loop
    /// that does not end, or a message over the size limit).
    Render,
}

/// Why a template could not be checked or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, TS)]
#[error("{kind_name} in the {part}{line_text}: {message}", kind_name = self.kind_name(), line_text = self.line_text())]
pub struct TemplateError {
    /// Syntax or render failure.
    pub kind: TemplateErrorKind,
    /// The part that failed.
    pub part: Part,
    /// 1-based line in that part, when known. Syntax errors point into the part as written;
    /// render errors into the text after spintax, which differs only when a spintax option
    /// spans lines.
    pub line: Option<u32>,
    /// What went wrong, for people.
    pub message: String,
}

impl TemplateError {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            TemplateErrorKind::Syntax => "syntax error",
            TemplateErrorKind::Render => "rendering failed",
        }
    }

    fn line_text(&self) -> String {
        self.line.map(|l| format!(", line {l}")).unwrap_or_default()
    }
}

//! The vocabulary of the inbox: where replies are read (an account's mailbox) and the replies
//! themselves as the store keeps them and the UI shows them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::reply::Intent;

/// How the reply poller reaches the IMAP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MailboxSecurity {
    /// TLS from the first byte (usually port 993).
    ImplicitTls,
    /// No TLS, allowed only to a server on a loopback address (a local bridge).
    PlainLoopback,
}

impl MailboxSecurity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImplicitTls => "implicit_tls",
            Self::PlainLoopback => "plain_loopback",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ImplicitTls, Self::PlainLoopback]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// What the secret in the keychain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MailboxAuth {
    /// A password or app password (IMAP LOGIN).
    Password,
    /// An OAuth 2.0 access token (SASL XOAUTH2).
    Xoauth2,
}

impl MailboxAuth {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Xoauth2 => "xoauth2",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Password, Self::Xoauth2]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// The mailbox a sender account's replies arrive in. The secret is in the OS keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailboxFields {
    /// IMAP server host.
    pub host: String,
    /// Port; 993 for TLS and 143 for a local server when left out.
    pub port: Option<u16>,
    /// Transport security.
    pub security: MailboxSecurity,
    /// Login name.
    pub username: String,
    /// What the secret is.
    pub auth: MailboxAuth,
    /// The folder to read, `INBOX` when empty.
    pub mailbox: String,
    /// Whether the poller reads it.
    pub enabled: bool,
}

/// A stored mailbox with the poller's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Mailbox {
    /// The sender account it belongs to.
    #[ts(type = "number")]
    pub account_id: i64,
    /// The account's workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Its settings.
    pub fields: MailboxFields,
    /// Whether a secret of its own is in the keychain (otherwise the account's sending
    /// password is used).
    pub has_secret: bool,
    /// The last poll (ISO 8601), if any.
    pub polled_at: Option<String>,
    /// Why the last poll failed, if it did.
    pub last_error: Option<String>,
}

/// What kind of mail a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// Written by a person.
    Human,
    /// An automatic answer (out of office, ticket confirmation).
    AutoReply,
    /// A delivery-status notification.
    Bounce,
    /// A spam complaint (feedback report).
    Complaint,
}

impl ReplyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::AutoReply => "auto_reply",
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Human, Self::AutoReply, Self::Bounce, Self::Complaint]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A reply as the inbox lists and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Reply {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Its workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The prospect who answered.
    #[ts(type = "number")]
    pub prospect_id: i64,
    /// Their name (or address when they have none).
    pub prospect_name: String,
    /// Their company.
    pub prospect_company: Option<String>,
    /// Their status now.
    pub prospect_status: String,
    /// The campaign of the message answered, if known.
    #[ts(type = "number | null")]
    pub campaign_id: Option<i64>,
    /// Its name.
    pub campaign_name: Option<String>,
    /// How the reply was tied to the prospect: `thread`, `sender`, `token` or `bounce`.
    pub matched_by: String,
    /// Sender address.
    pub from_address: Option<String>,
    /// Sender name.
    pub from_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// When it was written (its Date header) or received (ISO 8601).
    pub received_at: String,
    /// What kind of mail it is.
    pub kind: ReplyKind,
    /// The new text, without quoted history and signature.
    pub new_text: String,
    /// The whole text.
    pub full_text: String,
    /// The HTML part, sanitised (no scripts, no remote images), if there was one.
    pub html: Option<String>,
    /// Sentiment in -1..1.
    pub sentiment: Option<f32>,
    /// Intent.
    pub intent: Intent,
    /// Confidence of the intent in 0..1.
    pub confidence: f32,
    /// Where the intent came from: `rules`, `lexicon`, `model` or `user`.
    pub intent_source: String,
    /// The date an out-of-office says the person is back.
    pub return_date: Option<String>,
    /// A bounce's status code.
    pub bounce_status: Option<String>,
    /// What the poller did about it.
    pub actions: String,
    /// Whether a person should answer it.
    pub needs_reply: bool,
    /// When a person opened it.
    pub read_at: Option<String>,
}

/// Where an answer to a reply stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DraftState {
    /// Being written; nothing leaves until a person sends it.
    Draft,
    /// Handed to the outbox (see the message's own status).
    Queued,
    /// Thrown away.
    Discarded,
}

impl DraftState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Queued => "queued",
            Self::Discarded => "discarded",
        }
    }

    /// The state with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Queued, Self::Discarded]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// An answer to a reply: written (or prepared by the app) in the inbox, sent through the
/// outbox like every other message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReplyDraft {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// The reply it answers.
    #[ts(type = "number")]
    pub reply_id: i64,
    /// The prospect it goes to.
    #[ts(type = "number")]
    pub prospect_id: i64,
    /// The sender account it goes out from: at first the one the reply arrived at, or
    /// another the person chose.
    #[ts(type = "number")]
    pub account_id: i64,
    /// Subject.
    pub subject: String,
    /// Body as written; the opt-out line and postal address are added when missing.
    pub body: String,
    /// Where it stands.
    pub state: DraftState,
    /// Its outbox message once queued.
    #[ts(type = "number | null")]
    pub outbox_id: Option<i64>,
    /// That message's status (`queued`, `sending`, `sent`, `failed`, …).
    pub message_status: Option<String>,
    /// Why the message failed or waits, when it did.
    pub message_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// Last change.
    pub updated_at: String,
}

/// What became of a contact a referral named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReferralState {
    /// Waiting for a person to decide.
    Proposed,
    /// Added as a prospect (or found to be one already).
    Accepted,
    /// Not wanted.
    Dismissed,
}

impl ReferralState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Accepted => "accepted",
            Self::Dismissed => "dismissed",
        }
    }

    /// The state with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Proposed, Self::Accepted, Self::Dismissed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A contact a reply referred us to ("please write to jana@…"), proposed as a new prospect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralProposal {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// The reply that named them.
    #[ts(type = "number")]
    pub reply_id: i64,
    /// Their address.
    pub email: String,
    /// Their name, when the reply gave one.
    pub name: Option<String>,
    /// Proposed, accepted or dismissed.
    pub state: ReferralState,
    /// The prospect they became.
    #[ts(type = "number | null")]
    pub prospect_id: Option<i64>,
}

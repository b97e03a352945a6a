//! The vocabulary of campaigns: sender accounts, templates, sequences, enrolments and the
//! outbox's message states, shared by the store, the engine, the API and the UI.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How an account sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// An SMTP server.
    Smtp,
    /// The SendGrid v3 API.
    Sendgrid,
}

impl Transport {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Sendgrid => "sendgrid",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Smtp, Self::Sendgrid]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// How an SMTP connection is secured. Opportunistic TLS is deliberately not offered: a
/// downgrade would send the password in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurityMode {
    /// TLS from the first byte (usually port 465).
    ImplicitTls,
    /// STARTTLS, refused when the server does not offer it (usually port 587).
    StartTls,
    /// No TLS, allowed only to a relay on a loopback address (such as a local Postfix).
    PlainLoopback,
}

impl SmtpSecurityMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImplicitTls => "implicit_tls",
            Self::StartTls => "start_tls",
            Self::PlainLoopback => "plain_loopback",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ImplicitTls, Self::StartTls, Self::PlainLoopback]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A sender account's settings. Secrets (password, API key, DKIM private key) are never here:
/// they live in the OS keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountFields {
    /// A label, unique in the workspace, e.g. "Alex (Gmail)".
    pub name: String,
    /// SMTP or SendGrid.
    pub transport: Transport,
    /// SMTP host.
    pub host: Option<String>,
    /// SMTP port.
    pub port: Option<u16>,
    /// SMTP security.
    pub security: Option<SmtpSecurityMode>,
    /// SMTP user name.
    pub username: Option<String>,
    /// SendGrid API base URL (empty: the public API).
    pub api_base_url: Option<String>,
    /// The name recipients see.
    pub from_name: String,
    /// The sending address.
    pub from_address: String,
    /// Where replies go, when not to the sending address.
    pub reply_to: Option<String>,
    /// At most this many attempts in any 60 seconds.
    pub per_minute_cap: Option<u32>,
    /// At most this many attempts in any hour.
    pub hourly_cap: Option<u32>,
    /// At most this many attempts in any 24 hours.
    pub daily_cap: Option<u32>,
    /// Ramp-up for a new account: messages on its first sending day.
    pub ramp_start: Option<u32>,
    /// Ramp-up: more messages allowed on each following day, up to the daily cap.
    pub ramp_increase: Option<u32>,
    /// DKIM selector, when signing.
    pub dkim_selector: Option<String>,
    /// DKIM signing domain (default: the from address's domain).
    pub dkim_domain: Option<String>,
}

impl AccountFields {
    /// An account `name` sending as `from_name <from_address>` over `transport`, with every
    /// optional setting unset: no server details, reply-to, caps, ramp-up or DKIM.
    pub fn new(
        name: impl Into<String>,
        transport: Transport,
        from_name: impl Into<String>,
        from_address: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            transport,
            host: None,
            port: None,
            security: None,
            username: None,
            api_base_url: None,
            from_name: from_name.into(),
            from_address: from_address.into(),
            reply_to: None,
            per_minute_cap: None,
            hourly_cap: None,
            daily_cap: None,
            ramp_start: None,
            ramp_increase: None,
            dkim_selector: None,
            dkim_domain: None,
        }
    }
}

/// A stored sender account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SenderAccount {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Its workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Its settings.
    pub fields: AccountFields,
    /// Whether a password or API key is in the keychain.
    pub has_secret: bool,
    /// Whether a DKIM private key is in the keychain.
    pub has_dkim_key: bool,
    /// Created (ISO 8601).
    pub created_at: String,
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Template {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Its workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Unique name in the workspace.
    pub name: String,
    /// Subject line (template text).
    pub subject: String,
    /// Body (template text).
    pub body: String,
    /// Last change (ISO 8601).
    pub updated_at: String,
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being written; nothing is sent.
    Draft,
    /// The engine sends its due steps.
    Running,
    /// Held: nothing is sent; messages not yet tried are written again when it resumes.
    Paused,
    /// Ended by a person; queued messages were cancelled.
    Stopped,
    /// Every enrolment has finished.
    Completed,
}

impl CampaignStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
            Self::Completed => "completed",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Draft,
            Self::Running,
            Self::Paused,
            Self::Stopped,
            Self::Completed,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// When a follow-up step goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepCondition {
    /// Whatever happened.
    Always,
    /// Only if the prospect has not replied since enrolment.
    NoReply,
}

impl StepCondition {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::NoReply => "no_reply",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Always, Self::NoReply]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// The longest a step may wait after the previous one: about a year of business days. A
/// longer delay is a typo (4,000,000 for 4), which would otherwise only show when the engine
/// cannot work out the step's date.
pub const MAX_STEP_DELAY_BUSINESS_DAYS: u32 = 260;

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Step {
    /// Business days after the previous step (or after the start, for the first).
    pub delay_business_days: u32,
    /// When it goes out.
    pub condition: StepCondition,
    /// Template ids: one, or several for an A/B test (variant A, B, ... in this order).
    #[ts(type = "number[]")]
    pub template_ids: Vec<i64>,
}

impl Step {
    /// Which of the step's templates (an index into `template_ids`) an enrolment with A/B
    /// label `variant` gets: its own letter's, or the first when the step has fewer variants.
    pub fn variant_index(&self, variant: &str) -> usize {
        let i = variant
            .bytes()
            .next()
            .map_or(0, |b| usize::from(b.saturating_sub(b'A')));
        if i < self.template_ids.len() { i } else { 0 }
    }
}

/// A campaign's editable settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CampaignFields {
    /// Unique name in the workspace.
    pub name: String,
    /// The sender account.
    #[ts(type = "number | null")]
    pub account_id: Option<i64>,
    /// When messages may go out, in each prospect's time zone.
    pub window: crate::schedule::SendWindow,
    /// At most this many of this campaign's messages in any 24 hours.
    pub daily_cap: Option<u32>,
    /// Random gap between two sends: at least this many seconds.
    pub min_gap_seconds: u32,
    /// Random gap between two sends: at most this many seconds.
    pub max_gap_seconds: u32,
    /// The sequence.
    pub steps: Vec<Step>,
    /// What answers a prospect who replies with interest.
    #[serde(default)]
    pub positive_follow_up: PositiveFollowUp,
}

/// How a campaign's positive follow-up reaches an interested prospect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PositiveMode {
    /// Prepared as a draft in the inbox; a person reads, edits and sends it.
    #[default]
    Draft,
    /// Queued at once, within the campaign's send window and caps.
    Queue,
}

impl PositiveMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Queue => "queue",
        }
    }

    /// The mode with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Queue]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The answer to an interested reply: the sequence stops, and this template (rendered for
/// the prospect, as an answer in the same thread) is drafted or queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PositiveFollowUp {
    /// The template; none leaves a plain draft to write.
    #[ts(type = "number | null")]
    pub template_id: Option<i64>,
    /// Drafted for approval or queued.
    pub mode: PositiveMode,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Campaign {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Its workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Status.
    pub status: CampaignStatus,
    /// Settings and sequence.
    pub fields: CampaignFields,
    /// When it was first started (ISO 8601).
    pub started_at: Option<String>,
    /// Created (ISO 8601).
    pub created_at: String,
}

/// An outbox message's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Waiting for its time, the caps, or the network.
    Queued,
    /// Handed to the transport by a running engine.
    Sending,
    /// Accepted by the server.
    Sent,
    /// Refused for good.
    Failed,
    /// The recipient address does not exist.
    Bounced,
    /// The engine stopped while sending it: it may or may not have gone out. A person decides.
    Unconfirmed,
    /// Withdrawn before sending (campaign stopped, prospect opted out).
    Cancelled,
}

impl MessageStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Bounced => "bounced",
            Self::Unconfirmed => "unconfirmed",
            Self::Cancelled => "cancelled",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sending,
            Self::Sent,
            Self::Failed,
            Self::Bounced,
            Self::Unconfirmed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// What a person decides about an unconfirmed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UnconfirmedChoice {
    /// It went out (e.g. it is in the Sent folder): record it as sent.
    MarkSent,
    /// It did not: queue it again.
    Resend,
    /// Do not send it; the sequence goes on.
    Cancel,
}

/// The workspace's legitimate-interest assessment (GDPR Art. 6(1)(f)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LegitimateInterestAssessment {
    /// Why the workspace contacts these people.
    pub purpose: String,
    /// Why contacting them is necessary for that purpose.
    pub necessity: String,
    /// Why the people's interests do not override it.
    pub balancing: String,
    /// Date of the assessment (YYYY-MM-DD).
    pub assessed_on: String,
    /// Who made it.
    pub author: String,
}

/// Workspace settings that govern sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SendingSettings {
    /// IANA time zone used when a prospect's own zone is unknown.
    pub time_zone: String,
    /// ISO country codes whose recipients must have consented before B2B email.
    pub consent_only_countries: Vec<String>,
    /// HTTPS endpoint for one-click unsubscribe (RFC 8058), if the workspace runs one.
    pub unsubscribe_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_label_gets_its_own_variant_or_the_first_when_the_step_has_fewer() {
        let step = Step {
            delay_business_days: 0,
            condition: StepCondition::Always,
            template_ids: vec![10, 20],
        };
        assert_eq!(step.variant_index("A"), 0);
        assert_eq!(step.variant_index("B"), 1);
        assert_eq!(step.variant_index("C"), 0);
        assert_eq!(step.variant_index(""), 0);
    }
}

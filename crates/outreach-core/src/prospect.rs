//! The vocabulary of a prospect's life cycle, shared by the store, the API and the UI.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a prospect stands in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProspectStatus {
    /// Imported, not yet qualified.
    New,
    /// Scored at or above the workspace threshold.
    Qualified,
    /// Ruled out by a person.
    Disqualified,
    /// At least one message went out.
    Contacted,
    /// Answered at least once.
    Replied,
    /// Answered with interest.
    Interested,
    /// Became a partner.
    Converted,
    /// Declined.
    NotInterested,
    /// Asked not to be contacted again.
    Unsubscribed,
    /// Their address bounced hard.
    Bounced,
}

impl ProspectStatus {
    /// Every status, in funnel order.
    pub const ALL: [ProspectStatus; 10] = [
        Self::New,
        Self::Qualified,
        Self::Disqualified,
        Self::Contacted,
        Self::Replied,
        Self::Interested,
        Self::Converted,
        Self::NotInterested,
        Self::Unsubscribed,
        Self::Bounced,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Qualified => "qualified",
            Self::Disqualified => "disqualified",
            Self::Contacted => "contacted",
            Self::Replied => "replied",
            Self::Interested => "interested",
            Self::Converted => "converted",
            Self::NotInterested => "not_interested",
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Why a person may not move a prospect from this status to `to` by hand (a review's
    /// outcome, a correction), or `None` when they may. `objected`: the prospect opted out.
    ///
    /// `Unsubscribed` is what an opt-out records, together with the objection in their consent
    /// history and the suppression of their address; set alone it would look like an opt-out
    /// without being one. And someone who opted out stays `Unsubscribed`: any other status
    /// would hide an objection that still stands.
    pub fn refuse_by_hand(self, to: Self, objected: bool) -> Option<&'static str> {
        if to == self {
            None
        } else if objected {
            Some("they opted out, so their status stays unsubscribed")
        } else {
            to.refused_as_hand_target()
        }
    }

    /// Why nobody may be given this status by hand, whatever they have now (see
    /// [`ProspectStatus::refuse_by_hand`]).
    pub fn refused_as_hand_target(self) -> Option<&'static str> {
        (self == Self::Unsubscribed).then_some(
            "to unsubscribe someone, opt them out: that records their objection and keeps their address from every campaign",
        )
    }

    /// The status a scoring run moves a prospect to, or `None` to leave it alone.
    ///
    /// Scoring only moves prospects between `new` and `qualified`: once a person or a campaign
    /// has acted on a prospect, a score must not overwrite that decision.
    pub fn after_scoring(self, qualified: bool) -> Option<Self> {
        match (self, qualified) {
            (Self::New, true) => Some(Self::Qualified),
            (Self::Qualified, false) => Some(Self::New),
            _ => None,
        }
    }
}

/// The GDPR lawful basis on which a prospect may be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LawfulBasis {
    /// None recorded: nobody may be contacted.
    None,
    /// Recorded consent with its evidence.
    Consent,
    /// Legitimate interest under the workspace's assessment.
    LegitimateInterest,
}

impl LawfulBasis {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Consent => "consent",
            Self::LegitimateInterest => "legitimate_interest",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Consent, Self::LegitimateInterest]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribed_is_reached_by_an_opt_out_only_and_kept_after_one() {
        use ProspectStatus::*;
        assert_eq!(New.refuse_by_hand(Qualified, false), None);
        assert_eq!(Contacted.refuse_by_hand(Converted, false), None);
        assert!(New.refuse_by_hand(Unsubscribed, false).is_some());
        assert!(Unsubscribed.refuse_by_hand(Qualified, true).is_some());
        assert_eq!(Unsubscribed.refuse_by_hand(Unsubscribed, true), None);
        // Set by hand before this rule, without an objection: may be corrected.
        assert_eq!(Unsubscribed.refuse_by_hand(New, false), None);
    }

    #[test]
    fn each_audit_topic_is_one_or_two_dotted_prefixes_that_no_other_topic_shares() {
        use AuditTopic::*;
        let topics = [
            Prospects, Consent, Campaigns, Sending, Replies, Accounts, Workspace,
        ];
        let all: Vec<&str> = topics
            .iter()
            .flat_map(|t| t.action_prefixes().iter().copied())
            .collect();
        for topic in topics {
            let prefixes = topic.action_prefixes();
            assert!((1..=2).contains(&prefixes.len()), "{topic:?}");
            assert!(prefixes.iter().all(|p| p.ends_with('.')), "{topic:?}");
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!a.starts_with(b) && !b.starts_with(a), "{a} and {b}");
            }
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in ProspectStatus::ALL {
            assert_eq!(ProspectStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ProspectStatus::parse("Qualified"), None);
    }

    #[test]
    fn scoring_only_moves_between_new_and_qualified() {
        use ProspectStatus::*;
        assert_eq!(New.after_scoring(true), Some(Qualified));
        assert_eq!(Qualified.after_scoring(false), Some(New));
        assert_eq!(New.after_scoring(false), None);
        assert_eq!(Contacted.after_scoring(true), None);
        assert_eq!(Unsubscribed.after_scoring(true), None);
        assert_eq!(Disqualified.after_scoring(true), None);
    }
}

/// A prospect as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Prospect {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Owning workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Normalised e-mail address.
    pub email: Option<String>,
    /// The e-mail address as first imported.
    pub email_original: Option<String>,
    /// E-mail domain (or website host when there is no e-mail).
    pub domain: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// X handle without `@`.
    pub x_handle: Option<String>,
    /// LinkedIn profile URL.
    pub linkedin_url: Option<String>,
    /// Instagram handle.
    pub instagram: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Country or location.
    pub country: Option<String>,
    /// IANA time zone the send window is read in (`Europe/Berlin`); when unset, the country's
    /// zone or the workspace's default.
    pub time_zone: Option<String>,
    /// Follower count.
    #[ts(type = "number | null")]
    pub followers: Option<i64>,
    /// Notes.
    pub notes: Option<String>,
    /// Where the prospect came from.
    pub source_type: crate::SourceType,
    /// The file imported from, if any.
    pub source_file: Option<String>,
    /// When the data was collected (ISO 8601).
    pub collected_at: String,
    /// Funnel status.
    pub status: ProspectStatus,
    /// Latest score, 0 to 100.
    pub score: Option<u8>,
    /// Why the prospect got that score.
    pub score_breakdown: Option<crate::scoring::ScoreBreakdown>,
    /// GDPR lawful basis.
    pub lawful_basis: LawfulBasis,
    /// Whether consent is recorded.
    pub consent_given: bool,
    /// When they objected to direct marketing or opted out (GDPR Art. 21; ISO 8601). No
    /// campaign reaches them after, whatever their status or address becomes.
    pub objection_at: Option<String>,
    /// When they last replied (ISO 8601): their retention period runs from then.
    pub last_inbound_at: Option<String>,
    /// Created (ISO 8601).
    pub created_at: String,
    /// Last changed (ISO 8601).
    pub updated_at: String,
    /// Soft-deleted at (ISO 8601), if deleted.
    pub deleted_at: Option<String>,
    /// Columns of the source kept as custom fields, by variable name (`last_post`).
    #[ts(type = "Record<string, string>")]
    pub custom_fields: std::collections::BTreeMap<String, String>,
}

impl Prospect {
    /// The name to show: first and last name, else the e-mail, handle or profile.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return name;
        }
        self.email
            .clone()
            .or_else(|| self.x_handle.as_ref().map(|h| format!("@{h}")))
            .or_else(|| self.linkedin_url.clone())
            .unwrap_or_else(|| format!("Prospect {}", self.id))
    }
}

/// A client of the agency: its own prospects, settings and legal identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Workspace {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The postal address every message carries.
    pub postal_address: String,
    /// Legal notice text (imprint, GDPR controller details).
    pub legal_notice: String,
    /// Scoring weights and threshold.
    pub scoring: crate::scoring::ScoringConfig,
    /// Months a prospect is kept after their last reply, or after being added.
    pub retention_months: u16,
    /// Created (ISO 8601).
    pub created_at: String,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditEntry {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Workspace, if the action belongs to one.
    #[ts(type = "number | null")]
    pub workspace_id: Option<i64>,
    /// When (ISO 8601).
    pub at: String,
    /// Who: `app`, `cli` or `system`.
    pub actor: String,
    /// What kind of action, e.g. `prospects.import`.
    pub action: String,
    /// One sentence for people.
    pub summary: String,
    /// Machine-readable details (JSON).
    pub details: Option<serde_json::Value>,
    /// The one prospect the entry is about, if it is about one (an entry about many lists
    /// them apart).
    #[ts(type = "number | null")]
    pub prospect_id: Option<i64>,
}

/// Who acted, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AuditActor {
    /// A person using the desktop app.
    App,
    /// A person or script using the `outreach` command line.
    Cli,
    /// The application itself: the engine, migrations, scheduled work.
    System,
}

impl AuditActor {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }
}

/// What an audit entry is about, for filtering the log: each topic is a set of actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AuditTopic {
    /// Imports, edits, scoring, deletion, erasure, exports of personal data.
    Prospects,
    /// Lawful basis, consent, objections, opt-outs, the legitimate-interest assessment.
    Consent,
    /// Campaigns, their steps, enrolments and templates.
    Campaigns,
    /// Messages sent, refused, failed, bounced or unconfirmed, and what was decided about them.
    Sending,
    /// Replies read, relabelled and answered, and the referrals in them.
    Replies,
    /// Sender accounts and their reply mailboxes.
    Accounts,
    /// The workspace's own settings, retention and deletion.
    Workspace,
}

impl AuditTopic {
    /// The action names (up to and with their dot) that belong to the topic: one or two, each
    /// ending in `.` (the store turns them into ranges of names).
    pub fn action_prefixes(self) -> &'static [&'static str] {
        match self {
            Self::Prospects => &["prospect.", "prospects."],
            Self::Consent => &["consent."],
            Self::Campaigns => &["campaign.", "template."],
            Self::Sending => &["send."],
            Self::Replies => &["reply.", "referral."],
            Self::Accounts => &["account."],
            Self::Workspace => &["workspace.", "settings."],
        }
    }
}

//! Who is in a campaign and where each of them stands (the list behind the progress view's
//! people figures), and the campaigns a prospect is in.

use outreach_core::campaign::CampaignStatus;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::campaigns::read_campaign_status;
use crate::error::corrupt;
use crate::{Store, StoreError};

/// Where an enrolment stands, as the engine records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentState {
    /// Its next step is to be scheduled.
    Active,
    /// Its next step's message is in the outbox.
    Waiting,
    /// Every step went out.
    Completed,
    /// A human reply stopped it.
    Replied,
    /// Stopped: the prospect opted out, or the campaign was stopped.
    Stopped,
    /// The compliance gate refused a step.
    Blocked,
    /// A message failed for good or bounced.
    Failed,
}

impl EnrolmentState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Waiting => "waiting",
            Self::Completed => "completed",
            Self::Replied => "replied",
            Self::Stopped => "stopped",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
        }
    }

    /// Every state.
    pub const ALL: [Self; 7] = [
        Self::Active,
        Self::Waiting,
        Self::Completed,
        Self::Replied,
        Self::Stopped,
        Self::Blocked,
        Self::Failed,
    ];

    /// The stored name read back.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// A stored name read back; anything else means the file was changed behind our back.
    pub(crate) fn read(s: &str) -> Result<Self, StoreError> {
        Self::parse(s).ok_or_else(|| corrupt(format!("enrolment state '{s}'")))
    }

    /// The group the progress view counts it in.
    pub fn group(self) -> EnrolmentGroup {
        match self {
            Self::Active | Self::Waiting => EnrolmentGroup::Active,
            Self::Completed => EnrolmentGroup::Completed,
            Self::Replied => EnrolmentGroup::Replied,
            Self::Stopped | Self::Blocked | Self::Failed => EnrolmentGroup::Stopped,
        }
    }
}

/// The groups the progress view counts people in
/// ([`CampaignProgress`](crate::campaigns::CampaignProgress)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentGroup {
    /// Their next step is still to come.
    Active,
    /// Every step went out.
    Completed,
    /// A reply stopped their sequence.
    Replied,
    /// Ended early for another reason.
    Stopped,
}

impl EnrolmentGroup {
    /// The states the group is made of.
    pub fn states(self) -> Vec<EnrolmentState> {
        EnrolmentState::ALL
            .into_iter()
            .filter(|s| s.group() == self)
            .collect()
    }

    /// The name a command line takes.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "completed" => Some(Self::Completed),
            "replied" => Some(Self::Replied),
            "stopped" => Some(Self::Stopped),
            _ => None,
        }
    }
}

/// An enrolled prospect and where they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EnrolmentSummary {
    /// Enrolment id.
    #[ts(type = "number")]
    pub id: i64,
    /// The prospect.
    #[ts(type = "number")]
    pub prospect_id: i64,
    /// Their name as the app shows it.
    pub name: String,
    /// Their address.
    pub email: Option<String>,
    /// Where the enrolment stands.
    pub state: EnrolmentState,
    /// The step to come next (1-based); past the last step once the sequence is over.
    #[ts(type = "number")]
    pub next_position: i64,
    /// When that step falls due (ISO 8601), if it is scheduled.
    pub next_run_at: Option<String>,
    /// Their A/B variant.
    pub variant: String,
    /// Why it ended early, as recorded ("opted out", the gate's reason, the server's error).
    pub reason: Option<String>,
    /// When it last changed (ISO 8601).
    pub updated_at: String,
}

/// A campaign a prospect is enrolled in, and where they stand in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProspectEnrolment {
    /// The campaign.
    #[ts(type = "number")]
    pub campaign_id: i64,
    /// Its name.
    pub campaign_name: String,
    /// Its status.
    pub campaign_status: CampaignStatus,
    /// Whether the campaign is in the trash (its history with the prospect stays).
    pub campaign_in_trash: bool,
    /// Where the enrolment stands.
    pub state: EnrolmentState,
    /// The step to come next (1-based); past the last step once the sequence is over.
    #[ts(type = "number")]
    pub next_position: i64,
    /// When that step falls due (ISO 8601), if it is scheduled.
    pub next_run_at: Option<String>,
    /// Why it ended early, as recorded.
    pub reason: Option<String>,
    /// When it last changed (ISO 8601).
    pub updated_at: String,
}

impl Store {
    /// The campaigns a prospect is enrolled in, the latest enrolled first.
    pub async fn prospect_enrolments(
        &self,
        prospect_id: i64,
    ) -> Result<Vec<ProspectEnrolment>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT e.campaign_id, c.name AS campaign_name, c.status AS campaign_status,
                   c.deleted_at IS NOT NULL AS "campaign_in_trash!: bool", e.state,
                   e.next_position, e.next_run_at, e.reason, e.updated_at
               FROM enrollments e JOIN campaigns c ON c.id = e.campaign_id
               WHERE e.prospect_id = ?
               ORDER BY e.id DESC"#,
            prospect_id
        )
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ProspectEnrolment {
                    campaign_id: r.campaign_id,
                    campaign_name: r.campaign_name,
                    campaign_status: read_campaign_status(&r.campaign_status)?,
                    campaign_in_trash: r.campaign_in_trash,
                    state: EnrolmentState::read(&r.state)?,
                    next_position: r.next_position,
                    next_run_at: r.next_run_at,
                    reason: r.reason,
                    updated_at: r.updated_at,
                })
            })
            .collect()
    }

    /// A campaign's enrolments, of one group or all, the latest changed first.
    pub async fn list_enrolments(
        &self,
        campaign_id: i64,
        group: Option<EnrolmentGroup>,
        limit: i64,
    ) -> Result<Vec<EnrolmentSummary>, StoreError> {
        let states = group.map(|g| {
            let names: Vec<&str> = g.states().iter().map(|s| s.as_str()).collect();
            serde_json::Value::from(names).to_string()
        });
        let rows = sqlx::query!(
            r#"SELECT e.id AS "id!", e.prospect_id,
                   coalesce(nullif(trim(coalesce(p.first_name, '') || ' ' ||
                       coalesce(p.last_name, '')), ''), p.email, 'prospect #' || p.id)
                       AS "name!: String",
                   p.email, e.state, e.next_position, e.next_run_at, e.variant, e.reason,
                   e.updated_at
               FROM enrollments e JOIN prospects p ON p.id = e.prospect_id
               WHERE e.campaign_id = ?1
                 AND (?2 IS NULL OR e.state IN (SELECT value FROM json_each(?2)))
               ORDER BY e.updated_at DESC, e.id DESC LIMIT ?3"#,
            campaign_id,
            states,
            limit
        )
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(EnrolmentSummary {
                    id: r.id,
                    prospect_id: r.prospect_id,
                    name: r.name,
                    email: r.email,
                    state: EnrolmentState::read(&r.state)?,
                    next_position: r.next_position,
                    next_run_at: r.next_run_at,
                    variant: r.variant,
                    reason: r.reason,
                    updated_at: r.updated_at,
                })
            })
            .collect()
    }
}

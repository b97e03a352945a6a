//! Everything the workspace holds about one person, gathered for their rights of access and
//! portability (GDPR Art. 15 and 20): their details, consent history, campaigns, the messages
//! sent to them with their text, their replies, the answers drafted to them, and what was done
//! with their data (the audit entries about them).

use outreach_core::campaign::MessageStatus;
use outreach_core::inbox::{Reply, ReplyDraft};
use outreach_core::prospect::{AuditEntry, Prospect};
use serde::Serialize;

use crate::consent::ConsentEvent;
use crate::enrolments::ProspectEnrolment;
use crate::error::corrupt;
use crate::replies::ReplyFilter;
use crate::{Store, StoreError};

/// A person's record, as they may ask for it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonalData {
    /// Their details, score and its explanation, lawful basis.
    pub prospect: Prospect,
    /// Lawful-basis changes, consents, withdrawals, objections and opt-outs, oldest first.
    pub consent_history: Vec<ConsentEvent>,
    /// The campaigns they are or were in, and where they stand.
    pub campaigns: Vec<ProspectEnrolment>,
    /// Messages to them, sent or not, oldest first.
    pub messages: Vec<MessageToThem>,
    /// What they wrote back, oldest first.
    pub replies: Vec<Reply>,
    /// Answers written to their replies, sent or not (a sent one is also among `messages`).
    pub drafted_answers: Vec<ReplyDraft>,
    /// What was done with their data, by whom and when: the audit entries about them, oldest
    /// first (entries written before a version of 2026-12 are included where they named them).
    pub activity: Vec<AuditEntry>,
}

/// A message to the person, with its text.
#[derive(Debug, Clone, Serialize)]
pub struct MessageToThem {
    /// Row id.
    pub id: i64,
    /// The campaign it belongs to; none for an answer to a reply.
    pub campaign: Option<String>,
    /// The campaign step (1-based).
    pub step_position: Option<i64>,
    /// The address it went to.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// The text as rendered for them.
    pub body: String,
    /// Where it stands.
    pub status: MessageStatus,
    /// Written (ISO 8601).
    pub created_at: String,
    /// Sent (ISO 8601).
    pub sent_at: Option<String>,
}

impl Store {
    /// What the workspace holds about the prospect, in the trash or not.
    pub async fn personal_data(&self, prospect_id: i64) -> Result<PersonalData, StoreError> {
        let prospect = self.prospect(prospect_id).await?;
        let rows = sqlx::query!(
            r#"SELECT m.id AS "id!", c.name AS "campaign?", m.step_position, m.to_address,
                   m.subject, coalesce(b.body, '') AS "body!: String", m.status,
                   m.created_at, m.sent_at
               FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id
                    LEFT JOIN message_bodies b ON b.message_id = m.id
               WHERE m.prospect_id = ? ORDER BY m.id"#,
            prospect_id
        )
        .fetch_all(self.readers())
        .await?;
        let messages = rows
            .into_iter()
            .map(|r| {
                Ok(MessageToThem {
                    status: MessageStatus::parse(&r.status).ok_or_else(|| {
                        corrupt(format!("message #{}: status {}", r.id, r.status))
                    })?,
                    id: r.id,
                    campaign: r.campaign,
                    step_position: r.step_position,
                    to_address: r.to_address,
                    subject: r.subject,
                    body: r.body,
                    created_at: r.created_at,
                    sent_at: r.sent_at,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let mut replies = self
            .list_replies(
                prospect.workspace_id,
                &ReplyFilter {
                    prospect_id: Some(prospect_id),
                    limit: i64::MAX,
                    ..Default::default()
                },
            )
            .await?;
        replies.reverse();
        let mut drafted_answers = Vec::new();
        for reply in &replies {
            drafted_answers.extend(self.reply_drafts(reply.id).await?);
        }
        Ok(PersonalData {
            drafted_answers,
            activity: self.audit_of_prospect(prospect_id).await?,
            consent_history: self.consent_history(prospect_id).await?,
            campaigns: self.prospect_enrolments(prospect_id).await?,
            messages,
            replies,
            prospect,
        })
    }
}

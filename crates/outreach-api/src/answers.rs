//! Answering replies from the inbox: a draft per reply, saved as the person writes, sent
//! through the outbox behind the same compliance gate as every campaign step.

use outreach_core::inbox::ReplyDraft;
use outreach_engine::answers::{AnswerOutcome, WrittenAnswer, send_answer};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::events::ChangedEntity;
use crate::{Api, ApiError, ErrorCode, ReplyRef};

/// An answer as written.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct WriteAnswer {
    /// The draft (from `open_answer`).
    #[ts(type = "number")]
    pub draft_id: i64,
    /// Subject.
    pub subject: String,
    /// Text; the opt-out line and postal address are added when it lacks them.
    pub body: String,
    /// Send it from this sender account of the workspace instead of the draft's (at first
    /// the one the reply came in through); `null` keeps the draft's.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub account_id: Option<i64>,
}

/// A draft.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DraftRef {
    /// Its id.
    #[ts(type = "number")]
    pub draft_id: i64,
}

impl Api {
    /// The reply's answers: those sent (with their outbox status) and the draft being
    /// written, oldest first.
    pub async fn reply_answers(&self, args: ReplyRef) -> Result<Vec<ReplyDraft>, ApiError> {
        Ok(self.store.reply_drafts(args.reply_id).await?)
    }

    /// The reply's draft being written, or a new one ("Re: " and its subject, no text).
    pub async fn open_answer(&self, args: ReplyRef) -> Result<ReplyDraft, ApiError> {
        Ok(self.store.open_draft(args.reply_id).await?)
    }

    /// Saves a draft without sending it.
    pub async fn save_answer(&self, args: WriteAnswer) -> Result<ReplyDraft, ApiError> {
        Ok(self
            .store
            .save_draft(args.draft_id, &args.subject, &args.body, args.account_id)
            .await?)
    }

    /// Saves and sends a draft: the compliance gate checks it, then it waits in the outbox
    /// and goes out within the sender account's caps, in the reply's thread. A refusal keeps
    /// the draft and says why (`compliance_refused`); a draft sent before is a conflict.
    pub async fn send_answer(&self, args: WriteAnswer) -> Result<ReplyDraft, ApiError> {
        let outcome = send_answer(
            &self.store,
            &self.keys,
            WrittenAnswer {
                draft_id: args.draft_id,
                subject: &args.subject,
                body: &args.body,
                from: args.account_id,
            },
            self.config.actor(),
        )
        .await?;
        match outcome {
            AnswerOutcome::Queued(draft) => {
                let reply = self.store.reply(draft.reply_id).await?;
                self.changed(Some(reply.workspace_id), ChangedEntity::Replies);
                Ok(draft)
            }
            AnswerOutcome::Refused(refusal) => Err(ApiError::new(
                ErrorCode::ComplianceRefused,
                format!("Not sent: {}", refusal.reason),
            )),
        }
    }

    /// Throws a draft away.
    pub async fn discard_answer(&self, args: DraftRef) -> Result<ReplyDraft, ApiError> {
        Ok(self.store.discard_draft(args.draft_id).await?)
    }
}

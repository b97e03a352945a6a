//! Answers to replies: drafts a person writes (or the app prepares) in the inbox, and the
//! outbox messages they become once sent. An answer is a message like any other: it waits
//! in the outbox, within the account's caps, and is never sent twice. It belongs to no
//! campaign, so that it goes out whether or not the campaign that started the conversation
//! is still running.

use outreach_core::inbox::{DraftState, ReplyDraft};

use crate::audit::{About, record_about};
use crate::{Actor, Store, StoreError};

/// An answer rendered and checked, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerMessage {
    /// The sender account it was written for: its Message-ID and lines name that account.
    pub account_id: i64,
    /// RFC 5322 Message-ID without angle brackets, fixed before the first attempt.
    pub message_id: String,
    /// Recipient address.
    pub to_address: String,
    /// Recipient name.
    pub to_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// The body as sent (compliance lines included).
    pub body: String,
    /// The recipient's unsubscribe token.
    pub unsubscribe_token: String,
    /// Not before (ISO 8601 UTC).
    pub due_at: String,
    /// The Message-ID of the reply it answers.
    pub in_reply_to: Option<String>,
}

/// What an answer needs to know of the reply it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredReply {
    /// The reply.
    pub reply_id: i64,
    /// Its workspace.
    pub workspace_id: i64,
    /// The prospect who wrote it.
    pub prospect_id: i64,
    /// The account it arrived at, which the answer goes out from.
    pub account_id: i64,
    /// Its Message-ID, for threading.
    pub rfc_message_id: Option<String>,
    /// Its subject.
    pub subject: String,
}

struct DraftRow {
    id: i64,
    reply_id: i64,
    prospect_id: i64,
    account_id: i64,
    subject: String,
    body: String,
    state: String,
    outbox_id: Option<i64>,
    message_status: Option<String>,
    message_error: Option<String>,
    sent_at: Option<String>,
    updated_at: String,
}

impl TryFrom<DraftRow> for ReplyDraft {
    type Error = StoreError;
    fn try_from(r: DraftRow) -> Result<Self, StoreError> {
        Ok(ReplyDraft {
            id: r.id,
            reply_id: r.reply_id,
            prospect_id: r.prospect_id,
            account_id: r.account_id,
            subject: r.subject,
            body: r.body,
            state: DraftState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("draft state '{}'", r.state)))?,
            outbox_id: r.outbox_id,
            message_status: r.message_status,
            message_error: r.message_error,
            sent_at: r.sent_at,
            updated_at: r.updated_at,
        })
    }
}

/// The subject of an answer: the reply's, with one "Re: ".
pub fn answer_subject(subject: &str) -> String {
    let trimmed = subject.trim();
    // `get`, not indexing: the third byte may fall inside a character ("ab€").
    if trimmed
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("re:"))
    {
        trimmed.to_string()
    } else {
        format!("Re: {trimmed}")
    }
}

impl Store {
    /// What an answer to reply `reply_id` needs to know of it.
    pub async fn answered_reply(&self, reply_id: i64) -> Result<AnsweredReply, StoreError> {
        answered_reply(self.readers(), reply_id).await
    }

    /// One answer.
    pub async fn reply_draft(&self, id: i64) -> Result<ReplyDraft, StoreError> {
        sqlx::query_as!(
            DraftRow,
            r#"SELECT d.id AS "id!", d.reply_id, d.prospect_id, d.account_id, d.subject, d.body,
                   d.state, d.outbox_id, m.status AS "message_status?",
                   m.last_error AS "message_error?", m.sent_at AS "sent_at?", d.updated_at
               FROM reply_drafts d LEFT JOIN messages m ON m.id = d.outbox_id
               WHERE d.id = ?"#,
            id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("draft {id}")))?
        .try_into()
    }

    /// The answers to a reply, oldest first (discarded ones left out).
    pub async fn reply_drafts(&self, reply_id: i64) -> Result<Vec<ReplyDraft>, StoreError> {
        sqlx::query_as!(
            DraftRow,
            r#"SELECT d.id AS "id!", d.reply_id, d.prospect_id, d.account_id, d.subject, d.body,
                   d.state, d.outbox_id, m.status AS "message_status?",
                   m.last_error AS "message_error?", m.sent_at AS "sent_at?", d.updated_at
               FROM reply_drafts d LEFT JOIN messages m ON m.id = d.outbox_id
               WHERE d.reply_id = ? AND d.state != 'discarded'
               ORDER BY d.id"#,
            reply_id
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    /// The reply's draft being written, or a new empty one: the answer a person opens in the
    /// inbox. There is at most one draft per reply at a time.
    pub async fn open_draft(&self, reply_id: i64) -> Result<ReplyDraft, StoreError> {
        let mut tx = self.begin_write().await?;
        // Read in the write: an erasure may have taken the reply while this waited for it.
        let reply = answered_reply(&mut *tx, reply_id).await?;
        let existing = sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM reply_drafts WHERE reply_id = ? AND state = 'draft'
               ORDER BY id DESC LIMIT 1"#,
            reply_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                let subject = answer_subject(&reply.subject);
                sqlx::query_scalar!(
                    r#"INSERT INTO reply_drafts (workspace_id, reply_id, prospect_id, account_id,
                           subject, body) VALUES (?, ?, ?, ?, ?, '') RETURNING id AS "id!""#,
                    reply.workspace_id,
                    reply_id,
                    reply.prospect_id,
                    reply.account_id,
                    subject
                )
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        self.reply_draft(id).await
    }

    /// Saves what a person wrote and, with `from`, the sender account the answer goes out
    /// from instead (any live account of the draft's workspace: the one the reply came in
    /// through may have been removed since). Only a draft can change: an answer in the outbox
    /// is final.
    pub async fn save_draft(
        &self,
        id: i64,
        subject: &str,
        body: &str,
        from: Option<i64>,
    ) -> Result<ReplyDraft, StoreError> {
        let mut tx = self.begin_write().await?;
        let draft = changeable_draft(&mut tx, id).await?;
        let account_id = match from {
            Some(a) if a != draft.account_id => {
                let account = sqlx::query!(
                    r#"SELECT workspace_id, name, deleted_at IS NOT NULL AS "removed!: bool"
                       FROM sender_accounts WHERE id = ?"#,
                    a
                )
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("sender account #{a}")))?;
                if account.workspace_id != draft.workspace_id {
                    return Err(StoreError::Invalid(format!(
                        "sender account '{}' belongs to another workspace",
                        account.name
                    )));
                }
                if account.removed {
                    return Err(StoreError::Conflict(format!(
                        "sender account '{}' was removed; choose another",
                        account.name
                    )));
                }
                a
            }
            _ => draft.account_id,
        };
        sqlx::query!(
            "UPDATE reply_drafts SET subject = ?, body = ?, account_id = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            subject,
            body,
            account_id,
            id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reply_draft(id).await
    }

    /// Throws a draft away (kept for the record, no longer shown).
    pub async fn discard_draft(&self, id: i64) -> Result<ReplyDraft, StoreError> {
        let changed = sqlx::query!(
            "UPDATE reply_drafts SET state = 'discarded',
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND state = 'draft'",
            id
        )
        .execute(self.writer())
        .await?
        .rows_affected();
        let draft = self.reply_draft(id).await?;
        if changed == 0 {
            return Err(not_a_draft(draft.state));
        }
        Ok(draft)
    }

    /// Hands a draft to the outbox as `message`, in one transaction: the message row (its
    /// idempotency key is the draft, so the same draft can never be queued twice), the
    /// draft's final text and state, the reply answered, and the audit entry.
    pub async fn queue_draft(
        &self,
        id: i64,
        message: &AnswerMessage,
        actor: Actor,
    ) -> Result<ReplyDraft, StoreError> {
        let mut tx = self.begin_write().await?;
        let draft = changeable_draft(&mut tx, id).await?;
        // Written for the draft's account as it was read before this write: another window
        // or process may have changed the account, or removed it, since.
        if draft.account_id != message.account_id {
            return Err(StoreError::Conflict(
                "the answer's sender account changed while it was being sent; send it again".into(),
            ));
        }
        if crate::accounts::live_account_workspace(&mut tx, message.account_id)
            .await
            .is_err()
        {
            return Err(StoreError::Conflict(
                "the answer's sender account was removed; choose another one to send it from"
                    .into(),
            ));
        }
        let key = format!("draft:{id}");
        let row = insert_answer(
            &mut tx,
            &NewAnswer {
                workspace_id: draft.workspace_id,
                prospect_id: draft.prospect_id,
                idempotency_key: &key,
            },
            message,
        )
        .await?
        .map_err(|why| {
            StoreError::Conflict(format!(
                "the answer was not queued: {why} while it was being checked"
            ))
        })?;
        sqlx::query!(
            "UPDATE reply_drafts SET state = 'queued', outbox_id = ?, subject = ?, body = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            row,
            message.subject,
            message.body,
            id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE replies SET needs_reply = 0,
                 read_at = coalesce(read_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             WHERE id = ?",
            draft.reply_id
        )
        .execute(&mut *tx)
        .await?;
        record_about(
            &mut tx,
            Some(draft.workspace_id),
            About::One(draft.prospect_id),
            actor,
            "reply.answer_queued",
            &format!(
                "answer to reply #{} queued as message #{row}",
                draft.reply_id
            ),
            Some(&serde_json::json!({ "reply": draft.reply_id, "draft": id, "message": row })),
        )
        .await?;
        tx.commit().await?;
        self.reply_draft(id).await
    }
}

/// [`Store::answered_reply`] through `db` (the readers, or a write transaction).
async fn answered_reply<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    reply_id: i64,
) -> Result<AnsweredReply, StoreError> {
    sqlx::query_as!(
        AnsweredReply,
        r#"SELECT id AS "reply_id!", workspace_id, prospect_id, account_id, rfc_message_id,
               subject
           FROM replies WHERE id = ?"#,
        reply_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("reply {reply_id}")))
}

/// Who an answer's outbox row belongs to.
pub(crate) struct NewAnswer<'a> {
    pub(crate) workspace_id: i64,
    pub(crate) prospect_id: i64,
    pub(crate) idempotency_key: &'a str,
}

/// Inserts an answer's outbox row and returns its id; or, inserting nothing, why its
/// recipient can no longer be written to. The compliance gate checked the answer from what it
/// read before this write: whoever changed the prospect since (an opt-out the reply poller
/// found, a move to the trash in another window) decides.
pub(crate) async fn insert_answer(
    conn: &mut sqlx::SqliteConnection,
    who: &NewAnswer<'_>,
    m: &AnswerMessage,
) -> Result<Result<i64, &'static str>, StoreError> {
    if let Some(why) =
        crate::outbox::recipient_refused_now(&mut *conn, who.prospect_id, &m.to_address).await?
    {
        return Ok(Err(why));
    }
    let id = sqlx::query_scalar!(
        r#"INSERT INTO messages (workspace_id, prospect_id, account_id, idempotency_key,
               message_id, to_address, to_name, subject, unsubscribe_token, due_at,
               in_reply_to)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id AS "id!""#,
        who.workspace_id,
        who.prospect_id,
        m.account_id,
        who.idempotency_key,
        m.message_id,
        m.to_address,
        m.to_name,
        m.subject,
        m.unsubscribe_token,
        m.due_at,
        m.in_reply_to
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        crate::error::conflict_or(e, || {
            format!(
                "this answer is already in the outbox ({})",
                who.idempotency_key
            )
        })
    })?;
    sqlx::query!(
        "INSERT INTO message_bodies (message_id, body) VALUES (?, ?)",
        id,
        m.body
    )
    .execute(&mut *conn)
    .await?;
    Ok(Ok(id))
}

/// Who a draft is from and to, as a change reads it in its write transaction.
struct DraftHead {
    workspace_id: i64,
    reply_id: i64,
    prospect_id: i64,
    account_id: i64,
}

/// Draft `id` in the write transaction `conn`; refused unless it is still a draft (an answer
/// in the outbox is final, a discarded one gone).
async fn changeable_draft(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
) -> Result<DraftHead, StoreError> {
    let d = sqlx::query!(
        r#"SELECT workspace_id, reply_id, prospect_id, account_id, state
           FROM reply_drafts WHERE id = ?"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("draft {id}")))?;
    let state = DraftState::parse(&d.state)
        .ok_or_else(|| StoreError::Corrupt(format!("draft state '{}'", d.state)))?;
    if state != DraftState::Draft {
        return Err(not_a_draft(state));
    }
    Ok(DraftHead {
        workspace_id: d.workspace_id,
        reply_id: d.reply_id,
        prospect_id: d.prospect_id,
        account_id: d.account_id,
    })
}

fn not_a_draft(state: DraftState) -> StoreError {
    StoreError::Conflict(match state {
        DraftState::Queued => "this answer was already sent to the outbox".into(),
        DraftState::Discarded => "this draft was discarded".into(),
        DraftState::Draft => "this draft changed meanwhile; reload it".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::answer_subject;

    #[test]
    fn an_answer_has_one_re_whatever_the_subject_starts_with() {
        assert_eq!(answer_subject("A partnership"), "Re: A partnership");
        assert_eq!(answer_subject(" RE: A partnership "), "RE: A partnership");
        assert_eq!(answer_subject("re:x"), "re:x");
        // Multi-byte characters around the third byte.
        assert_eq!(answer_subject("ab€ offer"), "Re: ab€ offer");
        assert_eq!(answer_subject("€"), "Re: €");
        assert_eq!(answer_subject(""), "Re: ");
    }
}

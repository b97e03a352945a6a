//! Replies: tying inbound mail to the prospect and message it answers, storing it with what it
//! means, and doing what it asks (stop the sequence, opt out, mark bounced, wait for a return
//! date) in the same transaction as the poller's place in the mailbox, so that a crash never
//! stores a reply without its consequences nor applies them twice.

use outreach_core::inbox::{Reply, ReplyKind};
use outreach_core::reply::Intent;

use crate::audit::{About, record_about};
use crate::consent::{SuppressionEntry, opt_out_in};
use crate::error::corrupt;
use crate::mailboxes::advance;
use crate::{Actor, Store, StoreError};

/// The prospect (and message) an inbound mail answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The prospect.
    pub prospect_id: i64,
    /// Their workspace.
    pub workspace_id: i64,
    /// The outbox row answered, if threading or the bounce named it.
    pub message_row: Option<i64>,
    /// Its campaign.
    pub campaign_id: Option<i64>,
    /// The prospect's address.
    pub email: Option<String>,
}

/// A reply to store.
#[derive(Debug, Clone)]
pub struct NewReply {
    /// The account whose mailbox it came from.
    pub account_id: i64,
    /// Whom it answers.
    pub matched: Matched,
    /// `thread`, `sender`, `token` or `bounce`.
    pub matched_by: String,
    /// Its Message-ID (without angle brackets).
    pub rfc_message_id: Option<String>,
    /// Its UID in the mailbox.
    pub imap_uid: u32,
    /// Sender address.
    pub from_address: Option<String>,
    /// Sender name.
    pub from_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// Its Date header or the time it was read (ISO 8601).
    pub received_at: String,
    /// What kind of mail it is.
    pub kind: ReplyKind,
    /// New text.
    pub new_text: String,
    /// Whole text.
    pub full_text: String,
    /// Sanitised HTML.
    pub html: Option<String>,
    /// Sentiment in -1..1.
    pub sentiment: Option<f32>,
    /// Intent.
    pub intent: Intent,
    /// Its confidence.
    pub confidence: f32,
    /// `rules`, `lexicon` or `model`.
    pub intent_source: String,
    /// An out-of-office's return date (YYYY-MM-DD).
    pub return_date: Option<String>,
    /// A bounce's status code.
    pub bounce_status: Option<String>,
    /// A bounce's explanation from the server that refused the message ("550 5.1.1 <ann@…>:
    /// Recipient address rejected"): the bounced message's error, which people read.
    pub bounce_diagnostic: Option<String>,
    /// Whether a person should answer.
    pub needs_reply: bool,
}

/// What a reply makes happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A person answered: the prospect's automatic sequences stop and their queued steps are
    /// cancelled; the prospect becomes `replied` unless already further along.
    StopSequences,
    /// Moves the prospect to `interested` or `not_interested` (never back from converted,
    /// unsubscribed or bounced).
    Status(outreach_core::prospect::ProspectStatus),
    /// Opt the prospect out (suppression, unsubscribed, queued steps cancelled).
    OptOut {
        /// Their suppression hashes.
        hashes: Vec<SuppressionEntry>,
        /// Why, for the consent history.
        reason: String,
    },
    /// The address does not exist: the prospect is bounced and their sequences end.
    HardBounce,
    /// The next step waits until this instant (ISO 8601 UTC); a queued one moves too.
    Reschedule {
        /// Not before.
        after: String,
    },
    /// Propose the contact a referral names as a new prospect.
    Referral {
        /// Their address.
        email: String,
        /// Their name.
        name: Option<String>,
    },
    /// Leave a draft answer for a person to approve.
    Draft {
        /// Subject.
        subject: String,
        /// Body.
        body: String,
    },
    /// Queue the campaign's positive follow-up as the answer to this reply. Like a person's
    /// answer it belongs to no campaign: it goes out even when the campaign has ended.
    Queue(crate::drafts::AnswerMessage),
}

/// Which replies to list.
#[derive(Debug, Clone, Default)]
pub struct ReplyFilter {
    /// Only this intent.
    pub intent: Option<Intent>,
    /// Only those waiting for an answer.
    pub needs_reply: bool,
    /// Only unread ones.
    pub unread: bool,
    /// Only human replies (no auto-replies, bounces, complaints).
    pub human_only: bool,
    /// Only this prospect's.
    pub prospect_id: Option<i64>,
    /// Older than this id (paging).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// What storing a reply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The reply's id.
    pub reply_id: i64,
    /// What was done, in words, as shown in the inbox.
    pub actions: String,
    /// Queued messages cancelled.
    pub cancelled: u32,
}

/// One of our messages and its prospect, as the thread and sender matches find it.
struct SentRow {
    id: i64,
    prospect_id: i64,
    campaign_id: Option<i64>,
    email: Option<String>,
}

impl SentRow {
    fn matched(self, workspace_id: i64) -> Matched {
        Matched {
            prospect_id: self.prospect_id,
            workspace_id,
            message_row: Some(self.id),
            campaign_id: self.campaign_id,
            email: self.email,
        }
    }
}

struct ReplyRow {
    id: i64,
    workspace_id: i64,
    prospect_id: i64,
    prospect_name: String,
    prospect_company: Option<String>,
    prospect_status: String,
    campaign_id: Option<i64>,
    campaign_name: Option<String>,
    matched_by: String,
    from_address: Option<String>,
    from_name: Option<String>,
    subject: String,
    received_at: String,
    kind: String,
    new_text: String,
    full_text: String,
    html: Option<String>,
    sentiment: Option<f64>,
    intent: String,
    confidence: f64,
    intent_source: String,
    return_date: Option<String>,
    bounce_status: Option<String>,
    actions: String,
    needs_reply: i64,
    read_at: Option<String>,
}

impl TryFrom<ReplyRow> for Reply {
    type Error = StoreError;
    #[allow(clippy::cast_possible_truncation)]
    fn try_from(r: ReplyRow) -> Result<Self, StoreError> {
        Ok(Reply {
            id: r.id,
            workspace_id: r.workspace_id,
            prospect_id: r.prospect_id,
            prospect_name: r.prospect_name,
            prospect_company: r.prospect_company,
            prospect_status: r.prospect_status,
            campaign_id: r.campaign_id,
            campaign_name: r.campaign_name,
            matched_by: r.matched_by,
            from_address: r.from_address,
            from_name: r.from_name,
            subject: r.subject,
            received_at: r.received_at,
            kind: ReplyKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("reply kind '{}'", r.kind)))?,
            new_text: r.new_text,
            full_text: r.full_text,
            html: r.html,
            sentiment: r.sentiment.map(|v| v as f32),
            intent: Intent::parse(&r.intent)
                .ok_or_else(|| StoreError::Corrupt(format!("intent '{}'", r.intent)))?,
            confidence: r.confidence as f32,
            intent_source: r.intent_source,
            return_date: r.return_date,
            bounce_status: r.bounce_status,
            actions: r.actions,
            needs_reply: r.needs_reply != 0,
            read_at: r.read_at,
        })
    }
}

impl Store {
    /// The newest of our messages in the workspace among these Message-IDs (the In-Reply-To
    /// and References of a reply, or the original a bounce quotes).
    pub async fn match_thread(
        &self,
        workspace_id: i64,
        message_ids: &[String],
    ) -> Result<Option<Matched>, StoreError> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let ids = serde_json::to_string(message_ids).map_err(corrupt)?;
        let row = sqlx::query_as!(
            SentRow,
            r#"SELECT m.id AS "id!", m.prospect_id, m.campaign_id, p.email
               FROM messages m JOIN prospects p ON p.id = m.prospect_id
               WHERE m.workspace_id = ? AND m.message_id IN (SELECT value FROM json_each(?))
               ORDER BY m.id DESC LIMIT 1"#,
            workspace_id,
            ids
        )
        .fetch_optional(self.readers())
        .await?;
        Ok(row.map(|r| r.matched(workspace_id)))
    }

    /// The prospect of the workspace with this (normalised) address whom we wrote to before
    /// `received_at`, with our latest message to them: mail from them that does not thread
    /// (a new message instead of "reply") still belongs to the conversation, but mail they
    /// sent before we ever wrote does not.
    pub async fn match_sender(
        &self,
        workspace_id: i64,
        email: &str,
        received_at: &str,
    ) -> Result<Option<Matched>, StoreError> {
        let row = sqlx::query_as!(
            SentRow,
            r#"SELECT m.id AS "id!", m.prospect_id, m.campaign_id, p.email
               FROM prospects p JOIN messages m ON m.prospect_id = p.id
               WHERE p.workspace_id = ? AND p.email = ? AND m.status = 'sent'
                 AND m.sent_at <= ?
               ORDER BY m.id DESC LIMIT 1"#,
            workspace_id,
            email,
            received_at
        )
        .fetch_optional(self.readers())
        .await?;
        Ok(row.map(|r| r.matched(workspace_id)))
    }

    /// The prospect an unsubscribe token names, with our latest message to them, if they are in
    /// the workspace.
    pub async fn match_prospect(
        &self,
        workspace_id: i64,
        prospect_id: i64,
    ) -> Result<Option<Matched>, StoreError> {
        let row = sqlx::query!(
            r#"SELECT p.id AS "id!", p.email,
                      (SELECT max(id) FROM messages WHERE prospect_id = p.id) AS "message_row: i64",
                      (SELECT campaign_id FROM messages WHERE prospect_id = p.id
                       ORDER BY id DESC LIMIT 1) AS "campaign_id: i64"
               FROM prospects p WHERE p.id = ? AND p.workspace_id = ?"#,
            prospect_id,
            workspace_id
        )
        .fetch_optional(self.readers())
        .await?;
        Ok(row.map(|r| Matched {
            prospect_id: r.id,
            workspace_id,
            message_row: r.message_row,
            campaign_id: r.campaign_id,
            email: r.email,
        }))
    }

    /// Stores a reply, applies its effects, audits it and moves the mailbox's place past it,
    /// all in one transaction. Returns `None` when the same mail (by Message-ID) was stored
    /// before, in which case only the place moves.
    pub async fn record_reply(
        &self,
        reply: &NewReply,
        effects: &[Effect],
        uid_validity: u32,
    ) -> Result<Option<Stored>, StoreError> {
        let mut tx = self.begin_write().await?;
        let kind = reply.kind.as_str();
        let intent = reply.intent.as_str();
        let sentiment = reply.sentiment.map(f64::from);
        let confidence = f64::from(reply.confidence);
        let uid = i64::from(reply.imap_uid);
        let needs_reply = i64::from(reply.needs_reply);
        let m = &reply.matched;
        let id = sqlx::query_scalar!(
            r#"INSERT INTO replies (workspace_id, prospect_id, account_id, message_id, campaign_id,
                   matched_by, rfc_message_id, imap_uid, from_address, from_name, subject,
                   received_at, kind, new_text, full_text, html, sentiment, intent, confidence,
                   intent_source, return_date, bounce_status, needs_reply)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (account_id, rfc_message_id) WHERE rfc_message_id IS NOT NULL
               DO NOTHING RETURNING id AS "id!""#,
            m.workspace_id,
            m.prospect_id,
            reply.account_id,
            m.message_row,
            m.campaign_id,
            reply.matched_by,
            reply.rfc_message_id,
            uid,
            reply.from_address,
            reply.from_name,
            reply.subject,
            reply.received_at,
            kind,
            reply.new_text,
            reply.full_text,
            reply.html,
            sentiment,
            intent,
            confidence,
            reply.intent_source,
            reply.return_date,
            reply.bounce_status,
            needs_reply
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            advance(&mut tx, reply.account_id, uid_validity, reply.imap_uid).await?;
            tx.commit().await?;
            return Ok(None);
        };
        let mut done: Vec<String> = Vec::new();
        let mut cancelled = 0u32;
        for effect in effects {
            apply(&mut tx, id, reply, effect, &mut done, &mut cancelled).await?;
        }
        sqlx::query!(
            "UPDATE prospects SET last_inbound_at = max(coalesce(last_inbound_at, ''), ?),
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            reply.received_at,
            m.prospect_id
        )
        .execute(&mut *tx)
        .await?;
        let actions = done.join("; ");
        sqlx::query!("UPDATE replies SET actions = ? WHERE id = ?", actions, id)
            .execute(&mut *tx)
            .await?;
        let campaign = m
            .campaign_id
            .map(|c| format!(" (campaign #{c})"))
            .unwrap_or_default();
        record_about(
            &mut tx,
            Some(m.workspace_id),
            About::One(m.prospect_id),
            Actor::System,
            "reply.received",
            &format!(
                "Reply #{id} from prospect #{}{campaign}: {kind}, {intent}{}",
                m.prospect_id,
                if actions.is_empty() {
                    String::new()
                } else {
                    format!("; {actions}")
                }
            ),
            None,
        )
        .await?;
        advance(&mut tx, reply.account_id, uid_validity, reply.imap_uid).await?;
        tx.commit().await?;
        Ok(Some(Stored {
            reply_id: id,
            actions,
            cancelled,
        }))
    }

    /// The workspace's replies, newest first.
    pub async fn list_replies(
        &self,
        workspace_id: i64,
        filter: &ReplyFilter,
    ) -> Result<Vec<Reply>, StoreError> {
        let intent = filter.intent.map(Intent::as_str);
        let before = filter.before_id.unwrap_or(i64::MAX);
        let limit = if filter.limit <= 0 { 200 } else { filter.limit };
        let needs = i64::from(filter.needs_reply);
        let unread = i64::from(filter.unread);
        let human = i64::from(filter.human_only);
        sqlx::query_as!(
            ReplyRow,
            r#"SELECT r.id AS "id!", r.workspace_id, r.prospect_id,
                   coalesce(nullif(trim(coalesce(p.first_name, '') || ' ' ||
                       coalesce(p.last_name, '')), ''), p.email, 'prospect #' || p.id)
                       AS "prospect_name!: String",
                   p.company AS prospect_company, p.status AS prospect_status,
                   r.campaign_id, c.name AS "campaign_name?", r.matched_by, r.from_address,
                   r.from_name, r.subject, r.received_at, r.kind, r.new_text, r.full_text,
                   r.html, r.sentiment, r.intent, r.confidence, r.intent_source, r.return_date,
                   r.bounce_status, r.actions, r.needs_reply, r.read_at
               FROM replies r JOIN prospects p ON p.id = r.prospect_id
                    LEFT JOIN campaigns c ON c.id = r.campaign_id
               WHERE r.workspace_id = ?1 AND r.id < ?2
                 AND (?3 IS NULL OR r.intent = ?3)
                 AND (?4 = 0 OR r.needs_reply = 1)
                 AND (?5 = 0 OR r.read_at IS NULL)
                 AND (?6 = 0 OR r.kind = 'human')
                 AND (?7 IS NULL OR r.prospect_id = ?7)
               ORDER BY r.id DESC LIMIT ?8"#,
            workspace_id,
            before,
            intent,
            needs,
            unread,
            human,
            filter.prospect_id,
            limit
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(Reply::try_from)
        .collect()
    }

    /// One reply.
    pub async fn reply(&self, id: i64) -> Result<Reply, StoreError> {
        let ws = sqlx::query_scalar!("SELECT workspace_id FROM replies WHERE id = ?", id)
            .fetch_optional(self.readers())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("reply #{id}")))?;
        let filter = ReplyFilter {
            before_id: Some(id + 1),
            limit: 1,
            ..ReplyFilter::default()
        };
        self.list_replies(ws, &filter)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("reply #{id}")))
    }

    /// How many human replies of the workspace nobody has opened yet.
    pub async fn unread_replies(&self, workspace_id: i64) -> Result<u32, StoreError> {
        let n = sqlx::query_scalar!(
            "SELECT count(*) FROM replies
             WHERE workspace_id = ? AND read_at IS NULL AND kind = 'human'",
            workspace_id
        )
        .fetch_one(self.readers())
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Marks a reply as opened (or answered, which also clears "needs reply").
    pub async fn mark_reply_read(&self, id: i64, answered: bool) -> Result<(), StoreError> {
        let answered = i64::from(answered);
        let n = sqlx::query!(
            "UPDATE replies SET read_at = coalesce(read_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                 needs_reply = CASE WHEN ? = 1 THEN 0 ELSE needs_reply END
             WHERE id = ?",
            answered,
            id
        )
        .execute(self.writer())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("reply #{id}")));
        }
        Ok(())
    }

    /// A person corrects a reply's intent: the reply takes it, the correction becomes a
    /// few-shot example for the workspace, and an interested / not interested verdict moves
    /// the prospect's status as the poller would have. Returns the updated reply.
    pub async fn relabel_reply(
        &self,
        id: i64,
        intent: Intent,
        actor: Actor,
    ) -> Result<Reply, StoreError> {
        let before = self.reply(id).await?;
        if before.intent == intent && before.intent_source == "user" {
            return Ok(before);
        }
        let label = intent.as_str();
        let mut tx = self.begin_write().await?;
        let found = sqlx::query!(
            "UPDATE replies SET intent = ?, confidence = 1.0, intent_source = 'user',
                 needs_reply = CASE WHEN ? IN ('interested', 'question') AND kind = 'human'
                     THEN 1 ELSE needs_reply END
             WHERE id = ?",
            label,
            label,
            id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            // Erased with its prospect since it was read.
            return Err(StoreError::NotFound(format!("reply #{id}")));
        }
        sqlx::query!(
            "INSERT INTO intent_corrections (workspace_id, reply_id, text, intent)
             VALUES (?, ?, ?, ?)",
            before.workspace_id,
            id,
            before.new_text,
            label
        )
        .execute(&mut *tx)
        .await?;
        if let Some(status) = status_for(intent) {
            move_status(&mut tx, before.prospect_id, status).await?;
        }
        record_about(
            &mut tx,
            Some(before.workspace_id),
            About::One(before.prospect_id),
            actor,
            "reply.relabelled",
            &format!("Reply #{id}: intent {} -> {label}", before.intent.as_str()),
            None,
        )
        .await?;
        tx.commit().await?;
        self.reply(id).await
    }

    /// The workspace's corrections, oldest first: (new text, intent).
    pub async fn intent_corrections(
        &self,
        workspace_id: i64,
    ) -> Result<Vec<(String, Intent)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT text, intent FROM intent_corrections WHERE workspace_id = ? ORDER BY id",
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Intent::parse(&r.intent).map(|i| (r.text, i)))
            .collect())
    }

    /// How many corrections the workspace has (to know when a cached classifier is stale).
    pub async fn intent_correction_count(&self, workspace_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT count(*) FROM intent_corrections WHERE workspace_id = ?",
            workspace_id
        )
        .fetch_one(self.readers())
        .await?)
    }
}

fn status_for(intent: Intent) -> Option<&'static str> {
    match intent {
        Intent::Interested => Some("interested"),
        Intent::NotInterested => Some("not_interested"),
        _ => None,
    }
}

/// "1 queued message cancelled", "3 queued messages cancelled": what a reply's actions say.
fn queued_cancelled(n: u64) -> String {
    let noun = if n == 1 { "message" } else { "messages" };
    format!("{n} queued {noun} cancelled")
}

/// Moves a prospect to a status a reply implies, never out of a final one (converted,
/// unsubscribed, bounced) nor backwards into `replied`.
async fn move_status(
    conn: &mut sqlx::SqliteConnection,
    prospect_id: i64,
    status: &str,
) -> Result<bool, StoreError> {
    let n = sqlx::query!(
        "UPDATE prospects SET status = ?1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?2 AND status NOT IN ('converted', 'unsubscribed', 'bounced', ?1)
           AND NOT (?1 = 'replied' AND status IN ('interested', 'not_interested'))",
        status,
        prospect_id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// A draft answer to the reply being stored, for a person to look at and send.
async fn insert_draft(
    conn: &mut sqlx::SqliteConnection,
    reply_id: i64,
    reply: &NewReply,
    account_id: i64,
    subject: &str,
    body: &str,
) -> Result<(), StoreError> {
    let m = &reply.matched;
    sqlx::query!(
        "INSERT INTO reply_drafts (workspace_id, reply_id, prospect_id, account_id,
             subject, body) VALUES (?, ?, ?, ?, ?, ?)",
        m.workspace_id,
        reply_id,
        m.prospect_id,
        account_id,
        subject,
        body
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn apply(
    conn: &mut sqlx::SqliteConnection,
    reply_id: i64,
    reply: &NewReply,
    effect: &Effect,
    done: &mut Vec<String>,
    cancelled_total: &mut u32,
) -> Result<(), StoreError> {
    let m = &reply.matched;
    match effect {
        Effect::StopSequences => {
            let cancelled = sqlx::query!(
                "UPDATE messages SET status = 'cancelled', last_error = 'the recipient replied',
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE prospect_id = ? AND status = 'queued' AND enrollment_id IS NOT NULL",
                m.prospect_id
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let stopped = sqlx::query!(
                "UPDATE enrollments SET state = 'replied', reason = ?,
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE prospect_id = ? AND state IN ('active', 'waiting')",
                format!("replied (reply #{reply_id})"),
                m.prospect_id
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
            move_status(conn, m.prospect_id, "replied").await?;
            if stopped > 0 {
                done.push(if cancelled > 0 {
                    format!("sequence stopped; {}", queued_cancelled(cancelled))
                } else {
                    "sequence stopped".into()
                });
            }
            *cancelled_total += u32::try_from(cancelled).unwrap_or(u32::MAX);
        }
        Effect::Status(status) => {
            if move_status(conn, m.prospect_id, status.as_str()).await? {
                done.push(format!("status {}", status.as_str()));
            }
        }
        Effect::OptOut { hashes, reason } => {
            let n = opt_out_in(conn, m.prospect_id, hashes, reason, Actor::System).await?;
            *cancelled_total += n;
            done.push(if n > 0 {
                format!("opted out; {}", queued_cancelled(u64::from(n)))
            } else {
                "opted out".into()
            });
        }
        Effect::HardBounce => {
            let cancelled =
                crate::outbox::cancel_queued_to(conn, m.prospect_id, "the address bounced").await?;
            // The server's words where the notification gives them; the status code alone
            // ("5.1.1") tells most people nothing.
            let error = reply
                .bounce_diagnostic
                .as_deref()
                .or(reply.bounce_status.as_deref())
                .unwrap_or("the address bounced");
            if let Some(row) = m.message_row {
                sqlx::query!(
                    "UPDATE messages SET status = 'bounced', last_error = ?,
                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ? AND status = 'sent'",
                    error,
                    row
                )
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query!(
                "UPDATE enrollments SET state = 'failed', reason = 'the address bounced',
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE prospect_id = ? AND state IN ('active', 'waiting')",
                m.prospect_id
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query!(
                "UPDATE prospects SET status = 'bounced', email_status = 'bounced',
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ? AND status NOT IN ('unsubscribed')",
                m.prospect_id
            )
            .execute(&mut *conn)
            .await?;
            *cancelled_total += u32::try_from(cancelled).unwrap_or(u32::MAX);
            done.push("marked bounced".into());
        }
        Effect::Reschedule { after } => {
            let moved = sqlx::query!(
                "UPDATE enrollments SET next_run_at = max(coalesce(next_run_at, ''), ?1),
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE prospect_id = ?2 AND state = 'active'",
                after,
                m.prospect_id
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let queued = sqlx::query!(
                "UPDATE messages SET due_at = max(due_at, ?1),
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE prospect_id = ?2 AND status = 'queued' AND enrollment_id IS NOT NULL",
                after,
                m.prospect_id
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if moved + queued > 0 {
                done.push(format!("next step after {}", &after[..after.len().min(10)]));
            }
        }
        Effect::Referral { email, name } => {
            sqlx::query!(
                "INSERT INTO referral_proposals (workspace_id, reply_id, email, name)
                 VALUES (?, ?, ?, ?) ON CONFLICT (reply_id, email) DO NOTHING",
                m.workspace_id,
                reply_id,
                email,
                name
            )
            .execute(&mut *conn)
            .await?;
            done.push("referral proposed".into());
        }
        Effect::Draft { subject, body } => {
            insert_draft(conn, reply_id, reply, reply.account_id, subject, body).await?;
            done.push("draft ready".into());
        }
        Effect::Queue(message) => {
            let key = format!("positive:{reply_id}");
            let queued = crate::drafts::insert_answer(
                conn,
                &crate::drafts::NewAnswer {
                    workspace_id: m.workspace_id,
                    prospect_id: m.prospect_id,
                    idempotency_key: &key,
                },
                message,
            )
            .await?;
            // Prepared from what the engine read before this write; a prospect moved to the
            // trash or changed since gets a draft for a person to look at instead.
            let row = match queued {
                Ok(row) => row,
                Err(why) => {
                    insert_draft(
                        conn,
                        reply_id,
                        reply,
                        message.account_id,
                        &message.subject,
                        &message.body,
                    )
                    .await?;
                    done.push(format!("positive follow-up kept as a draft: {why}"));
                    return Ok(());
                }
            };
            // Shown with the reply like an answer a person sent.
            sqlx::query!(
                "INSERT INTO reply_drafts (workspace_id, reply_id, prospect_id, account_id,
                     subject, body, state, outbox_id) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                m.workspace_id,
                reply_id,
                m.prospect_id,
                reply.account_id,
                message.subject,
                message.body,
                row
            )
            .execute(&mut *conn)
            .await?;
            done.push("positive follow-up queued".into());
        }
    }
    Ok(())
}

//! The outbox: every message is a row before it is sent, and every change of its fate is a
//! committed transaction, so that a crash at any instant leaves a state the engine can resume
//! from without sending anything twice.
//!
//! A message's life: `queued` -> (claimed, counted by the rate governor) `sending` -> `sent`,
//! back to `queued` with a later `due_at` (offline, temporary errors), `failed`, `bounced`, or
//! `unconfirmed` when the transport cannot say whether the server accepted it. A message still
//! `sending` when an engine starts was interrupted by a crash: it becomes `unconfirmed` and a
//! person decides.

use outreach_core::campaign::{MessageStatus, UnconfirmedChoice};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::{About, record, record_about};
use crate::error::corrupt;
use crate::{Actor, Store, StoreError};

/// An enrolment whose next step is due.
#[derive(Debug, Clone)]
pub struct DueEnrollment {
    /// Enrolment id.
    pub id: i64,
    /// Its campaign.
    pub campaign_id: i64,
    /// Its prospect.
    pub prospect_id: i64,
    /// The step to send (1-based).
    pub next_position: i64,
    /// When it is due; `None` when the engine must compute it from the step's delay.
    pub next_run_at: Option<String>,
    /// A/B variant label.
    pub variant: String,
    /// When the prospect was enrolled.
    pub created_at: String,
}

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its workspace.
    pub workspace_id: i64,
    /// Its campaign.
    pub campaign_id: i64,
    /// Its enrolment.
    pub enrollment_id: i64,
    /// The step (1-based).
    pub step_position: i64,
    /// The recipient prospect.
    pub prospect_id: i64,
    /// The sending account.
    pub account_id: i64,
    /// A/B variant label.
    pub variant: String,
    /// RFC 5322 Message-ID without angle brackets, fixed before the first attempt.
    pub message_id: String,
    /// Recipient address.
    pub to_address: String,
    /// Recipient name.
    pub to_name: Option<String>,
    /// Rendered subject.
    pub subject: String,
    /// Rendered body.
    pub body: String,
    /// The recipient's unsubscribe token.
    pub unsubscribe_token: String,
    /// Not before (ISO 8601 UTC).
    pub due_at: String,
    /// The template it was written from.
    pub template_id: i64,
    /// That template's last change as the message was written from it: a message written
    /// from an older text is not queued.
    pub template_changed_at: String,
}

/// A message claimed for sending.
#[derive(Debug, Clone)]
pub struct ClaimedMessage {
    /// Row id.
    pub id: i64,
    /// Its workspace.
    pub workspace_id: i64,
    /// Its campaign.
    pub campaign_id: Option<i64>,
    /// Its enrolment.
    pub enrollment_id: Option<i64>,
    /// Its prospect.
    pub prospect_id: i64,
    /// The step.
    pub step_position: Option<i64>,
    /// RFC 5322 Message-ID.
    pub message_id: String,
    /// Recipient.
    pub to_address: String,
    /// Recipient name.
    pub to_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Unsubscribe token.
    pub unsubscribe_token: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// The Message-ID of the mail this one answers, if it is an answer.
    pub in_reply_to: Option<String>,
}

/// What became of an attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Accepted by the server.
    Sent {
        /// The server's reply.
        response: String,
    },
    /// Try again later (offline, temporary error).
    Retry {
        /// What went wrong.
        error: String,
        /// Not before (ISO 8601 UTC).
        at: String,
    },
    /// Refused for good.
    Failed {
        /// What went wrong.
        error: String,
    },
    /// The recipient does not exist: the prospect is marked bounced.
    Bounced {
        /// What went wrong.
        error: String,
    },
    /// Unknown whether it went out.
    Unconfirmed {
        /// What went wrong.
        error: String,
    },
}

/// The governor's view of what a claim may take: the caller decides with these facts.
#[derive(Debug, Clone)]
pub struct ClaimCandidate {
    /// Message row id.
    pub message_id: i64,
    /// Its campaign.
    pub campaign_id: Option<i64>,
}

/// A message as listed for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageSummary {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// Campaign.
    #[ts(type = "number | null")]
    pub campaign_id: Option<i64>,
    /// Prospect.
    #[ts(type = "number")]
    pub prospect_id: i64,
    /// Step (1-based).
    #[ts(type = "number | null")]
    pub step_position: Option<i64>,
    /// A/B variant.
    pub variant: Option<String>,
    /// Recipient.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// State.
    pub status: MessageStatus,
    /// Attempts so far.
    #[ts(type = "number")]
    pub attempts: i64,
    /// Due (ISO 8601).
    pub due_at: String,
    /// Sent (ISO 8601).
    pub sent_at: Option<String>,
    /// The latest error.
    pub last_error: Option<String>,
}

impl Store {
    /// Enrolments of running campaigns whose next step is due at `now` (ISO 8601 UTC) or has
    /// no time yet.
    pub async fn due_enrollments(
        &self,
        now: &str,
        limit: i64,
    ) -> Result<Vec<DueEnrollment>, StoreError> {
        let rows = sqlx::query_as!(
            DueEnrollment,
            r#"SELECT e.id AS "id!", e.campaign_id, e.prospect_id, e.next_position, e.next_run_at,
                  e.variant, e.created_at
               FROM enrollments e JOIN campaigns c ON c.id = e.campaign_id
               WHERE c.status = 'running' AND e.state = 'active'
                 AND (e.next_run_at IS NULL OR e.next_run_at <= ?)
               ORDER BY e.next_run_at, e.id LIMIT ?"#,
            now,
            limit
        )
        .fetch_all(self.readers())
        .await?;
        Ok(rows)
    }

    /// How many of a campaign's queued messages are due before `before` (ISO 8601 UTC).
    pub async fn queued_due_before(
        &self,
        campaign_id: i64,
        before: &str,
    ) -> Result<u32, StoreError> {
        let n = sqlx::query_scalar!(
            "SELECT count(*) FROM messages m WHERE m.campaign_id = ? AND m.status = 'queued'
               AND m.due_at < ?
               AND NOT EXISTS (SELECT 1 FROM prospects p
                               WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)",
            campaign_id,
            before
        )
        .fetch_one(self.readers())
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Sets when an enrolment's next step is due.
    pub async fn schedule_enrollment(&self, id: i64, at: &str) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE enrollments SET next_run_at = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND state = 'active'",
            at,
            id
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Ends an enrolment without sending (`completed`, `replied`, `stopped`).
    pub async fn end_enrollment(
        &self,
        id: i64,
        state: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE enrollments SET state = ?, reason = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND state = 'active'",
            state,
            reason,
            id
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Puts messages in the outbox and marks their enrolments as waiting, in one transaction.
    /// A message whose (enrolment, step) is already there is skipped: the idempotency key
    /// makes a second copy impossible. So is one written from what changed since the
    /// scheduler read it (its enrolment ended or moved on, its prospect went to the trash, its
    /// campaign no longer runs, its template changed): its enrolment stays due. Returns how
    /// many were added.
    pub async fn enqueue(&self, messages: &[NewMessage]) -> Result<u32, StoreError> {
        if messages.is_empty() {
            return Ok(0);
        }
        // One statement per table for the whole batch: the scheduler enqueues hundreds at once.
        // Serialised straight from borrowed fields: a tree of JSON values would copy every
        // rendered body once more, at the engine's peak memory.
        let rows: Vec<EnqueueRow<'_>> = messages.iter().map(EnqueueRow::from).collect();
        let rows = serde_json::to_string(&rows).map_err(corrupt)?;
        // The bodies apart (see the `message_bodies` migration), keyed like their rows.
        let bodies: Vec<(String, &str)> = messages
            .iter()
            .map(|m| (idempotency_key(m), m.body.as_str()))
            .collect();
        let bodies = serde_json::to_string(&bodies).map_err(corrupt)?;
        let mut tx = self.begin_write().await?;
        // Written from what the scheduler read before rendering: a message is queued only if
        // that still holds as the write sees it. Its enrolment still waits for this step (not
        // stopped by an opt-out, a reply or a bounce meanwhile, nor erased with its prospect),
        // its prospect is not in the trash, its campaign still runs, and its template still
        // has the text it was written from.
        let done = sqlx::query!(
            "INSERT INTO messages (workspace_id, campaign_id, enrollment_id, step_position,
                 prospect_id, account_id, idempotency_key, variant, message_id, to_address,
                 to_name, subject, unsubscribe_token, due_at)
             SELECT j.value ->> '$.w', j.value ->> '$.c', j.value ->> '$.e', j.value ->> '$.n',
                 j.value ->> '$.p', j.value ->> '$.a', j.value ->> '$.k', j.value ->> '$.v',
                 j.value ->> '$.id', j.value ->> '$.to', j.value ->> '$.tn', j.value ->> '$.s',
                 j.value ->> '$.u', j.value ->> '$.d'
             FROM json_each(?1) j
                 JOIN enrollments e ON e.id = j.value ->> '$.e'
                 JOIN campaigns c ON c.id = e.campaign_id
                 JOIN templates t ON t.id = j.value ->> '$.t'
                 JOIN prospects p ON p.id = e.prospect_id
             WHERE e.state = 'active' AND e.next_position = j.value ->> '$.n'
                 AND c.status = 'running' AND t.updated_at = j.value ->> '$.tu'
                 AND p.deleted_at IS NULL
             ON CONFLICT (idempotency_key) DO NOTHING",
            rows
        )
        .execute(&mut *tx)
        .await?;
        // A message that was already there keeps the body it was queued with.
        sqlx::query!(
            "INSERT INTO message_bodies (message_id, body)
             SELECT m.id, j.value ->> '$[1]'
             FROM json_each(?1) j JOIN messages m ON m.idempotency_key = j.value ->> '$[0]'
             WHERE true
             ON CONFLICT (message_id) DO NOTHING",
            bodies
        )
        .execute(&mut *tx)
        .await?;
        let added = u32::try_from(done.rows_affected()).unwrap_or(u32::MAX);
        // Waiting means the step's message is in the outbox; one left out above stays due, to
        // be written again from what holds then.
        sqlx::query!(
            "UPDATE enrollments SET state = 'waiting', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id IN (SELECT value ->> '$.e' FROM json_each(?1)) AND state = 'active'
                 AND EXISTS (SELECT 1 FROM messages m
                             WHERE m.idempotency_key = 'e' || enrollments.id || ':s' || enrollments.next_position)",
            rows
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Records the compliance gate's refusal of an enrolment's step: the enrolment is blocked
    /// with the reason, the refusal is listed for the campaign and audited. `prospect_seen`
    /// is the prospect's last change as the gate read it (`None`: it found no prospect).
    ///
    /// A block ends the sequence for good, so it is written only while what the gate read
    /// still holds: the enrolment still waits for that step in a running campaign, and its
    /// prospect has not changed since (restored from the trash, given a lawful basis or a
    /// time zone meanwhile). Otherwise nothing is written and the step stays due, to be
    /// checked again from what holds then. Returns whether it was blocked.
    pub async fn block_enrollment(
        &self,
        workspace_id: i64,
        e: &DueEnrollment,
        prospect_seen: Option<&str>,
        code: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let found = sqlx::query!(
            "UPDATE enrollments SET state = 'blocked', reason = ?1,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?2 AND state = 'active' AND next_position = ?3
               AND (SELECT status FROM campaigns c WHERE c.id = enrollments.campaign_id) = 'running'
               AND (SELECT updated_at FROM prospects p WHERE p.id = enrollments.prospect_id) IS ?4",
            reason,
            e.id,
            e.next_position,
            prospect_seen
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            // Erased with its prospect, or changed, since the gate looked.
            return Ok(false);
        }
        sqlx::query!(
            "INSERT INTO blocked_sends (campaign_id, enrollment_id, step_position, code, reason)
             VALUES (?, ?, ?, ?, ?)",
            e.campaign_id,
            e.id,
            e.next_position,
            code,
            reason
        )
        .execute(&mut *tx)
        .await?;
        record_about(
            &mut tx,
            Some(workspace_id),
            About::One(e.prospect_id),
            Actor::System,
            "send.blocked",
            &format!(
                "Refused step {} to prospect #{} (campaign #{}): {code}",
                e.next_position, e.prospect_id, e.campaign_id
            ),
            Some(&serde_json::json!({ "code": code, "reason": reason })),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Queued messages of an account that are due, for the claim decision (those to a prospect
    /// in the trash are held: see [`withdraw_unsent_to`]): answers to replies first (a person
    /// is waiting for those, and with tight caps they would otherwise queue behind a backlog
    /// of campaign steps), then campaign steps, each oldest first.
    pub async fn claim_candidates(
        &self,
        account_id: i64,
        now: &str,
        limit: i64,
    ) -> Result<Vec<ClaimCandidate>, StoreError> {
        let mut candidates = sqlx::query_as!(
            ClaimCandidate,
            r#"SELECT m.id AS "message_id!", m.campaign_id
               FROM messages m
               WHERE m.campaign_id IS NULL AND m.status = 'queued' AND m.due_at <= ?
                 AND m.account_id = ?
                 AND NOT EXISTS (SELECT 1 FROM prospects p
                                 WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)
               ORDER BY m.due_at, m.id LIMIT ?"#,
            now,
            account_id,
            limit
        )
        .fetch_all(self.readers())
        .await?;
        let room = limit - i64::try_from(candidates.len()).unwrap_or(limit);
        if room > 0 {
            candidates.extend(
                sqlx::query_as!(
                    ClaimCandidate,
                    r#"SELECT m.id AS "message_id!", m.campaign_id
                       FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                       WHERE m.status = 'queued' AND m.due_at <= ? AND m.account_id = ?
                         AND c.status = 'running'
                         AND (c.next_send_after IS NULL OR c.next_send_after <= ?)
                         AND NOT EXISTS (SELECT 1 FROM prospects p
                                         WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)
                       ORDER BY m.due_at, m.id LIMIT ?"#,
                    now,
                    account_id,
                    now,
                    room
                )
                .fetch_all(self.readers())
                .await?,
            );
        }
        Ok(candidates)
    }

    /// Times (ISO 8601) of an account's newest attempts since `since`, newest first.
    pub async fn account_attempts(
        &self,
        account_id: i64,
        since: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT at FROM send_attempts WHERE account_id = ? AND at > ? ORDER BY at DESC LIMIT ?",
            account_id,
            since,
            limit
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// How many attempts a campaign made since `since`.
    pub async fn campaign_attempts_since(
        &self,
        campaign_id: i64,
        since: &str,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT count(*) FROM send_attempts WHERE campaign_id = ? AND at > ?",
            campaign_id,
            since
        )
        .fetch_one(self.readers())
        .await?)
    }

    /// Times (ISO 8601) of a campaign's newest attempts since `since`, newest first.
    pub async fn campaign_attempts(
        &self,
        campaign_id: i64,
        since: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT at FROM send_attempts WHERE campaign_id = ? AND at > ? ORDER BY at DESC LIMIT ?",
            campaign_id,
            since,
            limit
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// Until when a campaign holds its next send (ISO 8601), to keep its random gap.
    pub async fn campaign_next_send_after(
        &self,
        campaign_id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT next_send_after FROM campaigns WHERE id = ?",
            campaign_id
        )
        .fetch_optional(self.readers())
        .await?
        .flatten())
    }

    /// The day an account first sent anything (ISO 8601 date), for its ramp-up.
    pub async fn account_first_attempt(
        &self,
        account_id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT min(at) AS "at: String" FROM send_attempts WHERE account_id = ?"#,
            account_id
        )
        .fetch_one(self.readers())
        .await?)
    }

    /// Claims messages for sending, those of `message_rows` still queued (and, for campaign
    /// steps, whose campaign still runs; and whose prospect is not in the trash), in one
    /// transaction that also records each attempt, so the rate governor counts them even if
    /// the process dies right after; `gaps` hold campaigns' next sends back. One engine runs
    /// per database (it holds the engine lock) and it claims for an account from one task at
    /// a time, so the governor's decision and the claim cannot race.
    ///
    /// Every claimed message is `sending` until [`Store::record_and_claim`]; a crash in between
    /// leaves it for [`Store::recover_interrupted`] to mark unconfirmed, never to resend.
    pub async fn claim_batch(
        &self,
        message_rows: &[i64],
        account_id: i64,
        now: &str,
        gaps: &[(i64, String)],
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        if message_rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let claimed = claim_rows(&mut tx, message_rows, account_id, now, gaps).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records what became of claimed messages, and moves their enrolments and prospects on, in
    /// one transaction with their audit entries; in the same transaction claims `next` (when
    /// not empty), as [`Store::claim_batch`] does. Sent messages (nearly all of them) are
    /// written with one statement per table for the whole batch. This is the sender's steady
    /// state, one commit per batch: what a crash can leave unconfirmed stays one batch, since
    /// the next is claimed only as the last is recorded.
    ///
    /// The batch's attempts, recorded at `claimed_at` by the claim, move to `now`: a server
    /// counts a message when it arrives, which is after the claim and before the reply that
    /// ends the attempt, so counting from the end keeps every window the server sees within
    /// the caps however long delivery took.
    pub async fn record_and_claim(
        &self,
        account_id: i64,
        claimed_at: &str,
        outcomes: &[(&ClaimedMessage, &Outcome)],
        now: &str,
        next: &[i64],
        gaps: &[(i64, String)],
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let mut tx = self.begin_write().await?;
        record_batch(&mut tx, account_id, claimed_at, outcomes, now).await?;
        let claimed = if next.is_empty() {
            Vec::new()
        } else {
            claim_rows(&mut tx, next, account_id, now, gaps).await?
        };
        tx.commit().await?;
        Ok(claimed)
    }

    /// Marks every message left `sending` by an engine that is no longer running as
    /// `unconfirmed`. Call it only while holding the engine lock. Returns how many.
    pub async fn recover_interrupted(&self) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query!(
            r#"UPDATE messages SET status = 'unconfirmed',
                   last_error = 'the engine stopped while sending this message; it may or may not have gone out',
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE status = 'sending'
               RETURNING workspace_id AS "workspace_id!", prospect_id AS "prospect_id!""#
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut by_ws = std::collections::BTreeMap::<i64, Vec<i64>>::new();
        for r in &rows {
            by_ws.entry(r.workspace_id).or_default().push(r.prospect_id);
        }
        for (ws, people) in by_ws {
            let n = people.len();
            record_about(
                &mut tx,
                Some(ws),
                About::Many(&people),
                Actor::System,
                "send.unconfirmed",
                &format!(
                    "{n} message(s) were being sent when the engine stopped: marked unconfirmed"
                ),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    }

    /// Applies a person's decision to unconfirmed messages of a workspace; returns how many.
    pub async fn resolve_unconfirmed(
        &self,
        workspace_id: i64,
        ids: &[i64],
        choice: UnconfirmedChoice,
        actor: Actor,
    ) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut n = 0u32;
        for &id in ids {
            let m = sqlx::query_as!(
                ClaimedMessage,
                r#"SELECT m.id AS "id!", m.workspace_id, m.campaign_id, m.enrollment_id,
                      m.prospect_id, m.step_position, m.message_id, m.to_address, m.to_name,
                      m.subject, b.body, m.unsubscribe_token, m.attempts, m.in_reply_to
                   FROM messages m JOIN message_bodies b ON b.message_id = m.id
                   WHERE m.id = ? AND m.workspace_id = ? AND m.status = 'unconfirmed'"#,
                id,
                workspace_id
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(m) = m else { continue };
            match choice {
                UnconfirmedChoice::MarkSent => {
                    sqlx::query!(
                        "UPDATE messages SET status = 'sent', sent_at = coalesce(attempted_at, updated_at),
                             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                        id
                    )
                    .execute(&mut *tx)
                    .await?;
                    advance_enrollment(&mut tx, &m).await?;
                }
                UnconfirmedChoice::Resend => {
                    // The gate passed it before the crash; what changed since decides now.
                    if let Some(why) = resend_refused(&mut tx, &m).await? {
                        return Err(StoreError::Conflict(format!(
                            "message #{id} cannot be sent again: {why}; mark it sent or cancel it"
                        )));
                    }
                    sqlx::query!(
                        "UPDATE messages SET status = 'queued', due_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                             last_error = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                         WHERE id = ?",
                        id
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                UnconfirmedChoice::Cancel => {
                    sqlx::query!(
                        "UPDATE messages SET status = 'cancelled', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                         WHERE id = ?",
                        id
                    )
                    .execute(&mut *tx)
                    .await?;
                    advance_enrollment(&mut tx, &m).await?;
                    reopen_answered_reply(&mut tx, m.id).await?;
                }
            }
            n += 1;
        }
        let how = match choice {
            UnconfirmedChoice::MarkSent => "marked sent",
            UnconfirmedChoice::Resend => "queued again",
            UnconfirmedChoice::Cancel => "cancelled",
        };
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "send.resolve",
            &format!("{n} unconfirmed message(s) {how}"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A campaign's messages, newest first, optionally of one status.
    pub async fn list_messages(
        &self,
        campaign_id: i64,
        status: Option<MessageStatus>,
        limit: i64,
    ) -> Result<Vec<MessageSummary>, StoreError> {
        let status = status.map(MessageStatus::as_str);
        let rows = sqlx::query!(
            r#"SELECT id AS "id!", campaign_id, prospect_id, step_position, variant, to_address,
                  subject, status, attempts, due_at, sent_at, last_error
               FROM messages WHERE campaign_id = ? AND (? IS NULL OR status = ?)
               ORDER BY id DESC LIMIT ?"#,
            campaign_id,
            status,
            status,
            limit
        )
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(MessageSummary {
                    id: r.id,
                    campaign_id: r.campaign_id,
                    prospect_id: r.prospect_id,
                    step_position: r.step_position,
                    variant: r.variant,
                    to_address: r.to_address,
                    subject: r.subject,
                    status: MessageStatus::parse(&r.status).ok_or_else(|| {
                        StoreError::Corrupt(format!("message status '{}'", r.status))
                    })?,
                    attempts: r.attempts,
                    due_at: r.due_at,
                    sent_at: r.sent_at,
                    last_error: r.last_error,
                })
            })
            .collect()
    }

    /// Messages waiting in the outbox: of every running campaign, and answers to replies (for
    /// "offline, N queued"), but not those held for a prospect in the trash.
    pub async fn queued_count(&self) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar!(
            "SELECT count(*) FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id
             WHERE m.status = 'queued' AND (m.campaign_id IS NULL OR c.status = 'running')
               AND NOT EXISTS (SELECT 1 FROM prospects p
                               WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)"
        )
        .fetch_one(self.readers())
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The queued messages of running campaigns and the queued answers, by account and
    /// campaign (`None` for answers), each group with its earliest due time.
    pub async fn queued_groups(&self) -> Result<Vec<QueuedGroup>, StoreError> {
        Ok(sqlx::query_as!(
            QueuedGroup,
            r#"SELECT m.account_id AS "account_id!", m.campaign_id, min(m.due_at) AS "due_at!: String"
               FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id
               WHERE m.status = 'queued' AND (m.campaign_id IS NULL OR c.status = 'running')
                 AND NOT EXISTS (SELECT 1 FROM prospects p
                                 WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)
               GROUP BY m.account_id, m.campaign_id"#
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// Ids of accounts with messages queued in running campaigns or answers queued.
    pub async fn accounts_with_queued(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT DISTINCT m.account_id FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id
             WHERE m.status = 'queued' AND (m.campaign_id IS NULL OR c.status = 'running')
               AND NOT EXISTS (SELECT 1 FROM prospects p
                               WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)"
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// Marks running campaigns with no enrolment left to work on as completed; returns the
    /// workspaces they belong to.
    pub async fn complete_finished_campaigns(&self) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query!(
            r#"UPDATE campaigns SET status = 'completed', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE status = 'running'
                 AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.campaign_id = campaigns.id
                                 AND e.state IN ('active', 'waiting'))
                 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = campaigns.id
                                 AND m.status IN ('queued', 'sending', 'unconfirmed'))
               RETURNING id AS "id!", workspace_id"#
        )
        .fetch_all(&mut *tx)
        .await?;
        for c in &done {
            record(
                &mut tx,
                Some(c.workspace_id),
                Actor::System,
                "campaign.complete",
                &format!("Campaign #{} completed", c.id),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        let mut workspaces: Vec<i64> = done.iter().map(|c| c.workspace_id).collect();
        workspaces.dedup();
        Ok(workspaces)
    }
}

/// A message as [`Store::enqueue`] hands it to SQLite's `json_each`.
#[derive(Serialize)]
struct EnqueueRow<'a> {
    w: i64,
    c: i64,
    e: i64,
    n: i64,
    p: i64,
    a: i64,
    k: String,
    v: &'a str,
    id: &'a str,
    to: &'a str,
    tn: Option<&'a str>,
    s: &'a str,
    u: &'a str,
    d: &'a str,
    t: i64,
    tu: &'a str,
}

impl<'a> From<&'a NewMessage> for EnqueueRow<'a> {
    fn from(m: &'a NewMessage) -> Self {
        Self {
            w: m.workspace_id,
            c: m.campaign_id,
            e: m.enrollment_id,
            n: m.step_position,
            p: m.prospect_id,
            a: m.account_id,
            k: idempotency_key(m),
            v: &m.variant,
            id: &m.message_id,
            to: &m.to_address,
            tn: m.to_name.as_deref(),
            s: &m.subject,
            u: &m.unsubscribe_token,
            d: &m.due_at,
            t: m.template_id,
            tu: &m.template_changed_at,
        }
    }
}

/// A campaign message's idempotency key: one message per (enrolment, step).
fn idempotency_key(m: &NewMessage) -> String {
    format!("e{}:s{}", m.enrollment_id, m.step_position)
}

/// Queued messages of one account and campaign; see [`Store::queued_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedGroup {
    /// The account they go out from.
    pub account_id: i64,
    /// Their campaign; `None` for answers to replies.
    pub campaign_id: Option<i64>,
    /// The earliest due time among them (ISO 8601).
    pub due_at: String,
}

/// Claims those of `message_rows` still queued, within `tx`; see [`Store::claim_batch`].
async fn claim_rows(
    tx: &mut sqlx::SqliteConnection,
    message_rows: &[i64],
    account_id: i64,
    now: &str,
    gaps: &[(i64, String)],
) -> Result<Vec<ClaimedMessage>, StoreError> {
    let ids = serde_json::to_string(message_rows).map_err(corrupt)?;
    let claimed = sqlx::query_as!(
        ClaimedMessage,
        r#"UPDATE messages SET status = 'sending', attempts = attempts + 1, attempted_at = ?1,
                   updated_at = ?1
               WHERE id IN (SELECT value FROM json_each(?2)) AND status = 'queued'
                 AND (campaign_id IS NULL
                      OR campaign_id IN (SELECT id FROM campaigns WHERE status = 'running'))
                 AND NOT EXISTS (SELECT 1 FROM prospects p
                                 WHERE p.id = messages.prospect_id AND p.deleted_at IS NOT NULL)
               RETURNING id AS "id!", workspace_id, campaign_id, enrollment_id, prospect_id,
                   step_position, message_id, to_address, to_name, subject,
                   (SELECT b.body FROM message_bodies b WHERE b.message_id = messages.id)
                       AS "body!: String",
                   unsubscribe_token, attempts, in_reply_to"#,
        now,
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let attempts: Vec<serde_json::Value> = claimed
        .iter()
        .map(|m| serde_json::json!({ "m": m.id, "c": m.campaign_id }))
        .collect();
    let attempts = serde_json::to_string(&attempts).map_err(corrupt)?;
    sqlx::query!(
        "INSERT INTO send_attempts (account_id, campaign_id, message_id, at)
             SELECT ?1, value ->> '$.c', value ->> '$.m', ?2 FROM json_each(?3)",
        account_id,
        now,
        attempts
    )
    .execute(&mut *tx)
    .await?;
    for (campaign, until) in gaps {
        sqlx::query!(
            "UPDATE campaigns SET next_send_after = ? WHERE id = ?",
            until,
            campaign
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut claimed = claimed;
    // In the order asked for, which is the order they were due.
    claimed.sort_by_key(|m| message_rows.iter().position(|r| *r == m.id));
    Ok(claimed)
}

/// Records outcomes within `tx`; see [`Store::record_and_claim`].
async fn record_batch(
    tx: &mut sqlx::SqliteConnection,
    account_id: i64,
    claimed_at: &str,
    outcomes: &[(&ClaimedMessage, &Outcome)],
    now: &str,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = outcomes.iter().map(|(m, _)| m.id).collect();
    let ids = serde_json::to_string(&ids).map_err(corrupt)?;
    sqlx::query!(
        "UPDATE send_attempts SET at = ?1
             WHERE account_id = ?2 AND at = ?3 AND message_id IN (SELECT value FROM json_each(?4))",
        now,
        account_id,
        claimed_at,
        ids
    )
    .execute(&mut *tx)
    .await?;
    let sent: Vec<(&ClaimedMessage, &str)> = outcomes
        .iter()
        .filter_map(|(m, o)| match o {
            Outcome::Sent { response } => Some((*m, response.as_str())),
            _ => None,
        })
        .collect();
    if !sent.is_empty() {
        record_sent(tx, &sent, now).await?;
    }
    for (m, outcome) in outcomes {
        if !matches!(outcome, Outcome::Sent { .. }) {
            record_other(tx, m, outcome, now).await?;
        }
    }
    Ok(())
}

/// After a step went out (or was resolved), the enrolment moves to the next step, due at a
/// time the engine computes from that step's delay, or completes after the last one.
async fn advance_enrollment(
    tx: &mut sqlx::SqliteConnection,
    m: &ClaimedMessage,
) -> Result<(), StoreError> {
    let Some(enrollment) = m.enrollment_id else {
        return Ok(());
    };
    let next = m.step_position.unwrap_or(0) + 1;
    sqlx::query!(
        "UPDATE enrollments SET
             state = CASE WHEN EXISTS (SELECT 1 FROM sequence_steps s
                                       WHERE s.campaign_id = enrollments.campaign_id AND s.position = ?)
                          THEN 'active' ELSE 'completed' END,
             next_position = ?, next_run_at = NULL,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ? AND state = 'waiting'",
        next,
        next,
        enrollment
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Takes a campaign's queued messages that were never tried (with `template`, only those of
/// the steps written from it) back out of the outbox and makes their enrolments due again at
/// the same step and time, so that the scheduler writes them anew from the templates, sender
/// account and workspace as they are by then. A message tried before (waiting for a retry, or
/// queued again after an unconfirmed send) keeps its text and Message-ID: the server may have
/// seen them. Returns how many were taken back.
pub(crate) async fn withdraw_unsent(
    conn: &mut sqlx::SqliteConnection,
    campaign_id: i64,
    template: Option<i64>,
) -> Result<u32, StoreError> {
    let enrolments = sqlx::query_scalar!(
        r#"DELETE FROM messages
           WHERE campaign_id = ?1 AND status = 'queued' AND attempts = 0
             AND NOT EXISTS (SELECT 1 FROM replies r WHERE r.message_id = messages.id)
             AND (?2 IS NULL OR EXISTS (
                 SELECT 1 FROM sequence_steps s JOIN step_variants v ON v.step_id = s.id
                 WHERE s.campaign_id = messages.campaign_id
                   AND s.position = messages.step_position AND v.template_id = ?2))
           RETURNING enrollment_id"#,
        campaign_id,
        template
    )
    .fetch_all(&mut *conn)
    .await?;
    due_again(conn, &enrolments).await
}

/// [`withdraw_unsent`] for the campaign messages to some prospects of a workspace (a JSON
/// array of ids) whose details changed, or who moved to the trash (what is due again then
/// meets the compliance gate, which refuses a prospect in the trash). A message tried before
/// stays as written; the sender holds it while its prospect is in the trash, and sends it if
/// they are restored.
pub(crate) async fn withdraw_unsent_to(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    prospect_ids: &str,
) -> Result<u32, StoreError> {
    let enrolments = sqlx::query_scalar!(
        r#"DELETE FROM messages
           WHERE workspace_id = ?1 AND prospect_id IN (SELECT value FROM json_each(?2))
             AND campaign_id IS NOT NULL AND status = 'queued' AND attempts = 0
             AND NOT EXISTS (SELECT 1 FROM replies r WHERE r.message_id = messages.id)
           RETURNING enrollment_id"#,
        workspace_id,
        prospect_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    due_again(conn, &enrolments).await
}

/// Cancels every message queued for a prospect, campaign steps and answers, with `why` as
/// what each shows; returns how many. One tried before goes too: nothing more may reach them.
pub(crate) async fn cancel_queued_to(
    conn: &mut sqlx::SqliteConnection,
    prospect_id: i64,
    why: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query!(
        "UPDATE messages SET status = 'cancelled', last_error = ?,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE prospect_id = ? AND status = 'queued'",
        why,
        prospect_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Takes the answers to replies queued for some prospects of a workspace (a JSON array of
/// ids) and never tried back out of the outbox, as drafts again: they are moving to the
/// trash, and what a person wrote is not thrown away (a restore finds it to send). The
/// replies they answered need an answer again. Returns how many.
pub(crate) async fn withdraw_answers_to(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    prospect_ids: &str,
) -> Result<u32, StoreError> {
    let rows = sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM messages
           WHERE workspace_id = ?1 AND prospect_id IN (SELECT value FROM json_each(?2))
             AND campaign_id IS NULL AND status = 'queued' AND attempts = 0"#,
        workspace_id,
        prospect_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let rows_json = serde_json::to_string(&rows).map_err(corrupt)?;
    sqlx::query!(
        "UPDATE replies SET needs_reply = 1
         WHERE id IN (SELECT reply_id FROM reply_drafts
                      WHERE outbox_id IN (SELECT value FROM json_each(?)))",
        rows_json
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE reply_drafts SET state = 'draft', outbox_id = NULL,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE outbox_id IN (SELECT value FROM json_each(?))",
        rows_json
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))",
        rows_json
    )
    .execute(&mut *conn)
    .await?;
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}

/// Makes the enrolments of withdrawn messages due again at the same step; returns how many
/// messages were withdrawn.
async fn due_again(
    conn: &mut sqlx::SqliteConnection,
    enrolments: &[Option<i64>],
) -> Result<u32, StoreError> {
    let ids = serde_json::to_string(enrolments).map_err(corrupt)?;
    sqlx::query!(
        "UPDATE enrollments SET state = 'active', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id IN (SELECT value FROM json_each(?)) AND state = 'waiting'",
        ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(u32::try_from(enrolments.len()).unwrap_or(u32::MAX))
}

/// Why a message written for `to_address` can no longer go to prospect `prospect_id`, as the
/// write transaction `conn` sees them, or `None` when it still can. The compliance gate
/// checked the message from an earlier read; this is what can change after it.
pub(crate) async fn recipient_refused_now(
    conn: &mut sqlx::SqliteConnection,
    prospect_id: i64,
    to_address: &str,
) -> Result<Option<&'static str>, StoreError> {
    let Some(p) = sqlx::query!(
        r#"SELECT deleted_at IS NOT NULL AS "deleted!: bool",
               objection_at IS NOT NULL OR status = 'unsubscribed' AS "objected!: bool",
               status = 'bounced' AS "bounced!: bool",
               coalesce(email, '') = ? AS "same_address!: bool"
           FROM prospects WHERE id = ?"#,
        to_address,
        prospect_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Some("the prospect was erased"));
    };
    Ok(if p.deleted {
        Some("the prospect was moved to the trash")
    } else if p.objected {
        Some("the prospect opted out")
    } else if p.bounced {
        Some("the prospect's address bounced")
    } else if !p.same_address {
        Some("the prospect's address changed")
    } else {
        None
    })
}

/// Why unconfirmed message `m` cannot go out again: its recipient can no longer be written
/// to (see [`recipient_refused_now`]), or its campaign was stopped or moved to the trash.
async fn resend_refused(
    conn: &mut sqlx::SqliteConnection,
    m: &ClaimedMessage,
) -> Result<Option<&'static str>, StoreError> {
    if let Some(why) = recipient_refused_now(&mut *conn, m.prospect_id, &m.to_address).await? {
        return Ok(Some(why));
    }
    let Some(campaign) = m.campaign_id else {
        return Ok(None);
    };
    let goes_on = sqlx::query_scalar!(
        r#"SELECT status IN ('running', 'paused') AND deleted_at IS NULL AS "goes_on!: bool"
           FROM campaigns WHERE id = ?"#,
        campaign
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(false);
    Ok((!goes_on).then_some("its campaign was stopped or moved to the trash"))
}

/// What changed under the messages of running and paused campaigns; see
/// [`withdraw_written_from`].
pub(crate) enum WrittenFrom {
    /// The workspace's lines (name, address, notice) or its sending settings, which the
    /// compliance gate and the send times follow.
    Workspace(i64),
    /// The sender account's name or address.
    Account(i64),
    /// A template's text: only the steps written from it.
    Template(i64),
}

/// [`withdraw_unsent`] for every running or paused campaign whose messages were written from
/// what changed. Returns how many were taken back.
pub(crate) async fn withdraw_written_from(
    conn: &mut sqlx::SqliteConnection,
    from: WrittenFrom,
) -> Result<u32, StoreError> {
    let (campaigns, template) = match from {
        WrittenFrom::Workspace(id) => (
            sqlx::query_scalar!(
                r#"SELECT id AS "id!" FROM campaigns
           WHERE workspace_id = ? AND status IN ('running', 'paused') AND deleted_at IS NULL"#,
                id
            )
            .fetch_all(&mut *conn)
            .await?,
            None,
        ),
        WrittenFrom::Account(id) => (
            sqlx::query_scalar!(
                r#"SELECT id AS "id!" FROM campaigns
                   WHERE account_id = ? AND status IN ('running', 'paused') AND deleted_at IS NULL"#,
                id
            )
            .fetch_all(&mut *conn)
            .await?,
            None,
        ),
        WrittenFrom::Template(id) => (
            sqlx::query_scalar!(
                r#"SELECT DISTINCT s.campaign_id AS "id!" FROM sequence_steps s
                   JOIN step_variants v ON v.step_id = s.id
                   JOIN campaigns c ON c.id = s.campaign_id
                   WHERE v.template_id = ? AND c.status IN ('running', 'paused')"#,
                id
            )
            .fetch_all(&mut *conn)
            .await?,
            Some(id),
        ),
    };
    let mut n = 0;
    for campaign in campaigns {
        n += withdraw_unsent(&mut *conn, campaign, template).await?;
    }
    Ok(n)
}

/// When the message was an answer to a reply, marks that reply as needing an answer again:
/// queuing the answer cleared the mark, and an answer that did not go out (refused for good,
/// or cancelled after a crash) answered nobody. Nothing happens for other messages.
async fn reopen_answered_reply(
    tx: &mut sqlx::SqliteConnection,
    message_row: i64,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE replies SET needs_reply = 1
         WHERE id IN (SELECT reply_id FROM reply_drafts WHERE outbox_id = ?)",
        message_row
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records one outcome other than sent (rare: each is written on its own).
async fn record_other(
    tx: &mut sqlx::SqliteConnection,
    m: &ClaimedMessage,
    outcome: &Outcome,
    now: &str,
) -> Result<(), StoreError> {
    let step = m.step_position.unwrap_or(0);
    let (status, action, error) = match outcome {
        Outcome::Sent { response } => {
            return record_sent(tx, &[(m, response.as_str())], now).await;
        }
        Outcome::Retry { error, at } => {
            sqlx::query!(
                "UPDATE messages SET status = 'queued', due_at = ?, last_error = ?, updated_at = ?
                 WHERE id = ? AND status = 'sending'",
                at,
                error,
                now,
                m.id
            )
            .execute(&mut *tx)
            .await?;
            // Retries are not audited one by one: a long outage would flood the log.
            return Ok(());
        }
        Outcome::Failed { error } | Outcome::Bounced { error } | Outcome::Unconfirmed { error } => {
            let status = match outcome {
                Outcome::Failed { .. } => "failed",
                Outcome::Bounced { .. } => "bounced",
                _ => "unconfirmed",
            };
            sqlx::query!(
                "UPDATE messages SET status = ?, last_error = ?, updated_at = ?
                 WHERE id = ? AND status = 'sending'",
                status,
                error,
                now,
                m.id
            )
            .execute(&mut *tx)
            .await?;
            if status != "unconfirmed" {
                sqlx::query!(
                    "UPDATE enrollments SET state = 'failed', reason = ?, updated_at = ?
                     WHERE id = ? AND state = 'waiting'",
                    error,
                    now,
                    m.enrollment_id
                )
                .execute(&mut *tx)
                .await?;
            }
            if status == "bounced" {
                sqlx::query!(
                    "UPDATE prospects SET status = 'bounced', email_status = 'bounced' WHERE id = ?",
                    m.prospect_id
                )
                .execute(&mut *tx)
                .await?;
            }
            if status != "unconfirmed" {
                reopen_answered_reply(tx, m.id).await?;
            }
            (
                status,
                match status {
                    "failed" => "send.failed",
                    "bounced" => "send.bounced",
                    _ => "send.unconfirmed",
                },
                Some(error.as_str()),
            )
        }
    };
    let campaign = m
        .campaign_id
        .map(|c| format!(" (campaign #{c}, step {step})"))
        .unwrap_or_default();
    record_about(
        tx,
        Some(m.workspace_id),
        About::One(m.prospect_id),
        Actor::System,
        action,
        &format!(
            "Message #{} to prospect #{} {status}{campaign}",
            m.id, m.prospect_id
        ),
        error.map(|e| serde_json::json!({ "error": e })).as_ref(),
    )
    .await?;
    Ok(())
}

/// Records sent messages: one statement per table for the whole batch.
async fn record_sent(
    tx: &mut sqlx::SqliteConnection,
    sent: &[(&ClaimedMessage, &str)],
    now: &str,
) -> Result<(), StoreError> {
    let rows: Vec<serde_json::Value> = sent
        .iter()
        .map(|(m, response)| {
            let campaign = m
                .campaign_id
                .map(|c| format!(" (campaign #{c}, step {})", m.step_position.unwrap_or(0)))
                .unwrap_or_default();
            serde_json::json!({
                "id": m.id,
                "r": response,
                "e": m.enrollment_id,
                "n": m.step_position.unwrap_or(0) + 1,
                "p": m.prospect_id,
                "w": m.workspace_id,
                "s": format!("Message #{} to prospect #{} sent{campaign}", m.id, m.prospect_id),
            })
        })
        .collect();
    let rows = serde_json::to_string(&rows).map_err(corrupt)?;
    sqlx::query!(
        "WITH j AS MATERIALIZED (SELECT value ->> '$.id' AS id, value ->> '$.r' AS r
                                FROM json_each(?2))
         UPDATE messages SET status = 'sent', sent_at = ?1, provider_response = j.r,
             last_error = NULL, updated_at = ?1
         FROM j WHERE messages.id = j.id AND messages.status = 'sending'",
        now,
        rows
    )
    .execute(&mut *tx)
    .await?;
    // The next step, if the sequence has one; otherwise the enrolment is complete.
    sqlx::query!(
        "WITH j AS MATERIALIZED (SELECT value ->> '$.e' AS e, value ->> '$.n' AS n
                                FROM json_each(?1) WHERE value ->> '$.e' IS NOT NULL)
         UPDATE enrollments SET
             state = CASE WHEN EXISTS (SELECT 1 FROM sequence_steps s
                                       WHERE s.campaign_id = enrollments.campaign_id
                                         AND s.position = j.n)
                          THEN 'active' ELSE 'completed' END,
             next_position = j.n, next_run_at = NULL,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         FROM j WHERE enrollments.id = j.e AND enrollments.state = 'waiting'",
        rows
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "WITH j AS MATERIALIZED (SELECT DISTINCT value ->> '$.p' AS p FROM json_each(?2))
         UPDATE prospects SET
             status = CASE WHEN status IN ('new', 'qualified') THEN 'contacted' ELSE status END,
             art14_notice_sent_at = coalesce(art14_notice_sent_at, ?1)
         FROM j WHERE prospects.id = j.p",
        now,
        rows
    )
    .execute(&mut *tx)
    .await?;
    let actor = Actor::System.as_str();
    sqlx::query!(
        "INSERT INTO audit_log (workspace_id, actor, action, summary, prospect_id)
         SELECT value ->> '$.w', ?1, 'send.sent', value ->> '$.s', value ->> '$.p'
         FROM json_each(?2)",
        actor,
        rows
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

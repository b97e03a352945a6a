//! Campaigns, their sequences and their enrolments.

use std::collections::HashSet;

use outreach_core::campaign::{
    Campaign, CampaignFields, CampaignStatus, MAX_STEP_DELAY_BUSINESS_DAYS, PositiveFollowUp,
    PositiveMode, Step, StepCondition,
};
use outreach_core::compliance::RefusalCode;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::{About, record, record_about};
use crate::enrolments::{EnrolmentGroup, EnrolmentState};
use crate::error::{conflict_or, corrupt};
use crate::prospects::in_order_once;
use crate::trash::{MessagesOf, quoted_list, refuse_while_messages_wait};
use crate::{Actor, Store, StoreError};

fn validated(f: &CampaignFields) -> Result<CampaignFields, StoreError> {
    let mut f = f.clone();
    f.name = f.name.trim().to_string();
    if f.name.is_empty() {
        return Err(StoreError::Invalid("a campaign needs a name".into()));
    }
    f.window
        .validate()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    f.window.days.sort_unstable();
    f.window.days.dedup();
    if f.daily_cap == Some(0) {
        // It would hold every message forever without saying why.
        return Err(StoreError::Invalid(
            "the daily cap must be at least 1; leave it empty for none".into(),
        ));
    }
    if f.min_gap_seconds > f.max_gap_seconds {
        return Err(StoreError::Invalid(
            "the shortest gap between sends is longer than the longest".into(),
        ));
    }
    if f.steps.is_empty() {
        return Err(StoreError::Invalid(
            "a campaign needs at least one step".into(),
        ));
    }
    for (i, s) in f.steps.iter().enumerate() {
        if s.template_ids.is_empty() {
            return Err(StoreError::Invalid(format!(
                "step {} has no template",
                i + 1
            )));
        }
        if s.template_ids.len() > 26 {
            return Err(StoreError::Invalid(format!(
                "step {} has too many variants",
                i + 1
            )));
        }
        if s.delay_business_days > MAX_STEP_DELAY_BUSINESS_DAYS {
            return Err(StoreError::Invalid(format!(
                "step {} waits {} business days; at most {MAX_STEP_DELAY_BUSINESS_DAYS} (about a year)",
                i + 1,
                s.delay_business_days
            )));
        }
    }
    Ok(f)
}

/// The label of the `i`-th variant of a step: A, B, C, ...
pub fn variant_label(i: usize) -> String {
    char::from(b'A' + u8::try_from(i % 26).unwrap_or(0)).to_string()
}

/// How far a campaign has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CampaignProgress {
    /// Enrolled prospects.
    pub enrolled: u32,
    /// Enrolments still going.
    pub active: u32,
    /// Enrolments whose sequence ran to its last step.
    pub completed: u32,
    /// Enrolments a human reply stopped: the outcome a campaign is for.
    pub replied: u32,
    /// Enrolments that ended early for any other reason: the prospect opted out or bounced,
    /// a message failed for good, the compliance gate refused a step, or the campaign was
    /// stopped. With `active`, `completed` and `replied` they add up to `enrolled`.
    pub stopped: u32,
    /// Messages waiting in the outbox.
    pub queued: u32,
    /// Of the queued messages, those held while their prospect is in the trash: tried before
    /// (the server may have seen them), they are kept as written rather than taken back, and
    /// go out only if the prospect is restored.
    pub held: u32,
    /// Messages accepted by the server.
    pub sent: u32,
    /// Messages refused for good.
    pub failed: u32,
    /// Messages to addresses that do not exist.
    pub bounced: u32,
    /// Messages whose fate is unknown after a crash: a person decides.
    pub unconfirmed: u32,
    /// Messages withdrawn.
    pub cancelled: u32,
    /// Sends the compliance gate refused.
    pub blocked: u32,
    /// Refusals grouped by reason, most frequent first.
    pub blocked_reasons: Vec<BlockedReason>,
    /// Of the refusals, those that checking again may change (see
    /// [`Store::retry_blocked`]); not those of suppressed addresses or prospects in the trash.
    pub blocked_to_check_again: u32,
    /// When the next queued message can go out (ISO 8601): the earliest due time, moved later
    /// while the campaign's gap or daily cap, or its account's caps or ramp-up, hold it back.
    pub next_send_at: Option<String>,
    /// What holds the next message past its due time, when something does ("the campaign's
    /// daily cap", ...), for the progress view.
    pub next_send_held_by: Option<String>,
    /// The latest delivery error, if any: of a message that failed, bounced, or waits to be
    /// retried. Messages withdrawn because the prospect replied or opted out, or the campaign
    /// stopped, did not fail; messages whose fate is unknown are counted in `unconfirmed`.
    pub last_error: Option<String>,
}

/// A reason the gate gave, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BlockedReason {
    /// Stable code.
    pub code: String,
    /// The sentence shown.
    pub reason: String,
    /// How many sends.
    pub count: u32,
}

/// An enrolment and where it stands, for the pre-send check and the start estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentStep {
    /// Enrolment id.
    pub id: i64,
    /// Its prospect.
    pub prospect_id: i64,
    /// A/B variant label.
    pub variant: String,
    /// Whether its next step is still to be scheduled (rather than queued, or the enrolment
    /// over).
    pub active: bool,
    /// The next step (1-based).
    pub next_position: i64,
    /// When that step is due, once worked out.
    pub next_run_at: Option<String>,
}

/// A stored campaign status read back.
pub(crate) fn read_campaign_status(s: &str) -> Result<CampaignStatus, StoreError> {
    CampaignStatus::parse(s).ok_or_else(|| corrupt(format!("campaign status '{s}'")))
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Store {
    /// Creates a campaign as a draft.
    pub async fn create_campaign(
        &self,
        workspace_id: i64,
        fields: &CampaignFields,
        actor: Actor,
    ) -> Result<Campaign, StoreError> {
        let f = validated(fields)?;
        let positive_template = f.positive_follow_up.template_id;
        let positive_mode = f.positive_follow_up.mode.as_str();
        let mut tx = self.begin_write().await?;
        check_positive_template(&mut tx, workspace_id, &f).await?;
        let days = serde_json::to_string(&f.window.days)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let id = sqlx::query!(
            "INSERT INTO campaigns (workspace_id, name, account_id, send_days, window_start,
                 window_end, daily_cap, min_gap_seconds, max_gap_seconds, positive_template_id,
                 positive_mode)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            workspace_id,
            f.name,
            f.account_id,
            days,
            f.window.start_minute,
            f.window.end_minute,
            f.daily_cap,
            f.min_gap_seconds,
            f.max_gap_seconds,
            positive_template,
            positive_mode
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("a campaign named '{}' already exists", f.name)
            })
        })?
        .last_insert_rowid();
        write_steps(&mut tx, workspace_id, id, &f.steps).await?;
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "campaign.create",
            &format!("Created campaign #{id} with {} step(s)", f.steps.len()),
            None,
        )
        .await?;
        tx.commit().await?;
        self.campaign(id).await
    }

    /// Changes a campaign while it is a draft or paused (a stopped or completed one has ended);
    /// steps already sent stay as they were.
    pub async fn update_campaign(
        &self,
        id: i64,
        fields: &CampaignFields,
        actor: Actor,
    ) -> Result<Campaign, StoreError> {
        let f = validated(fields)?;
        // Read inside the write: a campaign resumed or started by another window or process
        // after an earlier read must not have its sequence rewritten while it sends.
        let mut tx = self.begin_write().await?;
        let current = read_campaign(&mut tx, id).await?;
        match current.status {
            CampaignStatus::Running => {
                return Err(StoreError::Conflict(
                    "pause the campaign before changing it".into(),
                ));
            }
            CampaignStatus::Stopped | CampaignStatus::Completed => {
                return Err(StoreError::Conflict(format!(
                    "a {} campaign has ended and can no longer change",
                    current.status.as_str()
                )));
            }
            CampaignStatus::Draft | CampaignStatus::Paused => {}
        }
        let positive_template = f.positive_follow_up.template_id;
        let positive_mode = f.positive_follow_up.mode.as_str();
        let days = serde_json::to_string(&f.window.days)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        check_positive_template(&mut tx, current.workspace_id, &f).await?;
        sqlx::query!(
            "UPDATE campaigns SET name = ?, account_id = ?, send_days = ?, window_start = ?,
                 window_end = ?, daily_cap = ?, min_gap_seconds = ?, max_gap_seconds = ?,
                 positive_template_id = ?, positive_mode = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            f.name,
            f.account_id,
            days,
            f.window.start_minute,
            f.window.end_minute,
            f.daily_cap,
            f.min_gap_seconds,
            f.max_gap_seconds,
            positive_template,
            positive_mode,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("a campaign named '{}' already exists", f.name)
            })
        })?;
        if f.steps != current.fields.steps {
            let step_ids = sqlx::query_scalar!(
                r#"SELECT id AS "id!" FROM sequence_steps WHERE campaign_id = ?"#,
                id
            )
            .fetch_all(&mut *tx)
            .await?;
            for s in step_ids {
                sqlx::query!("DELETE FROM step_variants WHERE step_id = ?", s)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query!("DELETE FROM sequence_steps WHERE campaign_id = ?", id)
                .execute(&mut *tx)
                .await?;
            write_steps(&mut tx, current.workspace_id, id, &f.steps).await?;
        }
        record(
            &mut tx,
            Some(current.workspace_id),
            actor,
            "campaign.update",
            &format!("Changed campaign #{id}"),
            None,
        )
        .await?;
        tx.commit().await?;
        self.campaign(id).await
    }

    /// Moves a campaign to the trash: it leaves the lists, and its enrolments, messages and
    /// replies stay in the history of the people they are about. Only a campaign that sends
    /// nothing more may go: a draft, or one stopped or completed with no message still queued,
    /// being sent or waiting for a person to decide about it.
    pub async fn delete_campaign(&self, id: i64, actor: Actor) -> Result<Campaign, StoreError> {
        let mut tx = self.begin_write().await?;
        let c = read_campaign(&mut tx, id).await?;
        if matches!(c.status, CampaignStatus::Running | CampaignStatus::Paused) {
            return Err(StoreError::Conflict(format!(
                "campaign '{}' is {}; stop it before moving it to the trash",
                c.fields.name,
                c.status.as_str()
            )));
        }
        refuse_while_messages_wait(
            &mut tx,
            MessagesOf::Campaign(id),
            &format!("campaign '{}'", c.fields.name),
            "it can go to the trash",
        )
        .await?;
        sqlx::query!(
            "UPDATE campaigns SET deleted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            id
        )
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            Some(c.workspace_id),
            actor,
            "campaign.delete",
            &format!("Moved campaign #{id} to the trash"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Takes a campaign out of the trash, as it was. Refused while one of its templates is in
    /// the trash (it would point at a template nobody can see) or another campaign has its
    /// name now.
    pub async fn restore_campaign(&self, id: i64, actor: Actor) -> Result<Campaign, StoreError> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query!(
            "SELECT workspace_id, name FROM campaigns WHERE id = ? AND deleted_at IS NOT NULL",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("trashed campaign #{id}")))?;
        let trashed_templates = sqlx::query_scalar!(
            r#"SELECT t.name AS "name!" FROM templates t
               WHERE t.deleted_at IS NOT NULL
                 AND (t.id = (SELECT positive_template_id FROM campaigns WHERE id = ?1)
                      OR t.id IN (SELECT v.template_id FROM step_variants v
                                  JOIN sequence_steps s ON s.id = v.step_id
                                  WHERE s.campaign_id = ?1))
               ORDER BY t.name COLLATE NOCASE"#,
            id
        )
        .fetch_all(&mut *tx)
        .await?;
        if !trashed_templates.is_empty() {
            let one = trashed_templates.len() == 1;
            return Err(StoreError::Conflict(format!(
                "campaign '{}' uses {} {} in the trash; restore {} first",
                r.name,
                if one { "template" } else { "templates" },
                quoted_list(&trashed_templates),
                if one { "it" } else { "them" }
            )));
        }
        // A draft whose account was removed meanwhile comes back without one, to be chosen
        // before it starts; a campaign that is over keeps naming the account it sent from.
        sqlx::query!(
            "UPDATE campaigns SET deleted_at = NULL,
                 account_id = CASE
                     WHEN status = 'draft' AND account_id IN
                          (SELECT id FROM sender_accounts WHERE deleted_at IS NOT NULL)
                     THEN NULL ELSE account_id END,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!(
                    "another campaign is named '{}' now; rename it to restore this one",
                    r.name
                )
            })
        })?;
        record(
            &mut tx,
            Some(r.workspace_id),
            actor,
            "campaign.restore",
            &format!("Restored campaign #{id} from the trash"),
            None,
        )
        .await?;
        tx.commit().await?;
        self.campaign(id).await
    }

    /// One campaign with its sequence.
    pub async fn campaign(&self, id: i64) -> Result<Campaign, StoreError> {
        // One read transaction: the row and its steps as of one moment, even while the
        // sequence is being rewritten.
        let mut tx = self.readers().begin().await?;
        let c = read_campaign(&mut tx, id).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// A workspace's campaigns, newest first, read in two queries however many there are.
    pub async fn list_campaigns(&self, workspace_id: i64) -> Result<Vec<Campaign>, StoreError> {
        let mut tx = self.readers().begin().await?;
        let rows = sqlx::query_as!(
            CampaignRow,
            r#"SELECT id AS "id!", workspace_id, name, status, account_id, send_days, window_start,
                  window_end, daily_cap, min_gap_seconds, max_gap_seconds, started_at, created_at,
                  positive_template_id, positive_mode
               FROM campaigns WHERE workspace_id = ? AND deleted_at IS NULL
               ORDER BY id DESC"#,
            workspace_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let steps = sqlx::query_as!(
            StepRow,
            r#"SELECT s.campaign_id, s.position, s.delay_business_days, s.condition,
                  v.template_id AS "template_id?"
               FROM sequence_steps s LEFT JOIN step_variants v ON v.step_id = s.id
               WHERE s.campaign_id IN
                     (SELECT id FROM campaigns WHERE workspace_id = ? AND deleted_at IS NULL)
               ORDER BY s.campaign_id, s.position, v.label"#,
            workspace_id
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        assemble(rows, steps)
    }

    /// A campaign by workspace and name (case-insensitive), for the CLI.
    pub async fn campaign_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<Campaign, StoreError> {
        let name = name.trim();
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM campaigns
               WHERE workspace_id = ? AND name = ? COLLATE NOCASE AND deleted_at IS NULL"#,
            workspace_id,
            name
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("campaign '{name}'")))?;
        self.campaign(id).await
    }

    /// Enrols prospects (live ones of the campaign's workspace); returns how many were new.
    /// Variants of A/B steps are assigned in turn.
    pub async fn enrol(
        &self,
        campaign_id: i64,
        prospect_ids: &[i64],
        actor: Actor,
    ) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let c = read_campaign(&mut tx, campaign_id).await?;
        if matches!(
            c.status,
            CampaignStatus::Stopped | CampaignStatus::Completed
        ) {
            return Err(StoreError::Conflict(format!(
                "the campaign is {}; create a new one",
                c.status.as_str()
            )));
        }
        let variants = c
            .fields
            .steps
            .iter()
            .map(|s| s.template_ids.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let already: i64 = sqlx::query_scalar!(
            "SELECT count(*) FROM enrollments WHERE campaign_id = ?",
            campaign_id
        )
        .fetch_one(&mut *tx)
        .await?;
        // One statement for the whole list, not one per prospect: an agency enrols tens of
        // thousands at once. Read in the write transaction, so nothing changes in between.
        let ids = serde_json::to_string(prospect_ids).map_err(corrupt)?;
        let open: HashSet<i64> = sqlx::query_scalar!(
            r#"SELECT p.id AS "id!" FROM prospects p
               WHERE p.id IN (SELECT value FROM json_each(?1)) AND p.workspace_id = ?2
                 AND p.deleted_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM enrollments e
                                 WHERE e.campaign_id = ?3 AND e.prospect_id = p.id)"#,
            ids,
            c.workspace_id,
            campaign_id
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        // Variants in turn, in the order given, continuing from the campaign's last enrolment.
        let people = in_order_once(prospect_ids, &open);
        let rows: Vec<(i64, String)> = people
            .iter()
            .copied()
            .enumerate()
            .map(|(i, id)| {
                let slot = usize::try_from(already).unwrap_or(0) + i;
                (id, variant_label(slot % variants))
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(corrupt)?;
        // `WHERE true` lets SQLite parse the upsert clause after a SELECT.
        let done = sqlx::query!(
            "INSERT INTO enrollments (campaign_id, prospect_id, variant)
             SELECT ?1, value ->> '$[0]', value ->> '$[1]' FROM json_each(?2) WHERE true
             ON CONFLICT (campaign_id, prospect_id) DO NOTHING",
            campaign_id,
            rows
        )
        .execute(&mut *tx)
        .await?;
        let added = u32::try_from(done.rows_affected()).unwrap_or(u32::MAX);
        record_about(
            &mut tx,
            Some(c.workspace_id),
            About::Many(&people),
            actor,
            "campaign.enrol",
            &format!("Enrolled {added} prospect(s) in campaign #{campaign_id}"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// A campaign's enrolments as (enrolment id, prospect id, A/B variant label), oldest
    /// first.
    pub async fn enrolments(
        &self,
        campaign_id: i64,
    ) -> Result<Vec<(i64, i64, String)>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT id AS "id!", prospect_id, variant FROM enrollments WHERE campaign_id = ? ORDER BY id"#,
            campaign_id
        )
        .fetch_all(self.readers())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, r.prospect_id, r.variant))
            .collect())
    }

    /// Every enrolment of a campaign with where it stands, in enrolment order: what the
    /// pre-send check renders for and the start estimate counts.
    pub async fn enrolment_steps(
        &self,
        campaign_id: i64,
    ) -> Result<Vec<EnrolmentStep>, StoreError> {
        Ok(sqlx::query_as!(
            EnrolmentStep,
            r#"SELECT id AS "id!", prospect_id, variant, state = 'active' AS "active!: bool",
                      next_position, next_run_at
               FROM enrollments WHERE campaign_id = ? ORDER BY id"#,
            campaign_id
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// Moves a campaign to a new status. Starting sets `started_at`; pausing takes back its
    /// queued messages never tried (see [`crate::outbox::withdraw_unsent`]); stopping cancels
    /// its queued messages and stops its enrolments; each in the same transaction.
    pub async fn set_campaign_status(
        &self,
        id: i64,
        status: CampaignStatus,
        actor: Actor,
    ) -> Result<Campaign, StoreError> {
        // Decided on what the write sees: the engine completes campaigns, and the app and the
        // CLI may both be changing this one.
        let mut tx = self.begin_write().await?;
        let current = read_campaign(&mut tx, id).await?;
        use CampaignStatus::*;
        let allowed = matches!(
            (current.status, status),
            (Draft | Paused, Running) | (Running, Paused) | (Draft | Running | Paused, Stopped)
        );
        if !allowed {
            return Err(StoreError::Conflict(format!(
                "a {} campaign cannot be {}",
                current.status.as_str(),
                match status {
                    Running => "started",
                    Paused => "paused",
                    Stopped => "stopped",
                    _ => "changed that way",
                }
            )));
        }
        let s = status.as_str();
        sqlx::query!(
            "UPDATE campaigns SET status = ?,
                 started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ELSE started_at END,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            s,
            s,
            id
        )
        .execute(&mut *tx)
        .await?;
        let mut summary = format!("Campaign #{id} is now {s}");
        if status == Stopped {
            let n = sqlx::query!(
                "UPDATE messages SET status = 'cancelled', last_error = 'the campaign was stopped',
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE campaign_id = ? AND status = 'queued'",
                id
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query!(
                "UPDATE enrollments SET state = 'stopped', reason = 'campaign stopped',
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE campaign_id = ? AND state IN ('active', 'waiting')",
                id
            )
            .execute(&mut *tx)
            .await?;
            summary.push_str(&format!("; {n} queued message(s) cancelled"));
        }
        if status == Paused {
            // A campaign is paused to change something (a template, the account, the
            // wording of the workspace's lines): what it had written is written again on
            // resume, so that the change reaches everyone not yet written to.
            let n = crate::outbox::withdraw_unsent(&mut tx, id, None).await?;
            if n > 0 {
                summary.push_str(&format!(
                    "; {n} queued message(s) taken back, to be written again when it resumes"
                ));
            }
        }
        record(
            &mut tx,
            Some(current.workspace_id),
            actor,
            &format!(
                "campaign.{}",
                match status {
                    Running => "start",
                    Paused => "pause",
                    _ => "stop",
                }
            ),
            &summary,
            None,
        )
        .await?;
        tx.commit().await?;
        self.campaign(id).await
    }

    /// Lets the campaign's blocked enrolments meet the compliance gate again, once the person
    /// has fixed what it refused (recorded the legitimate-interest assessment, given a prospect
    /// a time zone, corrected a template): each goes on at the step it was refused, and the
    /// gate blocks again, with its reason, whoever it still refuses. A running or paused
    /// campaign, or one that completed because the gate blocked everyone left (it runs again
    /// when someone goes on); not a stopped one. Those refused for good stay blocked
    /// ([`RefusalCode::FINAL`]: a suppressed address; a prospect in the trash goes on once
    /// restored). Returns how many.
    pub async fn retry_blocked(&self, id: i64, actor: Actor) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = read_campaign(&mut tx, id).await?;
        if !matches!(
            current.status,
            CampaignStatus::Running | CampaignStatus::Paused | CampaignStatus::Completed
        ) {
            return Err(StoreError::Conflict(format!(
                "a {} campaign sends nothing more; only a running, paused or completed one checks its blocked people again",
                current.status.as_str()
            )));
        }
        let final_codes = final_refusals()?;
        let resumed = sqlx::query_scalar!(
            r#"UPDATE enrollments SET state = 'active', reason = NULL,
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE campaign_id = ?1 AND state = 'blocked'
                 AND NOT EXISTS (SELECT 1 FROM blocked_sends b
                                 WHERE b.enrollment_id = enrollments.id
                                   AND b.code IN (SELECT value FROM json_each(?2)))
               RETURNING id AS "id!""#,
            id,
            final_codes
        )
        .fetch_all(&mut *tx)
        .await?;
        // Their refusals no longer count; those made again are listed afresh.
        let resumed_json = serde_json::to_string(&resumed).map_err(corrupt)?;
        sqlx::query!(
            "DELETE FROM blocked_sends
             WHERE campaign_id = ? AND enrollment_id IN (SELECT value FROM json_each(?))",
            id,
            resumed_json
        )
        .execute(&mut *tx)
        .await?;
        let n = u32::try_from(resumed.len()).unwrap_or(u32::MAX);
        let mut summary = format!(
            "Campaign #{id}: {n} blocked enrolment(s) checked again by the compliance gate"
        );
        if n > 0 && current.status == CampaignStatus::Completed {
            sqlx::query!(
                "UPDATE campaigns SET status = 'running',
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?",
                id
            )
            .execute(&mut *tx)
            .await?;
            summary.push_str("; it runs again");
        }
        record(
            &mut tx,
            Some(current.workspace_id),
            actor,
            "campaign.retry_blocked",
            &summary,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Counts for the campaign's progress view.
    pub async fn campaign_progress(&self, id: i64) -> Result<CampaignProgress, StoreError> {
        let mut p = CampaignProgress::default();
        let states = sqlx::query!(
            r#"SELECT state, count(*) AS "n!: i64" FROM enrollments WHERE campaign_id = ? GROUP BY state"#,
            id
        )
        .fetch_all(self.readers())
        .await?;
        for s in states {
            let n = count(s.n);
            p.enrolled += n;
            match EnrolmentState::read(&s.state)?.group() {
                EnrolmentGroup::Active => p.active += n,
                EnrolmentGroup::Completed => p.completed += n,
                EnrolmentGroup::Replied => p.replied += n,
                EnrolmentGroup::Stopped => p.stopped += n,
            }
        }
        let statuses = sqlx::query!(
            r#"SELECT status, count(*) AS "n!: i64" FROM messages WHERE campaign_id = ? GROUP BY status"#,
            id
        )
        .fetch_all(self.readers())
        .await?;
        for s in statuses {
            let n = count(s.n);
            match s.status.as_str() {
                "queued" | "sending" => p.queued += n,
                "sent" => p.sent += n,
                "failed" => p.failed += n,
                "bounced" => p.bounced += n,
                "unconfirmed" => p.unconfirmed += n,
                "cancelled" => p.cancelled += n,
                _ => {}
            }
        }
        let reasons = sqlx::query!(
            r#"SELECT code, reason, count(*) AS "n!: i64" FROM blocked_sends WHERE campaign_id = ?
               GROUP BY code, reason ORDER BY count(*) DESC, code"#,
            id
        )
        .fetch_all(self.readers())
        .await?;
        for r in reasons {
            if !RefusalCode::FINAL.iter().any(|c| c.as_str() == r.code) {
                p.blocked_to_check_again += count(r.n);
            }
            p.blocked += count(r.n);
            p.blocked_reasons.push(BlockedReason {
                code: r.code,
                reason: r.reason,
                count: count(r.n),
            });
        }
        let held = sqlx::query_scalar!(
            "SELECT count(*) FROM messages m JOIN prospects p ON p.id = m.prospect_id
             WHERE m.campaign_id = ? AND m.status = 'queued' AND p.deleted_at IS NOT NULL",
            id
        )
        .fetch_one(self.readers())
        .await?;
        p.held = count(held);
        // The earliest due time; the engine's governor moves it past the caps' holds.
        p.next_send_at = sqlx::query_scalar!(
            r#"SELECT min(m.due_at) AS "due: String" FROM messages m
               WHERE m.campaign_id = ? AND m.status = 'queued'
                 AND NOT EXISTS (SELECT 1 FROM prospects p
                                 WHERE p.id = m.prospect_id AND p.deleted_at IS NOT NULL)"#,
            id
        )
        .fetch_one(self.readers())
        .await?;
        p.last_error = sqlx::query_scalar!(
            r#"SELECT last_error AS "e!" FROM messages
               WHERE campaign_id = ? AND last_error IS NOT NULL
                 AND status IN ('queued', 'failed', 'bounced')
               ORDER BY updated_at DESC LIMIT 1"#,
            id
        )
        .fetch_optional(self.readers())
        .await?;
        Ok(p)
    }
}

async fn write_steps(
    tx: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    campaign_id: i64,
    steps: &[Step],
) -> Result<(), StoreError> {
    for (i, step) in steps.iter().enumerate() {
        let position = i64::try_from(i + 1).unwrap_or(i64::MAX);
        let condition = step.condition.as_str();
        let step_id = sqlx::query!(
            "INSERT INTO sequence_steps (campaign_id, position, delay_business_days, condition)
             VALUES (?, ?, ?, ?)",
            campaign_id,
            position,
            step.delay_business_days,
            condition
        )
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for (v, template_id) in step.template_ids.iter().enumerate() {
            let owner = sqlx::query_scalar!(
                "SELECT workspace_id FROM templates WHERE id = ? AND deleted_at IS NULL",
                template_id
            )
            .fetch_optional(&mut *tx)
            .await?;
            if owner != Some(workspace_id) {
                return Err(StoreError::Invalid(format!(
                    "step {} uses template #{template_id}, which is not a template of this workspace",
                    i + 1
                )));
            }
            let label = variant_label(v);
            sqlx::query!(
                "INSERT INTO step_variants (step_id, label, template_id) VALUES (?, ?, ?)",
                step_id,
                label,
                template_id
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// A positive follow-up's template must be one of the workspace's, outside the trash. Asked
/// inside the write that stores the campaign, so that the template cannot go to the trash in
/// between.
async fn check_positive_template(
    tx: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    f: &CampaignFields,
) -> Result<(), StoreError> {
    let Some(t) = f.positive_follow_up.template_id else {
        return Ok(());
    };
    let found = sqlx::query_scalar!(
        "SELECT count(*) FROM templates WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL",
        t,
        workspace_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if found == 0 {
        return Err(StoreError::Invalid(format!(
            "the positive follow-up's template #{t} is not a template of this workspace"
        )));
    }
    Ok(())
}

/// A campaign's row as stored.
struct CampaignRow {
    id: i64,
    workspace_id: i64,
    name: String,
    status: String,
    account_id: Option<i64>,
    send_days: String,
    window_start: i64,
    window_end: i64,
    daily_cap: Option<i64>,
    min_gap_seconds: i64,
    max_gap_seconds: i64,
    started_at: Option<String>,
    created_at: String,
    positive_template_id: Option<i64>,
    positive_mode: String,
}

/// One variant of one step (a step without variants, which the store never writes, reads as
/// one without templates).
struct StepRow {
    campaign_id: i64,
    position: i64,
    delay_business_days: i64,
    condition: String,
    template_id: Option<i64>,
}

/// One campaign with its sequence, read through `conn`: inside a write transaction, what the
/// change that follows is decided on cannot move under it.
async fn read_campaign(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<Campaign, StoreError> {
    let row = sqlx::query_as!(
        CampaignRow,
        r#"SELECT id AS "id!", workspace_id, name, status, account_id, send_days, window_start,
              window_end, daily_cap, min_gap_seconds, max_gap_seconds, started_at, created_at,
              positive_template_id, positive_mode
           FROM campaigns WHERE id = ? AND deleted_at IS NULL"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("campaign #{id}")))?;
    let steps = sqlx::query_as!(
        StepRow,
        r#"SELECT s.campaign_id, s.position, s.delay_business_days, s.condition,
              v.template_id AS "template_id?"
           FROM sequence_steps s LEFT JOIN step_variants v ON v.step_id = s.id
           WHERE s.campaign_id = ?
           ORDER BY s.campaign_id, s.position, v.label"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    assemble(vec![row], steps)?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("campaign #{id}")))
}

/// Campaigns from their rows and their steps' rows (ordered by campaign, position and
/// variant label), in the rows' order.
fn assemble(rows: Vec<CampaignRow>, steps: Vec<StepRow>) -> Result<Vec<Campaign>, StoreError> {
    let mut sequences: std::collections::HashMap<i64, Vec<Step>> = std::collections::HashMap::new();
    let mut last: Option<(i64, i64)> = None;
    for s in steps {
        let sequence = sequences.entry(s.campaign_id).or_default();
        if last != Some((s.campaign_id, s.position)) {
            sequence.push(Step {
                delay_business_days: u32::try_from(s.delay_business_days).unwrap_or(0),
                condition: StepCondition::parse(&s.condition).ok_or_else(|| {
                    StoreError::Corrupt(format!("step condition '{}'", s.condition))
                })?,
                template_ids: Vec::new(),
            });
            last = Some((s.campaign_id, s.position));
        }
        if let (Some(t), Some(step)) = (s.template_id, sequence.last_mut()) {
            step.template_ids.push(t);
        }
    }
    rows.into_iter()
        .map(|r| {
            Ok(Campaign {
                id: r.id,
                workspace_id: r.workspace_id,
                status: read_campaign_status(&r.status)?,
                fields: CampaignFields {
                    name: r.name,
                    account_id: r.account_id,
                    window: outreach_core::schedule::SendWindow {
                        days: serde_json::from_str(&r.send_days)
                            .map_err(|e| StoreError::Corrupt(format!("send days: {e}")))?,
                        start_minute: u16::try_from(r.window_start).unwrap_or(0),
                        end_minute: u16::try_from(r.window_end).unwrap_or(1440),
                    },
                    daily_cap: r.daily_cap.and_then(|c| u32::try_from(c).ok()),
                    min_gap_seconds: u32::try_from(r.min_gap_seconds).unwrap_or(0),
                    max_gap_seconds: u32::try_from(r.max_gap_seconds).unwrap_or(0),
                    steps: sequences.remove(&r.id).unwrap_or_default(),
                    positive_follow_up: PositiveFollowUp {
                        template_id: r.positive_template_id,
                        mode: PositiveMode::parse(&r.positive_mode).ok_or_else(|| {
                            StoreError::Corrupt(format!("positive mode '{}'", r.positive_mode))
                        })?,
                    },
                },
                started_at: r.started_at,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// The codes of [`RefusalCode::FINAL`], as a JSON array for SQL.
fn final_refusals() -> Result<String, StoreError> {
    let codes: Vec<&str> = RefusalCode::FINAL.iter().map(|c| c.as_str()).collect();
    serde_json::to_string(&codes).map_err(corrupt)
}

//! Lawful basis and consent: the workspace's legitimate-interest assessment, its sending
//! settings, every prospect's lawful basis with its history, and the suppression list.

use std::collections::HashSet;

use outreach_core::campaign::{LegitimateInterestAssessment, SendingSettings};
use sqlx::SqliteConnection;

use crate::audit::{About, record, record_about};
use crate::error::corrupt;
use crate::prospects::in_order_once;
use crate::{Actor, Store, StoreError};

/// A consent event of a prospect's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ConsentEvent {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// `lawful_basis`, `consent`, `withdrawal`, `objection` or `opt_out`.
    pub kind: String,
    /// The lawful basis it set, if any.
    pub lawful_basis: Option<String>,
    /// Evidence (for consent) or detail.
    pub evidence: Option<String>,
    /// Where it came from (`app`, `cli`, `reply`, ...).
    pub source: String,
    /// When (ISO 8601).
    pub at: String,
}

/// An entry of the suppression list to add: a keyed hash made by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionEntry {
    /// HMAC of the normalised value.
    pub hash: String,
    /// `email`, `x_handle` or `linkedin_url`.
    pub kind: &'static str,
}

impl Store {
    /// The workspace's sending settings.
    pub async fn sending_settings(&self, workspace_id: i64) -> Result<SendingSettings, StoreError> {
        let r = sqlx::query!(
            "SELECT time_zone, consent_only_countries, unsubscribe_url FROM workspaces
             WHERE id = ? AND deleted_at IS NULL",
            workspace_id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("workspace #{workspace_id}")))?;
        Ok(SendingSettings {
            time_zone: r.time_zone,
            consent_only_countries: serde_json::from_str(&r.consent_only_countries)
                .map_err(|e| StoreError::Corrupt(format!("consent-only countries: {e}")))?,
            unsubscribe_url: r.unsubscribe_url,
        })
    }

    /// Changes the workspace's sending settings (validated by the caller). A new time zone,
    /// list of consent-only countries or unsubscribe URL takes back the queued messages of its
    /// campaigns never tried: the compliance gate and the send times are decided again, and
    /// the opt-out line written again. Returns how many were
    /// taken back.
    pub async fn set_sending_settings(
        &self,
        workspace_id: i64,
        s: &SendingSettings,
        actor: Actor,
    ) -> Result<u32, StoreError> {
        let countries = serde_json::to_string(&s.consent_only_countries)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        let before = sqlx::query!(
            "SELECT time_zone, consent_only_countries, unsubscribe_url FROM workspaces WHERE id = ?",
            workspace_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let done = sqlx::query!(
            "UPDATE workspaces SET time_zone = ?, consent_only_countries = ?, unsubscribe_url = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL",
            s.time_zone,
            countries,
            s.unsubscribe_url,
            workspace_id
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("workspace #{workspace_id}")));
        }
        let mut summary = "Changed the sending settings".to_string();
        let mut rewritten = 0;
        // The unsubscribe URL is in the visible opt-out line of what was written, besides the
        // header the sender adds: a message written with an old one would show a dead link.
        if before.is_some_and(|b| {
            b.time_zone != s.time_zone
                || b.consent_only_countries != countries
                || b.unsubscribe_url != s.unsubscribe_url
        }) {
            rewritten = crate::outbox::withdraw_written_from(
                &mut tx,
                crate::outbox::WrittenFrom::Workspace(workspace_id),
            )
            .await?;
            if rewritten > 0 {
                summary.push_str(&format!(
                    "; {rewritten} queued message(s) taken back, to be checked and written again"
                ));
            }
        }
        let details = serde_json::to_value(s).ok();
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "workspace.sending_settings",
            &summary,
            details.as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(rewritten)
    }

    /// Records a new legitimate-interest assessment; it is in force from now on.
    pub async fn record_assessment(
        &self,
        workspace_id: i64,
        a: &LegitimateInterestAssessment,
        actor: Actor,
    ) -> Result<i64, StoreError> {
        for (label, v) in [
            ("purpose", &a.purpose),
            ("necessity", &a.necessity),
            ("balancing test", &a.balancing),
            ("author", &a.author),
        ] {
            if v.trim().is_empty() {
                return Err(StoreError::Invalid(format!(
                    "the assessment needs its {label}"
                )));
            }
        }
        if jiff::civil::Date::strptime("%Y-%m-%d", a.assessed_on.trim()).is_err() {
            return Err(StoreError::Invalid(format!(
                "'{}' is not a date (YYYY-MM-DD)",
                a.assessed_on
            )));
        }
        let mut tx = self.begin_write().await?;
        let id = sqlx::query!(
            "INSERT INTO lia_assessments (workspace_id, purpose, necessity, balancing, assessed_on, author)
             VALUES (?, ?, ?, ?, ?, ?)",
            workspace_id,
            a.purpose,
            a.necessity,
            a.balancing,
            a.assessed_on,
            a.author
        )
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "consent.assessment",
            &format!("Recorded legitimate-interest assessment #{id}"),
            serde_json::to_value(a).ok().as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The assessment in force, with its id.
    pub async fn current_assessment(
        &self,
        workspace_id: i64,
    ) -> Result<Option<(i64, LegitimateInterestAssessment)>, StoreError> {
        let r = sqlx::query!(
            r#"SELECT id AS "id!", purpose, necessity, balancing, assessed_on, author
               FROM lia_assessments WHERE workspace_id = ? ORDER BY id DESC LIMIT 1"#,
            workspace_id
        )
        .fetch_optional(self.readers())
        .await?;
        Ok(r.map(|r| {
            (
                r.id,
                LegitimateInterestAssessment {
                    purpose: r.purpose,
                    necessity: r.necessity,
                    balancing: r.balancing,
                    assessed_on: r.assessed_on,
                    author: r.author,
                },
            )
        }))
    }

    /// Assigns legitimate interest (under the assessment in force) to prospects of a workspace;
    /// returns how many changed. Refused when the workspace has no assessment.
    pub async fn assign_legitimate_interest(
        &self,
        workspace_id: i64,
        prospect_ids: &[i64],
        actor: Actor,
    ) -> Result<u32, StoreError> {
        let Some((lia_id, _)) = self.current_assessment(workspace_id).await? else {
            return Err(StoreError::Invalid(
                "record the workspace's legitimate-interest assessment first".into(),
            ));
        };
        // One statement per table for the whole list, not two per prospect: an agency assigns
        // the basis to tens of thousands at once.
        let ids = serde_json::to_string(prospect_ids).map_err(corrupt)?;
        let mut tx = self.begin_write().await?;
        let updated: HashSet<i64> = sqlx::query_scalar!(
            r#"UPDATE prospects SET lawful_basis = 'legitimate_interest',
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE id IN (SELECT value FROM json_each(?1)) AND workspace_id = ?2
                 AND deleted_at IS NULL AND lawful_basis <> 'legitimate_interest'
               RETURNING id AS "id!""#,
            ids,
            workspace_id
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        // Each changed prospect's history gets its event, in the order given.
        let people = in_order_once(prospect_ids, &updated);
        let changed = u32::try_from(people.len()).unwrap_or(u32::MAX);
        let events = serde_json::to_string(&people).map_err(corrupt)?;
        let source = actor.as_str();
        sqlx::query!(
            "INSERT INTO consent_events (workspace_id, prospect_id, kind, lawful_basis, lia_id,
                 source, actor)
             SELECT ?1, value, 'lawful_basis', 'legitimate_interest', ?2, ?3, ?3
             FROM json_each(?4)",
            workspace_id,
            lia_id,
            source,
            events
        )
        .execute(&mut *tx)
        .await?;
        record_about(
            &mut tx,
            Some(workspace_id),
            About::Many(&people),
            actor,
            "consent.lawful_basis",
            &format!(
                "Assigned legitimate interest (assessment #{lia_id}) to {changed} prospect(s)"
            ),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Records a prospect's consent with its evidence (what they agreed to, when, how).
    pub async fn record_consent(
        &self,
        prospect_id: i64,
        evidence: &str,
        actor: Actor,
    ) -> Result<(), StoreError> {
        let evidence = evidence.trim();
        if evidence.is_empty() {
            return Err(StoreError::Invalid(
                "consent needs its evidence (what was agreed, when and how)".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let ws = sqlx::query_scalar!(
            "UPDATE prospects SET lawful_basis = 'consent', consent_given = 1, consent_evidence = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL RETURNING workspace_id",
            evidence,
            prospect_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("prospect #{prospect_id}")))?;
        insert_event(
            &mut tx,
            ws,
            prospect_id,
            "consent",
            Some("consent"),
            None,
            Some(evidence),
            actor,
        )
        .await?;
        record_about(
            &mut tx,
            Some(ws),
            About::One(prospect_id),
            actor,
            "consent.record",
            &format!("Recorded consent of prospect #{prospect_id}"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A prospect's consent history, oldest first.
    pub async fn consent_history(&self, prospect_id: i64) -> Result<Vec<ConsentEvent>, StoreError> {
        Ok(sqlx::query_as!(
            ConsentEvent,
            r#"SELECT id AS "id!", kind, lawful_basis, evidence, source, at
               FROM consent_events WHERE prospect_id = ? ORDER BY id"#,
            prospect_id
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// Opts a prospect out: the suppression list gets their hashes, the prospect is marked
    /// unsubscribed with an objection date, their queued messages are cancelled and their
    /// enrolments stopped, all in one transaction.
    pub async fn opt_out(
        &self,
        prospect_id: i64,
        hashes: &[SuppressionEntry],
        reason: &str,
        actor: Actor,
    ) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let cancelled = opt_out_in(&mut tx, prospect_id, hashes, reason, actor).await?;
        tx.commit().await?;
        Ok(cancelled)
    }

    /// Adds hashes to the suppression list without a prospect (e.g. a list imported from
    /// another tool).
    pub async fn suppress(
        &self,
        hashes: &[SuppressionEntry],
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        suppress_in(&mut tx, hashes, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Which of the hashes are on the suppression list, in one query.
    pub async fn suppressed_among(
        &self,
        hashes: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let json = serde_json::to_string(hashes).map_err(corrupt)?;
        Ok(sqlx::query_scalar!(
            "SELECT hash FROM suppression WHERE hash IN (SELECT value FROM json_each(?))",
            json
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .collect())
    }

    /// Whether any of the hashes is on the suppression list.
    pub async fn is_suppressed(&self, hashes: &[String]) -> Result<bool, StoreError> {
        Ok(!self.suppressed_among(hashes).await?.is_empty())
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    conn: &mut SqliteConnection,
    workspace_id: i64,
    prospect_id: i64,
    kind: &str,
    lawful_basis: Option<&str>,
    lia_id: Option<i64>,
    evidence: Option<&str>,
    actor: Actor,
) -> Result<(), StoreError> {
    let source = actor.as_str();
    sqlx::query!(
        "INSERT INTO consent_events (workspace_id, prospect_id, kind, lawful_basis, lia_id, evidence, source, actor)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        workspace_id,
        prospect_id,
        kind,
        lawful_basis,
        lia_id,
        evidence,
        source,
        source
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds hashes to the suppression list inside the caller's transaction; one already there
/// keeps its first reason.
pub(crate) async fn suppress_in(
    conn: &mut sqlx::SqliteConnection,
    hashes: &[SuppressionEntry],
    reason: &str,
) -> Result<(), StoreError> {
    for h in hashes {
        sqlx::query!(
            "INSERT INTO suppression (hash, kind, reason) VALUES (?, ?, ?)
             ON CONFLICT (hash) DO NOTHING",
            h.hash,
            h.kind,
            reason
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// [`Store::opt_out`] inside the caller's transaction (the reply poller opts out in the same
/// transaction that stores the reply). Returns how many queued messages were cancelled.
pub(crate) async fn opt_out_in(
    conn: &mut sqlx::SqliteConnection,
    prospect_id: i64,
    hashes: &[SuppressionEntry],
    reason: &str,
    actor: Actor,
) -> Result<u32, StoreError> {
    suppress_people(&mut *conn, &format!("[{prospect_id}]"), hashes, reason).await?;
    let ws = sqlx::query_scalar!(
        "UPDATE prospects SET status = 'unsubscribed',
                 objection_at = coalesce(objection_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? RETURNING workspace_id",
        prospect_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("prospect #{prospect_id}")))?;
    let cancelled =
        crate::outbox::cancel_queued_to(&mut *conn, prospect_id, "the recipient opted out").await?;
    sqlx::query!(
        "UPDATE enrollments SET state = 'stopped', reason = 'opted out',
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE prospect_id = ? AND state IN ('active', 'waiting')",
        prospect_id
    )
    .execute(&mut *conn)
    .await?;
    insert_event(
        &mut *conn,
        ws,
        prospect_id,
        "opt_out",
        None,
        None,
        Some(reason),
        actor,
    )
    .await?;
    record_about(
        &mut *conn,
        Some(ws),
        About::One(prospect_id),
        actor,
        "consent.opt_out",
        &format!("Opted out prospect #{prospect_id}; {cancelled} queued message(s) cancelled"),
        None,
    )
    .await?;
    Ok(u32::try_from(cancelled).unwrap_or(u32::MAX))
}

/// Puts the `hashes` of some prospects (a JSON array of ids: who opted out, or is erased at
/// their request) on the suppression list, and stops what waits for their e-mail addresses
/// elsewhere ([`stop_same_address_elsewhere`]) when an address is among them.
pub(crate) async fn suppress_people(
    conn: &mut SqliteConnection,
    prospect_ids: &str,
    hashes: &[SuppressionEntry],
    reason: &str,
) -> Result<(), StoreError> {
    suppress_in(&mut *conn, hashes, reason).await?;
    if hashes.iter().any(|h| h.kind == "email") {
        stop_same_address_elsewhere(&mut *conn, prospect_ids).await?;
    }
    Ok(())
}

/// The suppression list is the whole install's (the gate refuses a suppressed address in
/// every workspace), but the gate looks only when a message is written. When the addresses of
/// some prospects (a JSON array of ids) go on it, the prospects with those addresses in other
/// workspaces (another client's campaign) get nothing more either: their queued messages are
/// cancelled and their sequences blocked as the gate would block them, audited in their own
/// workspace without naming the one the request came from.
async fn stop_same_address_elsewhere(
    conn: &mut SqliteConnection,
    prospect_ids: &str,
) -> Result<(), StoreError> {
    // One pass over the prospects whatever the number of addresses (there is no index on the
    // address alone, and an erasure can name thousands): each row's address is looked up in
    // the set of those given.
    let others = sqlx::query!(
        r#"SELECT o.id AS "id!", o.workspace_id FROM prospects o
           WHERE o.email IN (SELECT p.email FROM prospects p
                             WHERE p.id IN (SELECT value FROM json_each(?1)))
             AND o.id NOT IN (SELECT value FROM json_each(?1))
           ORDER BY o.workspace_id, o.id"#,
        prospect_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    const REASON: &str =
        "the person opted out or objected, or their address is on the suppression list";
    for o in others {
        let cancelled = crate::outbox::cancel_queued_to(
            &mut *conn,
            o.id,
            "the address is on the suppression list",
        )
        .await?;
        // Listed as the gate's refusals of their next steps, then blocked.
        sqlx::query!(
            "INSERT INTO blocked_sends (campaign_id, enrollment_id, step_position, code, reason)
             SELECT campaign_id, id, next_position, 'suppressed', ?1 FROM enrollments
             WHERE prospect_id = ?2 AND state IN ('active', 'waiting')",
            REASON,
            o.id
        )
        .execute(&mut *conn)
        .await?;
        let blocked = sqlx::query!(
            "UPDATE enrollments SET state = 'blocked', reason = ?1,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE prospect_id = ?2 AND state IN ('active', 'waiting')",
            REASON,
            o.id
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if cancelled > 0 || blocked > 0 {
            record_about(
                &mut *conn,
                Some(o.workspace_id),
                About::One(o.id),
                Actor::System,
                "send.blocked",
                &format!(
                    "The address of prospect #{} went on the suppression list (a request elsewhere): {cancelled} queued message(s) cancelled, {} sequence(s) blocked",
                    o.id, blocked
                ),
                Some(&serde_json::json!({ "code": "suppressed", "reason": REASON })),
            )
            .await?;
        }
    }
    Ok(())
}

//! Storage limitation (GDPR Art. 5(1)(e)): a workspace keeps a prospect for a set number of
//! months after their last reply (or, if they never replied, after they were added), then
//! erases them. They did not object, so unlike an erasure at their request nothing joins the
//! suppression list; opt-outs already on it stay.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::record;
use crate::erasure::{ErasureCounts, Ids, Which, counts};
use crate::{Actor, Store, StoreError};

/// The shortest and longest retention a workspace may set, in months.
pub const MONTHS: std::ops::RangeInclusive<u16> = 1..=120;

/// A workspace's retention period and who it has reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RetentionStatus {
    /// Months a prospect is kept after their last reply, or after being added.
    pub months: u16,
    /// What the prospects whose period has ended hold (erased by the engine's next purge).
    pub due: ErasureCounts,
    /// When the next period ends (ISO 8601), among prospects not yet due.
    pub next_due_at: Option<String>,
}

impl Store {
    /// The workspace's retention period, and who it has reached by `now` (ISO 8601); with
    /// `months`, as it would be with that period instead (before a change is saved).
    pub async fn retention_status(
        &self,
        workspace_id: i64,
        now: &str,
        months: Option<u16>,
    ) -> Result<RetentionStatus, StoreError> {
        let mut conn = self.readers().acquire().await?;
        let months = match months {
            Some(m) => valid_months(m)?,
            None => months_of(&mut conn, workspace_id).await?,
        };
        let due_ids = due_ids(&mut conn, workspace_id, now, months, u32::MAX).await?;
        let due = if due_ids.is_empty() {
            ErasureCounts::default()
        } else {
            counts(&mut conn, workspace_id, &Ids::new(&due_ids)?.json).await?
        };
        let next_due_at = sqlx::query_scalar!(
            r#"SELECT min(due_at) AS "at: String" FROM (
                 SELECT strftime('%Y-%m-%dT%H:%M:%fZ',
                                 max(created_at, coalesce(last_inbound_at, '')),
                                 '+' || ?3 || ' months') AS due_at
                 FROM prospects WHERE workspace_id = ?1)
               WHERE due_at > ?2"#,
            workspace_id,
            now,
            months
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(RetentionStatus {
            months,
            due,
            next_due_at,
        })
    }

    /// Sets the workspace's retention period (see [`MONTHS`]).
    pub async fn set_retention_months(
        &self,
        workspace_id: i64,
        months: u16,
        actor: Actor,
    ) -> Result<(), StoreError> {
        let months = valid_months(months)?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query!(
            "UPDATE workspaces SET retention_months = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL",
            months,
            workspace_id
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("workspace #{workspace_id}")));
        }
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "workspace.retention",
            &format!("Prospects without a reply are now kept for {months} month(s)"),
            Some(&serde_json::json!({ "months": months })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Erases up to `limit` prospects of the workspace whose retention period ended by `now`
    /// (ISO 8601), in one transaction, as [`Store::erase_prospects`] does but without adding
    /// them to the suppression list; the audit entry is `prospect.purge`. Returns what went
    /// (nothing when none is due).
    pub async fn purge_expired(
        &self,
        workspace_id: i64,
        now: &str,
        limit: u32,
        actor: Actor,
    ) -> Result<ErasureCounts, StoreError> {
        self.erase(workspace_id, Which::Expired { now, limit }, actor)
            .await
    }

    /// Erases every prospect of the workspace whose retention period ended by `now`, a batch
    /// per transaction so that other writes go in between, while `on_batch`, told of each,
    /// says to go on. Returns what went, in all.
    pub async fn purge_all_expired(
        &self,
        workspace_id: i64,
        now: &str,
        actor: Actor,
        mut on_batch: impl FnMut(&ErasureCounts) -> bool,
    ) -> Result<ErasureCounts, StoreError> {
        let mut total = ErasureCounts::default();
        loop {
            let batch = self
                .purge_expired(workspace_id, now, crate::erasure::BATCH, actor)
                .await?;
            if batch.prospects == 0 {
                return Ok(total);
            }
            let go_on = on_batch(&batch);
            total += batch;
            if !go_on {
                return Ok(total);
            }
        }
    }
}

fn valid_months(months: u16) -> Result<u16, StoreError> {
    if MONTHS.contains(&months) {
        Ok(months)
    } else {
        Err(StoreError::Invalid(format!(
            "keep prospects for {} to {} months",
            MONTHS.start(),
            MONTHS.end()
        )))
    }
}

async fn months_of(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
) -> Result<u16, StoreError> {
    let months = sqlx::query_scalar!(
        "SELECT retention_months FROM workspaces WHERE id = ? AND deleted_at IS NULL",
        workspace_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("workspace #{workspace_id}")))?;
    u16::try_from(months).map_err(|_| StoreError::Corrupt(format!("retention of {months} months")))
}

/// Up to `limit` prospects of the workspace whose retention period in force ended by `now`.
pub(crate) async fn due_now(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    now: &str,
    limit: u32,
) -> Result<Vec<i64>, StoreError> {
    let months = months_of(conn, workspace_id).await?;
    due_ids(conn, workspace_id, now, months, limit).await
}

/// Up to `limit` prospects of the workspace (in the trash or not) whose retention period of
/// `months` ended by `now`, oldest first.
async fn due_ids(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    now: &str,
    months: u16,
    limit: u32,
) -> Result<Vec<i64>, StoreError> {
    // A period runs from their last reply, or from when they were added if that is later (a
    // reply read from the mailbox can be older than the import that matched it).
    Ok(sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM prospects
           WHERE workspace_id = ?1
             AND strftime('%Y-%m-%dT%H:%M:%fZ', max(created_at, coalesce(last_inbound_at, '')),
                          '+' || ?3 || ' months') <= ?2
           ORDER BY id LIMIT ?4"#,
        workspace_id,
        now,
        months,
        limit
    )
    .fetch_all(&mut *conn)
    .await?)
}

//! The append-only audit log. Entries are written inside the transaction of the change they
//! describe; the schema refuses updates and deletes.

use outreach_core::prospect::AuditEntry;
use sqlx::SqliteConnection;

use crate::error::corrupt;
use crate::{Actor, Store, StoreError};

/// Appends one entry. Summaries name counts and ids, never personal data, so that erasing a
/// person later leaves nothing of them here.
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    workspace_id: Option<i64>,
    actor: Actor,
    action: &str,
    summary: &str,
    details: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    let actor = actor.as_str();
    let details = details.map(serde_json::Value::to_string);
    sqlx::query!(
        "INSERT INTO audit_log (workspace_id, actor, action, summary, details) VALUES (?, ?, ?, ?, ?)",
        workspace_id,
        actor,
        action,
        summary,
        details
    )
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Appends one entry on its own (for events that change nothing else, such as a failed
    /// import).
    pub async fn audit(
        &self,
        workspace_id: Option<i64>,
        actor: Actor,
        action: &str,
        summary: &str,
        details: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        record(&mut conn, workspace_id, actor, action, summary, details).await
    }

    /// The newest entries of a workspace, newest first; `before_id` pages further back.
    pub async fn audit_log(
        &self,
        workspace_id: i64,
        limit: i64,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let before = before_id.unwrap_or(i64::MAX);
        let rows = sqlx::query!(
            r#"SELECT id AS "id!", workspace_id, at, actor, action, summary, details
               FROM audit_log WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?"#,
            workspace_id,
            before,
            limit
        )
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.id,
                    workspace_id: r.workspace_id,
                    at: r.at,
                    actor: r.actor,
                    action: r.action,
                    summary: r.summary,
                    details: r
                        .details
                        .map(|d| serde_json::from_str(&d))
                        .transpose()
                        .map_err(corrupt)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::Actor;
    use crate::testing::store;

    #[tokio::test]
    async fn audit_log_is_append_only() {
        let (store, _dir) = store().await;
        store
            .audit(None, Actor::System, "test", "hello", None)
            .await
            .unwrap();
        let err = sqlx::query("UPDATE audit_log SET summary = 'x'")
            .execute(store.writer())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = sqlx::query("DELETE FROM audit_log")
            .execute(store.writer())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        store.close().await;
    }
}

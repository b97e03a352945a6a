//! The append-only audit log. Entries are written inside the transaction of the change they
//! describe; the schema refuses updates and deletes.

use outreach_core::prospect::{AuditActor, AuditEntry, AuditTopic};
use sqlx::SqliteConnection;

use crate::error::corrupt;
use crate::{Actor, Store, StoreError};

/// Whom an entry is about: an entry about one person names them in its row, an entry about
/// many lists them in `audit_subjects`, so that a person's history can be shown, filtered and
/// exported with their record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum About<'a> {
    /// No one in particular (a setting, an account, a campaign).
    Nobody,
    /// One prospect.
    One(i64),
    /// Several prospects (an import, an enrolment, a bulk change).
    Many(&'a [i64]),
}

/// Appends one entry about no one in particular. Summaries name counts and ids, never personal
/// data, so that erasing a person later leaves nothing of them here.
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    workspace_id: Option<i64>,
    actor: Actor,
    action: &str,
    summary: &str,
    details: Option<&serde_json::Value>,
) -> Result<i64, StoreError> {
    record_about(
        conn,
        workspace_id,
        About::Nobody,
        actor,
        action,
        summary,
        details,
    )
    .await
}

/// Appends one entry about the given people; returns its id.
pub(crate) async fn record_about(
    conn: &mut SqliteConnection,
    workspace_id: Option<i64>,
    about: About<'_>,
    actor: Actor,
    action: &str,
    summary: &str,
    details: Option<&serde_json::Value>,
) -> Result<i64, StoreError> {
    let actor = actor.as_str();
    let details = details.map(serde_json::Value::to_string);
    let prospect_id = match about {
        About::One(id) => Some(id),
        About::Nobody | About::Many(_) => None,
    };
    let id = sqlx::query!(
        "INSERT INTO audit_log (workspace_id, actor, action, summary, details, prospect_id)
         VALUES (?, ?, ?, ?, ?, ?)",
        workspace_id,
        actor,
        action,
        summary,
        details,
        prospect_id
    )
    .execute(&mut *conn)
    .await?
    .last_insert_rowid();
    if let About::Many(ids) = about {
        link_subjects(conn, id, ids).await?;
    }
    Ok(id)
}

/// Lists people an entry is about, beside it.
async fn link_subjects(
    conn: &mut SqliteConnection,
    audit_id: i64,
    prospect_ids: &[i64],
) -> Result<(), StoreError> {
    if prospect_ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(prospect_ids).map_err(corrupt)?;
    sqlx::query!(
        "INSERT OR IGNORE INTO audit_subjects (prospect_id, audit_id)
         SELECT value, ?1 FROM json_each(?2)",
        audit_id,
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Which entries of a workspace's log to show.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter {
    /// Only entries about this prospect (alone or among others).
    pub prospect_id: Option<i64>,
    /// Only actions of this topic.
    pub topic: Option<AuditTopic>,
    /// Only what this actor did.
    pub actor: Option<AuditActor>,
}

impl Store {
    /// Appends one entry on its own (for events that change nothing else, such as a failed
    /// import), about one prospect or none.
    pub async fn audit(
        &self,
        workspace_id: Option<i64>,
        prospect_id: Option<i64>,
        actor: Actor,
        action: &str,
        summary: &str,
        details: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let about = prospect_id.map_or(About::Nobody, About::One);
        record_about(
            &mut conn,
            workspace_id,
            about,
            actor,
            action,
            summary,
            details,
        )
        .await?;
        Ok(())
    }

    /// The newest entries of a workspace that pass the filter, newest first; `before_id` pages
    /// further back.
    pub async fn audit_log(
        &self,
        workspace_id: i64,
        filter: &AuditFilter,
        limit: i64,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let before = before_id.unwrap_or(i64::MAX);
        let [(lo1, hi1), (lo2, hi2)] = filter.topic.map(action_ranges).unwrap_or_default();
        let actor = filter.actor.map(AuditActor::as_str);
        let rows = match (filter.prospect_id, filter.topic) {
            // A person's entries come from two small index ranges.
            (Some(prospect), _) => {
                sqlx::query_as!(
                    Row,
                    r#"SELECT id AS "id!", workspace_id, at, actor, action, summary, details,
                           prospect_id
                       FROM audit_log
                       WHERE id IN (SELECT id FROM audit_log WHERE prospect_id = ?1 AND id < ?2
                                    UNION ALL
                                    SELECT audit_id FROM audit_subjects
                                    WHERE prospect_id = ?1 AND audit_id < ?2)
                         AND workspace_id = ?3
                         AND (?4 IS NULL OR (action >= ?4 AND action < ?5)
                              OR (action >= ?6 AND action < ?7))
                         AND (?8 IS NULL OR actor = ?8)
                       ORDER BY id DESC LIMIT ?9"#,
                    prospect,
                    before,
                    workspace_id,
                    lo1,
                    hi1,
                    lo2,
                    hi2,
                    actor,
                    limit
                )
                .fetch_all(self.readers())
                .await?
            }
            // Every topic but sending has its own index: walking back through a million sends
            // to find a consent change took half a second.
            (None, Some(topic)) if topic != AuditTopic::Sending => {
                sqlx::query_as!(
                    Row,
                    r#"SELECT id AS "id!", workspace_id, at, actor, action, summary, details,
                           prospect_id
                       FROM audit_log INDEXED BY audit_log_topic
                       WHERE workspace_id = ?1 AND id < ?2 AND substr(action, 1, 5) <> 'send.'
                         AND ((action >= ?3 AND action < ?4) OR (action >= ?5 AND action < ?6))
                         AND (?7 IS NULL OR actor = ?7)
                       ORDER BY id DESC LIMIT ?8"#,
                    workspace_id,
                    before,
                    lo1,
                    hi1,
                    lo2,
                    hi2,
                    actor,
                    limit
                )
                .fetch_all(self.readers())
                .await?
            }
            // The whole log, or its sends, walk back from the newest entry.
            (None, _) => {
                sqlx::query_as!(
                    Row,
                    r#"SELECT id AS "id!", workspace_id, at, actor, action, summary, details,
                           prospect_id
                       FROM audit_log
                       WHERE workspace_id = ?1 AND id < ?2
                         AND (?3 IS NULL OR (action >= ?3 AND action < ?4))
                         AND (?5 IS NULL OR actor = ?5)
                       ORDER BY id DESC LIMIT ?6"#,
                    workspace_id,
                    before,
                    lo1,
                    hi1,
                    actor,
                    limit
                )
                .fetch_all(self.readers())
                .await?
            }
        };
        rows.into_iter().map(Row::into_entry).collect()
    }

    /// Every entry about a prospect, oldest first, for their copy of their record.
    pub async fn audit_of_prospect(&self, prospect_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", workspace_id, at, actor, action, summary, details, prospect_id
               FROM audit_log
               WHERE id IN (SELECT id FROM audit_log WHERE prospect_id = ?1
                            UNION ALL
                            SELECT audit_id FROM audit_subjects WHERE prospect_id = ?1)
               ORDER BY id"#,
            prospect_id
        )
        .fetch_all(self.readers())
        .await?;
        rows.into_iter().map(Row::into_entry).collect()
    }
}

/// The ranges of action names a topic covers (`consent.` up to, not including, `consent/`),
/// as (from, to) pairs; a topic of one prefix leaves the second pair empty.
fn action_ranges(topic: AuditTopic) -> [(Option<String>, Option<String>); 2] {
    let mut ranges: [(Option<String>, Option<String>); 2] = Default::default();
    for (range, prefix) in ranges.iter_mut().zip(topic.action_prefixes()) {
        // Every prefix ends in '.', and '/' is the character after it.
        let end = format!("{}/", prefix.trim_end_matches('.'));
        *range = (Some((*prefix).to_string()), Some(end));
    }
    ranges
}

/// An entry as stored.
struct Row {
    id: i64,
    workspace_id: Option<i64>,
    at: String,
    actor: String,
    action: String,
    summary: String,
    details: Option<String>,
    prospect_id: Option<i64>,
}

impl Row {
    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: self.id,
            workspace_id: self.workspace_id,
            at: self.at,
            actor: self.actor,
            action: self.action,
            summary: self.summary,
            details: self
                .details
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(corrupt)?,
            prospect_id: self.prospect_id,
        })
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
            .audit(None, None, Actor::System, "test", "hello", None)
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

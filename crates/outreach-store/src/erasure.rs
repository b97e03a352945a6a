//! Erasure at a person's request (GDPR Art. 17): everything the workspace holds about them goes,
//! but the keyed hashes of their address and handles, which join the suppression list so that
//! no later import or campaign can reach them again.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::{About, record_about};
use crate::consent::{SuppressionEntry, suppress_people};
use crate::error::corrupt;
use crate::{Actor, Store, StoreError};

/// What an erasure removes (or, before it, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErasureCounts {
    /// People.
    pub prospects: u32,
    /// Their places in campaigns.
    pub enrolments: u32,
    /// Messages to them, sent or not.
    pub messages: u32,
    /// Of those, messages still waiting in the outbox, which will not go out.
    pub queued: u32,
    /// Their replies, and the answers drafted to them.
    pub replies: u32,
    /// Entries of their lawful-basis and consent history.
    pub consent_events: u32,
    /// The workspace's saved filters whose search finds them by name.
    pub saved_filters: u32,
}

impl std::ops::AddAssign for ErasureCounts {
    fn add_assign(&mut self, o: Self) {
        self.prospects += o.prospects;
        self.enrolments += o.enrolments;
        self.messages += o.messages;
        self.queued += o.queued;
        self.replies += o.replies;
        self.consent_events += o.consent_events;
        self.saved_filters += o.saved_filters;
    }
}

/// Prospects erased per transaction when many go (retention, a deleted workspace), so that
/// sends and replies are written in between.
pub(crate) const BATCH: u32 = 200;

/// The reason the suppression list shows for an erased person's hashes.
pub const ERASED_REASON: &str = "erased at the person's request";

impl Store {
    /// What erasing these prospects of the workspace would remove. Fails, naming them, when
    /// some are not prospects of the workspace.
    pub async fn erasure_counts(
        &self,
        workspace_id: i64,
        ids: &[i64],
    ) -> Result<ErasureCounts, StoreError> {
        let ids = Ids::new(ids)?;
        let mut conn = self.readers().acquire().await?;
        check_in_workspace(&mut conn, workspace_id, &ids).await?;
        counts(&mut conn, workspace_id, &ids.json).await
    }

    /// Erases prospects of a workspace, in one transaction: their rows and everything tied to
    /// them (enrolments, messages and their bodies, replies, drafted answers, intent
    /// corrections made on their replies, referrals they made or that named their address,
    /// consent history, score breakdown, search index entries, saved filters whose search
    /// finds them by name). `hashes` join the suppression list. The rate governor keeps its
    /// count of the attempts (without their message), and the audit log, which names people
    /// only by number, gains one entry with the counts.
    ///
    /// Deleted content is overwritten rather than left in free pages of the file. Nothing
    /// changes when one of `ids` is not a prospect of the workspace.
    pub async fn erase_prospects(
        &self,
        workspace_id: i64,
        ids: &[i64],
        hashes: &[SuppressionEntry],
        actor: Actor,
    ) -> Result<ErasureCounts, StoreError> {
        let ids = Ids::new(ids)?;
        self.erase(workspace_id, Which::Requested { ids: &ids, hashes }, actor)
            .await
    }

    /// Erases what [`Which`] names, zeroing what the deletes free.
    pub(crate) async fn erase(
        &self,
        workspace_id: i64,
        which: Which<'_>,
        actor: Actor,
    ) -> Result<ErasureCounts, StoreError> {
        let counts = self
            .securely(async |conn| erase_in(conn, workspace_id, which, actor).await)
            .await?;
        if counts.prospects > 0 {
            // Copies the zeroed pages over the database file's old ones now rather than at the
            // next automatic checkpoint; never waits for readers (a busy log is copied later).
            let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(self.writer())
                .await;
        }
        Ok(counts)
    }
}

impl Store {
    /// Runs `work` on the writer connection with deleted content zeroed rather than left in
    /// free pages; only for this work, whatever its outcome, since it would slow every other
    /// write.
    pub(crate) async fn securely<T>(
        &self,
        work: impl AsyncFnOnce(&mut sqlx::SqliteConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer().acquire().await?;
        set_secure_delete(&mut conn, true).await?;
        let done = work(&mut conn).await;
        let reset = set_secure_delete(&mut conn, false).await;
        let done = done?;
        reset?;
        Ok(done)
    }
}

async fn set_secure_delete(conn: &mut sqlx::SqliteConnection, on: bool) -> Result<(), StoreError> {
    sqlx::query(if on {
        "PRAGMA secure_delete = ON"
    } else {
        "PRAGMA secure_delete = OFF"
    })
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whom an erasure removes, and why.
#[derive(Clone, Copy)]
pub(crate) enum Which<'a> {
    /// These people, at their request; `hashes` join the suppression list.
    Requested {
        ids: &'a Ids,
        hashes: &'a [SuppressionEntry],
    },
    /// Up to `limit` people whose retention period ended by `now` (ISO 8601): they did not
    /// object, so nothing joins the suppression list.
    Expired { now: &'a str, limit: u32 },
    /// Up to `limit` people of a workspace being deleted, which records its own entries.
    OfDeletedWorkspace { limit: u32 },
}

/// [`Store::erase`]'s transaction.
async fn erase_in(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    which: Which<'_>,
    actor: Actor,
) -> Result<ErasureCounts, StoreError> {
    let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    let found = match which {
        Which::Requested { ids, .. } => {
            check_in_workspace(&mut tx, workspace_id, ids).await?;
            None
        }
        Which::Expired { now, limit } => {
            Some(crate::retention::due_now(&mut tx, workspace_id, now, limit).await?)
        }
        Which::OfDeletedWorkspace { limit } => {
            Some(crate::workspace_deletion::left_in(&mut tx, workspace_id, limit).await?)
        }
    };
    let selected;
    let ids = match (which, found) {
        (Which::Requested { ids, .. }, _) => ids,
        (_, Some(found)) if !found.is_empty() => {
            selected = Ids::new(&found)?;
            &selected
        }
        _ => return Ok(ErasureCounts::default()),
    };
    // A deleted workspace's filters go with it at the end.
    let (counts, filter_ids) = if matches!(which, Which::OfDeletedWorkspace { .. }) {
        (row_counts(&mut tx, &ids.json).await?, Vec::new())
    } else {
        counts_and_filters(&mut tx, workspace_id, &ids.json).await?
    };
    let filters = serde_json::to_string(&filter_ids).map_err(corrupt)?;
    // The full-text index otherwise keeps deleted words in its segments until they merge.
    set_fts_secure_delete(&mut tx, true).await?;
    if let Which::Requested { hashes, .. } = which {
        suppress_people(&mut tx, &ids.json, hashes, ERASED_REASON).await?;
    }
    // A deleted workspace's accounts go at the end with all their attempts: unlinking them
    // here would read every account's attempts once a batch.
    let unlink_attempts = !matches!(which, Which::OfDeletedWorkspace { .. });
    delete_tied_rows(&mut tx, workspace_id, &ids.json, unlink_attempts).await?;
    sqlx::query!(
        "DELETE FROM saved_filters WHERE id IN (SELECT value FROM json_each(?1))",
        filters
    )
    .execute(&mut *tx)
    .await?;
    set_fts_secure_delete(&mut tx, false).await?;
    let what = || {
        let mut what = format!(
            "{} message(s) ({} queued), {} repl(ies), {} enrolment(s)",
            counts.messages, counts.queued, counts.replies, counts.enrolments
        );
        if counts.saved_filters > 0 {
            what.push_str(&format!(
                ", {} saved filter(s) whose search found them by name",
                counts.saved_filters
            ));
        }
        what
    };
    let entry = match which {
        Which::Requested { .. } => Some((
            "prospect.erase",
            format!(
                "Erased {} prospect(s) at their request: {}; their addresses stay on the suppression list as keyed hashes",
                counts.prospects,
                what()
            ),
        )),
        Which::Expired { .. } => Some((
            "prospect.purge",
            format!(
                "Erased {} prospect(s) whose retention period ended (no reply within the workspace's limit): {}",
                counts.prospects,
                what()
            ),
        )),
        // The deletion records its own entries.
        Which::OfDeletedWorkspace { .. } => None,
    };
    if let Some((action, summary)) = entry {
        record_about(
            &mut tx,
            Some(workspace_id),
            About::Many(&ids.list),
            actor,
            action,
            &summary,
            Some(&serde_json::json!({
                "prospect_ids": ids.list,
                "saved_filter_ids": filter_ids,
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(counts)
}

async fn set_fts_secure_delete(
    conn: &mut sqlx::SqliteConnection,
    on: bool,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO prospects_fts (prospects_fts, rank) VALUES ('secure-delete', ?)")
        .bind(i64::from(on))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The prospects asked for, each once: as a list, and as the JSON array the statements read.
pub(crate) struct Ids {
    list: Vec<i64>,
    pub(crate) json: String,
}

impl Ids {
    pub(crate) fn new(ids: &[i64]) -> Result<Self, StoreError> {
        if ids.is_empty() {
            return Err(StoreError::Invalid(
                "choose at least one prospect to erase".into(),
            ));
        }
        let mut list = ids.to_vec();
        list.sort_unstable();
        list.dedup();
        let json = serde_json::to_string(&list).map_err(corrupt)?;
        Ok(Self { list, json })
    }
}

/// Refuses, naming them, ids that are not prospects of the workspace (in the trash or not).
async fn check_in_workspace(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    ids: &Ids,
) -> Result<(), StoreError> {
    let found: std::collections::HashSet<i64> = sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM prospects
           WHERE workspace_id = ?2 AND id IN (SELECT value FROM json_each(?1))"#,
        ids.json,
        workspace_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let missing: Vec<i64> = ids
        .list
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .take(5)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = missing.iter().map(|id| format!("#{id}")).collect();
    Err(StoreError::NotFound(format!(
        "prospect {} in this workspace",
        named.join(", ")
    )))
}

/// What erasing these prospects (a JSON array of ids) of the workspace would remove.
pub(crate) async fn counts(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    ids: &str,
) -> Result<ErasureCounts, StoreError> {
    Ok(counts_and_filters(conn, workspace_id, ids).await?.0)
}

/// [`counts`], and the ids of the saved filters it counts.
async fn counts_and_filters(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    ids: &str,
) -> Result<(ErasureCounts, Vec<i64>), StoreError> {
    let filters = crate::saved_filters::naming(&mut *conn, workspace_id, ids).await?;
    let counts = ErasureCounts {
        saved_filters: u32::try_from(filters.len()).unwrap_or(u32::MAX),
        ..row_counts(conn, ids).await?
    };
    Ok((counts, filters))
}

/// What erasing these prospects removes of the rows tied to them.
async fn row_counts(
    conn: &mut sqlx::SqliteConnection,
    ids: &str,
) -> Result<ErasureCounts, StoreError> {
    let r = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM json_each(?1)) AS "prospects!: i64",
             (SELECT count(*) FROM enrollments WHERE prospect_id IN (SELECT value FROM json_each(?1)))
                 AS "enrolments!: i64",
             (SELECT count(*) FROM messages WHERE prospect_id IN (SELECT value FROM json_each(?1)))
                 AS "messages!: i64",
             (SELECT count(*) FROM messages WHERE prospect_id IN (SELECT value FROM json_each(?1))
                 AND status = 'queued') AS "queued!: i64",
             (SELECT count(*) FROM replies WHERE prospect_id IN (SELECT value FROM json_each(?1)))
                 AS "replies!: i64",
             (SELECT count(*) FROM consent_events
                 WHERE prospect_id IN (SELECT value FROM json_each(?1))) AS "consent_events!: i64""#,
        ids
    )
    .fetch_one(&mut *conn)
    .await?;
    let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(ErasureCounts {
        prospects: n(r.prospects),
        enrolments: n(r.enrolments),
        messages: n(r.messages),
        queued: n(r.queued),
        replies: n(r.replies),
        consent_events: n(r.consent_events),
        saved_filters: 0,
    })
}

/// Deletes the prospects and every row tied to them, children before parents (the schema's
/// foreign keys refuse the other order). With `unlink_attempts`, the rate governor's attempts
/// at their messages stay, without the message.
async fn delete_tied_rows(
    tx: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    ids: &str,
    unlink_attempts: bool,
) -> Result<(), StoreError> {
    // Their replies, and what hangs on them: drafted answers, corrections (which quote the
    // reply's text), referrals proposed from them.
    sqlx::query!(
        "DELETE FROM reply_drafts WHERE prospect_id IN (SELECT value FROM json_each(?1))
             OR reply_id IN (SELECT id FROM replies
                             WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM intent_corrections WHERE reply_id IN (SELECT id FROM replies
             WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    // Referrals from their replies, and proposals elsewhere in the workspace that name their
    // address (someone else's reply that pointed to them).
    sqlx::query!(
        "DELETE FROM referral_proposals
         WHERE reply_id IN (SELECT id FROM replies
                            WHERE prospect_id IN (SELECT value FROM json_each(?1)))
            OR (workspace_id = ?2 AND state != 'accepted' AND lower(email) IN
                (SELECT email FROM prospects WHERE id IN (SELECT value FROM json_each(?1))
                    AND email IS NOT NULL))",
        ids,
        workspace_id
    )
    .execute(&mut *tx)
    .await?;
    // An accepted referral that became one of them keeps only that it was accepted.
    sqlx::query!(
        "UPDATE referral_proposals SET prospect_id = NULL, email = '(erased #' || id || ')', name = NULL
         WHERE prospect_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM replies WHERE prospect_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    // A reply is tied to the prospect whose message it answers; should another's reply name
    // one of these messages all the same, it stays, without the link.
    sqlx::query!(
        "UPDATE replies SET message_id = NULL
         WHERE message_id IN (SELECT id FROM messages
                              WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE reply_drafts SET outbox_id = NULL
         WHERE outbox_id IN (SELECT id FROM messages
                             WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    // Messages: the governor keeps its attempts, without them (one pass over the attempts: the
    // send path keeps no index on their message).
    if unlink_attempts {
        sqlx::query!(
            "UPDATE send_attempts SET message_id = NULL
             WHERE message_id IN (SELECT id FROM messages
                                  WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
            ids
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!(
        "DELETE FROM message_bodies WHERE message_id IN (SELECT id FROM messages
             WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM messages WHERE prospect_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM blocked_sends WHERE enrollment_id IN (SELECT id FROM enrollments
             WHERE prospect_id IN (SELECT value FROM json_each(?1)))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM enrollments WHERE prospect_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM consent_events WHERE prospect_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM prospect_scores WHERE prospect_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM prospects WHERE workspace_id = ?2 AND id IN (SELECT value FROM json_each(?1))",
        ids,
        workspace_id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

//! Deleting a workspace when an agency's client leaves (GDPR Art. 28(3)(g): a processor
//! deletes the personal data at the end of the service). The workspace is hidden and its
//! sending stopped in one transaction; its prospects are then erased a batch at a time, as an
//! erasure does but without adding them to the suppression list (they did not object), and
//! finally everything else it held. A crash in between leaves it hidden and half erased, and
//! [`Store::finish_workspace_deletion`], run again (the engine does so every hour), finishes.
//! The row stays, without the client's address, notice or settings, for the audit log.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::record;
use crate::erasure::Which;
use crate::{Actor, Store, StoreError};

/// What a workspace holds, for the confirmation before it is deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceContents {
    /// Prospects, in the trash or not.
    pub prospects: u32,
    /// Campaigns.
    pub campaigns: u32,
    /// Templates.
    pub templates: u32,
    /// Sender accounts (their secrets go from the keychain too).
    pub accounts: u32,
    /// Messages, sent or not.
    pub messages: u32,
    /// Replies.
    pub replies: u32,
}

/// A workspace that was deleted: what is left of it is its name and its audit log, which
/// shows what it held and when it was erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeletedWorkspace {
    /// Row id (its audit log's workspace).
    #[ts(type = "number")]
    pub id: i64,
    /// Its name when it was deleted.
    pub name: String,
    /// When it was deleted (ISO 8601).
    pub deleted_at: String,
    /// When everything in it had been erased (ISO 8601); none while that goes on.
    pub erased_at: Option<String>,
}

impl Store {
    /// Deleted workspaces, the most recently deleted first.
    pub async fn deleted_workspaces(&self) -> Result<Vec<DeletedWorkspace>, StoreError> {
        Ok(sqlx::query_as!(
            DeletedWorkspace,
            r#"SELECT id AS "id!", name, deleted_at AS "deleted_at!", purged_at AS erased_at
               FROM workspaces WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC"#
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// What the live workspace holds.
    pub async fn workspace_contents(
        &self,
        workspace_id: i64,
    ) -> Result<WorkspaceContents, StoreError> {
        let mut conn = self.readers().acquire().await?;
        contents(&mut conn, workspace_id).await
    }

    /// Hides the live workspace, stops its campaigns and the reading of its reply mailboxes
    /// and cancels what waits in its outbox, in one transaction, recording what it held.
    /// Returns the ids of its sender accounts that keep a password, API key, DKIM key or
    /// mailbox password in the keychain, which the caller deletes. (Accounts without any, such
    /// as a local relay's, are left out: a headless server with a key file and no keychain
    /// must be able to delete them.)
    /// [`Store::finish_workspace_deletion`] erases the rest.
    pub async fn mark_workspace_deleted(
        &self,
        workspace_id: i64,
        actor: Actor,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let held = contents(&mut tx, workspace_id).await?;
        sqlx::query!(
            "UPDATE workspaces SET deleted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL",
            workspace_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE campaigns SET status = 'stopped',
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE workspace_id = ? AND status IN ('running', 'paused')",
            workspace_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE messages SET status = 'cancelled', last_error = 'its workspace was deleted',
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE status = 'queued' AND workspace_id = ?",
            workspace_id
        )
        .execute(&mut *tx)
        .await?;
        // Its reply mailboxes stop being read (a watcher checks before every round).
        sqlx::query!(
            "UPDATE account_mailboxes SET enabled = 0 WHERE account_id IN
                 (SELECT id FROM sender_accounts WHERE workspace_id = ?)",
            workspace_id
        )
        .execute(&mut *tx)
        .await?;
        let accounts = sqlx::query_scalar!(
            r#"SELECT a.id AS "id!" FROM sender_accounts a
                   LEFT JOIN account_mailboxes m ON m.account_id = a.id
               WHERE a.workspace_id = ?
                 AND (a.has_secret = 1 OR a.has_dkim_key = 1 OR m.has_secret = 1)"#,
            workspace_id
        )
        .fetch_all(&mut *tx)
        .await?;
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "workspace.delete",
            &format!(
                "Deleted the workspace: erasing {} prospect(s), {} campaign(s), {} template(s), {} sender account(s), {} message(s) and {} repl(ies)",
                held.prospects,
                held.campaigns,
                held.templates,
                held.accounts,
                held.messages,
                held.replies
            ),
            serde_json::to_value(&held).ok().as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(accounts)
    }

    /// Deleted workspaces whose erasing has not finished.
    pub async fn workspaces_being_deleted(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM workspaces
               WHERE deleted_at IS NOT NULL AND purged_at IS NULL ORDER BY id"#
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// Erases what a deleted workspace still holds: its prospects a batch per transaction
    /// (`on_batch` hears how many each erased), then everything else in one. Returns false,
    /// having erased nothing, while one of its messages is on the wire (the sender writes down
    /// its fate against the account); call it again a little later.
    pub async fn finish_workspace_deletion(
        &self,
        workspace_id: i64,
        actor: Actor,
        mut on_batch: impl FnMut(u32),
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query_scalar!(
            "SELECT deleted_at IS NOT NULL FROM workspaces WHERE id = ?",
            workspace_id
        )
        .fetch_optional(self.readers())
        .await?;
        if deleted != Some(1) {
            return Err(StoreError::NotFound(format!(
                "deleted workspace #{workspace_id}"
            )));
        }
        // Erasing a message on the wire would let the last step delete its account before
        // the sender writes down its fate.
        if sending_in(&mut *self.readers().acquire().await?, workspace_id).await? {
            return Ok(false);
        }
        loop {
            let limit = crate::erasure::BATCH;
            let batch = self
                .erase(workspace_id, Which::OfDeletedWorkspace { limit }, actor)
                .await?;
            if batch.prospects == 0 {
                break;
            }
            on_batch(batch.prospects);
        }
        self.securely(async |conn| erase_the_rest(conn, workspace_id, actor).await)
            .await
    }
}

/// Up to `limit` prospects still in a deleted workspace.
pub(crate) async fn left_in(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    limit: u32,
) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM prospects WHERE workspace_id = ? ORDER BY id LIMIT ?"#,
        workspace_id,
        limit
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Whether a message of the workspace is on the wire.
async fn sending_in(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM messages WHERE status = 'sending' AND workspace_id = ?)
            AS "sending!: bool""#,
        workspace_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

async fn contents(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
) -> Result<WorkspaceContents, StoreError> {
    let r = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM prospects WHERE workspace_id = ?1) AS "prospects!: i64",
             (SELECT count(*) FROM campaigns WHERE workspace_id = ?1) AS "campaigns!: i64",
             (SELECT count(*) FROM templates WHERE workspace_id = ?1) AS "templates!: i64",
             (SELECT count(*) FROM sender_accounts WHERE workspace_id = ?1) AS "accounts!: i64",
             (SELECT count(*) FROM messages WHERE workspace_id = ?1) AS "messages!: i64",
             (SELECT count(*) FROM replies WHERE workspace_id = ?1) AS "replies!: i64"
           FROM workspaces WHERE id = ?1 AND deleted_at IS NULL"#,
        workspace_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("workspace #{workspace_id}")))?;
    let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(WorkspaceContents {
        prospects: n(r.prospects),
        campaigns: n(r.campaigns),
        templates: n(r.templates),
        accounts: n(r.accounts),
        messages: n(r.messages),
        replies: n(r.replies),
    })
}

/// The last transaction of a deletion: everything but the prospects (erased before), children
/// before parents. False when a message went on the wire meanwhile.
async fn erase_the_rest(
    conn: &mut sqlx::SqliteConnection,
    ws: i64,
    actor: Actor,
) -> Result<bool, StoreError> {
    let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    if sending_in(&mut tx, ws).await? {
        return Ok(false);
    }
    sqlx::query!("DELETE FROM reply_drafts WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM intent_corrections WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM referral_proposals WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM replies WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "DELETE FROM message_bodies WHERE message_id IN
             (SELECT id FROM messages WHERE workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM messages WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "DELETE FROM blocked_sends WHERE campaign_id IN
             (SELECT id FROM campaigns WHERE workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM enrollments WHERE campaign_id IN
             (SELECT id FROM campaigns WHERE workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM step_variants WHERE step_id IN (SELECT s.id FROM sequence_steps s
             JOIN campaigns c ON c.id = s.campaign_id WHERE c.workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM sequence_steps WHERE campaign_id IN
             (SELECT id FROM campaigns WHERE workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM campaigns WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM template_drafts WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM templates WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "DELETE FROM send_attempts WHERE account_id IN
             (SELECT id FROM sender_accounts WHERE workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM account_mailboxes WHERE account_id IN
             (SELECT id FROM sender_accounts WHERE workspace_id = ?)",
        ws
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM sender_accounts WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM consent_events WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM lia_assessments WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM import_runs WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM saved_filters WHERE workspace_id = ?", ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "UPDATE workspaces SET postal_address = '', legal_notice = '', unsubscribe_url = NULL,
             purged_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?",
        ws
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut tx,
        Some(ws),
        actor,
        "workspace.purged",
        "Erased everything the deleted workspace held",
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

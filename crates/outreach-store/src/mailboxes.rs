//! The mailboxes the reply poller reads (one per sender account) and its place in each.

use outreach_core::inbox::{Mailbox, MailboxAuth, MailboxFields, MailboxSecurity};

use crate::accounts::live_account_workspace;
use crate::audit::record;
use crate::{Actor, Store, StoreError};

fn validated(f: &MailboxFields) -> Result<MailboxFields, StoreError> {
    let mut f = f.clone();
    f.host = f.host.trim().to_string();
    f.username = f.username.trim().to_string();
    f.mailbox = f.mailbox.trim().to_string();
    if f.mailbox.is_empty() {
        f.mailbox = "INBOX".into();
    }
    if f.host.is_empty() {
        return Err(StoreError::Invalid("the mailbox needs an IMAP host".into()));
    }
    if f.username.is_empty() {
        return Err(StoreError::Invalid("the mailbox needs a login name".into()));
    }
    for (label, v) in [
        ("host", &f.host),
        ("login name", &f.username),
        ("folder", &f.mailbox),
    ] {
        if v.contains(['\r', '\n', '\0']) {
            return Err(StoreError::Invalid(format!(
                "the {label} must not contain line breaks"
            )));
        }
    }
    match f.port {
        Some(0) => {
            return Err(StoreError::Invalid(
                "the port must be between 1 and 65535".into(),
            ));
        }
        None => {
            f.port = Some(match f.security {
                MailboxSecurity::ImplicitTls => 993,
                MailboxSecurity::PlainLoopback => 143,
            })
        }
        Some(_) => {}
    }
    Ok(f)
}

struct Row {
    account_id: i64,
    workspace_id: i64,
    host: String,
    port: i64,
    security: String,
    username: String,
    auth: String,
    mailbox: String,
    enabled: i64,
    has_secret: i64,
    polled_at: Option<String>,
    last_error: Option<String>,
}

impl TryFrom<Row> for Mailbox {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Mailbox {
            account_id: r.account_id,
            workspace_id: r.workspace_id,
            fields: MailboxFields {
                host: r.host,
                port: u16::try_from(r.port).ok(),
                security: MailboxSecurity::parse(&r.security)
                    .ok_or_else(|| StoreError::Corrupt(format!("security '{}'", r.security)))?,
                username: r.username,
                auth: MailboxAuth::parse(&r.auth)
                    .ok_or_else(|| StoreError::Corrupt(format!("auth '{}'", r.auth)))?,
                mailbox: r.mailbox,
                enabled: r.enabled != 0,
            },
            has_secret: r.has_secret != 0,
            polled_at: r.polled_at,
            last_error: r.last_error,
        })
    }
}

/// Where the poller stands in a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxPosition {
    /// The UIDVALIDITY the UIDs below belong to; `None` before the first poll.
    pub uid_validity: Option<u32>,
    /// Every message up to this UID is done.
    pub last_uid: u32,
}

impl Store {
    /// Sets (adds or replaces) the mailbox of a sender account. Changing the server, login or
    /// folder reads it afresh from its first message on the next poll; replies already stored
    /// are recognised by their Message-ID and not stored twice.
    pub async fn set_mailbox(
        &self,
        account_id: i64,
        fields: &MailboxFields,
        actor: Actor,
    ) -> Result<Mailbox, StoreError> {
        let f = validated(fields)?;
        let mut tx = self.begin_write().await?;
        let workspace_id = live_account_workspace(&mut tx, account_id).await?;
        let port = f.port.map(i64::from);
        let security = f.security.as_str();
        let auth = f.auth.as_str();
        let enabled = i64::from(f.enabled);
        sqlx::query!(
            "INSERT INTO account_mailboxes (account_id, host, port, security, username, auth,
                 mailbox, enabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (account_id) DO UPDATE SET host = ?2, port = ?3, security = ?4,
                 username = ?5, auth = ?6, mailbox = ?7, enabled = ?8, last_error = NULL,
                 uid_validity = CASE WHEN host = ?2 AND mailbox = ?7 AND username = ?5
                     THEN uid_validity ELSE NULL END,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            account_id,
            f.host,
            port,
            security,
            f.username,
            auth,
            f.mailbox,
            enabled
        )
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "account.mailbox",
            &format!(
                "Set the reply mailbox of sender account #{account_id} ({})",
                if f.enabled { "polled" } else { "not polled" }
            ),
            None,
        )
        .await?;
        tx.commit().await?;
        self.mailbox(account_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox of account #{account_id}")))
    }

    /// Records whether the mailbox has a secret of its own in the keychain. Not found when the
    /// mailbox (or its account) was removed meanwhile: the caller then takes the secret back
    /// out of the keychain.
    pub async fn set_mailbox_secret_flag(
        &self,
        account_id: i64,
        has_secret: bool,
    ) -> Result<(), StoreError> {
        let v = i64::from(has_secret);
        let changed = sqlx::query!(
            "UPDATE account_mailboxes SET has_secret = ? WHERE account_id = ?",
            v,
            account_id
        )
        .execute(self.writer())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "the reply mailbox of sender account #{account_id}"
            )));
        }
        Ok(())
    }

    /// The mailbox of a sender account, if one is set.
    pub async fn mailbox(&self, account_id: i64) -> Result<Option<Mailbox>, StoreError> {
        sqlx::query_as!(
            Row,
            "SELECT m.account_id, a.workspace_id, m.host, m.port, m.security, m.username, m.auth,
                    m.mailbox, m.enabled, m.has_secret, m.polled_at, m.last_error
             FROM account_mailboxes m JOIN sender_accounts a ON a.id = m.account_id
             WHERE m.account_id = ?",
            account_id
        )
        .fetch_optional(self.readers())
        .await?
        .map(Mailbox::try_from)
        .transpose()
    }

    /// The mailboxes to poll: enabled, of accounts that are not deleted.
    pub async fn polled_mailboxes(&self) -> Result<Vec<Mailbox>, StoreError> {
        sqlx::query_as!(
            Row,
            "SELECT m.account_id, a.workspace_id, m.host, m.port, m.security, m.username, m.auth,
                    m.mailbox, m.enabled, m.has_secret, m.polled_at, m.last_error
             FROM account_mailboxes m JOIN sender_accounts a ON a.id = m.account_id
             WHERE m.enabled = 1 AND a.deleted_at IS NULL ORDER BY m.account_id"
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(Mailbox::try_from)
        .collect()
    }

    /// Removes the mailbox of an account: its replies are no longer read (those read stay).
    pub async fn remove_mailbox(&self, account_id: i64, actor: Actor) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let workspace_id = live_account_workspace(&mut tx, account_id).await?;
        let gone = sqlx::query!(
            "DELETE FROM account_mailboxes WHERE account_id = ?",
            account_id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if gone == 0 {
            return Err(StoreError::NotFound(format!(
                "sender account #{account_id} has no reply mailbox"
            )));
        }
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "account.mailbox_removed",
            &format!("Stopped reading replies of sender account #{account_id}"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where the poller stands in the account's mailbox.
    pub async fn mailbox_position(&self, account_id: i64) -> Result<MailboxPosition, StoreError> {
        let row = sqlx::query!(
            "SELECT uid_validity, last_uid FROM account_mailboxes WHERE account_id = ?",
            account_id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("mailbox of account #{account_id}")))?;
        Ok(MailboxPosition {
            uid_validity: row.uid_validity.and_then(|v| u32::try_from(v).ok()),
            last_uid: u32::try_from(row.last_uid).unwrap_or(0),
        })
    }

    /// Moves the poller's place forward (never back within one UIDVALIDITY) and records a
    /// successful poll.
    pub async fn advance_mailbox(
        &self,
        account_id: i64,
        uid_validity: u32,
        last_uid: u32,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        advance(&mut conn, account_id, uid_validity, last_uid).await
    }

    /// Records why a poll failed (or clears it with `None`).
    pub async fn mailbox_error(
        &self,
        account_id: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE account_mailboxes SET last_error = ?,
                 polled_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE account_id = ?",
            error,
            account_id
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// Moves the place forward inside the caller's transaction, so that a reply and the place
/// after it commit together.
pub(crate) async fn advance(
    conn: &mut sqlx::SqliteConnection,
    account_id: i64,
    uid_validity: u32,
    last_uid: u32,
) -> Result<(), StoreError> {
    let validity = i64::from(uid_validity);
    let uid = i64::from(last_uid);
    sqlx::query!(
        "UPDATE account_mailboxes SET
             last_uid = CASE WHEN uid_validity IS ?1 THEN max(last_uid, ?2) ELSE ?2 END,
             uid_validity = ?1, last_error = NULL,
             polled_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE account_id = ?3",
        validity,
        uid,
        account_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

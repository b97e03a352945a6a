//! Sender accounts: connection settings and caps. Their secrets are in the OS keychain; the
//! row only records whether one was stored.

use outreach_core::campaign::{AccountFields, SenderAccount, SmtpSecurityMode, Transport};

use crate::audit::record;
use crate::error::conflict_or;
use crate::trash::{MessagesOf, quoted_list, refuse_while_messages_wait};
use crate::{Actor, Store, StoreError};

fn validated(f: &AccountFields) -> Result<AccountFields, StoreError> {
    let mut f = f.clone();
    f.name = f.name.trim().to_string();
    if f.name.is_empty() {
        return Err(StoreError::Invalid("an account needs a name".into()));
    }
    let trim = |v: &mut Option<String>| {
        *v = v
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    };
    trim(&mut f.host);
    trim(&mut f.username);
    trim(&mut f.api_base_url);
    trim(&mut f.reply_to);
    trim(&mut f.dkim_selector);
    trim(&mut f.dkim_domain);
    f.from_name = f.from_name.trim().to_string();
    f.from_address = f.from_address.trim().to_string();
    let from = outreach_core::normalize::normalize_email(&f.from_address).map_err(|_| {
        StoreError::Invalid(format!(
            "'{}' is not a valid sending address",
            f.from_address
        ))
    })?;
    f.from_address = from.address;
    if let Some(r) = &f.reply_to {
        f.reply_to = Some(
            outreach_core::normalize::normalize_email(r)
                .map_err(|_| StoreError::Invalid(format!("'{r}' is not a valid reply-to address")))?
                .address,
        );
    }
    for (label, v) in [
        ("from name", &f.from_name),
        ("name", &f.name),
        ("host", &f.host.clone().unwrap_or_default()),
    ] {
        if v.contains(['\r', '\n', '\0']) {
            return Err(StoreError::Invalid(format!(
                "the {label} must not contain line breaks"
            )));
        }
    }
    if f.transport == Transport::Smtp {
        if f.host.is_none() {
            return Err(StoreError::Invalid("an SMTP account needs a host".into()));
        }
        let security = f.security.ok_or_else(|| {
            StoreError::Invalid("choose how the SMTP connection is secured".into())
        })?;
        if f.port.is_none() {
            f.port = Some(match security {
                SmtpSecurityMode::ImplicitTls => 465,
                SmtpSecurityMode::StartTls => 587,
                SmtpSecurityMode::PlainLoopback => 25,
            });
        }
        if f.port == Some(0) {
            return Err(StoreError::Invalid(
                "the port must be between 1 and 65535".into(),
            ));
        }
    }
    // A cap of 0 would hold every message forever without saying why.
    for (cap, what) in [
        (f.per_minute_cap, "per minute"),
        (f.hourly_cap, "per hour"),
        (f.daily_cap, "per day"),
    ] {
        if cap == Some(0) {
            return Err(StoreError::Invalid(format!(
                "the cap {what} must be at least 1; leave it empty for none"
            )));
        }
    }
    // A ramp that starts at 0 holds the first day's messages; one that grows by 0 is a cap.
    // The governor only ramps from a first-day amount, so an increase alone would do nothing.
    for (n, what) in [
        (f.ramp_start, "first day's amount"),
        (f.ramp_increase, "daily increase"),
    ] {
        if n == Some(0) {
            return Err(StoreError::Invalid(format!(
                "the ramp-up's {what} must be at least 1; leave it empty for none"
            )));
        }
    }
    if f.ramp_increase.is_some() && f.ramp_start.is_none() {
        return Err(StoreError::Invalid(
            "the ramp-up's daily increase needs a first-day amount to start from".into(),
        ));
    }
    if f.dkim_selector.is_some() && f.dkim_domain.is_none() {
        f.dkim_domain = Some(from.domain);
    }
    Ok(f)
}

struct Row {
    id: i64,
    workspace_id: i64,
    name: String,
    transport: String,
    host: Option<String>,
    port: Option<i64>,
    security: Option<String>,
    username: Option<String>,
    api_base_url: Option<String>,
    from_name: String,
    from_address: String,
    reply_to: Option<String>,
    per_minute_cap: Option<i64>,
    hourly_cap: Option<i64>,
    daily_cap: Option<i64>,
    ramp_start: Option<i64>,
    ramp_increase: Option<i64>,
    dkim_selector: Option<String>,
    dkim_domain: Option<String>,
    has_secret: i64,
    has_dkim_key: i64,
    created_at: String,
}

fn cap(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

impl TryFrom<Row> for SenderAccount {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let transport = Transport::parse(&r.transport)
            .ok_or_else(|| StoreError::Corrupt(format!("transport '{}'", r.transport)))?;
        let security = match r.security.as_deref() {
            None => None,
            Some(s) => Some(
                SmtpSecurityMode::parse(s)
                    .ok_or_else(|| StoreError::Corrupt(format!("security '{s}'")))?,
            ),
        };
        Ok(SenderAccount {
            id: r.id,
            workspace_id: r.workspace_id,
            fields: AccountFields {
                name: r.name,
                transport,
                host: r.host,
                port: r.port.and_then(|p| u16::try_from(p).ok()),
                security,
                username: r.username,
                api_base_url: r.api_base_url,
                from_name: r.from_name,
                from_address: r.from_address,
                reply_to: r.reply_to,
                per_minute_cap: cap(r.per_minute_cap),
                hourly_cap: cap(r.hourly_cap),
                daily_cap: cap(r.daily_cap),
                ramp_start: cap(r.ramp_start),
                ramp_increase: cap(r.ramp_increase),
                dkim_selector: r.dkim_selector,
                dkim_domain: r.dkim_domain,
            },
            has_secret: r.has_secret != 0,
            has_dkim_key: r.has_dkim_key != 0,
            created_at: r.created_at,
        })
    }
}

impl Store {
    /// Adds a sender account to a workspace.
    pub async fn create_account(
        &self,
        workspace_id: i64,
        fields: &AccountFields,
        actor: Actor,
    ) -> Result<SenderAccount, StoreError> {
        let f = validated(fields)?;
        let transport = f.transport.as_str();
        let security = f.security.map(SmtpSecurityMode::as_str);
        let mut tx = self.begin_write().await?;
        let id = sqlx::query!(
            "INSERT INTO sender_accounts (workspace_id, name, transport, host, port, security,
                 username, api_base_url, from_name, from_address, reply_to, per_minute_cap,
                 hourly_cap, daily_cap, ramp_start, ramp_increase, dkim_selector, dkim_domain)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            workspace_id,
            f.name,
            transport,
            f.host,
            f.port,
            security,
            f.username,
            f.api_base_url,
            f.from_name,
            f.from_address,
            f.reply_to,
            f.per_minute_cap,
            f.hourly_cap,
            f.daily_cap,
            f.ramp_start,
            f.ramp_increase,
            f.dkim_selector,
            f.dkim_domain
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("an account named '{}' already exists", f.name)
            })
        })?
        .last_insert_rowid();
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "account.create",
            &format!("Added sender account #{id} ({transport})"),
            None,
        )
        .await?;
        tx.commit().await?;
        self.account(id).await
    }

    /// Changes an account's settings. A new sender name or address takes back the never-tried
    /// queued messages of the running and paused campaigns sending from it, to be written
    /// again. Returns the account and how many were taken back.
    pub async fn update_account(
        &self,
        id: i64,
        fields: &AccountFields,
        actor: Actor,
    ) -> Result<(SenderAccount, u32), StoreError> {
        let f = validated(fields)?;
        let transport = f.transport.as_str();
        let security = f.security.map(SmtpSecurityMode::as_str);
        let mut tx = self.begin_write().await?;
        let sender = sqlx::query!(
            "SELECT from_name, from_address FROM sender_accounts WHERE id = ? AND deleted_at IS NULL",
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        // Decided in the write: an account removed meanwhile (the app beside the CLI) is not
        // changed, nor audited as changed.
        let workspace_id = sqlx::query_scalar!(
            "UPDATE sender_accounts SET name = ?, transport = ?, host = ?, port = ?, security = ?,
                 username = ?, api_base_url = ?, from_name = ?, from_address = ?, reply_to = ?,
                 per_minute_cap = ?, hourly_cap = ?, daily_cap = ?, ramp_start = ?,
                 ramp_increase = ?, dkim_selector = ?, dkim_domain = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL RETURNING workspace_id",
            f.name,
            transport,
            f.host,
            f.port,
            security,
            f.username,
            f.api_base_url,
            f.from_name,
            f.from_address,
            f.reply_to,
            f.per_minute_cap,
            f.hourly_cap,
            f.daily_cap,
            f.ramp_start,
            f.ramp_increase,
            f.dkim_selector,
            f.dkim_domain,
            id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("an account named '{}' already exists", f.name)
            })
        })?
        .ok_or_else(|| StoreError::NotFound(format!("sender account #{id}")))?;
        let mut summary = format!("Changed sender account #{id}");
        // The sender's name and address are in what was written (a template variable, the
        // Message-ID's domain): the waiting messages of its campaigns are written again.
        let mut rewritten = 0;
        if sender.is_some_and(|s| {
            (s.from_name.as_str(), s.from_address.as_str())
                != (f.from_name.as_str(), f.from_address.as_str())
        }) {
            rewritten = crate::outbox::withdraw_written_from(
                &mut tx,
                crate::outbox::WrittenFrom::Account(id),
            )
            .await?;
            if rewritten > 0 {
                summary.push_str(&format!(
                    "; {rewritten} queued message(s) taken back, to be written again from the new sender"
                ));
            }
        }
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "account.update",
            &summary,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok((self.account(id).await?, rewritten))
    }

    /// Records whether the keychain holds the account's password or API key, and its DKIM key.
    /// Not found when the account was removed meanwhile: the caller then takes out of the
    /// keychain what it just put there, since nothing would ever read or remove it.
    pub async fn set_account_secret_flags(
        &self,
        id: i64,
        has_secret: bool,
        has_dkim_key: bool,
    ) -> Result<(), StoreError> {
        // Marked changed after the keychain was written, so that an engine (here or in
        // another process) which set the account up meanwhile does it again.
        let changed = sqlx::query!(
            "UPDATE sender_accounts SET has_secret = ?, has_dkim_key = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL",
            has_secret,
            has_dkim_key,
            id
        )
        .execute(self.writer())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("sender account #{id}")));
        }
        Ok(())
    }

    /// When the account's settings or secrets last changed (ISO 8601): a sending engine sets
    /// an account up again when this moves.
    pub async fn account_changed_at(&self, id: i64) -> Result<String, StoreError> {
        sqlx::query_scalar!("SELECT updated_at FROM sender_accounts WHERE id = ?", id)
            .fetch_optional(self.readers())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("sender account #{id}")))
    }

    /// Removes a sender account for good: it leaves the lists, its reply mailbox is no
    /// longer read, and the row records that no secret is kept (the caller removes them from
    /// the keychain once this is committed). Messages sent from it and replies read through it
    /// stay. Refused while a campaign outside the trash sends from it, or while a message of
    /// it is queued, on the wire, or unconfirmed.
    pub async fn delete_account(&self, id: i64, actor: Actor) -> Result<SenderAccount, StoreError> {
        let a = self.account(id).await?;
        let name = &a.fields.name;
        let mut tx = self.begin_write().await?;
        let users = sqlx::query_scalar!(
            r#"SELECT name AS "name!" FROM campaigns WHERE account_id = ? AND deleted_at IS NULL
               ORDER BY name COLLATE NOCASE"#,
            id
        )
        .fetch_all(&mut *tx)
        .await?;
        if !users.is_empty() {
            let one = users.len() == 1;
            return Err(StoreError::Conflict(format!(
                "sender account '{name}' is used by {}; choose another account for {} or move {} to the trash first",
                quoted_list(&users),
                if one {
                    "that campaign"
                } else {
                    "those campaigns"
                },
                if one { "it" } else { "them" },
            )));
        }
        refuse_while_messages_wait(
            &mut tx,
            MessagesOf::Account(id),
            &format!("sender account '{name}'"),
            "it can be removed",
        )
        .await?;
        sqlx::query!("DELETE FROM account_mailboxes WHERE account_id = ?", id)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query!(
            "UPDATE sender_accounts SET deleted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                 has_secret = 0, has_dkim_key = 0
             WHERE id = ? AND deleted_at IS NULL",
            id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 0 {
            return Err(StoreError::NotFound(format!("sender account #{id}")));
        }
        record(
            &mut tx,
            Some(a.workspace_id),
            actor,
            "account.delete",
            &format!("Removed sender account #{id} with its reply mailbox"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// One account by id.
    pub async fn account(&self, id: i64) -> Result<SenderAccount, StoreError> {
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", workspace_id, name, transport, host, port, security, username,
                  api_base_url, from_name, from_address, reply_to, per_minute_cap, hourly_cap,
                  daily_cap, ramp_start, ramp_increase, dkim_selector, dkim_domain, has_secret,
                  has_dkim_key, created_at
               FROM sender_accounts WHERE id = ? AND deleted_at IS NULL"#,
            id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("sender account #{id}")))?
        .try_into()
    }

    /// A workspace's accounts, by name.
    pub async fn list_accounts(&self, workspace_id: i64) -> Result<Vec<SenderAccount>, StoreError> {
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", workspace_id, name, transport, host, port, security, username,
                  api_base_url, from_name, from_address, reply_to, per_minute_cap, hourly_cap,
                  daily_cap, ramp_start, ramp_increase, dkim_selector, dkim_domain, has_secret,
                  has_dkim_key, created_at
               FROM sender_accounts WHERE workspace_id = ? AND deleted_at IS NULL
               ORDER BY name COLLATE NOCASE"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(SenderAccount::try_from)
        .collect()
    }

    /// An account by workspace and name (case-insensitive), for the CLI.
    pub async fn account_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<SenderAccount, StoreError> {
        let name = name.trim();
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM sender_accounts
               WHERE workspace_id = ? AND name = ? COLLATE NOCASE AND deleted_at IS NULL"#,
            workspace_id,
            name
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("sender account '{name}'")))?;
        self.account(id).await
    }
}

/// The workspace of a sender account not removed, read in the caller's write: a change that
/// belongs to the account is decided on what the write sees, not on an earlier read.
pub(crate) async fn live_account_workspace(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
) -> Result<i64, StoreError> {
    sqlx::query_scalar!(
        "SELECT workspace_id FROM sender_accounts WHERE id = ? AND deleted_at IS NULL",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("sender account #{id}")))
}

//! Account secrets in the OS keychain: one entry per account and kind, named after the data
//! folder like the database key, so two data folders never share secrets.

use outreach_store::key::{delete_secret, read_secret, store_secret};

use crate::{ApiConfig, ApiError};

/// Which secret of an account.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// SMTP password or SendGrid API key.
    Secret,
    /// DKIM private key.
    Dkim,
    /// The reply mailbox's own password or OAuth token.
    Mailbox,
}

fn entry_name(config: &ApiConfig, account_id: i64, kind: Kind) -> String {
    let kind = match kind {
        Kind::Secret => "secret",
        Kind::Dkim => "dkim",
        Kind::Mailbox => "mailbox",
    };
    format!(
        "account:{}:{account_id}:{kind}",
        crate::config::absolute(&config.data_dir).display()
    )
}

/// Stores a secret; keychain calls block, so they run off the async workers.
pub(crate) async fn store(
    config: &ApiConfig,
    account_id: i64,
    kind: Kind,
    secret: &str,
) -> Result<(), ApiError> {
    let name = entry_name(config, account_id, kind);
    let secret = secret.to_string();
    Ok(tokio::task::spawn_blocking(move || store_secret(&name, &secret)).await??)
}

/// Reads a secret.
pub(crate) async fn read(
    config: &ApiConfig,
    account_id: i64,
    kind: Kind,
) -> Result<Option<String>, ApiError> {
    let name = entry_name(config, account_id, kind);
    Ok(tokio::task::spawn_blocking(move || read_secret(&name)).await??)
}

/// Deletes one secret of an account (one it never had is no error).
pub(crate) async fn delete(
    config: &ApiConfig,
    account_id: i64,
    kind: Kind,
) -> Result<(), ApiError> {
    let name = entry_name(config, account_id, kind);
    Ok(tokio::task::spawn_blocking(move || delete_secret(&name)).await??)
}

/// Deletes every secret of an account (those it never had are no error).
pub(crate) async fn delete_all(config: &ApiConfig, account_id: i64) -> Result<(), ApiError> {
    let names: Vec<String> = [Kind::Secret, Kind::Dkim, Kind::Mailbox]
        .into_iter()
        .map(|kind| entry_name(config, account_id, kind))
        .collect();
    Ok(
        tokio::task::spawn_blocking(move || names.iter().try_for_each(|n| delete_secret(n)))
            .await??,
    )
}

/// The engine's access to account secrets.
pub(crate) struct KeychainSecrets {
    pub(crate) config: ApiConfig,
}

impl outreach_engine::SecretSource for KeychainSecrets {
    fn account_secrets(&self, account_id: i64) -> Result<outreach_engine::AccountSecrets, String> {
        let secret = read_secret(&entry_name(&self.config, account_id, Kind::Secret))
            .map_err(|e| e.to_string())?;
        let dkim_pem = read_secret(&entry_name(&self.config, account_id, Kind::Dkim))
            .map_err(|e| e.to_string())?;
        let mailbox_secret = read_secret(&entry_name(&self.config, account_id, Kind::Mailbox))
            .map_err(|e| e.to_string())?;
        Ok(outreach_engine::AccountSecrets {
            secret,
            dkim_pem,
            mailbox_secret,
        })
    }
}

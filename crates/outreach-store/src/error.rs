//! The store's error type.

use thiserror::Error;

/// What went wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The key does not open the database.
    #[error(
        "the database could not be opened with this key: it was encrypted with another key, or it is not an Outreach Desk database"
    )]
    WrongKey,
    /// The OS keychain cannot be used.
    #[error(
        "the OS keychain is not available ({0}). Outreach Desk keeps its database key only there; unlock or install a keychain (on Linux a Secret Service such as GNOME Keyring or KWallet), or set OUTREACH_KEY_FILE to use a key file on a headless server"
    )]
    KeychainUnavailable(String),
    /// The key file is unusable.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A row that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A write that would break a uniqueness rule.
    #[error("{0}")]
    Conflict(String),
    /// Input the store refuses.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("the database schema could not be updated: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Stored JSON that does not parse.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// SQLCipher reports a wrong key as "file is not a database" (SQLITE_NOTADB, 26) at the first
/// read, which is the connect itself because sqlx sets the journal mode.
pub(crate) fn classify_open_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.code().as_deref() == Some("26")
    {
        return StoreError::WrongKey;
    }
    StoreError::Database(e)
}

/// Data the store wrote itself (JSON it hands to SQLite, or read back) that does not serialise
/// or parse.
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Turns a unique-constraint failure into a conflict with a readable message.
pub(crate) fn conflict_or(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict(message());
    }
    StoreError::Database(e)
}

//! The error every command returns, with a stable code.

use outreach_store::StoreError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Stable error codes: the UI and scripts branch on these, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The thing asked for does not exist.
    NotFound,
    /// The request is malformed or a value is invalid.
    InvalidInput,
    /// The change would duplicate something unique.
    Conflict,
    /// No usable OS keychain.
    KeychainUnavailable,
    /// The key file is missing, unreadable or readable by others.
    KeyFile,
    /// The key does not open the database.
    WrongKey,
    /// A file could not be read or written.
    Io,
    /// A CSV file cannot be imported as a whole.
    CsvInvalid,
    /// A campaign cannot start: its pre-send check found problems.
    PreSendCheck,
    /// The compliance gate refused a message (the message says why).
    ComplianceRefused,
    /// The sending engine already runs for this data folder (in the app or the CLI).
    EngineRunning,
    /// The database failed.
    Storage,
    /// A bug: please report it.
    Internal,
}

/// An error as it crosses IPC and the CLI: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// What kind of error.
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::WrongKey => ErrorCode::WrongKey,
            StoreError::KeychainUnavailable(_) => ErrorCode::KeychainUnavailable,
            StoreError::KeyFile { .. } => ErrorCode::KeyFile,
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Invalid(_) => ErrorCode::InvalidInput,
            StoreError::Database(_) | StoreError::Migration(_) => ErrorCode::Storage,
            StoreError::Corrupt(_) => ErrorCode::Storage,
        };
        Self::new(code, e.to_string())
    }
}

impl From<outreach_discovery::csv_source::CsvError> for ApiError {
    fn from(e: outreach_discovery::csv_source::CsvError) -> Self {
        Self::new(ErrorCode::CsvInvalid, e.to_string())
    }
}

impl From<outreach_engine::EngineError> for ApiError {
    fn from(e: outreach_engine::EngineError) -> Self {
        match e {
            outreach_engine::EngineError::Store(s) => s.into(),
            outreach_engine::EngineError::AlreadyRunning => {
                Self::new(ErrorCode::EngineRunning, e.to_string())
            }
            other => Self::new(ErrorCode::Io, other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::new(
            ErrorCode::Internal,
            format!("a background task failed: {e}"),
        )
    }
}

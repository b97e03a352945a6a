//! The one error type of the crate, worded for the person who has to act on it.

use std::path::PathBuf;

/// Why fetching, loading or running the model failed.
#[derive(Debug, thiserror::Error)]
pub enum NlpError {
    /// The model archive could not be downloaded.
    #[error(
        "could not download the model from {url}: {reason}. Check the configured address and the \
         network connection, then try again"
    )]
    Download {
        /// The address that was asked for.
        url: String,
        /// What went wrong, in the HTTP client's words.
        reason: String,
    },
    /// The downloaded archive is not the one that was expected; nothing from it was installed.
    #[error(
        "the downloaded model archive is not the expected one (SHA-256 {actual}, expected \
         {expected}), so nothing was installed. Check that the configured address serves the \
         expected file"
    )]
    Checksum {
        /// The SHA-256 the caller asked for, lowercase hex.
        expected: String,
        /// The SHA-256 of what was downloaded, lowercase hex.
        actual: String,
    },
    /// The archive is not a usable model package.
    #[error("the model archive cannot be used: {reason}")]
    Archive {
        /// What is wrong with it.
        reason: String,
    },
    /// The model's weights or configuration could not be loaded or run.
    #[error("the model cannot be used: {reason}. Fetching the model again may fix it")]
    Model {
        /// What the model runtime said.
        reason: String,
    },
    /// The tokenizer could not be loaded or failed on a text.
    #[error("the model's tokenizer cannot be used: {reason}. Fetching the model again may fix it")]
    Tokenizer {
        /// What the tokenizer said.
        reason: String,
    },
    /// A file operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "write".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

impl NlpError {
    /// An [`NlpError::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn model(err: impl std::fmt::Display) -> Self {
        Self::Model {
            reason: err.to_string(),
        }
    }

    pub(crate) fn tokenizer(err: impl std::fmt::Display) -> Self {
        Self::Tokenizer {
            reason: err.to_string(),
        }
    }

    pub(crate) fn archive(reason: impl Into<String>) -> Self {
        Self::Archive {
            reason: reason.into(),
        }
    }
}

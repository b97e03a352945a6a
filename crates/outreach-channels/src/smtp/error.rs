//! What can go wrong talking to an SMTP server, in the terms the UI and the engine act on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::message::BuildError;

/// The step of setting up a session that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectStage {
    /// The settings themselves are unusable; nothing was attempted.
    Config,
    /// The host name did not resolve.
    Dns,
    /// No TCP connection could be made.
    Tcp,
    /// TLS could not be established (certificate, handshake, or STARTTLS missing or refused).
    Tls,
    /// The server refused the credentials or offers no usable mechanism.
    Auth,
    /// The server's greeting or EHLO reply was a refusal or not SMTP at all.
    Protocol,
}

impl fmt::Display for ConnectStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Config => "settings",
            Self::Dns => "DNS",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Auth => "authentication",
            Self::Protocol => "SMTP",
        })
    }
}

/// A session could not be set up; `message` says what failed in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{stage}: {message}")]
pub struct ConnectError {
    /// The step that failed.
    pub stage: ConnectStage,
    /// What happened, e.g. "the server's certificate is not trusted (self-signed …)".
    pub message: String,
    /// The server refused the session because the account has too many open at once (see
    /// [`SendErrorKind::SessionLimit`]).
    #[serde(default)]
    pub session_limit: bool,
}

impl ConnectError {
    pub(crate) fn new(stage: ConnectStage, message: impl Into<String>) -> Self {
        Self {
            stage,
            message: message.into(),
            session_limit: false,
        }
    }
}

/// How a failed send should be treated. Getting `Offline` and `Unconfirmed` apart is what keeps
/// a crash or a dropped connection from sending a message twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SendErrorKind {
    /// No message data reached the server: the session could not be set up (DNS, TCP, TLS,
    /// authentication, greeting), or the connection failed before `DATA` was accepted. Safe to
    /// retry.
    Offline,
    /// The server answered 4xx: try again later.
    Transient,
    /// The server refused the session, with a 4xx, because the account has more sessions open
    /// at once than it allows (Exchange Online takes three: "432 4.3.2 Concurrent connections
    /// limit exceeded"). Nothing of the message was accepted: send it over fewer sessions.
    SessionLimit,
    /// The server refused the account's mail for a while, however its reply code reads: the
    /// account sent what its provider allows in a period (Gmail: "550 5.4.5 Daily user sending
    /// limit exceeded"; Exchange Online: "SubmissionQuotaExceededException"). Nothing of the
    /// message was accepted and nothing is wrong with it: it waits with the account.
    QuotaSpent,
    /// The server answered 5xx.
    Permanent {
        /// The rejection is about the recipient (unknown user, mailbox disabled: 550/551/553 on
        /// `RCPT`, or an enhanced status 5.1.x): treat the address as bounced.
        recipient: bool,
    },
    /// The connection failed after the message data may have reached the server (e.g. lost while
    /// waiting for the reply to the final "."). The server may have accepted it: do not resend
    /// blindly.
    Unconfirmed,
    /// The message could not be built; nothing was sent.
    Invalid,
}

/// A send that did not end with the server accepting the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct SendError {
    /// How the engine should treat the failure.
    pub kind: SendErrorKind,
    /// The SMTP reply code, when the server replied.
    pub code: Option<u16>,
    /// What happened, including the server's reply text when there was one.
    pub message: String,
}

impl SendError {
    pub(crate) fn new(kind: SendErrorKind, code: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    /// True when a later attempt may succeed and cannot duplicate the message.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            SendErrorKind::Offline
                | SendErrorKind::Transient
                | SendErrorKind::SessionLimit
                | SendErrorKind::QuotaSpent
        )
    }
}

impl From<BuildError> for SendError {
    fn from(err: BuildError) -> Self {
        Self::new(SendErrorKind::Invalid, None, err.to_string())
    }
}

impl From<ConnectError> for SendError {
    /// A session that could not be set up transmitted nothing of the message.
    fn from(err: ConnectError) -> Self {
        let kind = if err.session_limit {
            SendErrorKind::SessionLimit
        } else {
            SendErrorKind::Offline
        };
        Self::new(kind, None, err.to_string())
    }
}

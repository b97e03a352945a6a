//! What can go wrong when sending through SendGrid, in terms the engine can act on.

use jiff::Timestamp;

/// Why a SendGrid call failed.
///
/// The first group of variants is found before anything leaves the machine: nothing was sent.
/// The rest describe what SendGrid (or the network) answered.
#[derive(Debug, thiserror::Error)]
pub enum SendGridError {
    /// `send_batch` was given no messages.
    #[error("no messages to send")]
    EmptyBatch,
    /// More messages than one request may carry; split them with `plan_batches`.
    #[error("{count} messages in one request; SendGrid takes at most 1,000 personalizations")]
    TooManyMessages {
        /// How many messages were given.
        count: usize,
    },
    /// The messages do not all share one sender and reply-to (see `SenderKey`).
    #[error("messages with different senders or reply-to addresses cannot share a request")]
    MixedSenders,
    /// A value that becomes a header (or an address) contains CR, LF or NUL. It is refused
    /// rather than encoded, because it could only have come from a bug or an injection attempt.
    #[error("message {message_id:?}: {field} contains CR, LF or NUL; nothing was sent")]
    HeaderInjection {
        /// Our Message-ID of the offending message.
        message_id: String,
        /// Which field of the message, e.g. "subject".
        field: &'static str,
    },
    /// A field SendGrid requires to be non-empty is empty.
    #[error("message {message_id:?}: {field} is empty; nothing was sent")]
    EmptyField {
        /// Our Message-ID of the offending message.
        message_id: String,
        /// Which field of the message, e.g. "body_text".
        field: &'static str,
    },
    /// An unsubscribe URI that cannot go into `List-Unsubscribe`: the mailto one must start
    /// with `mailto:`, the one-click one must be an `https:` URL (RFC 8058), and both must be
    /// ASCII without whitespace or angle brackets.
    #[error("message {message_id:?}: {field} is not a usable List-Unsubscribe URI")]
    InvalidUnsubscribeUri {
        /// Our Message-ID of the offending message.
        message_id: String,
        /// Which field of the message, e.g. "unsubscribe_https".
        field: &'static str,
    },
    /// The message cannot share a request with others: its body exceeds SendGrid's
    /// substitution size limit, or its subject or body contains our substitution tag.
    /// Send it alone (`plan_batches` does).
    #[error("message {message_id:?} must be sent in a request of its own")]
    NotBatchable {
        /// Our Message-ID of the offending message.
        message_id: String,
    },
    /// The base URL is not an `https` URL (plain `http` is allowed to loopback hosts only, so the
    /// API key never crosses a network unencrypted).
    #[error("invalid SendGrid base URL: {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The API key contains characters an HTTP header cannot carry.
    #[error("the SendGrid API key contains characters not allowed in an HTTP header")]
    InvalidApiKey,
    /// The request body could not be encoded as JSON.
    #[error("could not encode the request body: {reason}")]
    Encoding {
        /// What failed.
        reason: String,
    },
    /// The HTTP client could not be built (e.g. no TLS roots could be loaded).
    #[error("could not set up the HTTP client: {reason}")]
    ClientSetup {
        /// What failed.
        reason: String,
    },

    /// 429: too many requests. Wait until `reset_at` (from `X-RateLimit-Reset`) before trying
    /// again; when SendGrid gave no reset time, back off.
    #[error("SendGrid rate limit reached{}", reset_suffix(.reset_at))]
    RateLimited {
        /// When the rate-limit window resets, if SendGrid said.
        reset_at: Option<Timestamp>,
    },
    /// 401 or 403: the API key is missing, wrong, revoked, or lacks a scope.
    #[error("SendGrid refused the API key (HTTP {status})")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// The key works but lacks a scope this app needs (found by `verify`).
    #[error("the SendGrid API key lacks the {scope:?} scope")]
    MissingScope {
        /// The scope that is missing, e.g. "mail.send".
        scope: &'static str,
    },
    /// 4xx other than 401/403/429 (400 invalid request, 413 payload too large, ...): permanent,
    /// sending the same request again will fail the same way.
    #[error("SendGrid rejected the request (HTTP {status}): {}", errors.join("; "))]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The `errors[].message` texts of SendGrid's answer.
        errors: Vec<String>,
    },
    /// 5xx: a fault on SendGrid's side; transient, retry later.
    #[error("SendGrid server error (HTTP {status})")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// No connection could be made (DNS, refused, TLS handshake, connect timeout): nothing was
    /// sent, so retrying is safe.
    #[error("could not reach SendGrid: {reason}")]
    Offline {
        /// The underlying cause.
        reason: String,
    },
    /// The request may have reached SendGrid but no answer was read (connection dropped,
    /// timeout while waiting). The messages may have been sent: do not resend blindly.
    #[error("no answer from SendGrid; the messages may have been sent: {reason}")]
    Unconfirmed {
        /// The underlying cause.
        reason: String,
    },
}

impl SendGridError {
    /// Whether sending the same request again later may succeed and cannot duplicate mail:
    /// rate limits, server errors and failed connections.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Offline { .. }
        )
    }
}

fn reset_suffix(reset_at: &Option<Timestamp>) -> String {
    reset_at.map_or_else(String::new, |at| format!(" until {at}"))
}

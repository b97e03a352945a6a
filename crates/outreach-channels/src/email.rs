//! The email every transport sends: one rendered message to one recipient.

use serde::{Deserialize, Serialize};

/// One fully rendered message to one recipient. Every text is final: transports never render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    /// Display name of the sender, e.g. "Alex Partner".
    pub from_name: String,
    /// Sender address, e.g. "alex@brand.example".
    pub from_address: String,
    /// Where replies should go, when not to the sender.
    pub reply_to: Option<String>,
    /// Display name of the recipient, when known.
    pub to_name: Option<String>,
    /// Recipient address.
    pub to_address: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (the product sends text mail; line endings are normalised on the wire).
    pub body_text: String,
    /// The Message-ID without angle brackets, made by the engine before the first attempt so
    /// that a retry carries the same one, e.g. "8f0c…@brand.example".
    pub message_id: String,
    /// `mailto:` URI for `List-Unsubscribe`, carrying the recipient's signed token.
    pub unsubscribe_mailto: String,
    /// HTTPS one-click URL (RFC 8058) when the workspace configures an endpoint; then
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` is added too.
    pub unsubscribe_https: Option<String>,
    /// The Message-ID (without angle brackets) of the mail this one answers: sent as
    /// `In-Reply-To` and `References`, so that the recipient's client threads it.
    pub in_reply_to: Option<String>,
}

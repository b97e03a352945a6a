//! SendGrid v3 Web API: an alternative to SMTP for sending email.
//!
//! One call to [`SendGridClient::send_batch`] is one `POST /v3/mail/send` carrying up to 1,000
//! messages, each a personalization with its own recipient, subject, headers and body. SendGrid
//! takes one `content` per request, so when several messages share a request the content is a
//! substitution tag and each personalization substitutes its own, fully rendered body.
//!
//! How the engine should use it:
//! - Group messages with [`plan_batches`]: messages share a request only when their sender
//!   ([`SenderKey`]: from name, from address and reply-to) is identical, at most 1,000 at a time,
//!   and a message whose body is too large for a substitution (or that contains the tag) goes
//!   alone, with its body as the request's content.
//! - Send each planned batch with [`SendGridClient::send_batch`] and act on the
//!   [`SendGridError`]: wait for [`SendGridError::RateLimited`], retry [`SendGridError::Server`]
//!   and [`SendGridError::Offline`] later, fail on [`SendGridError::Rejected`], and never resend
//!   [`SendGridError::Unconfirmed`] blindly (the messages may have gone out).
//!
//! ```no_run
//! # async fn run(emails: Vec<outreach_channels::email::OutgoingEmail>) -> Result<(), outreach_channels::sendgrid::SendGridError> {
//! use outreach_channels::sendgrid::{SecretString, SendGridClient, plan_batches};
//!
//! let client = SendGridClient::production(SecretString::from("SG.key-from-the-keychain"))?;
//! for batch in plan_batches(emails) {
//!     let receipt = client.send_batch(&batch).await?;
//!     println!("accepted {} as {:?}", receipt.accepted, receipt.x_message_id);
//! }
//! # Ok(()) }
//! ```

mod body;
mod client;
mod error;
mod plan;

pub use body::{MAX_PERSONALIZATIONS, SUBSTITUTIONS_LIMIT_BYTES, mail_send_json};
pub use client::{DEFAULT_BASE_URL, SendGridClient, SendGridReceipt};
pub use error::SendGridError;
pub use plan::{SenderKey, plan_batches};
/// The API key type [`SendGridClient`] takes: redacted in `Debug`, zeroed when dropped.
pub use secrecy::SecretString;

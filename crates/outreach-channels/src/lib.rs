//! Channels: how a rendered message leaves the machine.
//!
//! Email goes out over SMTP (lettre; implicit TLS, required STARTTLS, or plain SMTP to a relay on a
//! loopback address only) or through the SendGrid v3 API. This crate builds the message (headers,
//! `List-Unsubscribe`, DKIM), refuses header values that would carry CR, LF or NUL, and reports
//! what went wrong in terms the engine can act on (retry later, fail, mark bounced). It knows
//! nothing of the database: the engine decides what to send and records what happened.
//!
//! Replies are read over IMAP ([`imap`]: new messages by UID, left unread, never deleted) and
//! parsed here too ([`inbound`]): within hard limits, into thread headers,
//! sender, plain text, sanitised HTML, and its kind (a person's reply, an automatic reply, a
//! bounce, a complaint).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod email;
pub mod imap;
pub mod inbound;
pub mod message;
pub mod sendgrid;
pub mod smtp;

//! Email over SMTP: account settings, connection testing, and sending with a reused session.
//!
//! Security is never negotiable downwards: implicit TLS or required STARTTLS, or plain SMTP to a
//! relay on a loopback address only; credentials are only ever sent over TLS or to that relay.

mod connect;
mod error;
mod reply;
mod sender;
mod settings;
mod tls;

pub use connect::{ConnectionReport, test_connection};
pub use error::{ConnectError, ConnectStage, SendError, SendErrorKind};
pub use sender::{SmtpReceipt, SmtpSender};
pub use settings::{SmtpSecurity, SmtpSettings};
// Shared with IMAP: the same loopback rule and the same trust roots.
pub(crate) use settings::is_loopback_host;
pub(crate) use tls::TlsSetup;

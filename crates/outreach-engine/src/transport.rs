//! The engine's view of a channel: send one or more messages and learn, for each, whether it
//! went out, may be retried, failed, bounced, or has an unknown fate.

use std::time::Duration;

use jiff::Timestamp;
use outreach_channels::email::OutgoingEmail;
use outreach_channels::message::DkimKey;
use outreach_channels::sendgrid::{SecretString, SendGridClient, SendGridError};
use outreach_channels::smtp::{SendErrorKind, SmtpSecurity, SmtpSender, SmtpSettings};
use outreach_core::campaign::{AccountFields, SenderAccount, SmtpSecurityMode, Transport as Kind};

use crate::EngineError;

/// What became of one message.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Accepted; the server's reply.
    Sent(String),
    /// Nothing reached the server (no network, server down): retry later, safely.
    Offline(String),
    /// A temporary refusal (4xx, 5xx from an API, rate limit): retry later.
    Transient {
        /// What happened.
        error: String,
        /// Not before this instant, when the provider said so.
        retry_at: Option<Timestamp>,
    },
    /// Refused for good.
    Failed(String),
    /// The recipient does not exist.
    Bounced(String),
    /// It may or may not have gone out.
    Unconfirmed(String),
}

/// A ready transport for one account.
pub enum Transport {
    /// SMTP, keeping its connection open between messages.
    Smtp(Box<SmtpSender>),
    /// The SendGrid v3 API.
    SendGrid(SendGridClient),
}

/// Secrets of an account, read from the keychain by the caller.
#[derive(Default)]
pub struct AccountSecrets {
    /// SMTP password or SendGrid API key.
    pub secret: Option<String>,
    /// DKIM private key (PEM).
    pub dkim_pem: Option<String>,
}

/// The SMTP settings of an account, as sending and the connection test use them.
pub fn smtp_settings(f: &AccountFields, password: Option<String>) -> Result<SmtpSettings, String> {
    let host = f.host.clone().ok_or("an SMTP account needs a host")?;
    let security = match f.security {
        Some(SmtpSecurityMode::ImplicitTls) => SmtpSecurity::ImplicitTls,
        Some(SmtpSecurityMode::StartTls) => SmtpSecurity::StartTls,
        Some(SmtpSecurityMode::PlainLoopback) => SmtpSecurity::PlainLoopback,
        None => return Err("choose how the SMTP connection is secured".into()),
    };
    let mut s = SmtpSettings::new(host, f.port.unwrap_or(587), security);
    s.username = f.username.clone();
    s.password = password;
    s.timeout = Duration::from_secs(60);
    Ok(s)
}

impl Transport {
    /// Connects nothing yet; checks the settings and prepares the client.
    pub fn for_account(a: &SenderAccount, secrets: AccountSecrets) -> Result<Self, EngineError> {
        let f = &a.fields;
        let config = |m: String| EngineError::Account {
            account_id: a.id,
            message: m,
        };
        match f.transport {
            Kind::Smtp => {
                let s = smtp_settings(f, secrets.secret).map_err(config)?;
                let dkim = match (&f.dkim_selector, &f.dkim_domain, secrets.dkim_pem) {
                    (Some(sel), Some(dom), Some(pem)) => Some(
                        DkimKey::parse(sel, dom, &pem)
                            .map_err(|e| config(format!("DKIM key: {e}")))?,
                    ),
                    _ => None,
                };
                let sender = SmtpSender::new(&s, dkim).map_err(|e| config(e.to_string()))?;
                Ok(Self::Smtp(Box::new(sender)))
            }
            Kind::Sendgrid => {
                let key = secrets
                    .secret
                    .ok_or_else(|| config("no SendGrid API key in the keychain".into()))?;
                let key = SecretString::from(key);
                let client = match f.api_base_url.as_deref() {
                    Some(url) => SendGridClient::new(url, key),
                    None => SendGridClient::production(key),
                }
                .map_err(|e| config(e.to_string()))?;
                Ok(Self::SendGrid(client))
            }
        }
    }

    /// Sends one message.
    pub async fn send(&self, email: &OutgoingEmail) -> Delivery {
        match self {
            Self::Smtp(s) => match s.send(email).await {
                Ok(r) => Delivery::Sent(r.response),
                Err(e) => match e.kind {
                    SendErrorKind::Offline => Delivery::Offline(e.message),
                    SendErrorKind::Transient => Delivery::Transient {
                        error: e.message,
                        retry_at: None,
                    },
                    SendErrorKind::Permanent { recipient: true } => Delivery::Bounced(e.message),
                    SendErrorKind::Permanent { recipient: false } | SendErrorKind::Invalid => {
                        Delivery::Failed(e.message)
                    }
                    SendErrorKind::Unconfirmed => Delivery::Unconfirmed(e.message),
                },
            },
            Self::SendGrid(c) => match c.send_batch(std::slice::from_ref(email)).await {
                Ok(r) => Delivery::Sent(
                    r.x_message_id
                        .map(|id| format!("202 accepted, X-Message-Id {id}"))
                        .unwrap_or_else(|| "202 accepted".into()),
                ),
                Err(e) => sendgrid_delivery(e),
            },
        }
    }

    /// Closes connections.
    pub async fn close(&self) {
        if let Self::Smtp(s) = self {
            s.close().await;
        }
    }
}

fn sendgrid_delivery(e: SendGridError) -> Delivery {
    let message = e.to_string();
    match e {
        SendGridError::Offline { .. } => Delivery::Offline(message),
        SendGridError::RateLimited { reset_at } => Delivery::Transient {
            error: message,
            retry_at: reset_at,
        },
        SendGridError::Server { .. } => Delivery::Transient {
            error: message,
            retry_at: None,
        },
        SendGridError::Unconfirmed { .. } => Delivery::Unconfirmed(message),
        _ => Delivery::Failed(message),
    }
}

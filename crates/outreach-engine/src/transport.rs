//! The engine's view of a channel: send one or more messages and learn, for each, whether it
//! went out, may be retried, failed, bounced, or has an unknown fate.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use outreach_channels::email::OutgoingEmail;
use outreach_channels::message::DkimKey;
use outreach_channels::sendgrid::{SecretString, SendGridClient, SendGridError, plan_batches};
use outreach_channels::smtp::{SendErrorKind, SmtpSecurity, SmtpSender, SmtpSettings};

pub use crate::smtp_sessions::SmtpSessions;
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
    /// SMTP over a few sessions at once, each kept open between messages.
    Smtp(SmtpSessions),
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
    /// The reply mailbox's own password or token, when it differs from `secret`.
    pub mailbox_secret: Option<String>,
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
    /// Connects nothing yet; checks the settings and prepares the client, with up to
    /// `smtp_sessions` SMTP sessions used at once.
    pub fn for_account(
        a: &SenderAccount,
        secrets: AccountSecrets,
        smtp_sessions: usize,
    ) -> Result<Self, EngineError> {
        let f = &a.fields;
        let config = |m: String| EngineError::Account {
            account_id: a.id,
            message: m,
        };
        match f.transport {
            Kind::Smtp => {
                let s = smtp_settings(f, secrets.secret).map_err(config)?;
                let mut senders = Vec::new();
                for _ in 0..smtp_sessions.max(1) {
                    let dkim = match (&f.dkim_selector, &f.dkim_domain, &secrets.dkim_pem) {
                        (Some(sel), Some(dom), Some(pem)) => Some(
                            DkimKey::parse(sel, dom, pem)
                                .map_err(|e| config(format!("DKIM key: {e}")))?,
                        ),
                        _ => None,
                    };
                    let sender = SmtpSender::new(&s, dkim).map_err(|e| config(e.to_string()))?;
                    senders.push(sender);
                }
                Ok(Self::Smtp(SmtpSessions::new(senders)))
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

    /// Sends messages and says, for each in the given order, what became of it.
    ///
    /// SMTP spreads them over the account's sessions, each sending its share in order (each
    /// message's envelope pipelined with the previous one's data where the server allows); a
    /// session that finds the server unreachable does not try the rest of its share (they stay
    /// safe to retry), and sessions beyond what the server takes at once are given up (see
    /// [`SmtpSessions`]). SendGrid sends them in as few requests as its API allows, and stops at
    /// the first refusal of the whole account (rate limit, outage).
    pub async fn send_batch(&self, emails: Vec<OutgoingEmail>) -> Vec<Delivery> {
        match self {
            Self::Smtp(sessions) => sessions
                .send(emails)
                .await
                .into_iter()
                .map(smtp_delivery)
                .collect(),
            Self::SendGrid(c) => sendgrid_batch(c, emails).await,
        }
    }

    /// Closes connections.
    pub async fn close(&self) {
        if let Self::Smtp(sessions) = self {
            sessions.close().await;
        }
    }
}

/// How long an account waits when its server took none of its sessions.
const SESSION_LIMIT_WAIT: SignedDuration = SignedDuration::from_secs(60);

/// How long an account waits once its server said it sent its allowance.
const QUOTA_WAIT: SignedDuration = SignedDuration::from_secs(4 * 60 * 60);

fn smtp_delivery(result: Result<String, outreach_channels::smtp::SendError>) -> Delivery {
    match result {
        Ok(response) => Delivery::Sent(response),
        Err(e) => match e.kind {
            SendErrorKind::Offline => Delivery::Offline(e.message),
            SendErrorKind::Transient => Delivery::Transient {
                error: e.message,
                retry_at: None,
            },
            // Every session refused while sessions of the same account are open elsewhere: the
            // account waits a while rather than knocking again at once.
            SendErrorKind::SessionLimit => Delivery::Transient {
                error: e.message,
                retry_at: Some(Timestamp::now() + SESSION_LIMIT_WAIT),
            },
            // The allowance comes back over hours (Gmail's is a rolling day): waits long enough
            // that the attempts a message is given span more than a day.
            SendErrorKind::QuotaSpent => Delivery::Transient {
                error: e.message,
                retry_at: Some(Timestamp::now() + QUOTA_WAIT),
            },
            SendErrorKind::Permanent { recipient: true } => Delivery::Bounced(e.message),
            SendErrorKind::Permanent { recipient: false } | SendErrorKind::Invalid => {
                Delivery::Failed(e.message)
            }
            SendErrorKind::Unconfirmed => Delivery::Unconfirmed(e.message),
        },
    }
}

async fn sendgrid_batch(client: &SendGridClient, emails: Vec<OutgoingEmail>) -> Vec<Delivery> {
    let order: HashMap<String, usize> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| (e.message_id.clone(), i))
        .collect();
    let mut results: Vec<Option<Delivery>> = vec![None; emails.len()];
    let mut stop: Option<Delivery> = None;
    for batch in plan_batches(emails) {
        let d = match &stop {
            Some(d) => d.clone(),
            None => match client.send_batch(&batch).await {
                Ok(r) => Delivery::Sent(
                    r.x_message_id
                        .map(|id| format!("202 accepted, X-Message-Id {id}"))
                        .unwrap_or_else(|| "202 accepted".into()),
                ),
                Err(e) => {
                    let d = sendgrid_delivery(e);
                    // The account as a whole is refused: the rest waits rather than hammering.
                    if matches!(d, Delivery::Offline(_) | Delivery::Transient { .. }) {
                        stop = Some(d.clone());
                    }
                    d
                }
            },
        };
        for e in &batch {
            if let Some(&i) = order.get(&e.message_id) {
                results[i] = Some(d.clone());
            }
        }
    }
    results
        .into_iter()
        .map(|d| d.unwrap_or_else(|| Delivery::Failed("not sent".into())))
        .collect()
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

//! Reading a sender account's inbox over IMAP: new messages since the last one seen, by UID,
//! without changing what the person sees. Messages are fetched with `BODY.PEEK[]` (so they stay
//! unread) and only our own keyword flag is added; nothing is ever deleted, moved or expunged.
//!
//! Security as for SMTP: implicit TLS (993), or plain IMAP only to a server on a loopback
//! address (a local bridge, and the tests).

use std::fmt;
use std::time::Duration;

use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::smtp::{ConnectError, ConnectStage};

/// The keyword flag set on messages the reply poller has processed.
pub const PROCESSED_FLAG: &str = "$OutreachProcessed";

/// The keyword flag set on messages the reply poller could not read (over a size, part or
/// nesting limit, or not a message at all).
pub const UNPARSEABLE_FLAG: &str = "$OutreachUnparseable";

/// How to reach the IMAP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// TLS from the first byte (port 993).
    ImplicitTls,
    /// No encryption: only to a server on a loopback address.
    PlainLoopback,
}

/// How to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapAuth {
    /// LOGIN with a password or app password.
    Password,
    /// SASL XOAUTH2 with an OAuth 2.0 access token in place of the password.
    Xoauth2,
}

/// An account's IMAP settings.
#[derive(Clone)]
pub struct ImapSettings {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub security: ImapSecurity,
    /// Login name.
    pub username: String,
    /// How to log in.
    pub auth: ImapAuth,
    /// Password, app password or access token.
    pub password: SecretString,
    /// Mailbox to read.
    pub mailbox: String,
    /// Limit for each network step.
    pub timeout: Duration,
}

impl fmt::Debug for ImapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("auth", &self.auth)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

/// A message as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    /// Its UID in the mailbox.
    pub uid: u32,
    /// The raw RFC 5322 message.
    pub raw: Vec<u8>,
}

/// What one poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// The mailbox's UIDVALIDITY: when it changes, UIDs seen before mean nothing.
    pub uid_validity: u32,
    /// Messages with a UID above the one asked for, oldest first, at most the limit asked for.
    pub messages: Vec<FetchedMessage>,
}

/// What went wrong while polling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImapError {
    /// Could not connect, secure the connection or log in.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server answered a command with an error, or the connection broke.
    #[error("the IMAP server failed: {0}")]
    Protocol(String),
    /// A step took longer than the timeout.
    #[error("the IMAP server did not answer within {0:?}")]
    Timeout(Duration),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Stream for T {}

/// An open, logged-in session on the account's mailbox.
pub struct ImapSession {
    session: Session<Box<dyn Stream>>,
    uid_validity: u32,
    idle: bool,
    timeout: Duration,
}

/// SASL XOAUTH2: one response, the user and the bearer token.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
}

impl async_imap::Authenticator for XOAuth2<'_> {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

impl ImapSession {
    /// Connects, logs in and selects the mailbox.
    ///
    /// # Errors
    /// [`ImapError::Connect`] naming the failed stage (config, DNS/TCP, TLS, authentication).
    pub async fn open(settings: &ImapSettings) -> Result<Self, ImapError> {
        let t = settings.timeout;
        let host = settings.host.trim();
        if settings.security == ImapSecurity::PlainLoopback && !crate::smtp::is_loopback_host(host)
        {
            return Err(ConnectError::new(
                ConnectStage::Config,
                format!("plain IMAP is only allowed to a server on this machine, not {host:?}"),
            )
            .into());
        }
        let tcp = within(t, TcpStream::connect((host, settings.port)))
            .await?
            .map_err(|e| {
                ConnectError::new(
                    ConnectStage::Tcp,
                    format!("could not connect to {host}:{}: {e}", settings.port),
                )
            })?;
        let stream: Box<dyn Stream> = match settings.security {
            ImapSecurity::PlainLoopback => Box::new(tcp),
            ImapSecurity::ImplicitTls => {
                let tls = crate::smtp::TlsSetup::new(host, &[])?;
                Box::new(within(t, tls.handshake(tcp)).await??)
            }
        };
        let mut client = Client::new(stream);
        let greeting = within(t, client.read_response())
            .await?
            .map_err(|e| ConnectError::new(ConnectStage::Protocol, e.to_string()))?;
        if greeting.is_none() {
            return Err(ConnectError::new(
                ConnectStage::Protocol,
                "the server closed the connection instead of greeting",
            )
            .into());
        }
        let refused = |e: async_imap::error::Error| {
            ConnectError::new(
                ConnectStage::Auth,
                format!("the server refused the login: {e}"),
            )
        };
        let mut session = match settings.auth {
            ImapAuth::Password => within(
                t,
                client.login(&settings.username, settings.password.expose_secret()),
            )
            .await?
            .map_err(|(e, _)| refused(e))?,
            ImapAuth::Xoauth2 => within(
                t,
                client.authenticate(
                    "XOAUTH2",
                    XOAuth2 {
                        user: &settings.username,
                        token: settings.password.expose_secret(),
                    },
                ),
            )
            .await?
            .map_err(|(e, _)| refused(e))?,
        };
        let idle = within(t, session.capabilities())
            .await?
            .map_err(protocol)?
            .has_str("IDLE");
        let mailbox = within(t, session.select(&settings.mailbox))
            .await?
            .map_err(protocol)?;
        Ok(Self {
            session,
            uid_validity: mailbox.uid_validity.unwrap_or(0),
            idle,
            timeout: t,
        })
    }

    /// The mailbox's UIDVALIDITY.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Messages with a UID above `after_uid`, oldest first, at most `limit`, left unread.
    ///
    /// # Errors
    /// [`ImapError::Protocol`] or [`ImapError::Timeout`].
    pub async fn fetch_after(&mut self, after_uid: u32, limit: usize) -> Result<Poll, ImapError> {
        let t = self.timeout;
        let query = format!("UID {}:*", after_uid.saturating_add(1));
        let mut uids: Vec<u32> = within(t, self.session.uid_search(&query))
            .await?
            .map_err(protocol)?
            .into_iter()
            // `n:*` always matches the highest UID, even when it is below n.
            .filter(|uid| *uid > after_uid)
            .collect();
        uids.sort_unstable();
        uids.truncate(limit);
        let mut messages = Vec::with_capacity(uids.len());
        if !uids.is_empty() {
            let set = uid_set(&uids);
            let fetched: Vec<_> = within(t, async {
                self.session
                    .uid_fetch(&set, "(UID BODY.PEEK[])")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(protocol)?;
            for f in &fetched {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    messages.push(FetchedMessage {
                        uid,
                        raw: body.to_vec(),
                    });
                }
            }
            messages.sort_by_key(|m| m.uid);
        }
        Ok(Poll {
            uid_validity: self.uid_validity,
            messages,
        })
    }

    /// Adds [`PROCESSED_FLAG`] to these messages (and nothing else).
    ///
    /// # Errors
    /// [`ImapError::Protocol`] or [`ImapError::Timeout`].
    pub async fn mark_processed(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.add_keyword(uids, PROCESSED_FLAG).await
    }

    /// Adds [`UNPARSEABLE_FLAG`] to these messages (and nothing else).
    ///
    /// # Errors
    /// [`ImapError::Protocol`] or [`ImapError::Timeout`].
    pub async fn mark_unparseable(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.add_keyword(uids, UNPARSEABLE_FLAG).await
    }

    async fn add_keyword(&mut self, uids: &[u32], keyword: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let query = format!("+FLAGS.SILENT ({keyword})");
        within(self.timeout, async {
            self.session
                .uid_store(&set, &query)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .map_err(protocol)?;
        Ok(())
    }

    /// Whether the server offers IDLE (RFC 2177), so that [`ImapSession::wait`] hears of new
    /// mail at once instead of sleeping.
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// Waits until the mailbox changes, `max` passes, or `stop` completes, whichever is
    /// first: with IDLE when the server offers it, by sleeping otherwise. Returns the session
    /// for the next fetch.
    ///
    /// # Errors
    /// [`ImapError::Protocol`] or [`ImapError::Timeout`] when IDLE cannot start or end
    /// cleanly; the session is gone then and the caller reconnects.
    pub async fn wait(
        self,
        max: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<Self, ImapError> {
        if !self.idle {
            tokio::select! {
                () = tokio::time::sleep(max) => {}
                () = stop => {}
            }
            return Ok(self);
        }
        // A server reports new mail in the replies to whatever command comes next, and the
        // client library files reports outside an IDLE away as unsolicited: mail that came
        // during the last fetch, or as IDLE started, would not end the wait.
        let unsolicited = self.session.unsolicited_responses.clone();
        // Takes every report waiting; says whether one was of new mail.
        let mail_reported = || {
            use async_imap::types::UnsolicitedResponse::{Exists, Recent};
            let mut reported = false;
            while let Ok(response) = unsolicited.try_recv() {
                reported |= matches!(response, Exists(_) | Recent(_));
            }
            reported
        };
        if mail_reported() {
            return Ok(self);
        }
        let Self {
            session,
            uid_validity,
            idle,
            timeout,
        } = self;
        let mut handle = session.idle();
        within(timeout, handle.init()).await?.map_err(protocol)?;
        if !mail_reported() {
            let (news, _interrupt) = handle.wait_with_timeout(max);
            tokio::select! {
                r = news => { r.map_err(protocol)?; }
                () = stop => {}
            }
        }
        let session = within(timeout, handle.done()).await?.map_err(protocol)?;
        Ok(Self {
            session,
            uid_validity,
            idle,
            timeout,
        })
    }

    /// Logs out.
    pub async fn close(mut self) {
        let _ = within(self.timeout, self.session.logout()).await;
    }
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn protocol(e: async_imap::error::Error) -> ImapError {
    ImapError::Protocol(e.to_string())
}

async fn within<F: std::future::Future>(limit: Duration, f: F) -> Result<F::Output, ImapError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| ImapError::Timeout(limit))
}

//! Setting up an SMTP session step by step (DNS, TCP, TLS, greeting and EHLO, STARTTLS, AUTH) so
//! that a failure names the step that failed, and [`test_connection`] for the account screen.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use lettre::transport::smtp::{
    Error as SmtpError,
    authentication::{Credentials, Mechanism},
    client::{AsyncSmtpConnection, AsyncTokioStream},
    commands::Ehlo,
    extension::{ClientId, Extension},
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use super::{
    error::{ConnectError, ConnectStage},
    reply::{is_session_limit, reply_text},
    settings::{SmtpSecurity, SmtpSettings},
    tls::{TlsSetup, describe_failure},
};

/// Password mechanisms, strongest first; both need TLS (or a loopback relay) to be safe.
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

/// What a successful [`test_connection`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// The address the session connected to.
    pub peer: SocketAddr,
    /// The name the server gave in its EHLO reply.
    pub server_name: String,
    /// Whether the session is encrypted (always, except to a loopback relay).
    pub encrypted: bool,
    /// Whether the server accepted the credentials (false when none are configured).
    pub authenticated: bool,
    /// Whether the server takes pipelined commands (RFC 2920), which makes sending faster.
    pub pipelining: bool,
}

/// Connects, secures and authenticates exactly as sending would, then says goodbye.
pub async fn test_connection(settings: &SmtpSettings) -> Result<ConnectionReport, ConnectError> {
    let connector = Connector::new(settings)?;
    let mut session = connector.open().await?;
    // The test is over whatever QUIT answers.
    let _ = within(settings.timeout, session.connection.quit()).await;
    Ok(session.report)
}

/// An open, secured and authenticated session.
pub(crate) struct Session {
    pub(crate) connection: AsyncSmtpConnection,
    pub(crate) report: ConnectionReport,
}

/// Everything needed to open sessions for one account, prepared once.
pub(crate) struct Connector {
    settings: SmtpSettings,
    tls: Option<TlsSetup>,
    hello: ClientId,
    credentials: Option<Credentials>,
}

impl Connector {
    /// Validates the settings and prepares TLS and credentials.
    pub(crate) fn new(settings: &SmtpSettings) -> Result<Self, ConnectError> {
        settings.validate()?;
        let tls = match settings.security {
            SmtpSecurity::PlainLoopback => None,
            SmtpSecurity::ImplicitTls | SmtpSecurity::StartTls => Some(TlsSetup::new(
                settings.host_name(),
                &settings.extra_root_certs_pem,
            )?),
        };
        let hello = settings
            .hello_name
            .clone()
            .map_or_else(ClientId::default, ClientId::Domain);
        let credentials = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        Ok(Self {
            settings: settings.clone(),
            tls,
            hello,
            credentials,
        })
    }

    /// The limit for each network step.
    pub(crate) fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// Opens a session ready for `MAIL FROM`.
    pub(crate) async fn open(&self) -> Result<Session, ConnectError> {
        let addresses = self.resolve().await?;
        let (tcp, peer) = self.connect_tcp(&addresses).await?;
        let stream: Box<dyn AsyncTokioStream> = match self.settings.security {
            SmtpSecurity::ImplicitTls => Box::new(
                within(self.timeout(), self.tls()?.handshake(tcp))
                    .await
                    .map_err(|err| {
                        err.into_failure().unwrap_or_else(|| {
                            ConnectError::new(ConnectStage::Tls, "the TLS handshake timed out")
                        })
                    })?,
            ),
            SmtpSecurity::StartTls | SmtpSecurity::PlainLoopback => Box::new(tcp),
        };
        let mut connection = within(
            self.timeout(),
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
        )
        .await
        .map_err(|err| smtp_failure(ConnectStage::Protocol, "the greeting and EHLO", err))?;

        if self.settings.security == SmtpSecurity::StartTls {
            self.start_tls(&mut connection).await?;
        }
        let pipelining = self.offers_pipelining(&mut connection).await?;
        let encrypted = match self.settings.security {
            SmtpSecurity::ImplicitTls => true,
            SmtpSecurity::StartTls => connection.is_encrypted(),
            SmtpSecurity::PlainLoopback => false,
        };
        let authenticated = match &self.credentials {
            Some(credentials) => {
                self.authenticate(&mut connection, credentials, encrypted)
                    .await?;
                true
            }
            None => false,
        };
        let server_name = connection.server_info().name().to_owned();
        Ok(Session {
            connection,
            report: ConnectionReport {
                peer,
                server_name,
                encrypted,
                authenticated,
                pipelining,
            },
        })
    }

    /// Asks for the extension list again to see whether PIPELINING is among them: lettre's
    /// `ServerInfo` keeps only the extensions lettre itself uses. One round trip per session,
    /// done before AUTH because EHLO resets the session (RFC 5321 §4.1.4) and a login should not
    /// depend on how a server reads that.
    async fn offers_pipelining(
        &self,
        connection: &mut AsyncSmtpConnection,
    ) -> Result<bool, ConnectError> {
        let reply = within(
            self.timeout(),
            connection.command(Ehlo::new(self.hello.clone())),
        )
        .await
        .map_err(|err| smtp_failure(ConnectStage::Protocol, "the reply to EHLO", err))?;
        Ok(reply
            .message()
            .any(|line| line.split_whitespace().next() == Some("PIPELINING")))
    }

    async fn resolve(&self) -> Result<Vec<SocketAddr>, ConnectError> {
        let host = self.settings.host_name();
        let port = self.settings.port;
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => within(self.timeout(), tokio::net::lookup_host((host, port)))
                .await
                .map_err(|err| {
                    let reason = err
                        .into_failure()
                        .map_or_else(|| "the lookup timed out".to_owned(), |e| e.to_string());
                    ConnectError::new(
                        ConnectStage::Dns,
                        format!("could not resolve {host}: {reason}"),
                    )
                })?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(ConnectError::new(
                ConnectStage::Dns,
                format!("{host} has no address"),
            ));
        }
        if self.settings.security == SmtpSecurity::PlainLoopback {
            // Validation checked the name; this checks what it resolved to.
            let loopback: Vec<_> = addresses
                .into_iter()
                .filter(|address| address.ip().is_loopback())
                .collect();
            if loopback.is_empty() {
                return Err(ConnectError::new(
                    ConnectStage::Config,
                    format!(
                        "{host} does not resolve to a loopback address; unencrypted SMTP is refused"
                    ),
                ));
            }
            return Ok(loopback);
        }
        Ok(addresses)
    }

    async fn connect_tcp(
        &self,
        addresses: &[SocketAddr],
    ) -> Result<(TcpStream, SocketAddr), ConnectError> {
        let mut failures = Vec::new();
        for &address in addresses {
            match within(self.timeout(), TcpStream::connect(address)).await {
                Ok(stream) => {
                    // Commands are small writes each awaiting a reply; Nagle's algorithm would
                    // hold every one back for a delayed ACK.
                    stream.set_nodelay(true).map_err(|err| {
                        ConnectError::new(ConnectStage::Tcp, format!("{address}: {err}"))
                    })?;
                    return Ok((stream, address));
                }
                Err(err) => failures.push(format!(
                    "{address}: {}",
                    err.into_failure()
                        .map_or_else(|| "timed out".to_owned(), |e| e.to_string())
                )),
            }
        }
        Err(ConnectError::new(
            ConnectStage::Tcp,
            format!("could not connect to {}", failures.join("; ")),
        ))
    }

    /// The TLS setup, which every mode but plain loopback has.
    fn tls(&self) -> Result<&TlsSetup, ConnectError> {
        self.tls
            .as_ref()
            .ok_or_else(|| ConnectError::new(ConnectStage::Config, "TLS is not configured"))
    }

    async fn start_tls(&self, connection: &mut AsyncSmtpConnection) -> Result<(), ConnectError> {
        let tls = self.tls()?;
        if !connection
            .server_info()
            .supports_feature(Extension::StartTls)
        {
            let refusal = if self.credentials.is_some() {
                "the server does not offer STARTTLS; refusing to send credentials in clear"
            } else {
                "the server does not offer STARTTLS; refusing to send mail in clear"
            };
            return Err(ConnectError::new(ConnectStage::Tls, refusal));
        }
        within(
            self.timeout(),
            connection.starttls(tls.starttls_parameters(), &self.hello),
        )
        .await
        .map_err(|err| match err.into_failure() {
            Some(err) if err.status().is_some() => ConnectError::new(
                ConnectStage::Tls,
                format!(
                    "the server refused STARTTLS: {} {}",
                    err.status().map(u16::from).unwrap_or_default(),
                    reply_text(&err)
                ),
            ),
            Some(err) => ConnectError::new(ConnectStage::Tls, describe_failure(&err, tls.host())),
            None => ConnectError::new(ConnectStage::Tls, "the STARTTLS handshake timed out"),
        })
    }

    async fn authenticate(
        &self,
        connection: &mut AsyncSmtpConnection,
        credentials: &Credentials,
        encrypted: bool,
    ) -> Result<(), ConnectError> {
        // Validation and the TLS steps already guarantee this; it is restated next to the one
        // call that sends the password.
        let loopback_relay = self.settings.security == SmtpSecurity::PlainLoopback;
        if !encrypted && !loopback_relay {
            return Err(ConnectError::new(
                ConnectStage::Auth,
                "refusing to send credentials over an unencrypted connection",
            ));
        }
        if connection
            .server_info()
            .get_auth_mechanism(&MECHANISMS)
            .is_none()
        {
            return Err(ConnectError::new(
                ConnectStage::Auth,
                "the server offers no password login (AUTH PLAIN or LOGIN)",
            ));
        }
        within(self.timeout(), connection.auth(&MECHANISMS, credentials))
            .await
            .map(drop)
            .map_err(|err| match err.into_failure() {
                Some(err) if err.status().is_some() => {
                    let code = err.status().map(u16::from).unwrap_or_default();
                    let text = reply_text(&err);
                    if is_session_limit(code, &text) {
                        return session_limit(ConnectStage::Auth, "the login", code, &text);
                    }
                    ConnectError::new(
                        ConnectStage::Auth,
                        format!("the server rejected the username or password: {code} {text}"),
                    )
                }
                Some(err) => ConnectError::new(
                    ConnectStage::Auth,
                    format!("the connection failed during authentication: {err}"),
                ),
                None => ConnectError::new(ConnectStage::Auth, "authentication timed out"),
            })
    }
}

/// Explains a failure of an SMTP exchange during setup: a refusal with its reply, or a broken
/// or silent connection.
fn smtp_failure(stage: ConnectStage, what: &str, err: StepError<SmtpError>) -> ConnectError {
    match err.into_failure() {
        Some(err) => match err.status().map(u16::from) {
            Some(code) => {
                let text = reply_text(&err);
                if is_session_limit(code, &text) {
                    return session_limit(stage, what, code, &text);
                }
                ConnectError::new(stage, format!("{what} was a refusal: {code} {text}"))
            }
            None => ConnectError::new(stage, format!("{what} failed: {err}")),
        },
        None => ConnectError::new(stage, format!("{what} did not arrive in time")),
    }
}

/// The server refused the session at `what` because the account has too many open at once.
fn session_limit(stage: ConnectStage, what: &str, code: u16, text: &str) -> ConnectError {
    ConnectError {
        session_limit: true,
        ..ConnectError::new(
            stage,
            format!(
                "{what} was a refusal: the server takes no more sessions of this account at \
                 once: {code} {text}"
            ),
        )
    }
}

/// A network step that failed, or did not finish within the account's timeout.
pub(crate) enum StepError<E> {
    /// The step failed.
    Failed(E),
    /// The step did not finish in time.
    TimedOut,
}

impl<E> StepError<E> {
    /// The error, or `None` for a timeout.
    pub(crate) fn into_failure(self) -> Option<E> {
        match self {
            Self::Failed(err) => Some(err),
            Self::TimedOut => None,
        }
    }
}

/// Runs one network step under the account's timeout: lettre's session has no timeouts of its
/// own, and a silent server must not hold the sender forever.
pub(crate) async fn within<T, E>(
    limit: Duration,
    step: impl Future<Output = Result<T, E>>,
) -> Result<T, StepError<E>> {
    match tokio::time::timeout(limit, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(StepError::Failed(err)),
        Err(_) => Err(StepError::TimedOut),
    }
}

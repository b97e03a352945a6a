//! What a sender account says about its SMTP server, and the checks those settings pass before
//! anything connects.

use std::{fmt, net::IpAddr, time::Duration};

use serde::{Deserialize, Serialize};

use super::error::{ConnectError, ConnectStage};

/// How the connection to the server is secured. There is deliberately no "opportunistic" mode: a
/// connection that silently stays in clear when STARTTLS is missing can be downgraded by anyone
/// on the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// TLS from the first byte (RFC 8314), usually port 465.
    ImplicitTls,
    /// Plain connection upgraded with STARTTLS before anything else; refused when the server does
    /// not offer it. Usually port 587.
    StartTls,
    /// No encryption, allowed only to a relay on a loopback address (a local Postfix, say).
    PlainLoopback,
}

/// Connection settings of one SMTP sender account. Secrets come from the keychain, not the
/// database: the password is never serialised and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpSettings {
    /// Server host name or IP address.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// Login name, when the server wants authentication.
    pub username: Option<String>,
    /// Password for `username`.
    #[serde(skip_serializing, default)]
    pub password: Option<String>,
    /// Extra trusted root certificates (PEM), e.g. a corporate relay's CA.
    #[serde(default)]
    pub extra_root_certs_pem: Vec<String>,
    /// Limit for each network step: DNS, connecting, the TLS handshake, each SMTP reply.
    pub timeout: Duration,
    /// The name given in EHLO; `[127.0.0.1]` when unset, which reveals nothing about the machine.
    pub hello_name: Option<String>,
}

impl SmtpSettings {
    /// Settings without authentication or extra roots, with a 30-second timeout.
    pub fn new(host: impl Into<String>, port: u16, security: SmtpSecurity) -> Self {
        Self {
            host: host.into(),
            port,
            security,
            username: None,
            password: None,
            extra_root_certs_pem: Vec::new(),
            timeout: Duration::from_secs(30),
            hello_name: None,
        }
    }

    /// Checks the settings without connecting; every failure has stage
    /// [`ConnectStage::Config`].
    pub fn validate(&self) -> Result<(), ConnectError> {
        let config = |message: String| ConnectError::new(ConnectStage::Config, message);
        let host = self.host_name();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(config(format!("{:?} is not a host name", self.host)));
        }
        if self.port == 0 {
            return Err(config("the port must be between 1 and 65535".to_owned()));
        }
        if self.timeout.is_zero() {
            return Err(config("the timeout must be longer than zero".to_owned()));
        }
        if self.security == SmtpSecurity::PlainLoopback && !is_loopback_host(host) {
            return Err(config(format!(
                "unencrypted SMTP is only allowed to a relay on this machine (127.0.0.1, ::1 or \
                 localhost), not to {host}; use implicit TLS or STARTTLS"
            )));
        }
        match (&self.username, &self.password) {
            (Some(user), _) if user.is_empty() || user.contains(['\r', '\n', '\0']) => {
                return Err(config(
                    "the username is empty or contains a line break".to_owned(),
                ));
            }
            (Some(_), None) => return Err(config("a username needs a password".to_owned())),
            (None, Some(_)) => return Err(config("a password needs a username".to_owned())),
            _ => {}
        }
        if let Some(name) = &self.hello_name
            && !is_hello_name(name)
        {
            return Err(config(format!(
                "{name:?} is not a valid EHLO name (a domain name or an address literal)"
            )));
        }
        Ok(())
    }

    /// The host without the brackets of an IPv6 literal such as `[::1]`.
    pub(crate) fn host_name(&self) -> &str {
        let host = self.host.trim();
        host.strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host)
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("extra_root_certs_pem", &self.extra_root_certs_pem.len())
            .field("timeout", &self.timeout)
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

/// `localhost` or a literal loopback address. Resolved addresses are checked again after DNS.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.eq_ignore_ascii_case("localhost.")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A domain name or an address literal (`[192.0.2.1]`, `[IPv6:::1]`); nothing that could end the
/// EHLO line early.
fn is_hello_name(name: &str) -> bool {
    if let Some(literal) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        let address = literal.strip_prefix("IPv6:").unwrap_or(literal);
        return address.parse::<IpAddr>().is_ok();
    }
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

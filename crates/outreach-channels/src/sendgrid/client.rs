//! The HTTP side: one authenticated request, and its answer mapped to [`SendGridError`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response};
use rustls_platform_verifier::BuilderVerifierExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::{Host, Url};

use super::body::MailSend;
use super::error::SendGridError;
use crate::email::OutgoingEmail;

/// SendGrid's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

/// Long enough for a slow network, short enough that a dead route is reported as offline
/// (nothing sent) rather than hanging the outbox.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A full request can be 1,000 personalizations of up to 10 kB each; allow it to upload on a
/// slow line before giving up (and reporting the outcome as unconfirmed).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Error answers are a few hundred bytes; anything longer is not worth holding.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The scope a key needs to send mail.
const MAIL_SEND_SCOPE: &str = "mail.send";

/// A SendGrid v3 API client for one account (API key).
///
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct SendGridClient {
    http: reqwest::Client,
    base_url: Url,
    api_key: Option<SecretString>,
}

/// What SendGrid said when it accepted a request (HTTP 202).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendGridReceipt {
    /// SendGrid's `X-Message-Id` for the request; the `sg_message_id` of each message's events
    /// starts with it.
    pub x_message_id: Option<String>,
    /// How many messages (personalizations) the accepted request carried.
    pub accepted: usize,
}

impl SendGridClient {
    /// A client for SendGrid's production API.
    pub fn production(api_key: SecretString) -> Result<Self, SendGridError> {
        Self::new(DEFAULT_BASE_URL, api_key)
    }

    /// A client for the API at `base_url` (tests pass a mock's URL).
    ///
    /// `base_url` must be `https`, or `http` to a loopback address. An empty `api_key` sends
    /// requests without credentials, which SendGrid answers with 401.
    pub fn new(base_url: &str, api_key: SecretString) -> Result<Self, SendGridError> {
        let base_url = parse_base_url(base_url)?;
        let api_key = (!api_key.expose_secret().is_empty()).then_some(api_key);
        if let Some(key) = &api_key {
            bearer(key)?;
        }
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A redirected POST could be sent twice or to another host with our key.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("outreach-desk/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&base_url) {
            // A proxy from the environment must not swallow requests to a local mock.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|err| SendGridError::ClientSetup {
            reason: error_chain(&err),
        })?;
        Ok(Self {
            http,
            base_url,
            api_key,
        })
    }

    /// Sends the messages in one `POST /v3/mail/send`.
    ///
    /// The messages must share a [`SenderKey`](super::SenderKey), be at most
    /// [`MAX_PERSONALIZATIONS`](super::MAX_PERSONALIZATIONS), and, when more than one, each fit
    /// in a substitution; [`plan_batches`](super::plan_batches) makes such batches. Every check
    /// runs before anything is sent.
    pub async fn send_batch(
        &self,
        emails: &[OutgoingEmail],
    ) -> Result<SendGridReceipt, SendGridError> {
        let body = MailSend::build(emails)?;
        let json = serde_json::to_vec(&body).map_err(|err| SendGridError::Encoding {
            reason: err.to_string(),
        })?;
        let request = self
            .request(Method::POST, "v3/mail/send")?
            .header(CONTENT_TYPE, "application/json")
            .body(json);
        let response = check_status(send(request).await?).await?;
        Ok(SendGridReceipt {
            x_message_id: header_text(response.headers(), "x-message-id"),
            accepted: body.len(),
        })
    }

    /// Checks the connection and the API key with `GET /v3/scopes`, which sends nothing and
    /// lists the key's scopes; fails with [`SendGridError::MissingScope`] when the key cannot
    /// send mail.
    pub async fn verify(&self) -> Result<(), SendGridError> {
        let response = check_status(send(self.request(Method::GET, "v3/scopes")?).await?).await?;
        #[derive(Deserialize)]
        struct Scopes {
            scopes: Vec<String>,
        }
        // The key was accepted; a body we cannot read does not make the connection bad.
        match serde_json::from_slice::<Scopes>(&read_capped(response).await) {
            Ok(Scopes { scopes }) if !scopes.iter().any(|scope| scope == MAIL_SEND_SCOPE) => {
                Err(SendGridError::MissingScope {
                    scope: MAIL_SEND_SCOPE,
                })
            }
            _ => Ok(()),
        }
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, SendGridError> {
        let url = self
            .base_url
            .join(path)
            .map_err(|err| SendGridError::InvalidBaseUrl {
                reason: err.to_string(),
            })?;
        let mut request = self.http.request(method, url);
        if let Some(key) = &self.api_key {
            request = request.header(AUTHORIZATION, bearer(key)?);
        }
        Ok(request)
    }
}

impl fmt::Debug for SendGridClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGridClient")
            .field("base_url", &self.base_url.as_str())
            .field(
                "api_key",
                &if self.api_key.is_some() {
                    "<redacted>"
                } else {
                    "<none>"
                },
            )
            .finish()
    }
}

/// TLS with rustls and the ring provider, the same as the SMTP transport uses, so the app
/// carries one crypto library; certificates are checked against the operating system's trust
/// store, which is what a desktop user's network (and its proxies) are set up for.
fn tls_config() -> Result<rustls::ClientConfig, SendGridError> {
    let setup = |err: rustls::Error| SendGridError::ClientSetup {
        reason: format!("TLS: {err}"),
    };
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(setup)?
    .with_platform_verifier()
    .map_err(setup)?
    .with_no_client_auth())
}

fn bearer(key: &SecretString) -> Result<HeaderValue, SendGridError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
        .map_err(|_| SendGridError::InvalidApiKey)?;
    // Keeps the key out of reqwest's and hyper's debug output.
    value.set_sensitive(true);
    Ok(value)
}

fn parse_base_url(base_url: &str) -> Result<Url, SendGridError> {
    let invalid = |reason: &str| SendGridError::InvalidBaseUrl {
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(base_url).map_err(|err| invalid(&err.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => {
            return Err(invalid(
                "must be https (plain http only to a loopback address)",
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    // `join` replaces the last path segment unless the path ends with a slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

async fn send(request: RequestBuilder) -> Result<Response, SendGridError> {
    request.send().await.map_err(|err| {
        let reason = error_chain(&err);
        if err.is_builder() {
            SendGridError::ClientSetup { reason }
        } else if err.is_connect() {
            // No connection was made (refused, DNS, TLS handshake, connect timeout): the
            // request never left.
            SendGridError::Offline { reason }
        } else {
            // The connection was up, so some or all of the request may have been delivered.
            SendGridError::Unconfirmed { reason }
        }
    })
}

async fn check_status(response: Response) -> Result<Response, SendGridError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let status = status.as_u16();
    Err(match status {
        429 => SendGridError::RateLimited {
            reset_at: rate_limit_reset(response.headers()),
        },
        401 | 403 => SendGridError::Unauthorized { status },
        500..=599 => SendGridError::Server { status },
        _ => SendGridError::Rejected {
            status,
            errors: error_messages(&read_capped(response).await),
        },
    })
}

/// `X-RateLimit-Reset`: when the window resets, in seconds since the Unix epoch.
fn rate_limit_reset(headers: &HeaderMap) -> Option<Timestamp> {
    let seconds = header_text(headers, "x-ratelimit-reset")?
        .parse::<i64>()
        .ok()?;
    Timestamp::from_second(seconds).ok()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The `errors[].message` texts of SendGrid's error body, `{"errors":[{"message":..}]}`.
fn error_messages(body: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        errors: Vec<ErrorItem>,
    }
    #[derive(Deserialize)]
    struct ErrorItem {
        message: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(body)
        .map(|body| {
            body.errors
                .into_iter()
                .filter_map(|item| item.message)
                .collect()
        })
        .unwrap_or_default()
}

async fn read_capped(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    body
}

/// The error and its causes on one line; reqwest's top-level message alone ("error sending
/// request") hides whether the connection was refused, reset or timed out.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let client = SendGridClient::new("http://127.0.0.1:9", key("SG.very-secret"));
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn production_client_builds_with_tls() {
        let client = SendGridClient::production(key("SG.key"));
        assert!(client.is_ok(), "{client:?}");
    }

    #[test]
    fn base_url_must_be_https_or_loopback_http() {
        for ok in [
            "https://api.sendgrid.com",
            "http://127.0.0.1:4010",
            "http://[::1]:4010/",
            "http://localhost:4010/prefix",
        ] {
            assert!(parse_base_url(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "http://api.sendgrid.com",
            "ftp://127.0.0.1",
            "not a url",
            "https://user:pw@api.sendgrid.com",
            "https://api.sendgrid.com/?x=1",
        ] {
            assert!(
                matches!(
                    parse_base_url(bad),
                    Err(SendGridError::InvalidBaseUrl { .. })
                ),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn endpoints_are_joined_below_a_path_prefix() {
        let base = parse_base_url("http://localhost:4010/prefix").ok();
        let joined = base.and_then(|base| base.join("v3/mail/send").ok());
        assert_eq!(
            joined.as_ref().map(Url::as_str),
            Some("http://localhost:4010/prefix/v3/mail/send")
        );
    }

    #[test]
    fn api_key_with_a_line_break_is_refused() {
        assert!(matches!(
            SendGridClient::new(DEFAULT_BASE_URL, key("SG.a\r\nX-Evil: 1")),
            Err(SendGridError::InvalidApiKey)
        ));
    }

    #[test]
    fn rate_limit_reset_is_read_as_epoch_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-RateLimit-Reset",
            HeaderValue::from_static(" 1392815263 "),
        );
        assert_eq!(
            rate_limit_reset(&headers),
            Timestamp::from_second(1_392_815_263).ok()
        );
        headers.insert("X-RateLimit-Reset", HeaderValue::from_static("soon"));
        assert_eq!(rate_limit_reset(&headers), None);
    }

    #[test]
    fn error_messages_are_taken_from_the_errors_array() {
        let body = br#"{"errors":[{"field":"from","message":"The from address does not match a verified Sender Identity."},{"field":null,"message":"second"}]}"#;
        assert_eq!(
            error_messages(body),
            vec![
                "The from address does not match a verified Sender Identity.".to_owned(),
                "second".to_owned()
            ]
        );
        assert!(error_messages(b"<html>bad gateway</html>").is_empty());
    }
}

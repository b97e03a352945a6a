//! TLS for SMTP: which roots are trusted, the implicit-TLS handshake, and what a failed handshake
//! means in plain words.
//!
//! Implicit TLS is done here with tokio-rustls, before lettre sees the stream, so a failure is
//! known to be the handshake and not the TCP connect or the greeting. STARTTLS has to happen
//! inside lettre's session, so it gets lettre's `TlsParameters`, built from the same roots.

use std::{
    error::Error,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use lettre::transport::smtp::client::{
    AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use rustls::{
    CertificateError, ClientConfig, RootCertStore,
    pki_types::{CertificateDer, ServerName, pem::PemObject},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use super::error::{ConnectError, ConnectStage};

/// The trust settings for one account, in the two forms the two TLS paths need.
pub(crate) struct TlsSetup {
    host: String,
    server_name: ServerName<'static>,
    implicit: TlsConnector,
    starttls: TlsParameters,
}

impl TlsSetup {
    /// Trusts the Mozilla roots (the same on every platform) plus the account's extra roots.
    pub(crate) fn new(host: &str, extra_roots_pem: &[String]) -> Result<Self, ConnectError> {
        let config_error = |message: String| ConnectError::new(ConnectStage::Config, message);
        let server_name = ServerName::try_from(host.to_owned())
            .map_err(|_| config_error(format!("{host:?} is not a valid TLS server name")))?;
        let extra_roots = parse_roots(extra_roots_pem)?;

        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut starttls = TlsParameters::builder(host.to_owned())
            .certificate_store(CertificateStore::WebpkiRoots);
        for (index, root) in extra_roots.into_iter().enumerate() {
            let unusable = || {
                config_error(format!(
                    "extra root certificate {} is not a usable CA certificate",
                    index + 1
                ))
            };
            starttls = starttls.add_root_certificate(
                Certificate::from_der(root.as_ref().to_vec()).map_err(|_| unusable())?,
            );
            roots.add(root).map_err(|_| unusable())?;
        }
        let starttls = starttls
            .build()
            .map_err(|err| config_error(format!("TLS could not be configured: {err}")))?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| config_error(format!("TLS could not be configured: {err}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            host: host.to_owned(),
            server_name,
            implicit: TlsConnector::from(Arc::new(config)),
            starttls,
        })
    }

    /// Runs the TLS handshake of an implicit-TLS connection.
    pub(crate) async fn handshake(&self, tcp: TcpStream) -> Result<ImplicitTls, ConnectError> {
        self.implicit
            .connect(self.server_name.clone(), tcp)
            .await
            .map(ImplicitTls)
            .map_err(|err| ConnectError::new(ConnectStage::Tls, describe_failure(&err, &self.host)))
    }

    /// Parameters for lettre's STARTTLS upgrade.
    pub(crate) fn starttls_parameters(&self) -> TlsParameters {
        self.starttls.clone()
    }

    /// The host certificates are checked against.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

fn parse_roots(pems: &[String]) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let mut roots = Vec::new();
    for (index, pem) in pems.iter().enumerate() {
        let not_pem = || {
            ConnectError::new(
                ConnectStage::Config,
                format!(
                    "extra root certificate {} is not a PEM certificate",
                    index + 1
                ),
            )
        };
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| not_pem())?;
        if certs.is_empty() {
            return Err(not_pem());
        }
        roots.extend(certs);
    }
    Ok(roots)
}

/// Explains a failed TLS handshake: which certificate check failed, or that the peer does not
/// speak TLS at all.
pub(crate) fn describe_failure(err: &(dyn Error + 'static), host: &str) -> String {
    match find_rustls_error(err) {
        Some(rustls::Error::InvalidCertificate(cert)) => describe_certificate(cert, host),
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server aborted the TLS handshake ({alert:?})")
        }
        Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
            "the server did not answer in TLS; check the port and security mode (465 is usually \
             implicit TLS, 587 STARTTLS)"
                .to_owned()
        }
        Some(other) => format!("the TLS handshake failed: {other}"),
        None => format!("the connection failed during the TLS handshake: {err}"),
    }
}

fn describe_certificate(err: &CertificateError, host: &str) -> String {
    match err {
        CertificateError::UnknownIssuer => "the server's certificate is not trusted (self-signed \
             or issued by an unknown authority); for a corporate relay, add its CA certificate \
             to the account"
            .to_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("the server's certificate is not valid for {host}")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (check this computer's clock)".to_owned()
        }
        CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
        other => format!("the server's certificate was rejected ({other:?})"),
    }
}

/// tokio-rustls reports handshake failures as `io::Error`s wrapping a `rustls::Error`, and
/// `io::Error::source` skips the wrapped error itself, so each `io::Error` is unwrapped by hand.
fn find_rustls_error<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = err
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        current = err.source();
    }
    None
}

/// An established implicit-TLS stream, in the shape lettre takes over.
#[derive(Debug)]
pub(crate) struct ImplicitTls(TlsStream<TcpStream>);

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

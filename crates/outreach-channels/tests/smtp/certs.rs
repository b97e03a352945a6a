//! Self-signed certificates (by default for 127.0.0.1 and localhost), and server TLS configurations using it.

use std::sync::Arc;

use tokio_rustls::rustls::{
    ServerConfig,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// A freshly generated self-signed certificate and its key.
pub struct SelfSigned {
    pub pem: String,
    cert: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl SelfSigned {
    pub fn generate() -> Self {
        Self::for_names(&["localhost", "127.0.0.1"])
    }

    pub fn for_names(names: &[&str]) -> Self {
        let names = names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>();
        let certified = rcgen::generate_simple_self_signed(names).expect("generate certificate");
        Self {
            pem: certified.cert.pem(),
            cert: certified.cert.der().clone(),
            key_der: certified.signing_key.serialize_der(),
        }
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)
            .expect("server certificate");
        Arc::new(config)
    }
}

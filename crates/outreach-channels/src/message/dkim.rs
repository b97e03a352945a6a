//! DKIM signing keys (RFC 6376), parsed and checked once, when a sender account is set up, so a bad
//! key is reported then rather than on every message.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use lettre::message::{
    Message,
    dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    },
    header::HeaderName,
};
use rsa::{
    RsaPrivateKey,
    pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _, LineEnding},
    traits::PublicKeyParts as _,
};

/// RFC 8301 §3.2: verifiers must not accept RSA signatures made with shorter keys.
const MIN_RSA_BITS: usize = 1024;

/// The header fields every signature covers.
///
/// `List-Unsubscribe-Post` and `Reply-To` are listed even when a message has none: signing an
/// absent field (RFC 6376 §5.4.2) stops a relay or forwarder from adding one without breaking the
/// signature, so nobody can graft a one-click unsubscribe or a different reply address onto it.
const SIGNED_HEADERS: [&str; 11] = [
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The signature algorithm a [`DkimKey`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    /// `rsa-sha256`.
    Rsa,
    /// `ed25519-sha256` (RFC 8463).
    Ed25519,
}

/// Why a DKIM key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DkimKeyError {
    /// The selector is not a DNS name (it becomes `<selector>._domainkey.<domain>`).
    #[error("the DKIM selector {0:?} is not a valid DNS name")]
    InvalidSelector(String),
    /// The signing domain is not a DNS name.
    #[error("the DKIM domain {0:?} is not a valid DNS name")]
    InvalidDomain(String),
    /// The PEM text is not a private key of a supported kind.
    #[error(
        "the DKIM private key is not a PEM RSA key (PKCS#1 or PKCS#8) or a PEM Ed25519 key (PKCS#8)"
    )]
    UnsupportedKey,
    /// The RSA key is too short for receivers to accept its signatures.
    #[error("the DKIM RSA key has {bits} bits; at least 1024 are required and 2048 recommended")]
    RsaKeyTooShort {
        /// The modulus length of the key given.
        bits: usize,
    },
    /// The key parsed but lettre's signer refused it.
    #[error("the DKIM private key could not be loaded for signing")]
    SignerRejected,
}

/// A parsed DKIM signing key with its selector and domain (`d=`), ready to sign messages.
pub struct DkimKey {
    selector: String,
    domain: String,
    algorithm: DkimAlgorithm,
    config: DkimConfig,
}

impl DkimKey {
    /// Checks the selector and domain and parses `private_key_pem`: an RSA key in PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) form, or an Ed25519 key in
    /// PKCS#8 form (what `openssl genpkey -algorithm ed25519` writes).
    pub fn parse(
        selector: &str,
        domain: &str,
        private_key_pem: &str,
    ) -> Result<Self, DkimKeyError> {
        if !is_dns_name(selector) {
            return Err(DkimKeyError::InvalidSelector(selector.to_owned()));
        }
        if !is_dns_name(domain) {
            return Err(DkimKeyError::InvalidDomain(domain.to_owned()));
        }
        let (signing_key, algorithm) = signing_key(private_key_pem.trim())?;
        let headers = SIGNED_HEADERS
            .iter()
            .map(|name| HeaderName::new_from_ascii_str(name))
            .collect();
        // Relaxed canonicalisation for both parts survives the header re-folding and trailing
        // whitespace changes that relays commonly make.
        let canonicalization = DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        };
        let config = DkimConfig::new(
            selector.to_owned(),
            domain.to_owned(),
            signing_key,
            headers,
            canonicalization,
        );
        Ok(Self {
            selector: selector.to_owned(),
            domain: domain.to_owned(),
            algorithm,
            config,
        })
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The signing domain (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The signature algorithm of the key.
    pub fn algorithm(&self) -> DkimAlgorithm {
        self.algorithm
    }

    /// Adds a `DKIM-Signature` header to `message`.
    pub(crate) fn sign(&self, message: &mut Message) {
        message.sign(&self.config);
    }
}

// Written by hand so that the private key never reaches a log.
impl fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimKey")
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Parses the PEM with the RSA and Ed25519 crates, which accept more encodings than lettre, then
/// hands lettre the form it loads: PKCS#1 PEM for RSA, the base64 seed for Ed25519.
fn signing_key(pem: &str) -> Result<(DkimSigningKey, DkimAlgorithm), DkimKeyError> {
    let rsa = RsaPrivateKey::from_pkcs1_pem(pem).or_else(|_| {
        use rsa::pkcs8::DecodePrivateKey as _;
        RsaPrivateKey::from_pkcs8_pem(pem)
    });
    if let Ok(key) = rsa {
        let bits = key.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(DkimKeyError::RsaKeyTooShort { bits });
        }
        let pkcs1 = key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|_| DkimKeyError::SignerRejected)?;
        let key = DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa)
            .map_err(|_| DkimKeyError::SignerRejected)?;
        return Ok((key, DkimAlgorithm::Rsa));
    }
    if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
        let seed = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
        let key = DkimSigningKey::new(&seed, DkimSigningAlgorithm::Ed25519)
            .map_err(|_| DkimKeyError::SignerRejected)?;
        return Ok((key, DkimAlgorithm::Ed25519));
    }
    Err(DkimKeyError::UnsupportedKey)
}

/// Dot-separated labels of letters, digits and inner hyphens (underscores too, which selectors in
/// the wild use), each 1–63 characters.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

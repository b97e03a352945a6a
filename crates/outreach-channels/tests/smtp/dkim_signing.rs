//! DKIM signatures on messages as a real SMTP server received them, checked by an independent
//! verifier (mail-auth) against a key record the test publishes to it.

use base64::Engine as _;
use mail_auth::DkimResult;
use outreach_channels::{
    message::{DkimAlgorithm, DkimKey, DkimKeyError},
    smtp::SmtpSender,
};
use rsa::{
    RsaPrivateKey,
    pkcs1::{EncodeRsaPrivateKey as _, LineEnding},
    pkcs8::{EncodePrivateKey as _, EncodePublicKey as _},
};

use outreach_testkit::SmtpSink as Sink;

use super::{
    dkim_check::verify,
    fixtures::{email, loopback},
};

const SELECTOR: &str = "od2026";
const DOMAIN: &str = "brand.example";

/// Headers the product requires every signature to cover.
const REQUIRED: [&str; 7] = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

struct RsaFixture {
    pkcs1_pem: String,
    pkcs8_pem: String,
    record: String,
}

fn rsa_key() -> RsaFixture {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("generate RSA key");
    let public = key
        .to_public_key()
        .to_public_key_der()
        .expect("encode public key");
    RsaFixture {
        pkcs1_pem: key
            .to_pkcs1_pem(LineEnding::LF)
            .expect("PKCS#1")
            .to_string(),
        pkcs8_pem: key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8")
            .to_string(),
        record: format!(
            "v=DKIM1; k=rsa; p={}",
            base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
        ),
    }
}

/// Sends one message signed with `key` through smtp-sink and returns it as received.
async fn send_signed(key: DkimKey, with_https: bool) -> Vec<u8> {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), Some(key)).expect("settings");
    let mut message = email(7);
    if !with_https {
        message.unsubscribe_https = None;
    }
    sender.send(&message).await.expect("send");
    sink.wait_for_messages(1).remove(0)
}

#[tokio::test]
async fn rsa_signature_verifies_and_covers_the_required_headers() {
    let rsa = rsa_key();
    let key = DkimKey::parse(SELECTOR, DOMAIN, &rsa.pkcs1_pem).expect("parse PKCS#1 key");
    assert_eq!(key.algorithm(), DkimAlgorithm::Rsa);
    let received = send_signed(key, true).await;

    let verdict = verify(&received, SELECTOR, DOMAIN, &rsa.record).await;
    assert_eq!(verdict.result, DkimResult::Pass);
    for header in REQUIRED {
        assert!(
            verdict.signed_headers.iter().any(|h| h == header),
            "{header} is signed: {:?}",
            verdict.signed_headers
        );
    }

    let tampered_body = replace_once(&received, b"loved your review", b"hated your review");
    let verdict = verify(&tampered_body, SELECTOR, DOMAIN, &rsa.record).await;
    assert_ne!(verdict.result, DkimResult::Pass, "a changed body must fail");

    let tampered_header = replace_once(&received, b"List-Unsubscribe-Post:", b"X-Was-Unsub-Post:");
    let verdict = verify(&tampered_header, SELECTOR, DOMAIN, &rsa.record).await;
    assert_ne!(
        verdict.result,
        DkimResult::Pass,
        "a removed signed header must fail"
    );
}

#[tokio::test]
async fn pkcs8_rsa_key_signs_a_message_without_one_click_url() {
    let rsa = rsa_key();
    let key = DkimKey::parse(SELECTOR, DOMAIN, &rsa.pkcs8_pem).expect("parse PKCS#8 key");
    let received = send_signed(key, false).await;
    let verdict = verify(&received, SELECTOR, DOMAIN, &rsa.record).await;
    assert_eq!(verdict.result, DkimResult::Pass);
}

#[tokio::test]
async fn ed25519_signature_verifies() {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("generate Ed25519 key");
    let record = format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD.encode(pair.public_key_raw())
    );
    let key = DkimKey::parse(SELECTOR, DOMAIN, &pair.serialize_pem()).expect("parse Ed25519 key");
    assert_eq!(key.algorithm(), DkimAlgorithm::Ed25519);
    let received = send_signed(key, true).await;

    let verdict = verify(&received, SELECTOR, DOMAIN, &record).await;
    assert_eq!(verdict.result, DkimResult::Pass);
    let tampered = replace_once(&received, b"loved your review", b"hated your review");
    assert_ne!(
        verify(&tampered, SELECTOR, DOMAIN, &record).await.result,
        DkimResult::Pass
    );
}

#[test]
fn unusable_keys_are_refused_at_setup() {
    assert_eq!(
        DkimKey::parse(SELECTOR, DOMAIN, "not a key").expect_err("garbage"),
        DkimKeyError::UnsupportedKey
    );
    let short = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 512).expect("generate short key");
    let short_pem = short
        .to_pkcs1_pem(LineEnding::LF)
        .expect("PKCS#1")
        .to_string();
    assert_eq!(
        DkimKey::parse(SELECTOR, DOMAIN, &short_pem).expect_err("512 bits"),
        DkimKeyError::RsaKeyTooShort { bits: 512 }
    );
    let rsa = rsa_key();
    assert!(matches!(
        DkimKey::parse("bad selector", DOMAIN, &rsa.pkcs1_pem),
        Err(DkimKeyError::InvalidSelector(_))
    ));
    assert!(matches!(
        DkimKey::parse(SELECTOR, "brand.example; x=1", &rsa.pkcs1_pem),
        Err(DkimKeyError::InvalidDomain(_))
    ));
}

fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|window| window == from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(from)));
    [&haystack[..at], to, &haystack[at + from.len()..]].concat()
}

//! How the client reads SendGrid's answers and network failures, against the stub server.
//!
//! The mail/send operation in SendGrid's spec documents no 429, but the spec documents 429 for
//! other v3 operations with the body `{"errors":[{"message":"too many requests"}]}`, and
//! SendGrid's rate-limit documentation gives the headers (`X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`, `X-RateLimit-Reset` in epoch seconds). The stub's 429 follows both.

use std::sync::Arc;

use jiff::Timestamp;
use outreach_channels::sendgrid::{
    SecretString, SendGridClient, SendGridError, SendGridReceipt, mail_send_json,
};

use crate::fixtures::{email, emails};
use crate::stub_server::{Answer, Recorded, StubServer, response};

const KEY: &str = "SG.stub-test-key";

fn client(base_url: &str) -> SendGridClient {
    SendGridClient::new(base_url, SecretString::from(KEY.to_owned()))
        .unwrap_or_else(|err| panic!("client for {base_url}: {err}"))
}

/// Sends two messages to a stub giving `answer`; returns the outcome and what the stub got.
async fn send_to_stub(answer: Answer) -> (Result<SendGridReceipt, SendGridError>, Recorded) {
    let stub = StubServer::start(answer).await;
    let outcome = client(stub.base_url()).send_batch(&emails(2)).await;
    (outcome, stub.request().await)
}

fn json_error(messages: &[&str]) -> String {
    let errors: Vec<_> = messages
        .iter()
        .map(|message| serde_json::json!({ "field": null, "message": message }))
        .collect();
    serde_json::json!({ "errors": errors }).to_string()
}

#[tokio::test]
async fn accepted_request_is_authenticated_json_and_yields_the_x_message_id() {
    let batch = emails(3);
    let stub = StubServer::start(response(
        "202 Accepted",
        &[("X-Message-Id", "HqFcmu9sQXGmPbNVYLVjhA")],
        "",
    ))
    .await;
    let receipt = client(stub.base_url())
        .send_batch(&batch)
        .await
        .unwrap_or_else(|err| panic!("202 should be a receipt: {err}"));
    assert_eq!(
        receipt.x_message_id.as_deref(),
        Some("HqFcmu9sQXGmPbNVYLVjhA")
    );
    assert_eq!(receipt.accepted, 3);

    let request = stub.request().await;
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v3/mail/send")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let sent: serde_json::Value = serde_json::from_slice(&request.body)
        .unwrap_or_else(|err| panic!("body is not JSON: {err}"));
    let expected = mail_send_json(&batch).unwrap_or_else(|err| panic!("body: {err}"));
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn too_many_requests_reports_when_the_limit_resets() {
    let reset = "1767225600";
    let (outcome, _) = send_to_stub(response(
        "429 Too Many Requests",
        &[
            ("Content-Type", "application/json"),
            ("X-RateLimit-Limit", "600"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", reset),
        ],
        &json_error(&["too many requests"]),
    ))
    .await;
    let expected = Timestamp::from_second(1_767_225_600).ok();
    match outcome {
        Err(err @ SendGridError::RateLimited { reset_at }) => {
            assert_eq!(reset_at, expected);
            assert!(err.is_transient());
        }
        other => panic!("429 should be RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn too_many_requests_without_a_reset_header_has_no_reset_time() {
    let (outcome, _) = send_to_stub(response(
        "429 Too Many Requests",
        &[("Content-Type", "application/json")],
        &json_error(&["too many requests"]),
    ))
    .await;
    assert!(matches!(
        outcome,
        Err(SendGridError::RateLimited { reset_at: None })
    ));
}

#[tokio::test]
async fn server_errors_are_transient() {
    for (status_line, status) in [
        ("500 Internal Server Error", 500),
        ("503 Service Unavailable", 503),
    ] {
        let (outcome, _) = send_to_stub(response(
            status_line,
            &[("Content-Type", "application/json")],
            &json_error(&["internal error"]),
        ))
        .await;
        match outcome {
            Err(err @ SendGridError::Server { status: got }) => {
                assert_eq!(got, status);
                assert!(err.is_transient());
            }
            other => panic!("{status} should be Server, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn client_errors_are_permanent_rejections_with_sendgrids_messages() {
    let cases = [
        (
            "400 Bad Request",
            400,
            vec![
                "The from address does not match a verified Sender Identity.",
                "Invalid email address in personalizations.0.to.0.email",
            ],
        ),
        ("413 Payload Too Large", 413, vec!["payload too large"]),
    ];
    for (status_line, status, messages) in cases {
        let (outcome, _) = send_to_stub(response(
            status_line,
            &[("Content-Type", "application/json")],
            &json_error(&messages),
        ))
        .await;
        let Err(err) = outcome else {
            panic!("{status} should fail");
        };
        assert!(!err.is_transient(), "{status} is permanent");
        match err {
            SendGridError::Rejected {
                status: got,
                errors,
            } => {
                assert_eq!(got, status);
                assert_eq!(errors, messages);
            }
            other => panic!("{status} should be Rejected, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn refused_keys_are_unauthorized() {
    for (status_line, status) in [("401 Unauthorized", 401), ("403 Forbidden", 403)] {
        let (outcome, _) = send_to_stub(response(
            status_line,
            &[("Content-Type", "application/json")],
            &json_error(&["authorization required"]),
        ))
        .await;
        assert!(
            matches!(outcome, Err(SendGridError::Unauthorized { status: got }) if got == status),
            "{status}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn connection_dropped_after_the_request_is_unconfirmed() {
    let (outcome, request) = send_to_stub(Answer::HangUp).await;
    // The whole request reached the server: the mail may be on its way, so no blind resend.
    assert_eq!(request.path, "/v3/mail/send");
    assert!(!request.body.is_empty());
    match outcome {
        Err(err @ SendGridError::Unconfirmed { .. }) => assert!(!err.is_transient()),
        other => panic!("a dropped connection should be Unconfirmed, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_offline_and_safe_to_retry() {
    let closed = closed_port_url().await;
    match client(&closed).send_batch(&emails(2)).await {
        Err(err @ SendGridError::Offline { .. }) => assert!(err.is_transient()),
        other => panic!("a refused connection should be Offline, got {other:?}"),
    }
}

#[tokio::test]
async fn header_injection_is_refused_before_any_connection() {
    let mut evil = email(1);
    evil.subject = "Hello\r\nBcc: everyone@victim.example".into();
    // Nothing listens at this address, so any attempt to send would come back as Offline.
    let closed = closed_port_url().await;
    match client(&closed).send_batch(&[email(0), evil]).await {
        Err(SendGridError::HeaderInjection { field, message_id }) => {
            assert_eq!(field, "subject");
            assert_eq!(message_id, email(1).message_id);
        }
        other => panic!("injection should be refused before sending, got {other:?}"),
    }
}

#[tokio::test]
async fn verify_reports_a_key_that_cannot_send_mail() {
    let stub = StubServer::start(response(
        "200 OK",
        &[("Content-Type", "application/json")],
        r#"{"scopes":["alerts.read","stats.read"]}"#,
    ))
    .await;
    let outcome = client(stub.base_url()).verify().await;
    let request = stub.request().await;
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/v3/scopes")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(matches!(
        outcome,
        Err(SendGridError::MissingScope { scope: "mail.send" })
    ));
}

/// A loopback URL whose port had a listener a moment ago and has none now.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("cannot listen on loopback: {err}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("no local address: {err}"))
        .port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn untrusted_certificate_is_offline_and_nothing_is_sent() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .unwrap_or_else(|err| panic!("test certificate: {err}"));
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .and_then(|builder| {
        builder
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key.into())
    })
    .unwrap_or_else(|err| panic!("TLS server config: {err}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("cannot listen on loopback: {err}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("no local address: {err}"))
        .port();
    let handshake = tokio::spawn(async move {
        let (stream, _) = listener
            .accept()
            .await
            .unwrap_or_else(|err| panic!("accept failed: {err}"));
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
            .accept(stream)
            .await
            .is_ok()
    });

    // The self-signed certificate is in no trust store, so the client must refuse it.
    let outcome = client(&format!("https://127.0.0.1:{port}"))
        .send_batch(&emails(2))
        .await;
    match outcome {
        Err(err @ SendGridError::Offline { .. }) => assert!(err.is_transient()),
        other => panic!("an untrusted certificate should be Offline, got {other:?}"),
    }
    let completed = handshake
        .await
        .unwrap_or_else(|err| panic!("TLS server failed: {err}"));
    assert!(
        !completed,
        "the TLS handshake must not complete, so no request was sent"
    );
}

//! The client against Prism serving SendGrid's official spec: what we send conforms to it.

use outreach_channels::sendgrid::{
    MAX_PERSONALIZATIONS, SUBSTITUTIONS_LIMIT_BYTES, SecretString, SendGridClient, SendGridError,
    mail_send_json, plan_batches,
};
use serde_json::Value;

use crate::fixtures::{email, emails};
use outreach_testkit::PrismMock;

fn client(prism: &PrismMock, key: &str) -> SendGridClient {
    SendGridClient::new(prism.base_url(), SecretString::from(key.to_owned()))
        .unwrap_or_else(|err| panic!("client for {}: {err}", prism.base_url()))
}

#[tokio::test]
async fn batches_and_single_messages_conform_to_the_spec_and_are_accepted() {
    let prism = PrismMock::start();
    let client = client(&prism, "SG.test-key");

    let mut oversized = email(90);
    oversized.body_text = "A long letter.\n".repeat(SUBSTITUTIONS_LIMIT_BYTES / 10);
    let mut no_https = email(91);
    no_https.unsubscribe_https = None;
    no_https.reply_to = None;
    no_https.to_name = None;
    let mut campaign = emails(5);
    campaign.push(oversized);
    campaign.push(no_https);
    let batches = plan_batches(campaign);
    // Five shared-sender messages, the oversized one alone, the one without reply-to alone.
    let sizes: Vec<_> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![5, 1, 1]);
    for batch in &batches {
        match client.send_batch(batch).await {
            Ok(receipt) => assert_eq!(receipt.accepted, batch.len()),
            Err(err) => panic!("Prism refused a batch of {}: {err}", batch.len()),
        }
    }

    let full = emails(MAX_PERSONALIZATIONS);
    match client.send_batch(&full).await {
        Ok(receipt) => assert_eq!(receipt.accepted, MAX_PERSONALIZATIONS),
        Err(err) => panic!("Prism refused a full batch: {err}"),
    }

    // Prism's /v3/scopes example lists mail.send.
    if let Err(err) = client.verify().await {
        panic!("verify against Prism failed: {err}");
    }
}

/// Proves the acceptance above means something: Prism does check bodies against the spec.
#[tokio::test]
async fn prism_validates_the_mail_send_body() {
    let prism = PrismMock::start();
    // This crate builds reqwest without a default crypto provider (the client picks ring
    // itself); a plain reqwest client needs one installed. Already installed is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|err| panic!("http client: {err}"));
    let url = format!("{}/v3/mail/send", prism.base_url());
    let post = |body: Value| {
        let request = http
            .post(&url)
            .header("Authorization", "Bearer SG.test-key")
            .header("Content-Type", "application/json")
            .body(body.to_string());
        async move {
            let response = request
                .send()
                .await
                .unwrap_or_else(|err| panic!("POST to Prism failed: {err}"));
            let violations = response
                .headers()
                .get("sl-violations")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (response.status().as_u16(), violations)
        }
    };

    let ours = mail_send_json(&emails(2)).unwrap_or_else(|err| panic!("body: {err}"));
    assert_eq!(post(ours.clone()).await, (202, String::new()));

    let mut bad_address = ours.clone();
    bad_address["personalizations"][1]["to"][0]["email"] = Value::from("not an address");
    let (status, violations) = post(bad_address).await;
    assert_eq!(status, 400);
    assert!(
        violations.contains("personalizations.1.to.0.email"),
        "{violations}"
    );

    let mut no_content = ours;
    if let Some(body) = no_content.as_object_mut() {
        body.remove("content");
    }
    let (status, violations) = post(no_content).await;
    assert_eq!(status, 400);
    assert!(violations.contains("content"), "{violations}");
}

#[tokio::test]
async fn missing_api_key_is_unauthorized() {
    let prism = PrismMock::start();
    let client = client(&prism, "");
    assert!(matches!(
        client.send_batch(&emails(2)).await,
        Err(SendGridError::Unauthorized { status: 401 })
    ));
    assert!(matches!(
        client.verify().await,
        Err(SendGridError::Unauthorized { status: 401 })
    ));
}

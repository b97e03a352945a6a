//! Settings that must be refused before anything connects.

use std::time::Duration;

use outreach_channels::smtp::{
    ConnectStage, SmtpSecurity, SmtpSender, SmtpSettings, test_connection,
};

use super::scripted_server::{Script, ScriptedServer};

#[tokio::test]
async fn plain_smtp_is_refused_to_a_remote_host() {
    let settings = SmtpSettings::new("smtp.brand.example", 25, SmtpSecurity::PlainLoopback);
    let err = settings.validate().expect_err("remote plain SMTP");
    assert_eq!(err.stage, ConnectStage::Config);
    assert!(err.message.contains("smtp.brand.example"), "{err}");
    assert_eq!(
        test_connection(&settings).await.expect_err("refused").stage,
        ConnectStage::Config
    );
    assert!(SmtpSender::new(&settings, None).is_err());
}

#[test]
fn loopback_names_are_accepted_for_plain_smtp() {
    for host in ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"] {
        let settings = SmtpSettings::new(host, 25, SmtpSecurity::PlainLoopback);
        assert!(settings.validate().is_ok(), "{host}");
    }
    for host in [
        "10.0.0.1",
        "192.168.1.2",
        "localhost.brand.example",
        "0.0.0.0",
    ] {
        let settings = SmtpSettings::new(host, 25, SmtpSecurity::PlainLoopback);
        assert!(settings.validate().is_err(), "{host}");
    }
}

#[test]
fn incomplete_or_hostile_settings_are_refused() {
    let mut settings = SmtpSettings::new("smtp.brand.example", 587, SmtpSecurity::StartTls);
    settings.username = Some("alex".to_owned());
    assert!(settings.validate().is_err(), "username without password");

    let mut settings = SmtpSettings::new("smtp.brand.example", 587, SmtpSecurity::StartTls);
    settings.hello_name = Some("client.example\r\nMAIL FROM:<x@y>".to_owned());
    assert!(settings.validate().is_err(), "EHLO name with a line break");

    let mut settings = SmtpSettings::new("smtp.brand.example", 587, SmtpSecurity::StartTls);
    settings.timeout = Duration::ZERO;
    assert!(settings.validate().is_err(), "zero timeout");

    let mut settings = SmtpSettings::new("smtp.brand.example", 465, SmtpSecurity::ImplicitTls);
    settings.extra_root_certs_pem = vec!["not a certificate".to_owned()];
    let err = SmtpSender::new(&settings, None)
        .err()
        .expect("bad extra root");
    assert_eq!(err.stage, ConnectStage::Config);
}

#[test]
fn password_is_neither_serialised_nor_printed() {
    let mut settings = SmtpSettings::new("smtp.brand.example", 465, SmtpSecurity::ImplicitTls);
    settings.username = Some("alex".to_owned());
    settings.password = Some("hunter2-secret".to_owned());
    let json = serde_json::to_string(&settings).expect("serialise");
    assert!(!json.contains("hunter2"), "{json}");
    assert!(json.contains("\"security\":\"implicit_tls\""), "{json}");
    assert!(!format!("{settings:?}").contains("hunter2"));
}

#[tokio::test]
async fn credentials_to_a_loopback_relay_are_allowed_in_clear() {
    let server = ScriptedServer::start(Script {
        auth: true,
        ..Script::default()
    })
    .await;
    let mut settings = SmtpSettings::new("127.0.0.1", server.port(), SmtpSecurity::PlainLoopback);
    settings.username = Some("relay-user".to_owned());
    settings.password = Some("relay-pass".to_owned());
    let report = test_connection(&settings).await.expect("connects");
    assert!(!report.encrypted);
    assert!(report.authenticated);
    assert!(server.saw("AUTH PLAIN"), "{:?}", server.commands());
}

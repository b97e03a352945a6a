//! TLS policy against a scripted server: STARTTLS is required, never optional; certificates are
//! checked; credentials never travel before TLS is up.

use outreach_channels::smtp::{
    ConnectStage, SendErrorKind, SmtpSecurity, SmtpSender, SmtpSettings, test_connection,
};

use super::{
    certs::SelfSigned,
    fixtures::email,
    scripted_server::{Script, ScriptedServer},
};

fn with_credentials(port: u16, security: SmtpSecurity) -> SmtpSettings {
    let mut settings = SmtpSettings::new("127.0.0.1", port, security);
    settings.username = Some("alex@brand.example".to_owned());
    settings.password = Some("correct horse battery staple".to_owned());
    settings
}

#[tokio::test]
async fn starttls_missing_means_credentials_are_never_sent() {
    let server = ScriptedServer::start(Script {
        auth: true,
        ..Script::default()
    })
    .await;
    let settings = with_credentials(server.port(), SmtpSecurity::StartTls);

    let err = test_connection(&settings).await.expect_err("must refuse");
    assert_eq!(err.stage, ConnectStage::Tls);
    assert!(
        err.message.contains("does not offer STARTTLS") && err.message.contains("credentials"),
        "{err}"
    );

    let sender = SmtpSender::new(&settings, None).expect("settings");
    let err = sender.send(&email(1)).await.expect_err("must refuse");
    assert_eq!(err.kind, SendErrorKind::Offline);

    assert!(
        server.saw("EHLO"),
        "the server was reached: {:?}",
        server.commands()
    );
    assert!(
        !server.saw("AUTH"),
        "no AUTH in clear: {:?}",
        server.commands()
    );
    assert!(
        !server.saw("MAIL"),
        "no mail in clear: {:?}",
        server.commands()
    );
}

#[tokio::test]
async fn untrusted_self_signed_certificate_is_refused_at_the_tls_stage() {
    let cert = SelfSigned::generate();
    let server = ScriptedServer::start(Script {
        starttls: Some(cert.server_config()),
        auth: true,
        ..Script::default()
    })
    .await;
    let settings = with_credentials(server.port(), SmtpSecurity::StartTls);

    let err = test_connection(&settings).await.expect_err("must refuse");
    assert_eq!(err.stage, ConnectStage::Tls);
    assert!(err.message.contains("not trusted"), "{err}");
    assert!(err.message.contains("self-signed"), "{err}");
    assert!(server.saw("STARTTLS"), "{:?}", server.commands());
    assert!(
        !server.saw("AUTH"),
        "no AUTH over an untrusted session: {:?}",
        server.commands()
    );
}

#[tokio::test]
async fn certificate_given_as_extra_root_is_trusted_for_starttls() {
    let cert = SelfSigned::generate();
    let server = ScriptedServer::start(Script {
        starttls: Some(cert.server_config()),
        auth: true,
        ..Script::default()
    })
    .await;
    let mut settings = with_credentials(server.port(), SmtpSecurity::StartTls);
    settings.extra_root_certs_pem = vec![cert.pem.clone()];

    let report = test_connection(&settings).await.expect("connects");
    assert!(report.encrypted);
    assert!(report.authenticated);
    assert_eq!(report.server_name, "scripted");

    let commands = server.commands();
    let starttls = commands
        .iter()
        .position(|c| c == "STARTTLS")
        .expect("STARTTLS");
    let auth = commands
        .iter()
        .position(|c| c.starts_with("AUTH"))
        .expect("AUTH");
    assert!(starttls < auth, "AUTH only after STARTTLS: {commands:?}");

    let sender = SmtpSender::new(&settings, None).expect("settings");
    let receipt = sender.send(&email(2)).await.expect("send over STARTTLS");
    assert!(receipt.response.starts_with("250"), "{}", receipt.response);
}

#[tokio::test]
async fn trusted_certificate_for_another_host_name_is_refused() {
    let cert = SelfSigned::for_names(&["relay.corp.example"]);
    let server = ScriptedServer::start(Script {
        implicit_tls: Some(cert.server_config()),
        ..Script::default()
    })
    .await;
    let mut settings = SmtpSettings::new("127.0.0.1", server.port(), SmtpSecurity::ImplicitTls);
    settings.extra_root_certs_pem = vec![cert.pem.clone()];
    let err = test_connection(&settings).await.expect_err("must refuse");
    assert_eq!(err.stage, ConnectStage::Tls);
    assert!(err.message.contains("not valid for 127.0.0.1"), "{err}");
}

#[tokio::test]
async fn implicit_tls_works_with_the_certificate_trusted_and_fails_without() {
    let cert = SelfSigned::generate();
    let server = ScriptedServer::start(Script {
        implicit_tls: Some(cert.server_config()),
        auth: true,
        ..Script::default()
    })
    .await;

    let untrusted = with_credentials(server.port(), SmtpSecurity::ImplicitTls);
    let err = test_connection(&untrusted).await.expect_err("must refuse");
    assert_eq!(err.stage, ConnectStage::Tls);
    assert!(err.message.contains("not trusted"), "{err}");
    assert!(
        server.commands().is_empty(),
        "nothing spoken before TLS: {:?}",
        server.commands()
    );

    let mut trusted = untrusted.clone();
    trusted.extra_root_certs_pem = vec![cert.pem.clone()];
    let report = test_connection(&trusted).await.expect("connects");
    assert!(report.encrypted && report.authenticated);

    let sender = SmtpSender::new(&trusted, None).expect("settings");
    sender
        .send(&email(3))
        .await
        .expect("send over implicit TLS");
    sender
        .send(&email(4))
        .await
        .expect("second send on the same session");
    assert_eq!(
        server.connections(),
        3,
        "one refused test, one successful test, one session for both sends"
    );
}

#[tokio::test]
async fn implicit_tls_to_a_plain_server_explains_the_mismatch() {
    let server = ScriptedServer::start(Script::default()).await;
    let settings = SmtpSettings::new("127.0.0.1", server.port(), SmtpSecurity::ImplicitTls);
    let err = test_connection(&settings).await.expect_err("plain server");
    assert_eq!(err.stage, ConnectStage::Tls);
    assert!(err.message.contains("did not answer in TLS"), "{err}");
}

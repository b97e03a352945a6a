//! How failures are classified: what the engine may retry, must not resend, or should record as
//! a bounce.

use outreach_channels::smtp::{ConnectStage, SendErrorKind, SmtpSender, test_connection};

use super::{
    fixtures::{email, loopback, unused_port},
    scripted_server::{AfterData, Script, ScriptedServer, talking_to},
};

/// Each scripted scenario runs with commands in lockstep and pipelined (RFC 2920).
const MODES: [bool; 2] = [false, true];

#[tokio::test]
async fn deferred_recipient_is_transient_and_the_session_survives() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            rcpt_reply: Some("451 4.3.0 try again later"),
            pipelining,
            ..Script::default()
        })
        .await;

        let err = sender.send(&email(1)).await.expect_err("deferred");
        assert_eq!(
            err.kind,
            SendErrorKind::Transient,
            "pipelining={pipelining}"
        );
        assert_eq!(err.code, Some(451));
        assert!(err.is_retryable());
        assert!(err.message.contains("try again later"), "{}", err.message);

        let err = sender.send(&email(2)).await.expect_err("deferred again");
        assert_eq!(err.kind, SendErrorKind::Transient);
        assert!(
            server.saw("RSET"),
            "the refused transaction was reset: {:?}",
            server.commands()
        );
        assert_eq!(
            server.connections(),
            1,
            "the session was kept after a refusal"
        );
        if !pipelining {
            assert!(!server.saw("DATA"), "{:?}", server.commands());
        }
    }
}

#[tokio::test]
async fn unknown_user_is_a_permanent_recipient_failure() {
    for pipelining in MODES {
        let (_server, sender) = talking_to(Script {
            rcpt_reply: Some("550 5.1.1 <zoe1@creator.example>: Recipient address rejected"),
            pipelining,
            ..Script::default()
        })
        .await;
        let err = sender.send(&email(1)).await.expect_err("rejected");
        assert_eq!(err.kind, SendErrorKind::Permanent { recipient: true });
        assert_eq!(err.code, Some(550));
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn policy_rejection_is_permanent_but_not_about_the_recipient() {
    for pipelining in MODES {
        let (_server, sender) = talking_to(Script {
            rcpt_reply: Some("550 5.7.1 Relaying denied"),
            pipelining,
            ..Script::default()
        })
        .await;
        let err = sender.send(&email(1)).await.expect_err("rejected");
        assert_eq!(err.kind, SendErrorKind::Permanent { recipient: false });
    }
}

#[tokio::test]
async fn connection_lost_after_the_data_is_unconfirmed() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            after_data: AfterData::CloseWithoutReply,
            pipelining,
            ..Script::default()
        })
        .await;
        let err = sender
            .send(&email(1))
            .await
            .expect_err("no reply to the final dot");
        assert_eq!(err.kind, SendErrorKind::Unconfirmed);
        assert_eq!(err.code, None);
        assert!(!err.is_retryable());
        assert!(server.saw("DATA"), "{:?}", server.commands());
    }
}

#[tokio::test]
async fn nothing_listening_is_offline_and_reported_as_tcp() {
    let port = unused_port();
    let sender = SmtpSender::new(&loopback(port), None).expect("settings");
    let err = sender.send(&email(1)).await.expect_err("nobody listens");
    assert_eq!(err.kind, SendErrorKind::Offline);
    assert!(err.is_retryable());

    let err = test_connection(&loopback(port))
        .await
        .expect_err("nobody listens");
    assert_eq!(err.stage, ConnectStage::Tcp);
    assert!(err.message.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[tokio::test]
async fn unknown_host_is_reported_as_dns() {
    let mut settings = loopback(25);
    settings.host = "no-such-host.invalid".to_owned();
    settings.security = outreach_channels::smtp::SmtpSecurity::StartTls;
    let err = test_connection(&settings)
        .await
        .expect_err("cannot resolve");
    assert_eq!(err.stage, ConnectStage::Dns);
    assert!(err.message.contains("no-such-host.invalid"), "{err}");
}

#[tokio::test]
async fn session_is_reused_and_replaced_when_the_server_dropped_it() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            close_after_messages: Some(3),
            pipelining,
            ..Script::default()
        })
        .await;
        for n in 0..3 {
            sender
                .send(&email(n))
                .await
                .expect("send on the first session");
        }
        assert_eq!(server.connections(), 1, "three messages, one session");

        // The server has closed the session; the next send notices at MAIL FROM, before any of the
        // message went out, and retries once on a fresh session.
        sender
            .send(&email(3))
            .await
            .expect("send after the server closed");
        assert_eq!(server.connections(), 2);
        let data_commands = server.commands().iter().filter(|c| *c == "DATA").count();
        assert_eq!(
            data_commands, 4,
            "each message's data went out exactly once"
        );
    }
}

#[tokio::test]
async fn pipelining_is_used_only_when_offered() {
    for pipelining in MODES {
        let server = ScriptedServer::start(Script {
            pipelining,
            ..Script::default()
        })
        .await;
        let report = test_connection(&loopback(server.port()))
            .await
            .expect("connects");
        assert_eq!(report.pipelining, pipelining);
    }
}

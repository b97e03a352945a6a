//! Several messages sent in one call over one session, each message's envelope pipelined with
//! the previous message's data when the server allows: what arrives is whole, and a refusal,
//! a message that cannot be built, a server closing or vanishing mid-batch touch only what they
//! must and send nothing twice.

use mail_parser::MessageParser;
use outreach_channels::smtp::{SendError, SendErrorKind, SmtpReceipt, SmtpSender};
use outreach_testkit::{EXCHANGE_SESSION_LIMIT, SmtpSink as Sink};

use super::{
    fixtures::{email, loopback, unused_port},
    scripted_server::{AfterData, Script, ScriptedServer, talking_to},
};

/// Each scripted scenario runs with commands in lockstep and pipelined (RFC 2920).
const MODES: [bool; 2] = [false, true];

fn count(server: &ScriptedServer, verb: &str) -> usize {
    server
        .commands()
        .iter()
        .filter(|c| c.to_ascii_uppercase().starts_with(verb))
        .count()
}

#[tokio::test]
async fn a_batch_arrives_whole_at_a_real_server() {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), None).expect("settings");
    let sent: Vec<_> = (0..12).map(email).collect();

    let results = sender.send_all(&sent).await;
    assert_eq!(results.len(), 12);
    for (n, result) in results.iter().enumerate() {
        let receipt = result
            .as_ref()
            .unwrap_or_else(|e| panic!("message {n}: {e}"));
        assert!(receipt.response.starts_with("250"), "{}", receipt.response);
    }
    sender.close().await;

    let dumps = sink.wait_for_messages(12);
    let mut bodies: Vec<String> = dumps
        .iter()
        .map(|dump| {
            let parsed = MessageParser::default().parse(dump).expect("parses");
            let body = parsed.body_text(0).expect("a text body");
            // The sink's dump ends the data with blank lines of its own.
            body.replace("\r\n", "\n").trim_end().to_owned()
        })
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = sent
        .iter()
        .map(|e| e.body_text.trim_end().to_owned())
        .collect();
    expected.sort();
    assert_eq!(
        bodies, expected,
        "each body arrived once, as written, its lone-dot line included"
    );
}

#[tokio::test]
async fn a_refused_recipient_fails_only_its_message() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            rcpt_reply_for: Some(("zoe2@", "550 5.1.1 <zoe2@creator.example>: unknown user")),
            pipelining,
            ..Script::default()
        })
        .await;

        let results = sender.send_all(&[email(1), email(2), email(3)]).await;
        assert!(results[0].is_ok(), "pipelining={pipelining}: {results:?}");
        let refused = results[1].as_ref().expect_err("unknown user");
        assert_eq!(
            refused.kind,
            SendErrorKind::Permanent { recipient: true },
            "pipelining={pipelining}"
        );
        assert!(results[2].is_ok(), "pipelining={pipelining}: {results:?}");
        assert_eq!(server.connections(), 1, "one session throughout");
        assert_eq!(count(&server, "MAIL"), 3, "{:?}", server.commands());

        // The session carries on afterwards.
        sender.send(&email(4)).await.expect("the next message");
        assert_eq!(server.connections(), 1);
    }
}

#[tokio::test]
async fn a_message_that_cannot_be_built_leaves_the_rest_of_the_batch() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            pipelining,
            ..Script::default()
        })
        .await;
        let mut injected = email(2);
        injected.to_name = Some("Bob\r\nBcc: x@evil.example".to_owned());

        let results = sender.send_all(&[email(1), injected, email(3)]).await;
        assert!(results[0].is_ok(), "{results:?}");
        let err = results[1].as_ref().expect_err("refused before sending");
        assert_eq!(err.kind, SendErrorKind::Invalid);
        assert!(results[2].is_ok(), "{results:?}");
        assert_eq!(
            count(&server, "MAIL"),
            2,
            "nothing of the refused message went out: {:?}",
            server.commands()
        );
        assert!(
            !server.commands().iter().any(|c| c.contains("zoe2@")),
            "{:?}",
            server.commands()
        );
    }
}

#[tokio::test]
async fn a_server_closing_mid_batch_gets_each_message_once_over_a_new_session() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            close_after_messages: Some(2),
            pipelining,
            ..Script::default()
        })
        .await;

        let results = sender
            .send_all(&[email(1), email(2), email(3), email(4)])
            .await;
        for (n, result) in results.iter().enumerate() {
            assert!(
                result.is_ok(),
                "pipelining={pipelining}, message {n}: {result:?}"
            );
        }
        assert_eq!(
            server.connections(),
            2,
            "the third message opened a new session"
        );
        assert_eq!(
            count(&server, "DATA"),
            4,
            "each message's data went out exactly once: {:?}",
            server.commands()
        );
    }
}

#[tokio::test]
async fn a_connection_lost_after_each_data_leaves_each_message_unconfirmed() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            after_data: AfterData::CloseWithoutReply,
            pipelining,
            ..Script::default()
        })
        .await;

        let results = sender.send_all(&[email(1), email(2)]).await;
        for result in &results {
            let err = result.as_ref().expect_err("no reply to the data");
            assert_eq!(
                err.kind,
                SendErrorKind::Unconfirmed,
                "pipelining={pipelining}"
            );
        }
        assert_eq!(
            server.connections(),
            2,
            "the second message went over a new session, its data once"
        );
        assert_eq!(count(&server, "DATA"), 2, "{:?}", server.commands());
    }
}

#[tokio::test]
async fn nothing_listening_fails_the_whole_batch_as_offline() {
    let sender = SmtpSender::new(&loopback(unused_port()), None).expect("settings");
    let results = sender.send_all(&[email(1), email(2), email(3)]).await;
    assert_eq!(results.len(), 3);
    for result in &results {
        let err = result.as_ref().expect_err("nothing listens");
        assert_eq!(err.kind, SendErrorKind::Offline);
        assert!(err.is_retryable());
    }
}

/// Every message of a batch was refused as `kind`, which leaves them safe to send again.
fn assert_each_refused(
    results: &[Result<SmtpReceipt, SendError>],
    kind: SendErrorKind,
    pipelining: bool,
) {
    for result in results {
        let err = result.as_ref().expect_err("refused");
        assert_eq!(err.kind, kind, "pipelining={pipelining}: {}", err.message);
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn a_session_over_the_servers_limit_is_given_up_and_the_rest_not_tried() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            mail_reply: Some(EXCHANGE_SESSION_LIMIT),
            pipelining,
            ..Script::default()
        })
        .await;

        let results = sender.send_all(&[email(1), email(2), email(3)]).await;
        assert_each_refused(&results, SendErrorKind::SessionLimit, pipelining);
        for result in &results {
            let err = result.as_ref().expect_err("refused");
            assert!(err.message.contains("4.3.2"), "{}", err.message);
        }
        assert_eq!(
            count(&server, "MAIL"),
            1,
            "the rest were not tried over a session the server refused: {:?}",
            server.commands()
        );
        assert_eq!(count(&server, "DATA"), usize::from(pipelining));

        // Given up, not kept: the next send asks for a session of its own.
        let _ = sender.send(&email(4)).await;
        assert_eq!(server.connections(), 2, "pipelining={pipelining}");
    }
}

#[tokio::test]
async fn a_greeting_that_refuses_one_session_too_many_says_so() {
    let (server, sender) = talking_to(Script {
        greeting: Some("421 4.7.0 mx.example: Error: too many connections from 127.0.0.1"),
        ..Script::default()
    })
    .await;

    let results = sender.send_all(&[email(1), email(2)]).await;
    assert_each_refused(&results, SendErrorKind::SessionLimit, true);
    for result in &results {
        let err = result.as_ref().expect_err("refused");
        assert!(
            err.message.contains("no more sessions") && err.message.contains("421"),
            "{}",
            err.message
        );
    }
    assert_eq!(server.connections(), 1, "the second was not tried");

    let refused = outreach_channels::smtp::test_connection(&loopback(server.port()))
        .await
        .expect_err("refused");
    assert!(refused.session_limit, "{refused:?}");
}

#[tokio::test]
async fn a_greeting_that_refuses_for_another_reason_is_offline() {
    let (_server, sender) = talking_to(Script {
        greeting: Some("421 4.3.2 Service shutting down"),
        ..Script::default()
    })
    .await;
    let err = sender.send(&email(1)).await.expect_err("refused");
    assert_eq!(err.kind, SendErrorKind::Offline, "{}", err.message);
}

#[tokio::test]
async fn an_account_over_its_allowance_stops_the_batch_and_keeps_its_session() {
    for pipelining in MODES {
        let (server, sender) = talking_to(Script {
            rcpt_reply: Some("550 5.4.5 Daily user sending limit exceeded."),
            pipelining,
            ..Script::default()
        })
        .await;

        let results = sender.send_all(&[email(1), email(2), email(3)]).await;
        assert_each_refused(&results, SendErrorKind::QuotaSpent, pipelining);
        assert_eq!(
            count(&server, "RCPT"),
            1,
            "the rest were not tried: {:?}",
            server.commands()
        );
        assert_eq!(server.connections(), 1);
    }
}

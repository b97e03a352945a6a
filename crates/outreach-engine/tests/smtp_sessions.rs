//! An account's SMTP sessions against a server that takes only three of them at once, as
//! Exchange Online does: the fourth is given up after its refusal and its messages go over the
//! other three, each exactly once; a server that takes none leaves every message to wait.

use std::collections::BTreeSet;
use std::time::Duration;

use outreach_channels::email::OutgoingEmail;
use outreach_channels::smtp::{SendErrorKind, SmtpSecurity, SmtpSender, SmtpSettings};
use outreach_engine::transport::SmtpSessions;
use outreach_testkit::{SessionLimitedSmtp, SmtpSink, header_value};

fn email(n: usize) -> OutgoingEmail {
    OutgoingEmail {
        from_name: "Alex Partner".to_owned(),
        from_address: "alex@brand.example".to_owned(),
        reply_to: None,
        to_name: Some("Zoë Müller".to_owned()),
        to_address: format!("zoe{n}@creator.example"),
        subject: format!("Partnership #{n}?"),
        body_text: format!("Hi Zoë,\n\nmessage {n}.\n\nTo opt out, reply STOP.\n"),
        message_id: format!("msg-{n}.8f0c1d@brand.example"),
        unsubscribe_mailto: format!("mailto:unsub+tok{n}@brand.example?subject=unsubscribe"),
        unsubscribe_https: None,
        in_reply_to: None,
    }
}

fn four_senders_to(port: u16) -> Vec<SmtpSender> {
    let mut settings = SmtpSettings::new("127.0.0.1", port, SmtpSecurity::PlainLoopback);
    settings.timeout = Duration::from_secs(10);
    (0..4)
        .map(|_| SmtpSender::new(&settings, None).expect("settings"))
        .collect()
}

fn four_sessions_to(port: u16) -> SmtpSessions {
    SmtpSessions::new(four_senders_to(port))
}

fn assert_all_sent(results: &[Result<String, outreach_channels::smtp::SendError>]) {
    for (n, result) in results.iter().enumerate() {
        assert!(result.is_ok(), "message {n}: {result:?}");
    }
}

fn message_ids(dumps: &[Vec<u8>]) -> Vec<String> {
    dumps
        .iter()
        .filter_map(|dump| header_value(&String::from_utf8_lossy(dump), "Message-ID"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_beyond_the_servers_limit_is_given_up_and_its_messages_go_over_the_others() {
    let sink = SmtpSink::start();
    let limited = SessionLimitedSmtp::start(sink.port(), 3);
    let sessions = four_sessions_to(limited.port());

    for batch in [0..12, 12..24] {
        assert_all_sent(&sessions.send(batch.map(email).collect()).await);
        assert_eq!(sessions.in_use(), 3);
    }
    assert_eq!(
        limited.refused(),
        1,
        "the server was asked for a fourth session once, not again for the second batch"
    );
    assert!(limited.most_open() <= 3);

    let ids = message_ids(&sink.wait_for_messages(24));
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 24, "{ids:?}");
    assert_eq!(distinct.len(), 24, "each message arrived once: {ids:?}");
    sessions.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_server_takes_no_session_every_message_waits_and_no_session_is_given_up() {
    let sink = SmtpSink::start();
    // Every session of the account is open elsewhere, in another mail client say.
    let limited = SessionLimitedSmtp::start(sink.port(), 0);
    let sessions = four_sessions_to(limited.port());

    // One message: one session refused, and none of the others open.
    let one = sessions.send(vec![email(0)]).await;
    let err = one[0].as_ref().expect_err("refused");
    assert_eq!(err.kind, SendErrorKind::SessionLimit, "{}", err.message);
    assert_eq!((limited.refused(), sessions.in_use()), (1, 4));

    let results = sessions.send((0..8).map(email).collect()).await;
    for result in &results {
        let err = result.as_ref().expect_err("refused");
        assert_eq!(err.kind, SendErrorKind::SessionLimit, "{}", err.message);
    }
    assert_eq!(limited.refused(), 5, "each session asked once more");
    assert_eq!(
        sessions.in_use(),
        4,
        "the sessions open elsewhere may close: none is given up"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_given_up_is_tried_again_after_a_while() {
    let sink = SmtpSink::start();
    let limited = SessionLimitedSmtp::start(sink.port(), 3);
    let sessions =
        SmtpSessions::giving_up_for(four_senders_to(limited.port()), Duration::from_millis(300));

    assert_all_sent(&sessions.send((0..8).map(email).collect()).await);
    assert_eq!((sessions.in_use(), limited.refused()), (3, 1));
    // The other client closed its session meanwhile.
    limited.set_limit(4);
    assert_all_sent(&sessions.send((8..16).map(email).collect()).await);
    assert_eq!(sessions.in_use(), 3, "not before its while is over");
    tokio::time::sleep(Duration::from_millis(400)).await;

    assert_eq!(sessions.in_use(), 4);
    assert_all_sent(&sessions.send((16..24).map(email).collect()).await);
    assert_eq!(limited.refused(), 1);
    assert_eq!(limited.most_open(), 4);
    assert_eq!(sink.wait_for_messages(24).len(), 24);
}

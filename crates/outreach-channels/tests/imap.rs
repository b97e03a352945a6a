//! The IMAP reader against a real Dovecot started by the test: new messages by UID, left
//! unread, only our keyword added, nothing deleted; and the refusals.
// Test code fails the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use outreach_channels::imap::{ImapAuth, ImapError, ImapSecurity, ImapSession, ImapSettings};
use outreach_channels::inbound::{Limits, MailKind, parse};
use outreach_channels::smtp::ConnectStage;
use outreach_testkit::Dovecot;

fn settings(server: &Dovecot, password: &str) -> ImapSettings {
    ImapSettings {
        host: "127.0.0.1".into(),
        port: server.port(),
        security: ImapSecurity::PlainLoopback,
        username: Dovecot::USER.into(),
        auth: ImapAuth::Password,
        password: password.to_owned().into(),
        mailbox: "INBOX".into(),
        timeout: Duration::from_secs(10),
    }
}

fn reply(n: u32) -> Vec<u8> {
    format!(
        "From: Ada <ada{n}@engines.example>\r\nTo: alex@brand.example\r\nSubject: Re: A partnership\r\n\
         Message-ID: <r{n}@engines.example>\r\nIn-Reply-To: <m{n}@brand.example>\r\n\r\nYes, tell me more ({n}).\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn new_messages_are_read_by_uid_left_unread_and_never_deleted() {
    let mut server = Dovecot::start();
    for n in 1..=3 {
        server.deliver(&reply(n));
    }
    let s = settings(&server, Dovecot::PASSWORD);

    let mut session = ImapSession::open(&s)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    let first = session.fetch_after(0, 100).await.unwrap();
    assert_eq!(first.messages.len(), 3, "{}", server.log());
    let uids: Vec<u32> = first.messages.iter().map(|m| m.uid).collect();
    assert!(
        uids.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {uids:?}"
    );
    let mail = parse(&first.messages[0].raw, &Limits::default()).unwrap();
    assert_eq!(mail.kind, MailKind::Human);
    assert_eq!(mail.in_reply_to, ["m1@brand.example"]);
    session.mark_processed(&uids).await.unwrap();

    // Only what came after the last UID seen; a limit keeps a poll small.
    assert!(
        session
            .fetch_after(uids[2], 100)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    server.deliver(&reply(4));
    server.deliver(&reply(5));
    let mut session = {
        session.close().await;
        ImapSession::open(&s).await.unwrap()
    };
    assert_eq!(session.uid_validity(), first.uid_validity);
    let next = session.fetch_after(uids[2], 1).await.unwrap();
    assert_eq!(next.messages.len(), 1);
    assert!(String::from_utf8_lossy(&next.messages[0].raw).contains("(4)"));
    session.close().await;

    // Nothing deleted; the processed ones carry our keyword and are still unread (no S flag).
    assert_eq!(server.message_count(), 5);
    let flags = server.maildir_flags();
    assert!(!flags.is_empty(), "dovecot moved the messages to cur");
    assert!(
        flags.iter().all(|f| !f.contains('S')),
        "a message was marked read: {flags:?}"
    );
    // Dovecot stores the first keyword as the letter a.
    assert_eq!(
        flags.iter().filter(|f| f.contains('a')).count(),
        3,
        "the three processed messages carry the keyword: {flags:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_plain_imap_to_a_remote_host_are_refused() {
    let server = Dovecot::start();
    let err = ImapSession::open(&settings(&server, "wrong"))
        .await
        .err()
        .unwrap();
    match err {
        ImapError::Connect(e) => assert_eq!(e.stage, ConnectStage::Auth, "{e}"),
        other => panic!("expected an authentication failure, got {other}"),
    }
    let mut remote = settings(&server, Dovecot::PASSWORD);
    remote.host = "imap.example.com".into();
    match ImapSession::open(&remote).await.err().unwrap() {
        ImapError::Connect(e) => assert_eq!(e.stage, ConnectStage::Config, "{e}"),
        other => panic!("expected a refusal before connecting, got {other}"),
    }
}

#[tokio::test]
async fn idle_hears_of_new_mail_at_once_and_gives_the_session_back() {
    let mut server = Dovecot::start();
    server.deliver(&reply(1));
    let s = settings(&server, Dovecot::PASSWORD);
    let mut session = ImapSession::open(&s).await.unwrap();
    assert!(session.supports_idle(), "Dovecot offers IDLE");
    let last = session.fetch_after(0, 10).await.unwrap().messages[0].uid;

    // Nothing new: the wait ends when the stop signal comes, long before its limit.
    let started = std::time::Instant::now();
    let mut session = session
        .wait(
            Duration::from_secs(60),
            tokio::time::sleep(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        session
            .fetch_after(last, 10)
            .await
            .unwrap()
            .messages
            .is_empty()
    );

    // New mail while idling: the wait ends well before its 60 s limit, and the session
    // fetches it.
    let maildir = server.maildir();
    let deliver = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        let mut server = server;
        server.deliver(&reply(2));
        server
    });
    let started = std::time::Instant::now();
    let mut session = session
        .wait(Duration::from_secs(60), std::future::pending())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "IDLE took {:?}",
        started.elapsed()
    );
    let server = deliver.join().unwrap();
    let news = session.fetch_after(last, 10).await.unwrap();
    assert_eq!(news.messages.len(), 1, "{}", server.log());
    assert!(String::from_utf8_lossy(&news.messages[0].raw).contains("(2)"));
    session.close().await;
    assert!(maildir.exists());
}

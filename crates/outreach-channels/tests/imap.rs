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

/// Waits (for at most a minute) for news and fails the test, saying `took` and the time,
/// unless it ended within 20 s: news must end the wait, not the limit.
async fn wait_for_news(session: ImapSession, took: &str) -> ImapSession {
    let started = std::time::Instant::now();
    let session = session
        .wait(Duration::from_secs(60), std::future::pending())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{took} {:?}",
        started.elapsed()
    );
    session
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
    let mut session = wait_for_news(session, "IDLE took").await;
    let server = deliver.join().unwrap();
    let news = session.fetch_after(last, 10).await.unwrap();
    assert_eq!(news.messages.len(), 1, "{}", server.log());
    assert!(String::from_utf8_lossy(&news.messages[0].raw).contains("(2)"));
    session.close().await;
    assert!(maildir.exists());
}

#[tokio::test]
async fn mail_that_came_during_the_last_command_ends_the_wait_at_once() {
    let mut server = Dovecot::start();
    server.deliver(&reply(1));
    let s = settings(&server, Dovecot::PASSWORD);
    let mut session = ImapSession::open(&s).await.unwrap();
    let first = session.fetch_after(0, 10).await.unwrap().messages[0].uid;
    // The next mail arrives while the poller marks what it read: the server tells of it in
    // its answer to that command, not later in an IDLE.
    server.deliver(&reply(2));
    session.mark_processed(&[first]).await.unwrap();
    let mut session = wait_for_news(session, "the news was missed: the wait took").await;
    let news = session.fetch_after(first, 10).await.unwrap();
    assert_eq!(news.messages.len(), 1, "{}", server.log());
    session.close().await;
}

/// An OAuth 2.0 token introspection endpoint (RFC 7662) on a loopback port that knows one
/// token: its URL, and the tokens it was asked about.
async fn introspection(
    good: &'static str,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as many body bytes as they announce.
            let body = loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut request = httparse::Request::new(&mut headers);
                if let Ok(httparse::Status::Complete(at)) = request.parse(&data) {
                    let length = request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                        .unwrap_or(0usize);
                    if data.len() >= at + length {
                        break Some(String::from_utf8_lossy(&data[at..at + length]).into_owned());
                    }
                }
            };
            let Some(body) = body else { continue };
            let token = body
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .unwrap_or_default()
                .to_string();
            let answer = if token == good {
                format!(r#"{{"active":"true","username":"{}"}}"#, Dovecot::USER)
            } else {
                r#"{"active":"false"}"#.to_string()
            };
            seen.lock().unwrap().push(token);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, asked)
}

#[tokio::test]
async fn xoauth2_logs_in_with_a_token_the_provider_vouches_for_and_not_with_another() {
    const TOKEN: &str = "ya29.a0-test-access-token";
    let (url, asked) = introspection(TOKEN).await;
    let mut server = Dovecot::start_with_oauth2(&url);
    server.deliver(&reply(1));
    let mut oauth = settings(&server, TOKEN);
    oauth.auth = ImapAuth::Xoauth2;
    let mut session = ImapSession::open(&oauth)
        .await
        .unwrap_or_else(|e| panic!("XOAUTH2 login: {e}\n{}", server.log()));
    let poll = session.fetch_after(0, 10).await.unwrap();
    assert_eq!(poll.messages.len(), 1, "the token's mailbox is read");
    session.close().await;

    oauth.password = "an-expired-token".to_owned().into();
    match ImapSession::open(&oauth).await.err().unwrap() {
        ImapError::Connect(e) => assert_eq!(e.stage, ConnectStage::Auth, "{e}"),
        other => panic!("expected an authentication failure, got {other}"),
    }
    let asked = asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![TOKEN.to_string(), "an-expired-token".to_string()],
        "Dovecot asked the provider about each token"
    );
}

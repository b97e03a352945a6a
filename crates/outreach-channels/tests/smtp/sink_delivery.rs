//! What reaches a real SMTP server (Postfix's smtp-sink): headers, encodings, personalisation,
//! and nothing at all for a message carrying a header injection.

use mail_parser::{HeaderValue, MessageParser};
use outreach_channels::{
    message::build_message,
    smtp::{SendErrorKind, SmtpSender},
};

use outreach_testkit::{SmtpSink as Sink, strip_sink_headers};

use super::fixtures::{email, loopback};

#[tokio::test]
async fn delivered_message_has_well_formed_headers_and_personalised_body() {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), None).expect("settings");
    let sent = email(1);

    let receipt = sender.send(&sent).await.expect("send");
    assert!(receipt.response.starts_with("250"), "{}", receipt.response);

    let dumps = sink.wait_for_messages(1);
    let dump = String::from_utf8(dumps[0].clone()).expect("dump is ASCII/UTF-8");
    assert!(dump.contains("X-Mail-Args: <alex@brand.example>"), "{dump}");
    assert!(
        dump.contains("X-Rcpt-Args: <zoe1@creator.example>"),
        "{dump}"
    );

    let raw = strip_sink_headers(&dumps[0]);
    assert!(raw.is_ascii(), "every byte on the wire is ASCII");
    let text = String::from_utf8(raw.clone()).expect("ASCII");
    let (head, _) = text.split_once("\r\n\r\n").expect("header/body separator");
    assert!(
        head.split("\r\n")
            .all(|line| line.len() <= 998 && (line.contains(':') || line.starts_with([' ', '\t']))),
        "every header line is a field or a continuation:\n{head}"
    );
    let subject_line = head
        .split("\r\n")
        .find(|line| line.starts_with("Subject: "))
        .expect("Subject header");
    assert!(
        subject_line.contains("=?utf-8?"),
        "RFC 2047 subject: {subject_line}"
    );
    assert!(
        head.contains("Message-ID: <msg-1.8f0c1d@brand.example>"),
        "{head}"
    );
    assert_eq!(
        header_value(head, "List-Unsubscribe").as_deref(),
        Some(
            "<mailto:unsub+tok1@brand.example?subject=unsubscribe>, \
             <https://u.brand.example/one-click/tok1>"
        )
    );
    assert!(
        head.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{head}"
    );
    assert!(
        head.contains("Content-Type: text/plain; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("MIME-Version: 1.0"), "{head}");
    assert!(head.contains("Date: "), "{head}");

    let parsed = MessageParser::default().parse(&raw).expect("parse message");
    assert_eq!(parsed.subject(), Some(sent.subject.as_str()));
    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.name(), Some("Alex Partner"));
    assert_eq!(from.address(), Some("alex@brand.example"));
    let to = parsed.to().and_then(|a| a.first()).expect("To");
    assert_eq!(to.name(), Some("Zoë Müller"));
    assert_eq!(to.address(), Some("zoe1@creator.example"));
    let reply_to = parsed.reply_to().and_then(|a| a.first()).expect("Reply-To");
    assert_eq!(reply_to.address(), Some("replies@brand.example"));
    assert_eq!(parsed.message_id(), Some("msg-1.8f0c1d@brand.example"));
    assert!(parsed.date().is_some());
    let body = parsed.body_text(0).expect("text body");
    assert_eq!(
        body.replace("\r\n", "\n").trim_end(),
        sent.body_text.trim_end(),
        "the body arrives as written, lone-dot line included"
    );
    match parsed.header("List-Unsubscribe-Post") {
        Some(HeaderValue::Text(value)) => assert_eq!(value, "List-Unsubscribe=One-Click"),
        other => panic!("List-Unsubscribe-Post: {other:?}"),
    }
}

#[tokio::test]
async fn without_https_url_there_is_no_one_click_header() {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), None).expect("settings");
    let mut sent = email(2);
    sent.unsubscribe_https = None;
    sent.reply_to = None;
    sender.send(&sent).await.expect("send");

    let raw = strip_sink_headers(&sink.wait_for_messages(1)[0]);
    let text = String::from_utf8(raw).expect("ASCII");
    let (head, _) = text.split_once("\r\n\r\n").expect("header/body separator");
    assert_eq!(
        header_value(head, "List-Unsubscribe").as_deref(),
        Some("<mailto:unsub+tok2@brand.example?subject=unsubscribe>")
    );
    assert!(!head.contains("List-Unsubscribe-Post"), "{head}");
    assert!(!head.contains("Reply-To"), "{head}");
}

#[tokio::test]
async fn an_answer_threads_to_the_mail_it_answers_and_a_bad_id_is_refused() {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), None).expect("settings");
    let mut answer = email(5);
    answer.in_reply_to = Some("r1.x@creator.example".to_owned());
    sender.send(&answer).await.expect("send");
    let raw = strip_sink_headers(&sink.wait_for_messages(1)[0]);
    let text = String::from_utf8(raw).expect("ASCII");
    let (head, _) = text.split_once("\r\n\r\n").expect("header/body separator");
    assert_eq!(
        header_value(head, "In-Reply-To").as_deref(),
        Some("<r1.x@creator.example>")
    );
    assert_eq!(
        header_value(head, "References").as_deref(),
        Some("<r1.x@creator.example>")
    );

    for bad in ["r1@x\r\nBcc: x@evil.example", "no-at-sign", "a b@c"] {
        let mut refused = email(6);
        refused.in_reply_to = Some(bad.to_owned());
        let err = sender.send(&refused).await.expect_err(bad);
        assert_eq!(err.kind, SendErrorKind::Invalid, "{bad}");
    }
    assert_eq!(sink.wait_for_messages(1).len(), 1, "nothing else arrived");
}

#[tokio::test]
async fn header_injection_is_refused_and_nothing_reaches_the_server() {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), None).expect("settings");
    let mut injected = email(3);
    injected.to_name = Some("Bob\r\nBcc: x@evil.example".to_owned());

    let err = sender.send(&injected).await.expect_err("must be refused");
    assert_eq!(err.kind, SendErrorKind::Invalid);
    assert!(err.message.contains("To"), "{}", err.message);
    assert_eq!(err.code, None);

    // A good message sent afterwards is the only one the sink ever sees.
    sender.send(&email(4)).await.expect("send the good one");
    let dumps = sink.wait_for_messages(1);
    assert_eq!(dumps.len(), 1, "only the valid message arrived");
    let dump = String::from_utf8_lossy(&dumps[0]);
    assert!(!dump.contains("evil.example"), "{dump}");
    assert!(dump.contains("zoe4@creator.example"), "{dump}");
}

#[tokio::test]
async fn many_messages_arrive_over_one_session() {
    let sink = Sink::start();
    let sender = SmtpSender::new(&loopback(sink.port()), None).expect("settings");
    for n in 0..25 {
        sender.send(&email(n)).await.expect("send");
    }
    sender.close().await;
    let dumps = sink.wait_for_messages(25);
    let mut recipients: Vec<String> = dumps
        .iter()
        .map(|dump| {
            let text = String::from_utf8_lossy(dump);
            let line = text
                .lines()
                .find(|line| line.starts_with("X-Rcpt-Args: "))
                .expect("recipient line");
            line.trim_end().to_owned()
        })
        .collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 25, "every message arrived once");
}

#[test]
fn build_message_matches_what_is_sent() {
    let bytes = build_message(&email(5), None).expect("build");
    let text = String::from_utf8(bytes).expect("ASCII");
    assert!(
        text.contains("\r\nMessage-ID: <msg-5.8f0c1d@brand.example>\r\n"),
        "{text}"
    );
    assert!(!text.contains("DKIM-Signature"), "unsigned without a key");
}

/// The unfolded value of the first header called `name`, whitespace runs collapsed.
fn header_value(head: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}:");
    let mut lines = head.split("\r\n");
    let first = lines.find(|line| line.starts_with(&prefix))?;
    let mut value = first[prefix.len()..].to_owned();
    value.extend(
        lines
            .take_while(|line| line.starts_with([' ', '\t']))
            .map(|l| format!(" {l}")),
    );
    Some(value.split_whitespace().collect::<Vec<_>>().join(" "))
}

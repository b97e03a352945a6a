//! Sample messages and settings shared by the SMTP tests.

use std::time::Duration;

use outreach_channels::{
    email::OutgoingEmail,
    smtp::{SmtpSecurity, SmtpSettings},
};

/// A first-contact message with non-ASCII names and subject, a personalised body (including a
/// line that starts with a dot, which SMTP must stuff), and both unsubscribe URIs.
pub fn email(n: usize) -> OutgoingEmail {
    OutgoingEmail {
        from_name: "Alex Partner".to_owned(),
        from_address: "alex@brand.example".to_owned(),
        reply_to: Some("replies@brand.example".to_owned()),
        to_name: Some("Zoë Müller".to_owned()),
        to_address: format!("zoe{n}@creator.example"),
        subject: format!("Grüße aus Köln — partnership #{n}?"),
        body_text: format!(
            "Hi Zoë,\n\nloved your review of the Köln café guide (message {n}).\n.\nA line \
             after a lone dot.\n\nTo opt out, reply STOP.\nBrand GmbH, Hauptstr. 1, 50667 Köln\n"
        ),
        message_id: format!("msg-{n}.8f0c1d@brand.example"),
        unsubscribe_mailto: format!("mailto:unsub+tok{n}@brand.example?subject=unsubscribe"),
        unsubscribe_https: Some(format!("https://u.brand.example/one-click/tok{n}")),
        in_reply_to: None,
    }
}

/// Plain SMTP to a relay on 127.0.0.1, with a timeout short enough for silent-server tests.
pub fn loopback(port: u16) -> SmtpSettings {
    let mut settings = SmtpSettings::new("127.0.0.1", port, SmtpSecurity::PlainLoopback);
    settings.timeout = Duration::from_secs(10);
    settings
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

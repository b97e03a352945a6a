//! Incoming mail: parsing a raw message, within hard limits, into what the reply processing
//! needs (thread headers, sender, text, kind) and telling apart a person's reply, an automatic
//! reply, a delivery-status notification (bounce) and an abuse complaint.
//!
//! Parsing never panics and never trusts the message: a message over the limits (size, MIME
//! parts, nesting) is refused with the reason, so that one hostile mail cannot stall the
//! poller. HTML is never passed on as received: [`InboundMail::text`] is plain text and the
//! sanitised HTML keeps no scripts, styles, event handlers or remote images.

use std::collections::BTreeSet;

use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

/// Hard limits for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest raw message, in bytes.
    pub max_bytes: usize,
    /// Most MIME parts, nested messages' parts included.
    pub max_parts: usize,
    /// Deepest nesting of multiparts and attached messages.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_parts: 200,
            max_depth: 8,
        }
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Over the size limit.
    #[error("the message has {bytes} bytes; at most {limit} are read")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many MIME parts.
    #[error("the message has {parts} MIME parts; at most {limit} are read")]
    TooManyParts {
        /// How many it has (counted up to the limit and one more).
        parts: usize,
        /// The limit.
        limit: usize,
    },
    /// Nested too deeply.
    #[error("the message nests parts {depth} deep; at most {limit} are read")]
    TooDeep {
        /// How deep it goes (counted up to the limit and one more).
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// No headers: not a mail message.
    #[error("this is not a mail message")]
    NotAMessage,
}

/// What kind of mail this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailKind {
    /// Written by a person (as far as headers and form tell).
    Human,
    /// An automatic reply: out of office, vacation, autoresponder.
    AutoReply,
    /// A delivery-status notification: the message did not (yet) arrive.
    Bounce,
    /// An abuse or spam complaint report (ARF feedback report).
    Complaint,
}

/// What a bounce says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounce {
    /// A permanent failure (5.x.x, action "failed"); a temporary one (4.x.x, "delayed") is not.
    pub permanent: bool,
    /// The recipient that failed, lower-cased, when the notification names one.
    pub recipient: Option<String>,
    /// The enhanced status code (`5.1.1`), when given.
    pub status: Option<String>,
    /// The remote server's words, when given.
    pub diagnostic: Option<String>,
}

/// A parsed incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// Its Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// Message-IDs it answers (In-Reply-To), without angle brackets.
    pub in_reply_to: Vec<String>,
    /// Message-IDs of its thread (References), without angle brackets.
    pub references: Vec<String>,
    /// The sender's address, lower-cased.
    pub from_address: Option<String>,
    /// The sender's display name.
    pub from_name: Option<String>,
    /// The addresses it was sent to (To and Cc), lower-cased.
    pub to: Vec<String>,
    /// The subject, empty when there is none.
    pub subject: String,
    /// When it was written (RFC 3339), when the Date header parses.
    pub date: Option<String>,
    /// The text: the plain-text body, or the HTML body as text.
    pub text: String,
    /// The HTML body, sanitised for display, when there is one.
    pub html: Option<String>,
    /// What kind of mail it is.
    pub kind: MailKind,
    /// For a bounce, what it says.
    pub bounce: Option<Bounce>,
    /// Message-IDs of the original message a bounce or complaint returns, so that it can be
    /// tied to what we sent even without In-Reply-To.
    pub original_message_ids: Vec<String>,
}

/// Parses `raw` within `limits`.
///
/// # Errors
/// An [`InboundError`] when the message is over a limit or has no headers.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<InboundMail, InboundError> {
    if raw.len() > limits.max_bytes {
        return Err(InboundError::TooLarge {
            bytes: raw.len(),
            limit: limits.max_bytes,
        });
    }
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.root_part().headers.is_empty())
        .ok_or(InboundError::NotAMessage)?;
    check_shape(&message, limits)?;

    let from = message.from().and_then(first_address);
    let mut to = BTreeSet::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        for addr in list.iter() {
            if let Some(a) = addr.address() {
                to.insert(a.trim().to_lowercase());
            }
        }
    }
    let html_raw = message.body_html(0).map(|h| h.into_owned());
    let has_text_part = message
        .text_body
        .first()
        .and_then(|id| message.part(*id))
        .is_some_and(|p| matches!(p.body, PartType::Text(_)));
    let text = if has_text_part {
        message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    } else {
        html_raw.as_deref().map(html_to_text).unwrap_or_default()
    };
    let kind = kind_of(&message, &text);
    let bounce = (kind == MailKind::Bounce).then(|| bounce_of(&message, &text));
    let original_message_ids = if matches!(kind, MailKind::Bounce | MailKind::Complaint) {
        returned_message_ids(&message)
    } else {
        Vec::new()
    };
    Ok(InboundMail {
        message_id: message.message_id().map(clean_id),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        from_address: from.as_ref().map(|(a, _)| a.clone()),
        from_name: from.and_then(|(_, n)| n),
        to: to.into_iter().collect(),
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        date: message.date().map(|d| d.to_rfc3339()),
        text,
        html: html_raw.as_deref().map(sanitize_html),
        kind,
        bounce,
        original_message_ids,
    })
}

/// Counts parts and nesting over the whole tree, attached messages included.
fn check_shape(message: &Message<'_>, limits: &Limits) -> Result<(), InboundError> {
    let mut parts = 0usize;
    // (message, part index, depth)
    let mut stack: Vec<(&Message<'_>, u32, usize)> = vec![(message, 0, 1)];
    while let Some((m, id, depth)) = stack.pop() {
        if depth > limits.max_depth {
            return Err(InboundError::TooDeep {
                depth,
                limit: limits.max_depth,
            });
        }
        parts += 1;
        if parts > limits.max_parts {
            return Err(InboundError::TooManyParts {
                parts,
                limit: limits.max_parts,
            });
        }
        let Some(part) = m.part(id) else { continue };
        match &part.body {
            PartType::Multipart(children) => {
                for child in children {
                    stack.push((m, *child, depth + 1));
                }
            }
            PartType::Message(nested) => stack.push((nested, 0, depth + 1)),
            _ => {}
        }
    }
    Ok(())
}

fn first_address(list: &Address<'_>) -> Option<(String, Option<String>)> {
    let a = list.first()?;
    let address = a.address()?.trim().to_lowercase();
    let name = a
        .name()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Some((address, name))
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
}

/// A header's raw value, trimmed and lower-cased; empty when absent.
fn header_lower(message: &Message<'_>, name: &str) -> String {
    message
        .header_raw(name)
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn kind_of(message: &Message<'_>, text: &str) -> MailKind {
    let report_type = message
        .content_type()
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .and_then(|ct| ct.attribute("report-type"))
        .map(str::to_ascii_lowercase);
    // Hotmail's older reports are plain multipart mail with this subject.
    let subject = message.subject().unwrap_or_default().to_lowercase();
    if report_type.as_deref() == Some("feedback-report")
        || has_part(message, "message", "feedback-report")
        || subject
            .trim_start()
            .starts_with("complaint about message from")
    {
        return MailKind::Complaint;
    }
    if report_type.as_deref() == Some("delivery-status")
        || has_part(message, "message", "delivery-status")
        || has_part(message, "message", "global-delivery-status")
        || !header_lower(message, "X-Failed-Recipients").is_empty()
        || looks_like_bounce(message, text)
    {
        return MailKind::Bounce;
    }
    if is_auto_reply(message) {
        return MailKind::AutoReply;
    }
    MailKind::Human
}

/// Whether any part (of this message, not of attached ones) has this content type.
fn has_part(message: &Message<'_>, ctype: &str, subtype: &str) -> bool {
    message.parts.iter().any(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case(ctype)
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
        })
    })
}

/// Bounces without a delivery-status part (qmail, old Sendmail, some hosted services): sent
/// by the mail system, with a subject or opening that says delivery failed.
fn looks_like_bounce(message: &Message<'_>, text: &str) -> bool {
    // The raw header: `MAILER-DAEMON <>` has a name and no address.
    let from = header_lower(message, "From");
    let from_system = [
        "mailer-daemon",
        "postmaster",
        "mail delivery",
        "mail-daemon",
        "mdaemon",
        "ndr",
    ]
    .iter()
    .any(|s| from.contains(s));
    let subject = message.subject().unwrap_or_default().to_lowercase();
    // A person answering about a failed delivery writes "Re: …"; the mail system does not.
    let is_answer = ["re:", "aw:", "fw:", "fwd:", "wg:", "tr:", "sv:"]
        .iter()
        .any(|p| subject.trim_start().starts_with(p));
    const SUBJECTS: [&str; 17] = [
        "undeliver",
        "delivery status notification",
        "delivery failure",
        "delivery has failed",
        "failure notice",
        "returned mail",
        "mail delivery failed",
        "delivery notification",
        "non remis",
        "unzustellbar",
        "could not be delivered",
        "mail system error",
        "rejected",
        "nondeliverable",
        "メールエラー",
        "配信エラー",
        "不達",
    ];
    let subject_says = !is_answer && SUBJECTS.iter().any(|s| subject.contains(s));
    let opening = text.chars().take(2_000).collect::<String>().to_lowercase();
    const OPENINGS: [&str; 9] = [
        "this is the mail system at host",
        "i'm afraid i wasn't able to deliver",
        "this message was created automatically by mail delivery software",
        "delivery to the following recipient",
        "your message could not be delivered",
        "the following addresses had permanent fatal errors",
        "there was an error delivering your mail",
        "\"notificationtype\":\"bounce\"",
        "\"bouncetype\"",
    ];
    let opening_says = OPENINGS.iter().any(|s| opening.contains(s));
    opening_says
        || subject_says
        || (from_system && (subject.contains("fail") || subject.contains("error")))
}

/// RFC 3834 and the common non-standard headers autoresponders set, then the subjects of
/// out-of-office replies that set none.
fn is_auto_reply(message: &Message<'_>) -> bool {
    let auto_submitted = header_lower(message, "Auto-Submitted");
    if !auto_submitted.is_empty() && auto_submitted != "no" {
        return true;
    }
    for h in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autoresponder",
        "X-Vacation",
    ] {
        if message.header_raw(h).is_some() {
            return true;
        }
    }
    let precedence = header_lower(message, "Precedence");
    if ["auto_reply", "bulk", "junk"].contains(&precedence.as_str()) {
        return true;
    }
    let suppress = header_lower(message, "X-Auto-Response-Suppress");
    if suppress.contains("all") || suppress.contains("oof") {
        return true;
    }
    let subject = message.subject().unwrap_or_default().to_lowercase();
    [
        "out of office",
        "out of the office",
        "automatic reply",
        "auto-reply",
        "autoreply",
        "auto reply",
        "abwesenheitsnotiz",
        "automatische antwort",
        "réponse automatique",
        "absence du bureau",
        "vacation reply",
        "away from the office",
    ]
    .iter()
    .any(|s| subject.contains(s))
}

fn bounce_of(message: &Message<'_>, text: &str) -> Bounce {
    let mut bounce = Bounce::default();
    // The machine-readable report, when there is one: per-recipient fields.
    let report = message.parts.iter().find_map(|p| {
        let ct = p.content_type()?;
        let sub = ct.subtype()?.to_ascii_lowercase();
        (ct.ctype().eq_ignore_ascii_case("message")
            && (sub == "delivery-status" || sub == "global-delivery-status"))
            .then(|| String::from_utf8_lossy(p.contents()).into_owned())
    });
    let mut action = None;
    if let Some(report) = &report {
        for line in unfold(report).lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" | "original-recipient" if bounce.recipient.is_none() => {
                    let addr = value.rsplit(';').next().unwrap_or(value);
                    bounce.recipient = clean_address(addr);
                }
                "action" if action.is_none() => action = Some(value.to_ascii_lowercase()),
                "status" if bounce.status.is_none() => {
                    bounce.status = enhanced_status(value);
                }
                "diagnostic-code" if bounce.diagnostic.is_none() => {
                    let words = value.split_once(';').map_or(value, |(_, d)| d).trim();
                    bounce.diagnostic = (!words.is_empty()).then(|| words.to_owned());
                }
                _ => {}
            }
        }
    }
    if bounce.recipient.is_none() {
        bounce.recipient = message
            .header_raw("X-Failed-Recipients")
            .and_then(|v| v.split(',').next())
            .and_then(clean_address);
    }
    if bounce.status.is_none() {
        bounce.status = text.split_whitespace().find_map(enhanced_status);
    }
    let smtp_code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3 && (w.starts_with('5') || w.starts_with('4')))
        .map(str::to_owned);
    bounce.permanent = match (&bounce.status, action.as_deref()) {
        (Some(s), _) => s.starts_with('5'),
        (None, Some("failed")) => true,
        (None, Some(_)) => false,
        (None, None) => smtp_code.is_some_and(|c| c.starts_with('5')),
    };
    bounce
}

/// `5.1.1` from a status value or a word of text (`5.1.1`, `#5.1.1`, `(5.1.1)`).
fn enhanced_status(word: &str) -> Option<String> {
    let w = word.trim_matches(|c: char| !c.is_ascii_digit());
    let mut parts = w.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    let ok = matches!(class, "2" | "4" | "5")
        && (1..=3).contains(&subject.len())
        && (1..=3).contains(&detail.len())
        && subject.bytes().all(|b| b.is_ascii_digit())
        && detail.bytes().all(|b| b.is_ascii_digit())
        && parts.next().is_none();
    (ok && class != "2").then(|| w.to_owned())
}

fn clean_address(raw: &str) -> Option<String> {
    let a = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase();
    (a.contains('@') && !a.contains(char::is_whitespace)).then_some(a)
}

/// Joins folded header lines (a line starting with white space continues the previous one).
fn unfold(block: &str) -> String {
    let mut out = String::with_capacity(block.len());
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            out.push(' ');
            out.push_str(line.trim());
        } else {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
    }
    out
}

/// The Message-IDs of a returned original: an attached message or its headers.
fn returned_message_ids(message: &Message<'_>) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for part in &message.parts {
        match &part.body {
            PartType::Message(m) => {
                if let Some(id) = m.message_id() {
                    ids.insert(clean_id(id));
                }
            }
            PartType::Text(t) => {
                let is_headers = part.content_type().is_some_and(|ct| {
                    ct.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
                });
                if is_headers {
                    ids.extend(message_id_lines(t));
                }
            }
            _ => {}
        }
    }
    ids.into_iter().collect()
}

fn message_id_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("message-id")
                .then(|| clean_id(value))
        })
        .filter(|id| !id.is_empty())
        .collect()
}

/// The HTML as plain text: tags dropped, block ends as line breaks, entities decoded by
/// the sanitiser's parser.
pub fn html_to_text(html: &str) -> String {
    let cleaned = ammonia::Builder::empty()
        .add_tags(["br", "p", "div", "li", "tr"])
        .clean(html)
        .to_string();
    let with_breaks = cleaned
        .replace("<br>", "\n")
        .replace("</p>", "\n")
        .replace("</div>", "\n")
        .replace("</li>", "\n")
        .replace("</tr>", "\n");
    let no_tags = ammonia::Builder::empty().clean(&with_breaks).to_string();
    decode_entities(&no_tags)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// The entities ammonia writes back out.
fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// HTML safe to show: no scripts, styles, forms, event handlers or remote images; links keep
/// only http(s) and mailto and open nothing by themselves.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}")
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    #[test]
    fn a_reply_gives_its_thread_sender_and_text() {
        let raw = mail(
            "From: \"Ada Lovelace\" <Ada@Engines.example>\nTo: alex@brand.example\n\
             Subject: Re: A partnership\nMessage-ID: <r1@engines.example>\n\
             In-Reply-To: <m1@brand.example>\nReferences: <m0@brand.example> <m1@brand.example>\n\
             Date: Wed, 25 Nov 2026 10:00:00 +0000",
            "Sounds good, tell me more.\n\nOn Tue, Alex wrote:\n> Hi Ada",
        );
        let m = parse(&raw, &Limits::default()).unwrap();
        assert_eq!(m.kind, MailKind::Human);
        assert_eq!(m.message_id.as_deref(), Some("r1@engines.example"));
        assert_eq!(m.in_reply_to, ["m1@brand.example"]);
        assert_eq!(m.references, ["m0@brand.example", "m1@brand.example"]);
        assert_eq!(m.from_address.as_deref(), Some("ada@engines.example"));
        assert_eq!(m.from_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(m.to, ["alex@brand.example"]);
        assert!(m.text.starts_with("Sounds good"));
        assert_eq!(m.date.as_deref(), Some("2026-11-25T10:00:00Z"));
    }

    #[test]
    fn html_is_shown_without_scripts_or_remote_images() {
        let raw = mail(
            "From: a@b.example\nSubject: hi\nContent-Type: text/html; charset=utf-8",
            "<p onclick=\"steal()\">Hello <b>there</b></p><script>alert(1)</script>\
             <img src=\"https://tracker.example/p.gif\"><a href=\"javascript:x()\">x</a>",
        );
        let m = parse(&raw, &Limits::default()).unwrap();
        let html = m.html.unwrap();
        assert!(
            !html.contains("script") && !html.contains("onclick"),
            "{html}"
        );
        assert!(!html.contains("img") && !html.contains("tracker"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert_eq!(m.text, "Hello there\nx");
    }

    #[test]
    fn auto_replies_are_known_by_their_headers_and_subjects() {
        for headers in [
            "Auto-Submitted: auto-replied",
            "X-Autoreply: yes",
            "Precedence: auto_reply",
            "X-Auto-Response-Suppress: All",
            "Subject: Automatic reply: A partnership",
        ] {
            let raw = mail(&format!("From: a@b.example\n{headers}"), "I am away.");
            assert_eq!(
                parse(&raw, &Limits::default()).unwrap().kind,
                MailKind::AutoReply,
                "{headers}"
            );
        }
        let raw = mail(
            "From: a@b.example\nAuto-Submitted: no\nSubject: Re: hi",
            "Yes!",
        );
        assert_eq!(
            parse(&raw, &Limits::default()).unwrap().kind,
            MailKind::Human
        );
    }

    #[test]
    fn a_delivery_status_report_gives_recipient_status_and_the_original() {
        let raw = mail(
            "From: MAILER-DAEMON@mx.example\nTo: alex@brand.example\nSubject: Undelivered Mail\n\
             MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"",
            "--b\nContent-Type: text/plain\n\nThis is the mail system.\n\
             --b\nContent-Type: message/delivery-status\n\n\
             Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; Gone@Publisher.example\n\
             Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <gone@publisher.example>:\n \
             user unknown\n\
             --b\nContent-Type: text/rfc822-headers\n\n\
             From: alex@brand.example\nMessage-ID: <m42@brand.example>\nSubject: A partnership\n\
             --b--\n",
        );
        let m = parse(&raw, &Limits::default()).unwrap();
        assert_eq!(m.kind, MailKind::Bounce);
        let b = m.bounce.unwrap();
        assert!(b.permanent);
        assert_eq!(b.recipient.as_deref(), Some("gone@publisher.example"));
        assert_eq!(b.status.as_deref(), Some("5.1.1"));
        assert!(b.diagnostic.unwrap().contains("user unknown"));
        assert_eq!(m.original_message_ids, ["m42@brand.example"]);
    }

    #[test]
    fn a_delayed_delivery_is_a_soft_bounce() {
        let raw = mail(
            "From: postmaster@mx.example\nSubject: Delivery Status Notification (Delay)\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"",
            "--b\nContent-Type: message/delivery-status\n\n\
             Final-Recipient: rfc822; slow@publisher.example\nAction: delayed\nStatus: 4.4.7\n--b--\n",
        );
        let b = parse(&raw, &Limits::default()).unwrap().bounce.unwrap();
        assert!(!b.permanent);
        assert_eq!(b.status.as_deref(), Some("4.4.7"));
    }

    #[test]
    fn hostile_messages_are_refused_with_the_reason() {
        let limits = Limits {
            max_bytes: 4096,
            max_parts: 20,
            max_depth: 4,
        };
        let big = mail("From: a@b.example", &"x".repeat(5000));
        assert!(matches!(
            parse(&big, &limits),
            Err(InboundError::TooLarge { .. })
        ));
        // Nested multiparts, each one level deeper.
        let mut body = String::from("deep\n");
        for level in (0..6).rev() {
            body = format!(
                "--b{level}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n{body}\n--b{level}--\n",
                level + 1
            );
        }
        let deep = mail(
            "From: a@b.example\nContent-Type: multipart/mixed; boundary=\"b0\"",
            &body,
        );
        assert!(matches!(
            parse(&deep, &limits),
            Err(InboundError::TooDeep { .. })
        ));
        let mut many = String::new();
        for i in 0..30 {
            many.push_str(&format!("--b\nContent-Type: text/plain\n\npart {i}\n"));
        }
        many.push_str("--b--\n");
        let wide = mail(
            "From: a@b.example\nContent-Type: multipart/mixed; boundary=\"b\"",
            &many,
        );
        assert!(matches!(
            parse(&wide, &limits),
            Err(InboundError::TooManyParts { .. })
        ));
        assert_eq!(parse(b"", &limits), Err(InboundError::NotAMessage));
    }
}

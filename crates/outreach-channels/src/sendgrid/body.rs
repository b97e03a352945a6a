//! The JSON body of `POST /v3/mail/send`, built from rendered messages and checked first.
//!
//! Shape (see the spec's `mail_send.json`): one personalization per message with its own `to`,
//! `subject`, `headers` (List-Unsubscribe, List-Unsubscribe-Post, Message-ID) and `custom_args`
//! (our Message-ID, so webhook events can be tied back). SendGrid has one `content` per request:
//! with several messages it is [`BODY_TAG`] and each personalization substitutes its own body;
//! with one message the body is the content itself.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::SendGridError;
use super::plan::SenderKey;
use crate::email::OutgoingEmail;

/// The most personalizations (messages) one mail/send request may carry (the spec's
/// `personalizations.maxItems`).
pub const MAX_PERSONALIZATIONS: usize = 1_000;

/// SendGrid's limit on the total size of one personalization's `substitutions` ("may not exceed
/// 10,000 bytes per personalization object", mail/send spec).
pub const SUBSTITUTIONS_LIMIT_BYTES: usize = 10_000;

/// Stands for the body in a shared request's content. Substitutions also apply to the subject,
/// so a message whose subject or body contains this text is sent alone.
pub(crate) const BODY_TAG: &str = "[%outreach_body%]";

/// The `custom_args` key carrying our Message-ID into SendGrid's events.
pub(crate) const MESSAGE_ID_ARG: &str = "outreach_message_id";

/// The body `send_batch` would POST for these messages, as JSON; for previews and diagnostics.
///
/// Fails, without sending anything, on the same checks as `send_batch`.
pub fn mail_send_json(emails: &[OutgoingEmail]) -> Result<serde_json::Value, SendGridError> {
    let body = MailSend::build(emails)?;
    serde_json::to_value(&body).map_err(|err| SendGridError::Encoding {
        reason: err.to_string(),
    })
}

/// The request body, serialised as-is.
#[derive(Debug, Serialize)]
pub(crate) struct MailSend<'a> {
    personalizations: Vec<Personalization<'a>>,
    from: Address<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<Address<'a>>,
    /// The spec requires a top-level subject even when every personalization has its own
    /// (which overrides it), so the first message's subject stands here.
    subject: &'a str,
    content: [Content<'a>; 1],
    tracking_settings: TrackingSettings,
}

#[derive(Debug, Serialize)]
struct Address<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Personalization<'a> {
    to: [Address<'a>; 1],
    subject: &'a str,
    headers: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    substitutions: BTreeMap<&'static str, &'a str>,
    custom_args: BTreeMap<&'static str, &'a str>,
}

#[derive(Debug, Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    mime: &'static str,
    value: &'a str,
}

#[derive(Debug, Serialize)]
struct TrackingSettings {
    subscription_tracking: Enable,
}

#[derive(Debug, Serialize)]
struct Enable {
    enable: bool,
}

impl<'a> MailSend<'a> {
    /// Checks the messages and builds the body; nothing here does I/O.
    pub(crate) fn build(emails: &'a [OutgoingEmail]) -> Result<Self, SendGridError> {
        let Some(first) = emails.first() else {
            return Err(SendGridError::EmptyBatch);
        };
        if emails.len() > MAX_PERSONALIZATIONS {
            return Err(SendGridError::TooManyMessages {
                count: emails.len(),
            });
        }
        // Each message is checked first, so an injected header is reported as such even when
        // it also makes the senders differ.
        for email in emails {
            check_message(email)?;
        }
        let sender = SenderKey::of(first);
        if emails.iter().any(|email| SenderKey::of(email) != sender) {
            return Err(SendGridError::MixedSenders);
        }
        let shared = emails.len() > 1;
        if shared && let Some(email) = emails.iter().find(|email| !fits_shared_request(email)) {
            return Err(SendGridError::NotBatchable {
                message_id: email.message_id.clone(),
            });
        }

        let personalizations = emails
            .iter()
            .map(|email| Personalization::of(email, shared))
            .collect();
        Ok(Self {
            personalizations,
            from: Address {
                email: &first.from_address,
                name: non_empty(&first.from_name),
            },
            reply_to: first
                .reply_to
                .as_deref()
                .map(|email| Address { email, name: None }),
            subject: &first.subject,
            content: [Content {
                mime: "text/plain",
                value: if shared { BODY_TAG } else { &first.body_text },
            }],
            // The product requires SendGrid's own subscription management as well as our
            // List-Unsubscribe, so an opt-out through either is honoured.
            tracking_settings: TrackingSettings {
                subscription_tracking: Enable { enable: true },
            },
        })
    }

    /// How many personalizations (messages) the body carries.
    pub(crate) fn len(&self) -> usize {
        self.personalizations.len()
    }
}

impl<'a> Personalization<'a> {
    fn of(email: &'a OutgoingEmail, shared: bool) -> Self {
        let mut substitutions = BTreeMap::new();
        if shared {
            substitutions.insert(BODY_TAG, email.body_text.as_str());
        }
        Self {
            to: [Address {
                email: &email.to_address,
                name: email.to_name.as_deref().and_then(non_empty),
            }],
            subject: &email.subject,
            headers: headers(email),
            substitutions,
            custom_args: BTreeMap::from([(MESSAGE_ID_ARG, email.message_id.as_str())]),
        }
    }
}

/// The per-message headers. Message-ID is not among the headers the spec says cannot be
/// overwritten, so ours goes here and replies thread to it; `custom_args` carries it as well
/// because SendGrid's events report custom args, not headers.
fn headers(email: &OutgoingEmail) -> BTreeMap<&'static str, String> {
    let mut headers = BTreeMap::new();
    let list_unsubscribe = match &email.unsubscribe_https {
        Some(https) => {
            headers.insert(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            );
            format!("<{}>, <{https}>", email.unsubscribe_mailto)
        }
        None => format!("<{}>", email.unsubscribe_mailto),
    };
    headers.insert("List-Unsubscribe", list_unsubscribe);
    headers.insert("Message-ID", format!("<{}>", email.message_id));
    if let Some(id) = &email.in_reply_to {
        headers.insert("In-Reply-To", format!("<{id}>"));
        headers.insert("References", format!("<{id}>"));
    }
    headers
}

/// Whether the message may share a request, i.e. travel as a substitution.
pub(crate) fn fits_shared_request(email: &OutgoingEmail) -> bool {
    if email.body_text.contains(BODY_TAG) || email.subject.contains(BODY_TAG) {
        return false;
    }
    // Measured as encoded JSON, which is never smaller than the raw key and value, so the
    // limit holds however SendGrid counts.
    let substitution = BTreeMap::from([(BODY_TAG, email.body_text.as_str())]);
    serde_json::to_string(&substitution)
        .is_ok_and(|encoded| encoded.len() <= SUBSTITUTIONS_LIMIT_BYTES)
}

fn check_message(email: &OutgoingEmail) -> Result<(), SendGridError> {
    let id = || email.message_id.clone();
    let header_fields: [(&'static str, Option<&str>); 10] = [
        ("message_id", Some(&email.message_id)),
        ("from_name", Some(&email.from_name)),
        ("from_address", Some(&email.from_address)),
        ("reply_to", email.reply_to.as_deref()),
        ("to_name", email.to_name.as_deref()),
        ("to_address", Some(&email.to_address)),
        ("subject", Some(&email.subject)),
        ("unsubscribe_mailto", Some(&email.unsubscribe_mailto)),
        ("unsubscribe_https", email.unsubscribe_https.as_deref()),
        ("in_reply_to", email.in_reply_to.as_deref()),
    ];
    for (field, value) in header_fields {
        if value.is_some_and(|value| value.contains(['\r', '\n', '\0'])) {
            return Err(SendGridError::HeaderInjection {
                message_id: id(),
                field,
            });
        }
    }
    let required = [
        ("message_id", &email.message_id),
        ("from_address", &email.from_address),
        ("to_address", &email.to_address),
        ("subject", &email.subject),
        ("body_text", &email.body_text),
    ];
    for (field, value) in required {
        if value.trim().is_empty() {
            return Err(SendGridError::EmptyField {
                message_id: id(),
                field,
            });
        }
    }
    if !is_list_uri(&email.unsubscribe_mailto, "mailto:") {
        return Err(SendGridError::InvalidUnsubscribeUri {
            message_id: id(),
            field: "unsubscribe_mailto",
        });
    }
    if let Some(https) = &email.unsubscribe_https
        && !(is_list_uri(https, "https://") && url::Url::parse(https).is_ok())
    {
        return Err(SendGridError::InvalidUnsubscribeUri {
            message_id: id(),
            field: "unsubscribe_https",
        });
    }
    Ok(())
}

/// A URI that can stand between angle brackets in `List-Unsubscribe` (RFC 2369): ASCII (the
/// engine percent-encodes tokens), no whitespace, no brackets.
fn is_list_uri(uri: &str, scheme: &str) -> bool {
    uri.is_ascii()
        && uri
            .get(..scheme.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
        && uri.len() > scheme.len()
        && !uri.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn email(n: usize) -> OutgoingEmail {
        OutgoingEmail {
            from_name: "Alex Partner".into(),
            from_address: "alex@brand.example".into(),
            reply_to: Some("replies@brand.example".into()),
            to_name: Some(format!("Prospect {n}")),
            to_address: format!("prospect{n}@shop.example"),
            subject: format!("Partnership idea for shop {n}"),
            body_text: format!("Hi Prospect {n},\nwould you like to partner?\n"),
            message_id: format!("msg{n}@brand.example"),
            unsubscribe_mailto: format!("mailto:unsub@brand.example?subject=token{n}"),
            unsubscribe_https: Some(format!("https://brand.example/u/token{n}")),
            in_reply_to: None,
        }
    }

    fn json_of(emails: &[OutgoingEmail]) -> Value {
        match mail_send_json(emails) {
            Ok(value) => value,
            Err(err) => panic!("body should build: {err}"),
        }
    }

    #[test]
    fn shared_request_substitutes_each_body_and_keeps_subjects_and_headers_per_message() {
        let emails = [email(1), email(2), email(3)];
        let body = json_of(&emails);

        assert_eq!(
            body["content"],
            json!([{ "type": "text/plain", "value": BODY_TAG }])
        );
        assert_eq!(
            body["from"],
            json!({ "email": "alex@brand.example", "name": "Alex Partner" })
        );
        assert_eq!(
            body["reply_to"],
            json!({ "email": "replies@brand.example" })
        );
        assert_eq!(body["subject"], json!(emails[0].subject));
        let personalizations = body["personalizations"].as_array().map(Vec::len);
        assert_eq!(personalizations, Some(3));
        for (i, email) in emails.iter().enumerate() {
            let p = &body["personalizations"][i];
            assert_eq!(
                p["to"],
                json!([{ "email": email.to_address, "name": email.to_name }])
            );
            assert_eq!(p["subject"], json!(email.subject));
            assert_eq!(p["substitutions"], json!({ BODY_TAG: email.body_text }));
            assert_eq!(
                p["custom_args"],
                json!({ MESSAGE_ID_ARG: email.message_id })
            );
            let https = email.unsubscribe_https.clone().unwrap_or_default();
            assert_eq!(
                p["headers"],
                json!({
                    "List-Unsubscribe": format!("<{}>, <{https}>", email.unsubscribe_mailto),
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "Message-ID": format!("<{}>", email.message_id),
                })
            );
        }
    }

    #[test]
    fn subscription_tracking_is_enabled() {
        let body = json_of(&[email(1)]);
        assert_eq!(
            body["tracking_settings"],
            json!({ "subscription_tracking": { "enable": true } })
        );
    }

    #[test]
    fn single_message_carries_its_body_as_content_without_substitutions() {
        let one = email(7);
        let body = json_of(std::slice::from_ref(&one));
        assert_eq!(body["content"][0]["value"], json!(one.body_text));
        assert_eq!(body["personalizations"][0].get("substitutions"), None);
        assert_eq!(body["subject"], json!(one.subject));
    }

    #[test]
    fn without_https_url_only_mailto_is_listed_and_no_one_click_post() {
        let mut plain = email(1);
        plain.unsubscribe_https = None;
        plain.reply_to = None;
        plain.to_name = None;
        let body = json_of(&[plain.clone()]);
        let headers = &body["personalizations"][0]["headers"];
        assert_eq!(
            headers["List-Unsubscribe"],
            json!(format!("<{}>", plain.unsubscribe_mailto))
        );
        assert_eq!(headers.get("List-Unsubscribe-Post"), None);
        assert_eq!(body.get("reply_to"), None);
        assert_eq!(
            body["personalizations"][0]["to"],
            json!([{ "email": plain.to_address }])
        );
    }

    #[test]
    fn cr_lf_or_nul_in_any_header_value_is_refused() {
        type Set = fn(&mut OutgoingEmail, String);
        let fields: [(&str, Set); 9] = [
            ("message_id", |e, v| e.message_id = v),
            ("from_name", |e, v| e.from_name = v),
            ("from_address", |e, v| e.from_address = v),
            ("reply_to", |e, v| e.reply_to = Some(v)),
            ("to_name", |e, v| e.to_name = Some(v)),
            ("to_address", |e, v| e.to_address = v),
            ("subject", |e, v| e.subject = v),
            ("unsubscribe_mailto", |e, v| e.unsubscribe_mailto = v),
            ("unsubscribe_https", |e, v| e.unsubscribe_https = Some(v)),
        ];
        for (name, set) in fields {
            for bad in ["\r", "\n", "\0"] {
                let mut evil = email(2);
                let original = match name {
                    "unsubscribe_mailto" => evil.unsubscribe_mailto.clone(),
                    "unsubscribe_https" => evil.unsubscribe_https.clone().unwrap_or_default(),
                    _ => "x@brand.example".to_owned(),
                };
                set(
                    &mut evil,
                    format!("{original}{bad}Bcc: victim@else.example"),
                );
                match mail_send_json(&[email(1), evil]) {
                    Err(SendGridError::HeaderInjection { field, .. }) => assert_eq!(field, name),
                    other => panic!("{name} with {bad:?} should be refused, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn line_breaks_in_the_body_are_fine() {
        let mut multi_line = email(1);
        multi_line.body_text = "line one\r\nline two\n\nbye".into();
        assert!(mail_send_json(&[multi_line, email(2)]).is_ok());
    }

    #[test]
    fn unusable_unsubscribe_uris_are_refused() {
        let mut http = email(1);
        http.unsubscribe_https = Some("http://brand.example/u/1".into());
        let mut not_mailto = email(2);
        not_mailto.unsubscribe_mailto = "unsub@brand.example".into();
        let mut bracket = email(3);
        bracket.unsubscribe_mailto = "mailto:a@b.example>, <https://evil.example".into();
        let mut unicode = email(4);
        unicode.unsubscribe_https = Some("https://brand.example/ü/4".into());
        for (bad, field) in [
            (http, "unsubscribe_https"),
            (unicode, "unsubscribe_https"),
            (not_mailto, "unsubscribe_mailto"),
            (bracket, "unsubscribe_mailto"),
        ] {
            match mail_send_json(&[bad]) {
                Err(SendGridError::InvalidUnsubscribeUri { field: got, .. }) => {
                    assert_eq!(got, field);
                }
                other => panic!("{field} should be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn empty_subject_or_body_is_refused() {
        let mut no_subject = email(1);
        no_subject.subject = " ".into();
        let mut no_body = email(2);
        no_body.body_text = String::new();
        assert!(matches!(
            mail_send_json(&[no_subject]),
            Err(SendGridError::EmptyField {
                field: "subject",
                ..
            })
        ));
        assert!(matches!(
            mail_send_json(&[no_body]),
            Err(SendGridError::EmptyField {
                field: "body_text",
                ..
            })
        ));
    }

    #[test]
    fn batch_limits_are_enforced() {
        assert!(matches!(
            mail_send_json(&[]),
            Err(SendGridError::EmptyBatch)
        ));

        let full: Vec<_> = (0..MAX_PERSONALIZATIONS).map(email).collect();
        let body = json_of(&full);
        let count = body["personalizations"].as_array().map(Vec::len);
        assert_eq!(count, Some(MAX_PERSONALIZATIONS));

        let over: Vec<_> = (0..=MAX_PERSONALIZATIONS).map(email).collect();
        assert!(matches!(
            mail_send_json(&over),
            Err(SendGridError::TooManyMessages { count }) if count == MAX_PERSONALIZATIONS + 1
        ));
    }

    #[test]
    fn different_senders_or_reply_to_cannot_share_a_request() {
        let mut other_reply_to = email(2);
        other_reply_to.reply_to = Some("someone-else@brand.example".into());
        let mut other_name = email(3);
        other_name.from_name = "Sam Partner".into();
        for other in [other_reply_to, other_name] {
            assert!(matches!(
                mail_send_json(&[email(1), other]),
                Err(SendGridError::MixedSenders)
            ));
        }
    }

    #[test]
    fn body_over_the_substitution_limit_only_goes_alone() {
        let mut large = email(2);
        large.body_text = "é".repeat(SUBSTITUTIONS_LIMIT_BYTES / 2);
        assert!(!fits_shared_request(&large));
        match mail_send_json(&[email(1), large.clone()]) {
            Err(SendGridError::NotBatchable { message_id }) => {
                assert_eq!(message_id, large.message_id);
            }
            other => panic!("an oversized body should not be batched, got {other:?}"),
        }
        let alone = json_of(std::slice::from_ref(&large));
        assert_eq!(alone["content"][0]["value"], json!(large.body_text));
    }

    #[test]
    fn substitution_limit_counts_the_encoded_key_and_value() {
        let overhead = serde_json::to_string(&BTreeMap::from([(BODY_TAG, "")]))
            .map(|encoded| encoded.len())
            .unwrap_or_default();
        let mut at_limit = email(1);
        at_limit.body_text = "a".repeat(SUBSTITUTIONS_LIMIT_BYTES - overhead);
        assert!(fits_shared_request(&at_limit));
        at_limit.body_text.push('a');
        assert!(!fits_shared_request(&at_limit));
        // Escaping makes a quote count twice.
        let mut quoted = email(1);
        quoted.body_text = "\"".repeat((SUBSTITUTIONS_LIMIT_BYTES - overhead) / 2 + 1);
        assert!(!fits_shared_request(&quoted));
    }

    #[test]
    fn text_containing_the_body_tag_is_not_batched() {
        let mut in_body = email(1);
        in_body.body_text = format!("see {BODY_TAG}");
        let mut in_subject = email(2);
        in_subject.subject = format!("re {BODY_TAG}");
        assert!(!fits_shared_request(&in_body));
        assert!(!fits_shared_request(&in_subject));
        assert!(fits_shared_request(&email(3)));
    }
}

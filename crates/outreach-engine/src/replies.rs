//! What the poller does with each message it reads: parse it within hard limits, tie it to the
//! prospect and message it answers, work out what it means, and store it together with what it
//! makes happen. Mail that answers nothing of ours is left alone and not stored.

use jiff::{Timestamp, ToSpan, civil::Date};
use outreach_channels::imap::FetchedMessage;
use outreach_channels::inbound::{InboundMail, Limits, MailKind, parse};
use outreach_core::inbox::{Mailbox, ReplyKind};
use outreach_core::normalize::normalize_email;
use outreach_core::prospect::ProspectStatus;
use outreach_core::reply::{self, Intent};
use outreach_store::Actor;
use outreach_store::replies::{Effect, Matched, NewReply};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use outreach_core::campaign::PositiveMode;
use outreach_core::schedule::{next_send_time, resolve_time_zone};
use outreach_core::template::{self, MessageTemplate};
use outreach_store::drafts::{AnsweredReply, answer_subject};

use crate::answers::{AnswerContext, prepare_answer};
use crate::{Engine, EngineError, iso};

/// The most of a bounce's explanation kept as its message's error: a server's sentence fits,
/// and a notification (which anyone can forge) cannot store a line of any length.
const DIAGNOSTIC_CHARS: usize = 300;

/// A new reply a person should hear about (the desktop notification and the inbox badge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReplyNotice {
    /// Its workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The reply.
    #[ts(type = "number")]
    pub reply_id: i64,
    /// Who wrote.
    #[ts(type = "number")]
    pub prospect_id: i64,
    /// Their name.
    pub prospect_name: String,
    /// What they want.
    pub intent: Intent,
    /// What the poller did about it.
    pub actions: String,
}

/// How long the next step waits after an out-of-office that names no return date.
const DEFAULT_OOO_DELAY_DAYS: i64 = 7;
/// Mail dated up to this long before our first message to the sender may still answer it
/// (clocks differ).
const CLOCK_SLACK_HOURS: i64 = 1;

/// What became of one fetched message.
#[derive(Debug)]
pub(crate) enum Handled {
    /// Stored as reply (with a notice when a person wrote it).
    Stored(Option<ReplyNotice>),
    /// Stored before (same Message-ID).
    Duplicate,
    /// Answers nothing of ours.
    Ignored,
    /// Could not be read; audited, skipped.
    Unparseable,
}

/// A parsed, matched message waiting for its classification.
pub(crate) struct Pending {
    pub(crate) uid: u32,
    pub(crate) mail: InboundMail,
    pub(crate) matched: Matched,
    pub(crate) matched_by: &'static str,
    /// A verified unsubscribe token in the subject.
    pub(crate) token: bool,
    pub(crate) new_text: String,
}

impl Engine {
    /// Parses and matches one message. `Err(handled)` when it needs no classification.
    pub(crate) async fn read_message(
        &self,
        mailbox: &Mailbox,
        msg: &FetchedMessage,
    ) -> Result<Result<Pending, Handled>, EngineError> {
        let ws = mailbox.workspace_id;
        let mail = match parse(&msg.raw, &Limits::default()) {
            Ok(m) => m,
            Err(e) => {
                self.store
                    .audit(
                        Some(ws),
                        None,
                        Actor::System,
                        "reply.unparseable",
                        &format!(
                            "Message UID {} in the mailbox of sender account #{} was not read: {e}",
                            msg.uid, mailbox.account_id
                        ),
                        None,
                    )
                    .await?;
                return Ok(Err(Handled::Unparseable));
            }
        };
        let mut token = false;
        let mut matched: Option<(Matched, &'static str)> = None;
        match reply::unsubscribe_request(&self.keys.unsubscribe, &mail.subject) {
            Ok(Some((token_ws, prospect))) if token_ws == ws => {
                if let Some(m) = self.store.match_prospect(ws, prospect).await? {
                    matched = Some((m, "token"));
                    token = true;
                }
            }
            Ok(_) => {}
            Err(_forged) => {
                // The token itself is not logged: it is the recipient's credential.
                self.store
                    .audit(
                        Some(ws),
                        None,
                        Actor::System,
                        "reply.forged_token",
                        &format!(
                            "Message UID {} in the mailbox of sender account #{} carries an \
                             unsubscribe token that does not verify; ignored",
                            msg.uid, mailbox.account_id
                        ),
                        None,
                    )
                    .await?;
            }
        }
        if matched.is_none() {
            let ids: Vec<String> = mail
                .in_reply_to
                .iter()
                .chain(&mail.references)
                .chain(&mail.original_message_ids)
                .cloned()
                .collect();
            if let Some(m) = self.store.match_thread(ws, &ids).await? {
                let by = if mail.kind == MailKind::Bounce {
                    "bounce"
                } else {
                    "thread"
                };
                matched = Some((m, by));
            }
        }
        if matched.is_none() {
            let (address, by) = match (&mail.kind, &mail.bounce) {
                (MailKind::Bounce, Some(b)) => (b.recipient.clone(), "bounce"),
                _ => (mail.from_address.clone(), "sender"),
            };
            let address = address
                .and_then(|a| normalize_email(&a).ok())
                .map(|e| e.address);
            if let Some(address) = address {
                let written = mail
                    .date
                    .as_deref()
                    .and_then(|d| d.parse::<Timestamp>().ok())
                    .filter(|_| by == "sender")
                    .unwrap_or_else(Timestamp::now);
                let cutoff = written
                    .checked_add(CLOCK_SLACK_HOURS.hours())
                    .unwrap_or(written);
                if let Some(m) = self.store.match_sender(ws, &address, &iso(cutoff)).await? {
                    matched = Some((m, by));
                }
            }
        }
        let Some((matched, matched_by)) = matched else {
            return Ok(Err(Handled::Ignored));
        };
        let new_text = reply::new_text(&mail.text);
        Ok(Ok(Pending {
            uid: msg.uid,
            mail,
            matched,
            matched_by,
            token,
            new_text,
        }))
    }

    /// Stores a matched message with its meaning and effects. `analysis` is the classifier's
    /// verdict on its new text (`None` for mail that is not a person's: bounces, complaints,
    /// auto-replies).
    pub(crate) async fn store_reply(
        &self,
        mailbox: &Mailbox,
        uid_validity: u32,
        p: Pending,
        analysis: Option<crate::classifier::Verdict>,
    ) -> Result<Handled, EngineError> {
        let now = Timestamp::now();
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let mail = &p.mail;
        let mut effects = Vec::new();
        let mut return_date = None;
        let mut needs_reply = false;
        let (kind, intent, confidence, source, sentiment) = match mail.kind {
            MailKind::Bounce => {
                if mail.bounce.as_ref().is_some_and(|b| b.permanent) {
                    effects.push(Effect::HardBounce);
                }
                (ReplyKind::Bounce, Intent::Other, 1.0, "rules", None)
            }
            MailKind::Complaint => {
                effects.push(self.opt_out_effect(&p, "a spam complaint").await?);
                (
                    ReplyKind::Complaint,
                    Intent::Unsubscribe,
                    1.0,
                    "rules",
                    None,
                )
            }
            MailKind::AutoReply => {
                let date = reply::return_date(&mail.text, today);
                let ooo = date.is_some() || reply::looks_like_absence(&mail.text);
                if ooo {
                    return_date = date;
                    effects.push(Effect::Reschedule {
                        after: after_absence(date, now),
                    });
                }
                let intent = if ooo {
                    Intent::OutOfOffice
                } else {
                    Intent::Other
                };
                (ReplyKind::AutoReply, intent, 0.95, "rules", None)
            }
            MailKind::Human => {
                let v = analysis.unwrap_or_default();
                if p.token {
                    effects.push(
                        self.opt_out_effect(&p, "the unsubscribe address in our message")
                            .await?,
                    );
                    (
                        ReplyKind::Human,
                        Intent::Unsubscribe,
                        1.0,
                        "rules",
                        v.sentiment,
                    )
                } else {
                    match v.intent {
                        Intent::Unsubscribe => {
                            effects.push(
                                self.opt_out_effect(&p, "a reply asking to be removed")
                                    .await?,
                            );
                        }
                        Intent::OutOfOffice => {
                            let date = reply::return_date(&mail.text, today);
                            return_date = date;
                            effects.push(Effect::Reschedule {
                                after: after_absence(date, now),
                            });
                        }
                        Intent::Interested => {
                            effects.push(Effect::StopSequences);
                            effects.push(Effect::Status(ProspectStatus::Interested));
                            effects.push(self.positive_follow_up(mailbox, &p, now).await?);
                            needs_reply = true;
                        }
                        Intent::Question => {
                            effects.push(Effect::StopSequences);
                            effects.push(draft(mail, &p.new_text, DraftFor::Question));
                            needs_reply = true;
                        }
                        Intent::NotInterested => {
                            effects.push(Effect::StopSequences);
                            effects.push(Effect::Status(ProspectStatus::NotInterested));
                        }
                        Intent::Referral => {
                            effects.push(Effect::StopSequences);
                            for (email, name) in
                                referred(&p.new_text, mail, p.matched.email.as_deref())
                            {
                                effects.push(Effect::Referral { email, name });
                            }
                            needs_reply = true;
                        }
                        Intent::Other => {
                            effects.push(Effect::StopSequences);
                            needs_reply = true;
                        }
                    }
                    (
                        ReplyKind::Human,
                        v.intent,
                        v.confidence,
                        v.source,
                        v.sentiment,
                    )
                }
            }
        };
        let new = NewReply {
            account_id: mailbox.account_id,
            matched: p.matched.clone(),
            matched_by: p.matched_by.into(),
            rfc_message_id: mail.message_id.clone(),
            imap_uid: p.uid,
            from_address: mail.from_address.clone(),
            from_name: mail.from_name.clone(),
            subject: mail.subject.clone(),
            received_at: mail
                .date
                .as_deref()
                .and_then(|d| d.parse::<Timestamp>().ok())
                .map_or_else(|| iso(now), iso),
            kind,
            new_text: p.new_text.clone(),
            full_text: mail.text.clone(),
            html: mail.html.clone(),
            sentiment,
            intent,
            confidence,
            intent_source: source.into(),
            return_date: return_date.map(|d| d.to_string()),
            bounce_status: mail.bounce.as_ref().and_then(|b| b.status.clone()),
            bounce_diagnostic: mail
                .bounce
                .as_ref()
                .and_then(|b| b.diagnostic.as_deref())
                .map(|d| {
                    d.chars()
                        .filter(|c| !c.is_control())
                        .take(DIAGNOSTIC_CHARS)
                        .collect()
                }),
            needs_reply,
        };
        let Some(stored) = self
            .store
            .record_reply(&new, &effects, uid_validity)
            .await?
        else {
            return Ok(Handled::Duplicate);
        };
        if kind != ReplyKind::Human {
            return Ok(Handled::Stored(None));
        }
        let shown = self.store.reply(stored.reply_id).await?;
        Ok(Handled::Stored(Some(ReplyNotice {
            workspace_id: shown.workspace_id,
            reply_id: shown.id,
            prospect_id: shown.prospect_id,
            prospect_name: shown.prospect_name,
            intent,
            actions: stored.actions,
        })))
    }

    /// The answer to an interested reply: the campaign's positive follow-up rendered for the
    /// prospect (queued, or drafted for approval, as the campaign says), or a plain draft when
    /// the campaign has none. A follow-up the gate or the pre-send check refuses becomes a
    /// draft, so that a person sees why and decides.
    async fn positive_follow_up(
        &self,
        mailbox: &Mailbox,
        p: &Pending,
        now: Timestamp,
    ) -> Result<Effect, EngineError> {
        let mail = &p.mail;
        let plain = || draft(mail, &p.new_text, DraftFor::Interest);
        let Some(campaign_id) = p.matched.campaign_id else {
            return Ok(plain());
        };
        let campaign = match self.store.campaign(campaign_id).await {
            Ok(c) => c,
            Err(outreach_store::StoreError::NotFound(_)) => return Ok(plain()),
            Err(e) => return Err(e.into()),
        };
        let follow_up = &campaign.fields.positive_follow_up;
        let Some(template_id) = follow_up.template_id else {
            return Ok(plain());
        };
        let template = match self.store.template(template_id).await {
            Ok(t) => t,
            Err(outreach_store::StoreError::NotFound(_)) => return Ok(plain()),
            Err(e) => return Err(e.into()),
        };
        let answered = AnsweredReply {
            reply_id: 0,
            workspace_id: mailbox.workspace_id,
            prospect_id: p.matched.prospect_id,
            account_id: mailbox.account_id,
            rfc_message_id: mail.message_id.clone(),
            subject: mail.subject.clone(),
        };
        let ctx = AnswerContext::load(&self.store, &answered, mailbox.account_id).await?;
        let (_, vars) = crate::variables::for_recipient(
            &self.keys.unsubscribe,
            &ctx.workspace,
            &ctx.settings,
            &ctx.account,
            &ctx.prospect,
        );
        let tpl = MessageTemplate {
            subject: template.subject.clone(),
            body: template.body.clone(),
        };
        let subject = answer_subject(&mail.subject);
        let seed = ctx.prospect.id.unsigned_abs();
        let problems = template::pre_send_check(
            &tpl,
            false,
            &[template::CheckRecipient {
                prospect_id: ctx.prospect.id,
                spin_seed: seed,
                vars: &vars,
            }],
        );
        let rendered = template::render(&tpl, &vars, seed);
        let (body, problem) = match (rendered, problems.first()) {
            (Ok(r), None) => (r.body, None),
            (Ok(r), Some(problem)) => (r.body, Some(problem.message_for_one())),
            (Err(e), _) => return Ok(plain_with_note(plain(), &e.to_string())),
        };
        if let Some(problem) = problem {
            return Ok(plain_with_note(
                Effect::Draft {
                    subject,
                    body: body.clone(),
                },
                &problem,
            ));
        }
        if follow_up.mode == PositiveMode::Draft {
            return Ok(Effect::Draft { subject, body });
        }
        let tz = resolve_time_zone(
            ctx.prospect.time_zone.as_deref(),
            ctx.prospect.country.as_deref(),
            &ctx.settings.time_zone,
        );
        // A window that cannot be worked out must not hold up the reply: the answer is
        // then due at once.
        let due = tz
            .ok()
            .and_then(|tz| next_send_time(now, &campaign.fields.window, &tz).ok())
            .unwrap_or(now);
        let prepared = prepare_answer(
            &self.store,
            &self.keys,
            &answered,
            &ctx,
            &subject,
            &body,
            due,
        )
        .await?;
        Ok(match prepared {
            Ok(message) => Effect::Queue(message),
            Err(refusal) => plain_with_note(Effect::Draft { subject, body }, &refusal.reason),
        })
    }

    async fn opt_out_effect(&self, p: &Pending, why: &str) -> Result<Effect, EngineError> {
        let prospect = self.store.prospect(p.matched.prospect_id).await?;
        Ok(Effect::OptOut {
            hashes: crate::suppression_entries(&self.keys.suppression, &prospect),
            reason: format!("asked to stop through {why}"),
        })
    }
}

/// The next step after an absence: the day after the stated return, or a default delay.
fn after_absence(date: Option<Date>, now: Timestamp) -> String {
    let at = date
        .and_then(|d| d.checked_add(1.day()).ok())
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .filter(|t| *t > now)
        .unwrap_or_else(|| {
            now.checked_add((DEFAULT_OOO_DELAY_DAYS * 24).hours())
                .unwrap_or(now)
        });
    iso(at)
}

enum DraftFor {
    Interest,
    Question,
}

/// A draft that says, above the text, why it was not queued.
fn plain_with_note(effect: Effect, note: &str) -> Effect {
    match effect {
        Effect::Draft { subject, body } => Effect::Draft {
            subject,
            body: format!("[Not sent automatically: {note}]\n\n{body}"),
        },
        other => other,
    }
}

/// A starting point for the person's answer, quoting what the prospect wrote.
fn draft(mail: &InboundMail, new_text: &str, why: DraftFor) -> Effect {
    let subject = answer_subject(&mail.subject);
    let greeting = mail
        .from_name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .map_or_else(|| "Hi,".to_string(), |n| format!("Hi {n},"));
    let opening = match why {
        DraftFor::Interest => "Great to hear from you, thank you!",
        DraftFor::Question => "Thanks for your question.",
    };
    let quoted: String = new_text.lines().map(|l| format!("> {l}\n")).collect();
    Effect::Draft {
        subject,
        body: format!("{greeting}\n\n{opening}\n\n\n\n{quoted}"),
    }
}

/// The people a referral points to: addresses in the new text other than the sender's, ours
/// and the prospect's, with the name written just before each when there is one.
fn referred(
    new_text: &str,
    mail: &InboundMail,
    prospect: Option<&str>,
) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let words: Vec<&str> = new_text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let candidate = w.trim_matches(|c: char| {
            !(c.is_alphanumeric() || c == '@' || c == '.' || c == '_' || c == '-' || c == '+')
        });
        let candidate = candidate.trim_end_matches('.');
        if !candidate.contains('@') {
            continue;
        }
        let Ok(e) = normalize_email(candidate) else {
            continue;
        };
        let own = mail.from_address.as_deref() == Some(e.address.as_str())
            || prospect == Some(e.address.as_str())
            || mail.to.contains(&e.address);
        if own || out.iter().any(|(a, _)| *a == e.address) {
            continue;
        }
        // "talk to Maria Lopez (maria@…)" or "Maria Lopez <maria@…>": up to two capitalised
        // words right before the address, but not a capitalised verb or greeting that opens
        // the sentence ("Contact Jana jana@…" names Jana).
        let name: Vec<&str> = words[..i]
            .iter()
            .rev()
            .take(2)
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .take_while(|w| w.chars().next().is_some_and(char::is_uppercase) && !is_lead_in(w))
            .collect();
        let name = (!name.is_empty()).then(|| name.into_iter().rev().collect::<Vec<_>>().join(" "));
        out.push((e.address, name));
    }
    out
}

/// Words written capitalised before a contact's address that are not part of the name: the
/// verb or greeting that opens a sentence, and the labels of copied headers (English, German,
/// French, Spanish).
fn is_lead_in(word: &str) -> bool {
    const LEAD_INS: &[&str] = &[
        "contact",
        "email",
        "e-mail",
        "mail",
        "write",
        "ask",
        "reach",
        "try",
        "ping",
        "call",
        "message",
        "please",
        "cc",
        "to",
        "hi",
        "hello",
        "dear",
        "thanks",
        "kontakt",
        "bitte",
        "schreiben",
        "contactez",
        "écrivez",
        "escriba",
        "contacte",
    ];
    let word = word.to_lowercase();
    LEAD_INS.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str, to: &str) -> InboundMail {
        parse(
            format!("From: Ann <{from}>\r\nTo: {to}\r\nSubject: A partnership\r\n\r\nhi\r\n")
                .as_bytes(),
            &Limits::default(),
        )
        .expect("parses")
    }

    #[test]
    fn a_referral_names_the_other_people_not_the_sender_us_or_the_prospect() {
        let m = mail("ann@shop.example", "alex@brand.example");
        let text = "I'm not the right person. Please talk to Maria Lopez (maria@shop.example) \
                    or write to partners@shop.example. You can cc me at ann@shop.example.";
        assert_eq!(
            referred(text, &m, Some("ann@shop.example")),
            vec![
                (
                    "maria@shop.example".to_string(),
                    Some("Maria Lopez".to_string())
                ),
                ("partners@shop.example".to_string(), None),
            ]
        );
        assert!(referred("write to alex@brand.example", &m, None).is_empty());
    }

    #[test]
    fn a_verb_or_header_label_before_the_name_is_not_part_of_it() {
        let m = mail("ann@shop.example", "alex@brand.example");
        let names = |text: &str| -> Vec<Option<String>> {
            referred(text, &m, None)
                .into_iter()
                .map(|(_, n)| n)
                .collect()
        };
        assert_eq!(
            names("Contact Jana jana@shop.example"),
            [Some("Jana".into())]
        );
        assert_eq!(names("Ask Tom tom@shop.example."), [Some("Tom".into())]);
        assert_eq!(
            names("CC: Jana Novak <jana@shop.example>"),
            [Some("Jana Novak".into())]
        );
        assert_eq!(names("Contact: jana@shop.example"), [None]);
        assert_eq!(
            names("Kontakt: Jörg jorg@shop.example"),
            [Some("Jörg".into())]
        );
    }

    #[test]
    fn an_absence_waits_until_the_day_after_the_return_or_a_week() {
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().expect("ts");
        let back = Date::new(2026, 12, 7).expect("date");
        assert_eq!(after_absence(Some(back), now), "2026-12-08T00:00:00.000Z");
        assert_eq!(after_absence(None, now), "2026-12-08T10:00:00.000Z");
        // A return date already past is no reason to wait less than the default.
        let past = Date::new(2026, 11, 1).expect("date");
        assert_eq!(after_absence(Some(past), now), "2026-12-08T10:00:00.000Z");
    }

    #[test]
    fn a_draft_quotes_the_new_text_and_keeps_one_re() {
        let mut m = mail("ann@shop.example", "alex@brand.example");
        m.subject = "Re: A partnership".into();
        let Effect::Draft { subject, body } =
            draft(&m, "What's the rate?\nAnd the term?", DraftFor::Question)
        else {
            panic!("a draft");
        };
        assert_eq!(subject, "Re: A partnership");
        assert!(body.starts_with("Hi Ann,\n\nThanks for your question."));
        assert!(body.ends_with("> What's the rate?\n> And the term?\n"));
    }
}

//! Answering replies from the command line, against real servers: a campaign goes out over
//! Postfix's smtp-sink, replies land in a Dovecot Maildir, `outreach run` reads them, and
//! the answers (the campaign's positive follow-up, and a person's answer with
//! `outreach replies answer`) go out through the outbox in the reply's thread, behind the
//! compliance gate.
#![cfg(unix)]
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use outreach_testkit::{Dovecot, SmtpSink as Sink};
use serde_json::Value;

mod support;
use support::Env;

const CSV: &str = "first_name,last_name,email,company,country\n\
Ada,Lovelace,ada@analytical.example,Analytical Engines,United Kingdom\n\
Bob,Byron,bob@byron.example,Byron Books,United Kingdom\n\
Cy,Young,cy@young.example,Young Media,USA\n";

/// The sink's messages to `to`: the campaign's first, then the answers (those with
/// `In-Reply-To`).
fn sent_to(sink: &Sink, to: &str) -> Vec<String> {
    let mut all: Vec<String> = sink
        .texts()
        .into_iter()
        .filter(|m| m.contains(&format!("<{to}>")))
        .collect();
    all.sort_by_key(|m| header(m, "In-Reply-To").is_some());
    all
}

/// The Message-ID (without brackets) of the campaign's first message to `to`.
fn ours(sink: &Sink, to: &str) -> String {
    header(&sent_to(sink, to)[0], "Message-ID")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

/// A reply from `from` to our message `ours`, with Message-ID `<id>`.
fn reply(from: &str, id: &str, ours: &str, body: &str) -> Vec<u8> {
    let date = support::mail_date();
    format!(
        "From: {from}\r\nTo: Alex Partner <alex@brand.example>\r\nSubject: Re: A partnership\r\n\
         Date: {date}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{ours}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn reply_of(env: &Env, email: &str) -> Value {
    env.json(&["replies", "list", "-w", "Acme", "--all"])
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["from_address"] == email)
        .unwrap_or_else(|| panic!("no reply from {email}"))
        .clone()
}

/// A one-step campaign sent to the CSV's people over the sink, whose replies are read from a
/// Dovecot.
fn launched() -> (Sink, Dovecot, Env) {
    let sink = Sink::start();
    let dovecot = Dovecot::start();
    let env = Env::new();
    env.campaign_ready(&sink, CSV);
    env.dovecot_mailbox("sink", &dovecot);
    env.started_campaign("Launch", "sink");
    env.ok(&["run", "--until-idle"]);
    (sink, dovecot, env)
}

#[test]
fn interested_replies_get_the_positive_follow_up_and_people_answer_the_rest() {
    let mut sink = Sink::start();
    let mut dovecot = Dovecot::start();
    let env = Env::new();
    env.campaign_ready(&sink, CSV);
    env.dovecot_mailbox("sink", &dovecot);
    env.save_template(
        "welcome",
        "Welcome",
        "Wonderful, {{ first_name }}! You can sign up at https://brand.example/join.\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    env.always_open_campaign_with(
        "Launch",
        "sink",
        &["first"],
        &["--positive", "welcome", "--positive-mode", "queue"],
    );
    let campaign = env.json(&["campaign", "status", "-w", "Acme", "Launch"]);
    assert_eq!(
        campaign["campaign"]["fields"]["positive_follow_up"]["mode"], "queue",
        "{campaign:#}"
    );
    env.ok(&["campaign", "enrol", "-w", "Acme", "Launch"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Launch"]);
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sink.texts().len(), 3, "one first message each");

    dovecot.deliver(&reply(
        "Ada Lovelace <ada@analytical.example>",
        "ada-1@analytical.example",
        &ours(&sink, "ada@analytical.example"),
        "Yes, this sounds great - let's set up a call next week!",
    ));
    dovecot.deliver(&reply(
        "Bob Byron <bob@byron.example>",
        "bob-1@byron.example",
        &ours(&sink, "bob@byron.example"),
        "What commission do you pay, and how long does the cookie last?",
    ));
    dovecot.deliver(&reply(
        "Cy Young <cy@young.example>",
        "cy-1@young.example",
        &ours(&sink, "cy@young.example"),
        "Please remove me from your list.",
    ));
    env.ok(&["run", "--until-idle"]);
    // The follow-up was queued with the reply; a second run certainly sends it.
    env.ok(&["run", "--until-idle"]);

    // Ada: the campaign's follow-up, in her thread, with the compliance lines.
    let to_ada = sent_to(&sink, "ada@analytical.example");
    assert_eq!(to_ada.len(), 2, "{to_ada:#?}");
    let follow_up = &to_ada[1];
    assert!(follow_up.contains("Wonderful, Ada!"), "{follow_up}");
    assert_eq!(
        header(follow_up, "In-Reply-To"),
        Some("<ada-1@analytical.example>")
    );
    assert_eq!(
        header(follow_up, "References"),
        Some("<ada-1@analytical.example>")
    );
    assert_eq!(header(follow_up, "Subject"), Some("Re: A partnership"));
    assert!(follow_up.contains("10115 Berlin"), "{follow_up}");
    let ada = reply_of(&env, "ada@analytical.example");
    assert!(
        ada["actions"]
            .as_str()
            .unwrap()
            .contains("positive follow-up queued"),
        "{ada:#}"
    );
    assert_eq!(ada["needs_reply"], true, "a person still reads it");

    // Bob: a question gets a draft, which a leftover placeholder keeps from being sent.
    let bob = reply_of(&env, "bob@byron.example");
    assert_eq!(bob["intent"], "question", "{bob:#}");
    let bob_id = bob["id"].to_string();
    let drafted = env.ok(&["replies", "show", &bob_id]);
    assert!(drafted.contains("(draft)"), "{drafted}");
    let refused = env.fails(&[
        "replies",
        "answer",
        &bob_id,
        "--body",
        "Hi Bob, we pay 20% on every sale: [LINK]",
    ]);
    assert_eq!(refused["code"], "compliance_refused", "{refused:#}");
    assert!(
        refused["message"].as_str().unwrap().contains("[LINK]"),
        "{refused:#}"
    );
    let answered = env.json(&[
        "replies",
        "answer",
        &bob_id,
        "--body",
        "Hi Bob,\n\nwe pay 20% on every sale; the cookie lasts 30 days.\n\nAlex",
    ]);
    assert_eq!(answered["state"], "queued", "{answered:#}");
    // A second answer starts a new draft; saving it sends nothing.
    let second = env.json(&[
        "replies",
        "answer",
        &bob_id,
        "--draft",
        "--body",
        "One more thing: we also pay for reviews.",
    ]);
    assert_eq!(second["state"], "draft", "{second:#}");
    assert_ne!(second["id"], answered["id"]);
    env.ok(&["run", "--until-idle"]);
    let to_bob = sent_to(&sink, "bob@byron.example");
    assert_eq!(to_bob.len(), 2, "{to_bob:#?}");
    let answer = &to_bob[1];
    assert!(answer.contains("we pay 20% on every sale"), "{answer}");
    assert_eq!(header(answer, "In-Reply-To"), Some("<bob-1@byron.example>"));
    assert!(
        answer.contains("Not interested? Reply \"unsubscribe\""),
        "the opt-out line is added: {answer}"
    );
    assert!(answer.contains("10115 Berlin"), "{answer}");
    assert!(header(answer, "List-Unsubscribe").is_some(), "{answer}");
    let shown = env.ok(&["replies", "show", &bob_id]);
    assert!(shown.contains("(sent)"), "{shown}");
    assert_eq!(reply_of(&env, "bob@byron.example")["needs_reply"], false);

    // Cy asked to be removed: no answer reaches him.
    let cy_id = reply_of(&env, "cy@young.example")["id"].to_string();
    let blocked = env.fails(&[
        "replies",
        "answer",
        &cy_id,
        "--body",
        "Sorry to see you go!",
    ]);
    assert_eq!(blocked["code"], "compliance_refused", "{blocked:#}");
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sent_to(&sink, "cy@young.example").len(), 1);
    let audit = env.ok(&["audit", "-w", "Acme"]);
    assert!(audit.contains("reply.answer_blocked"), "{audit}");
    assert!(audit.contains("reply.answer_queued"), "{audit}");
    assert_eq!(
        sink.texts().len(),
        5,
        "3 firsts, Ada's follow-up, Bob's answer"
    );

    // Bob's second answer: the server takes the data and drops the connection without a
    // word, so nobody knows whether it went out. It waits for a person, never resent alone.
    let none = env.fails(&["replies", "resolve", &bob_id, "--choice", "resend"]);
    assert_eq!(none["code"], "not_found", "{none:#}");
    sink.restart_with(&["-q", "."]);
    env.ok(&["replies", "answer", &bob_id]);
    env.ok(&["run", "--until-idle"]);
    let shown = env.ok(&["replies", "show", &bob_id]);
    assert!(shown.contains("(unconfirmed)"), "{shown}");
    let reviews = |sink: &Sink| {
        sent_to(sink, "bob@byron.example")
            .iter()
            .filter(|m| m.contains("we also pay for reviews"))
            .count()
    };
    sink.restart_with(&[]);
    let before = reviews(&sink);
    env.ok(&["run", "--until-idle"]);
    assert_eq!(
        reviews(&sink),
        before,
        "an unconfirmed answer is not resent alone"
    );
    let bad = env.fails(&["replies", "resolve", &bob_id, "--choice", "again"]);
    assert_eq!(bad["code"], "invalid_input", "{bad:#}");
    let resolved = env.json(&["replies", "resolve", &bob_id, "--choice", "resend"]);
    assert_eq!(resolved, 1, "{resolved}");
    env.ok(&["run", "--until-idle"]);
    assert_eq!(
        reviews(&sink),
        before + 1,
        "the person's resend goes out once"
    );
    let shown = env.ok(&["replies", "show", &bob_id]);
    assert!(!shown.contains("(unconfirmed)"), "{shown}");
    assert!(shown.contains("we also pay for reviews"), "{shown}");
    let audit = env.ok(&["audit", "-w", "Acme"]);
    assert!(audit.contains("queued again"), "{audit}");
}

#[test]
fn a_referred_contact_is_added_as_a_prospect_once_or_dismissed() {
    let (sink, mut dovecot, env) = launched();
    // Bob asked not to be contacted again.
    let bob = env
        .json(&["prospects", "list", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "bob@byron.example")
        .unwrap()["id"]
        .to_string();
    env.ok(&["consent", "opt-out", &bob]);
    dovecot.deliver(&reply(
        "Ada Lovelace <ada@analytical.example>",
        "ada-2@analytical.example",
        &ours(&sink, "ada@analytical.example"),
        "I am not the right person. Please contact my colleague Jana Novak jana@analytical.example, and Tom tom@elsewhere.example knows more, as does Bob bob@byron.example.",
    ));
    env.ok(&["run", "--until-idle"]);
    let ada = reply_of(&env, "ada@analytical.example");
    assert_eq!(ada["intent"], "referral", "{ada:#}");
    let id = ada["id"].to_string();
    let shown = env.ok(&["replies", "show", &id]);
    assert!(
        shown.contains("Jana Novak <jana@analytical.example> (proposed)"),
        "{shown}"
    );
    let ids: Vec<String> = shown
        .lines()
        .filter_map(|l| l.strip_prefix("referral #"))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{shown}");

    let jana = env.json(&["replies", "referral", &ids[0], "accept"]);
    assert_eq!(jana["state"], "accepted", "{jana:#}");
    let prospect = env.json(&["prospects", "show", &jana["prospect_id"].to_string()]);
    let p = if prospect.get("prospect").is_some() {
        prospect["prospect"].clone()
    } else {
        prospect.clone()
    };
    assert_eq!(p["email"], "jana@analytical.example", "{prospect:#}");
    assert_eq!(p["first_name"], "Jana");
    assert_eq!(p["last_name"], "Novak");
    assert_eq!(
        p["company"], "Analytical Engines",
        "same domain, same company"
    );
    assert_eq!(p["lawful_basis"], "none", "a person decides before writing");
    assert!(
        p["notes"]
            .as_str()
            .unwrap()
            .contains("Referred by Ada Lovelace"),
        "{p:#}"
    );
    let again = env.fails(&["replies", "referral", &ids[0], "accept"]);
    assert_eq!(again["code"], "conflict", "{again:#}");

    let tom = env.json(&["replies", "referral", &ids[1], "dismiss"]);
    assert_eq!(tom["state"], "dismissed");
    assert_eq!(tom["prospect_id"], Value::Null);
    // An address on the suppression list is never added back.
    let refused = env.fails(&["replies", "referral", &ids[2], "accept"]);
    assert_eq!(refused["code"], "compliance_refused", "{refused:#}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("asked not to be contacted"),
        "{refused:#}"
    );
    assert!(
        env.ok(&["replies", "show", &id])
            .contains("<bob@byron.example> (proposed)")
    );
    let all = env.json(&["prospects", "list", "-w", "Acme"]);
    let emails: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["email"].as_str())
        .collect();
    assert_eq!(emails.len(), 4, "{emails:?}");
    assert!(!emails.contains(&"tom@elsewhere.example"));
    let audit = env.ok(&["audit", "-w", "Acme"]);
    assert!(audit.contains("referral.settled"), "{audit}");
}

#[test]
fn a_reply_read_through_a_removed_account_stays_and_is_answered_from_another() {
    let (sink, mut dovecot, env) = launched();
    dovecot.deliver(&reply(
        "Bob Byron <bob@byron.example>",
        "bob-1@byron.example",
        &ours(&sink, "bob@byron.example"),
        "What commission do you pay?",
    ));
    env.ok(&["run", "--until-idle"]);
    let bob = reply_of(&env, "bob@byron.example")["id"].to_string();

    // The client moves to another mail provider: the campaign (one step, so over) and the
    // account go.
    env.ok(&["campaign", "delete", "-w", "Acme", "Launch"]);
    env.ok(&["account", "delete", "-w", "Acme", "sink", "--yes"]);

    let refused = env.fails(&["replies", "answer", &bob, "--body", "Hi Bob, 20%."]);
    assert_eq!(refused["code"], "conflict", "{refused:#}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("would go out from (#1) was removed; choose another account"),
        "{refused:#}"
    );
    // The reply and the words written stay; nothing went out.
    let shown = env.ok(&["replies", "show", &bob]);
    assert!(shown.contains("What commission do you pay?"), "{shown}");
    assert!(shown.contains("Hi Bob, 20%."), "{shown}");
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sent_to(&sink, "bob@byron.example").len(), 1);

    // Nor can the removed account be chosen again; an account of the new provider can.
    let refused = env.fails(&["replies", "answer", &bob, "--from", "sink"]);
    assert_eq!(refused["code"], "not_found", "{refused:#}");
    env.loopback_account("new provider", &sink, &[]);
    let queued = env.json(&["replies", "answer", &bob, "--from", "new provider"]);
    assert_eq!(queued["state"], "queued", "{queued:#}");
    let accounts = env.json(&["account", "list", "-w", "Acme"]);
    assert_eq!(
        accounts[0]["fields"]["name"], "new provider",
        "{accounts:#}"
    );
    assert_eq!(queued["account_id"], accounts[0]["id"], "{queued:#}");
    env.ok(&["run", "--until-idle"]);
    let both = sent_to(&sink, "bob@byron.example");
    assert_eq!(both.len(), 2);
    // In Bob's thread, with what was written.
    assert_eq!(
        header(&both[1], "In-Reply-To"),
        Some("<bob-1@byron.example>")
    );
    assert!(both[1].contains("Hi Bob, 20%."), "{}", both[1]);
}

//! Replies from the command line against real servers: a campaign goes out over Postfix's
//! smtp-sink, replies land in a Dovecot Maildir, and `outreach run` reads them over IMAP:
//! matching by thread, sender and token, quoted history stripped, out-of-office rescheduling,
//! a hard bounce, the unsubscribe token, a plain "remove me", a forged token (ignored,
//! audited), a MIME bomb (unparseable, the poller goes on), unrelated mail (not stored), and a
//! reply arriving while the next step is queued (that step is cancelled).
#![cfg(unix)]
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use outreach_testkit::{Dovecot, SmtpSink as Sink};
use serde_json::Value;

mod support;
use support::{Env, eventually, eventually_or};

const CSV: &str = "first_name,last_name,email,company,country\n\
Ada,Lovelace,ada@analytical.example,Analytical Engines,United Kingdom\n\
Bob,Byron,bob@byron.example,Byron Books,United Kingdom\n\
Cy,Young,cy@young.example,Young Media,USA\n\
Dee,Dee,dee@gone.example,Gone Ltd,USA\n\
Eve,Adams,eve@adams.example,Adams Blog,USA\n\
Fay,Wray,fay@wray.example,Wray Reviews,USA\n";

/// The message the sink received for `to`: (Message-ID without brackets, unsubscribe token).
fn sent_to(sink: &Sink, to: &str) -> (String, String) {
    let m = sink
        .texts()
        .into_iter()
        .find(|m| m.contains(&format!("<{to}>")) || m.contains(&format!("To: {to}")))
        .unwrap_or_else(|| panic!("nothing was sent to {to}"));
    let id = m
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    let token = m
        .split("subject=unsubscribe%20")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_string();
    (id, token)
}

fn mail(from: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    let date = support::mail_date();
    format!(
        "From: {from}\r\nTo: Alex Partner <alex@brand.example>\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMessage-ID: <{}@client.example>\r\n{extra_headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}",
        subject.len() + body.len() + from.len()
    )
    .into_bytes()
}

/// A delivery-status notification for `recipient` returning the message `original`.
fn bounce(recipient: &str, original: &str) -> Vec<u8> {
    let date = support::mail_date();
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.gone.example>\r\n\
         To: alex@brand.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Date: {date}\r\nMessage-ID: <dsn1@mx.gone.example>\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.gone.example\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: Alex Partner <alex@brand.example>\r\nTo: {recipient}\r\n\
         Message-ID: <{original}>\r\nSubject: A partnership\r\n\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// Multipart nested far deeper than any real mail.
fn mime_bomb() -> Vec<u8> {
    let mut body = String::from("Content-Type: text/plain\r\n\r\nboom\r\n");
    for depth in 0..40 {
        body = format!(
            "Content-Type: multipart/mixed; boundary=\"d{depth}\"\r\n\r\n--d{depth}\r\n{body}--d{depth}--\r\n"
        );
    }
    format!(
        "From: Ada <ada@analytical.example>\r\nTo: alex@brand.example\r\nSubject: Re: hi\r\n\
         Message-ID: <bomb@analytical.example>\r\nMIME-Version: 1.0\r\n{body}"
    )
    .into_bytes()
}

fn prospect(env: &Env, email: &str) -> Value {
    let all = env.json(&["prospects", "list", "-w", "Acme"]);
    let id = all
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == email)
        .unwrap()["id"]
        .clone();
    env.json(&["prospects", "show", &id.to_string()])
}

#[test]
fn replies_are_read_matched_understood_and_acted_on() {
    let sink = Sink::start();
    let mut dovecot = Dovecot::start();
    let env = Env::new();
    env.campaign_ready_with(&sink, CSV, &["--per-minute", "6"]);
    let out = env.dovecot_mailbox("sink", &dovecot);
    assert!(out.contains("are read from 127.0.0.1"), "{out}");
    assert!(
        env.ok(&["mailbox", "test", "-w", "Acme", "sink"])
            .contains("IDLE"),
        "Dovecot offers IDLE"
    );
    env.always_open_campaign("Launch", "sink", &["first", "follow@0"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Launch"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Launch"]);
    let engine = env.engine("engine.log");

    // The cap lets the six first steps through and holds the six follow-ups for a minute:
    // the replies arrive while those are queued.
    sink.wait_for(6, Duration::from_secs(60));
    eventually(
        "the follow-ups to be queued",
        Duration::from_secs(20),
        || env.progress("Launch")["queued"] == 6,
    );
    let (ada_id, _) = sent_to(&sink, "ada@analytical.example");
    let (dee_id, _) = sent_to(&sink, "dee@gone.example");
    let (_, eve_token) = sent_to(&sink, "eve@adams.example");

    // Ada answers in the thread, above the quoted original and her signature.
    dovecot.deliver(&mail(
        "Ada Lovelace <ada@analytical.example>",
        "Re: A partnership for Ada",
        &format!("In-Reply-To: <{ada_id}>\r\nReferences: <{ada_id}>\r\n"),
        "Yes, this sounds great - let's set up a call next week!\r\n\r\n-- \r\nAda\r\n\r\n\
         On Tue, 24 Nov 2026 at 09:00, Alex Partner <alex@brand.example> wrote:\r\n\
         > Hi Ada, your site Analytical Engines caught our eye.\r\n",
    ));
    // Bob writes a new message (no threading) asking to be removed.
    dovecot.deliver(&mail(
        "Bob Byron <bob@byron.example>",
        "your email",
        "",
        "Please remove me from your list.\r\n",
    ));
    // Cy is away: an automatic answer with a return date.
    dovecot.deliver(&mail(
        "Cy Young <cy@young.example>",
        "Automatic reply: A partnership for Cy",
        "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
        "I am out of the office until 14 December 2026 with limited access to email.\r\n",
    ));
    // Dee's address does not exist.
    dovecot.deliver(&bounce("dee@gone.example", &dee_id));
    // Eve's mail client uses the List-Unsubscribe address.
    dovecot.deliver(&mail(
        "eve@adams.example",
        &format!("unsubscribe {eve_token}"),
        "",
        "This message was sent automatically to unsubscribe.\r\n",
    ));
    // A stranger forges a token for Fay; a hostile message; mail unrelated to any campaign.
    // Tokens are read case-insensitively (mail software may change a subject's case), so the
    // forgery changes the last hex digit's value, not its case: "…a" made "…A" was Eve's own
    // token, accepted, one run in sixteen.
    let mut forged = eve_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    dovecot.deliver(&mail(
        "prankster@evil.example",
        &format!("unsubscribe {forged}"),
        "",
        "gotcha\r\n",
    ));
    dovecot.deliver(&mime_bomb());
    dovecot.deliver(&mail(
        "newsletter@news.example",
        "Your weekly digest",
        "",
        "Ten things you missed.\r\n",
    ));

    let stored = || env.json(&["replies", "list", "-w", "Acme", "--all"]);
    eventually_or(
        "five replies to be stored",
        Duration::from_secs(30),
        || stored().as_array().unwrap().len() == 5,
        // What the engine said and what it stored, for a failure that does not reproduce.
        || {
            let log = std::fs::read_to_string(env.path("engine.log")).unwrap_or_default();
            format!("stored: {}\nengine log:\n{log}", stored())
        },
    );
    let all = env.json(&["replies", "list", "-w", "Acme", "--all"]);
    let by = |email: &str| -> Value {
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["from_address"] == email)
            .unwrap_or_else(|| panic!("no reply from {email}: {all:#}"))
            .clone()
    };

    let ada = by("ada@analytical.example");
    assert_eq!(ada["matched_by"], "thread");
    assert_eq!(ada["kind"], "human");
    assert_eq!(
        ada["new_text"], "Yes, this sounds great - let's set up a call next week!",
        "quoted history and signature stripped"
    );
    assert_eq!(ada["needs_reply"], true);
    assert!(
        ada["actions"]
            .as_str()
            .unwrap()
            .contains("sequence stopped; 1 queued message cancelled"),
        "{ada:#}"
    );
    assert_eq!(
        prospect(&env, "ada@analytical.example")["status"],
        "interested"
    );

    let bob = by("bob@byron.example");
    assert_eq!(bob["matched_by"], "sender");
    assert_eq!(bob["intent"], "unsubscribe");
    assert_eq!(
        prospect(&env, "bob@byron.example")["status"],
        "unsubscribed"
    );

    let cy = by("cy@young.example");
    assert_eq!(cy["kind"], "auto_reply");
    assert_eq!(cy["intent"], "out_of_office");
    assert_eq!(cy["return_date"], "2026-12-14");
    assert!(
        cy["actions"]
            .as_str()
            .unwrap()
            .contains("next step after 2026-12-15")
    );
    assert_eq!(prospect(&env, "cy@young.example")["status"], "contacted");

    let dee = by("mailer-daemon@mx.gone.example");
    assert_eq!(dee["kind"], "bounce");
    assert_eq!(
        dee["matched_by"], "bounce",
        "tied by the original Message-ID it returns"
    );
    assert_eq!(dee["bounce_status"], "5.1.1");
    assert_eq!(prospect(&env, "dee@gone.example")["status"], "bounced");

    let eve = by("eve@adams.example");
    assert_eq!(eve["matched_by"], "token");
    assert_eq!(eve["intent"], "unsubscribe");
    assert_eq!(
        prospect(&env, "eve@adams.example")["status"],
        "unsubscribed"
    );

    // The default list is what people wrote: no bounce, no auto-reply.
    let human = env.json(&["replies", "list", "-w", "Acme"]);
    assert_eq!(human.as_array().unwrap().len(), 3, "{human:#}");

    let actions = env.audit_actions(&["-w", "Acme", "--limit", "200"]);
    assert_eq!(
        actions.iter().filter(|a| **a == "reply.received").count(),
        5
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "reply.forged_token")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "reply.unparseable")
            .count(),
        1
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "consent.opt_out").count(),
        2
    );
    assert_eq!(prospect(&env, "fay@wray.example")["status"], "contacted");

    // After the minute only Fay, who did not answer, gets her follow-up: the others' were
    // cancelled, and Cy's waits for 15 December.
    sink.wait_for(7, Duration::from_secs(90));
    std::thread::sleep(Duration::from_secs(3));
    let follow_ups: Vec<String> = sink
        .texts()
        .into_iter()
        .filter(|m| m.contains("just following up"))
        .collect();
    assert_eq!(follow_ups.len(), 1, "only Fay's follow-up goes out");
    assert!(follow_ups[0].contains("fay@wray.example"));
    drop(engine);

    // Where the six stand: Cy's sequence waits for her return, Fay's ran its course, Ada's
    // reply stopped hers; Bob and Eve opted out and Dee bounced. Dee's bounce is the
    // campaign's one delivery error: the follow-ups withdrawn after a reply, an opt-out or the
    // bounce did not fail.
    let p = env.progress("Launch");
    assert_eq!(
        [
            &p["enrolled"],
            &p["active"],
            &p["completed"],
            &p["replied"],
            &p["stopped"]
        ],
        [6, 1, 1, 1, 3],
        "{p}"
    );
    // In the words of the server that refused it, not the bare status code.
    assert_eq!(
        p["last_error"], "550 5.1.1 <dee@gone.example>: Recipient address rejected",
        "{p}"
    );
    // The people behind those figures, and why each of them stopped.
    let people = |args: &[&str]| -> Vec<(String, String, String)> {
        let mut all = vec!["campaign", "people", "-w", "Acme", "Launch"];
        all.extend_from_slice(args);
        let mut rows: Vec<(String, String, String)> = env
            .json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (text("email"), text("state"), text("reason"))
            })
            .collect();
        rows.sort();
        rows
    };
    let row = |email: &str, state: &str, reason: &str| {
        (email.to_string(), state.to_string(), reason.to_string())
    };
    assert_eq!(
        people(&["--group", "stopped"]),
        [
            row("bob@byron.example", "stopped", "opted out"),
            row("dee@gone.example", "failed", "the address bounced"),
            row("eve@adams.example", "stopped", "opted out"),
        ]
    );
    let replied = people(&["--group", "replied"]);
    assert_eq!(replied.len(), 1, "{replied:?}");
    assert_eq!(replied[0].0, "ada@analytical.example");
    assert_eq!(people(&[]).len(), 6);
    let table = env.ok(&[
        "campaign", "people", "-w", "Acme", "Launch", "--group", "active",
    ]);
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("cy@young.example")),
        "{table}"
    );
    let err = env.fails(&[
        "campaign", "people", "-w", "Acme", "Launch", "--group", "gone",
    ]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    let err = env.fails(&["campaign", "people", "-w", "Acme", "Launch", "--limit", "0"]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    // A prospect's details say which campaigns they are in and where they stand.
    let eve = prospect(&env, "eve@adams.example");
    let shown = env.ok(&["prospects", "show", &eve["id"].to_string()]);
    assert!(
        shown.contains("campaign       Launch (running): stopped (opted out), next step 2"),
        "{shown}"
    );
    // Her retention period runs from her reply.
    assert!(
        shown.lines().any(|l| l.starts_with("last reply     20")),
        "{shown}"
    );

    // Nothing was deleted or moved in the mailbox; what was read carries our keyword.
    assert_eq!(dovecot.message_count(), 8);
    // Dovecot writes keywords as letters from `a` on; the two messages that answer nothing of
    // ours keep no flag at all, and nothing is marked read.
    let flags = dovecot.maildir_flags();
    assert_eq!(flags.len(), 8, "{flags:?}");
    assert!(flags.iter().all(|f| !f.contains('S')), "{flags:?}");
    assert_eq!(
        flags.iter().filter(|f| f.is_empty()).count(),
        2,
        "{flags:?}"
    );

    // A person corrects an intent; the reply shows it and the prospect moves.
    let bob_id = bob["id"].to_string();
    let show = env.ok(&["replies", "show", &ada["id"].to_string()]);
    assert!(show.contains("intent:     interested"), "{show}");
    let relabelled = env.json(&["replies", "relabel", &bob_id, "not_interested"]);
    assert_eq!(relabelled["intent"], "not_interested");
    assert_eq!(relabelled["intent_source"], "user");
}

#[test]
fn run_until_idle_reads_the_mailboxes_before_it_stops() {
    let sink = Sink::start();
    let mut dovecot = Dovecot::start();
    let env = Env::new();
    env.campaign_ready(
        &sink,
        "first_name,email,company\nAda,ada@analytical.example,Analytical Engines\n",
    );
    env.dovecot_mailbox("sink", &dovecot);
    env.started_campaign("Once", "sink");
    env.ok(&["run", "--until-idle"]);
    let (ada_id, _) = sent_to(&sink, "ada@analytical.example");
    dovecot.deliver(&mail(
        "Ada <ada@analytical.example>",
        "Re: A partnership",
        &format!("In-Reply-To: <{ada_id}>\r\n"),
        "No thanks, this is not for us.\r\n",
    ));
    // Nothing to send: the run still reads the mailbox once before it stops.
    env.ok(&["run", "--until-idle"]);
    let replies = env.json(&["replies", "list", "-w", "Acme"]);
    assert_eq!(replies.as_array().unwrap().len(), 1, "{replies:#}");
    assert_eq!(replies[0]["matched_by"], "thread");
}

#[test]
fn classify_prints_one_json_object_per_line() {
    let env = Env::new();
    let out = env.ok_with_stdin(
        &["classify"],
        "Yes please, send me the details!\nPlease remove me from your list.\n\nNo thanks, not for us.\n",
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for l in &lines {
        let s = l["sentiment"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s), "{l}");
        let c = l["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{l}");
    }
    assert_eq!(lines[1]["intent"], "unsubscribe");
    assert_eq!(lines[2]["intent"], "other");
    assert!(lines[0]["sentiment"].as_f64().unwrap() > 0.0);
}

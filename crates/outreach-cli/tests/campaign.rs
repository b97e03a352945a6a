//! A whole campaign from the command line against a real SMTP server (Postfix's smtp-sink):
//! accounts, templates with the pre-send check, lawful basis, enrolment with refusals,
//! start, the engine (`outreach run`), and what arrives on the wire. Also the crash test:
//! killing the engine with SIGKILL again and again never sends a step twice.
#![cfg(unix)]
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use outreach_testkit::{SessionLimitedSmtp, SmtpSink as Sink, header_value};

mod support;
use support::{Env, eventually};

const CSV: &str = "first_name,last_name,email,company,country\n\
Ada,Lovelace,ada@analytical.example,Analytical Engines,United Kingdom\n\
Grace,Hopper,grace@cobol.example,Cobol Works,USA\n\
Jurgen,Schmidt,jurgen@beispiel.example,Beispiel GmbH,Germany\n\
\"Bob\r\nBcc: x@evil.example\",Evil,bob@evil.example,Evil Corp,France\n\
Alan,Turing,alan@bletchley.example,Bletchley,United Kingdom\n";

#[test]
fn a_two_step_campaign_reaches_the_sink_with_every_compliance_part() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, CSV);

    env.always_open_campaign("Launch", "sink", &["first", "follow@0"]);
    // A saved filter selects whom to enrol, as it does in the app.
    env.ok(&[
        "prospects",
        "save-filter",
        "-w",
        "Acme",
        "UK",
        "--country",
        "GB",
    ]);
    let uk = env.json(&[
        "campaign",
        "enrol",
        "-w",
        "Acme",
        "Launch",
        "--filter",
        "uk",
        "--dry-run",
    ]);
    assert_eq!(uk["will_enrol"], 2, "Ada and Alan: {uk}");
    // Or named one by one, as the app's ticked rows are.
    let people = env.json(&["prospects", "list", "-w", "Acme", "--sort", "name"]);
    let ada = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "ada@analytical.example")
        .unwrap()["id"]
        .to_string();
    let one = env.json(&[
        "campaign",
        "enrol",
        "-w",
        "Acme",
        "Launch",
        "--id",
        &ada,
        "--dry-run",
    ]);
    assert_eq!(one["will_enrol"], 1, "{one}");
    // Germany is consent-only by default: Jurgen has legitimate interest only.
    let preview = env.json(&["campaign", "enrol", "-w", "Acme", "Launch", "--dry-run"]);
    assert_eq!(preview["will_enrol"], 4, "{preview}");
    assert_eq!(preview["refused"][0]["code"], "consent_required");
    // The enrolment itself says who it left out and why, as the preview did.
    let enrolled = env.json(&["campaign", "enrol", "-w", "Acme", "Launch"]);
    assert_eq!(enrolled["enrolled"], 4, "{enrolled}");
    assert_eq!(enrolled["already_enrolled"], 0, "{enrolled}");
    assert_eq!(enrolled["refused"], preview["refused"], "{enrolled}");
    let again = env.json(&["campaign", "enrol", "-w", "Acme", "Launch"]);
    assert_eq!(
        (&again["enrolled"], &again["already_enrolled"]),
        (&serde_json::json!(0), &serde_json::json!(4)),
        "{again}"
    );

    // A follow-up template without the opt-out line fails the pre-send check; start refuses.
    env.save_template(
        "follow",
        "Re: us",
        "Hi {{ first_name }}, [FIRST LINE]\n{{ postal_address }}\n",
    );
    let err = env.fails(&["campaign", "start", "-w", "Acme", "Launch"]);
    assert_eq!(err["code"], "pre_send_check", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("opt-out"),
        "{err}"
    );
    env.save_template(
        "follow",
        "Re: a partnership",
        "Hi {{ first_name | default(\"there\") }}, just following up.\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    env.ok(&["campaign", "check", "-w", "Acme", "Launch"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Launch"]);

    env.ok(&["run", "--until-idle"]);

    let status = env.json(&["campaign", "status", "-w", "Acme", "Launch"]);
    let p = &status["progress"];
    // Import already folds the line break in Bob's name into a space, so he gets his messages
    // with the text in his display name, never as a header of its own.
    assert_eq!(p["sent"], 8, "{status}");
    assert_eq!(p["blocked"], 0, "{status}");
    assert_eq!(status["status"], "completed", "{status}");
    // Every enrolment ran its course: none is counted as replied or stopped.
    assert_eq!(
        [
            &p["enrolled"],
            &p["completed"],
            &p["active"],
            &p["replied"],
            &p["stopped"]
        ],
        [4, 4, 0, 0, 0],
        "{status}"
    );
    // The list shows the same figures, and the names a script passes to the other commands.
    let listed = env.json(&["campaign", "list", "-w", "Acme"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["campaign"]["fields"]["name"], "Launch");
    assert_eq!(listed[0]["status"], "completed");
    assert_eq!(listed[0]["progress"], status["progress"]);
    let table = env.ok(&["campaign", "list", "-w", "Acme"]);
    let row = table.lines().nth(1).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[1..10],
        ["Launch", "completed", "sink", "2", "4", "0", "8", "0", "0"],
        "{table}"
    );

    let received = sink.texts();
    assert_eq!(received.len(), 8);
    let mut ids = HashSet::new();
    for m in &received {
        assert!(
            !m.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "injected header reached the wire:\n{m}"
        );
        assert!(
            m.contains("List-Unsubscribe: <mailto:alex@brand.example?subject=unsubscribe%20u"),
            "{m}"
        );
        assert!(m.contains("1 Main Street"), "{m}");
        assert!(m.contains("Not interested? Reply"), "{m}");
        let id = m
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            .unwrap()
            .to_string();
        assert!(ids.insert(id), "Message-ID received twice");
    }
    let to_ada: Vec<&String> = received
        .iter()
        .filter(|m| m.contains("ada@analytical.example"))
        .collect();
    assert_eq!(to_ada.len(), 2);
    let first = to_ada
        .iter()
        .find(|m| m.contains("Subject: A partnership for Ada"))
        .unwrap();
    assert!(
        first.contains("Where your details come from"),
        "Art. 14 notice missing:\n{first}"
    );

    // Every send and refusal is in the audit log.
    let actions = env.audit_actions(&["-w", "Acme", "--limit", "200"]);
    assert_eq!(actions.iter().filter(|a| **a == "send.sent").count(), 8);
    assert!(actions.iter().any(|a| a == "campaign.enrol"));
    assert!(actions.iter().any(|a| a == "campaign.start"));
}

#[test]
fn a_second_engine_on_the_same_data_folder_is_refused() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Solo"]);
    let mut first = env.cmd(&["run"]).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let err = env.fails(&["run"]);
    assert_eq!(err["code"], "engine_running", "{err}");
    let _ = first.kill();
    let _ = first.wait();
}

#[test]
fn sigterm_stops_the_engine_cleanly_after_it_has_run_a_while() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Solo"]);
    let mut engine = env.engine("engine.log");
    // Several of the idle checks' ticks pass before the signal comes.
    std::thread::sleep(Duration::from_millis(2200));
    let pid = engine.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = engine.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "outreach run ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    // Closed, not dropped: the write-ahead log is folded into the database.
    let wal = env.path("data").join("outreach.db-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    // The engine lock is free again.
    env.ok(&["run", "--until-idle"]);
}

/// Prospects for the kill test: enough that sending takes a few seconds.
/// `n` prospects in a country without a consent requirement.
#[test]
fn an_account_over_its_providers_daily_allowance_keeps_its_messages_queued() {
    // Gmail's refusal once an account sent its day's allowance, to every RCPT TO.
    let sink = Sink::start_with(&[
        "-f",
        "rcpt",
        "-B",
        "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852",
    ]);
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    env.started_campaign("Allowance", "sink");
    let engine = env.engine("engine.log");

    eventually("the refusal", Duration::from_secs(30), || {
        env.progress("Allowance")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("5.4.5"))
    });
    drop(engine);
    let p = env.progress("Allowance");
    assert_eq!(
        (&p["queued"], &p["failed"], &p["bounced"]),
        (&3.into(), &0.into(), &0.into()),
        "nothing is wrong with the messages; they wait with the account: {p}"
    );
    let next = next_send_at(&p);
    assert!(
        next > jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3 * 60 * 60),
        "the account waits hours, not seconds: {next}"
    );
    assert!(sink.texts().is_empty());
}

#[test]
fn an_account_whose_server_takes_three_sessions_sends_everything_once_without_retries() {
    let sink = Sink::start();
    // Exchange Online's limit: three sessions of a mailbox at once; the engine opens four.
    let limited = SessionLimitedSmtp::start(sink.port(), 3);
    let env = Env::new();
    env.campaign_ready(&sink, &many(40));
    let port = limited.port().to_string();
    env.ok(&["account", "edit", "-w", "Acme", "sink", "--port", &port]);
    env.started_campaign("Exchange", "sink");
    let engine = env.engine("engine.log");

    eventually("every message sent", Duration::from_secs(60), || {
        env.progress("Exchange")["sent"] == 40
    });
    drop(engine);
    let p = env.progress("Exchange");
    assert_eq!(p["queued"], 0, "{p}");
    assert!(
        p["last_error"].is_null(),
        "no message met the refusal as its own: {p}"
    );
    // Asked once per batch in flight at most (two lanes may each meet the fourth session
    // before either gave it up), never again afterwards.
    assert!(
        (1..=2).contains(&limited.refused()),
        "{}",
        limited.refused()
    );
    assert!(limited.most_open() <= 3);
    let arrived = sink.wait_for_messages(40);
    let ids: HashSet<String> = arrived
        .iter()
        .filter_map(|dump| header_value(&String::from_utf8_lossy(dump), "Message-ID"))
        .collect();
    assert_eq!((arrived.len(), ids.len()), (40, 40), "each arrived once");
}

fn many(n: usize) -> String {
    let mut csv = String::from("first_name,last_name,email,company,country\n");
    for i in 0..n {
        csv.push_str(&format!("P{i},Test,p{i}@example.com,Company {i},France\n"));
    }
    csv
}

#[test]
fn a_placeholder_in_one_spintax_option_never_reaches_the_wire() {
    let sink = Sink::start();
    let env = Env::new();
    let n = 24;
    env.campaign_ready(&sink, &many(n));
    env.started_campaign("Launch", "sink");
    // Edited once the campaign runs, so that only the engine's gate stands between the
    // placeholder and the wire. It must judge each message as it is sent, with the spintax
    // option that recipient draws.
    env.save_template(
        "first",
        "A partnership",
        "{Loved your last post.|[PERSONAL LINE]}\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    env.ok(&["run", "--until-idle"]);

    let received = sink.texts();
    for m in &received {
        assert!(
            !m.contains("[PERSONAL LINE]"),
            "a placeholder was sent:\n{m}"
        );
        assert!(m.contains("Loved your last post."), "{m}");
    }
    let p = env.progress("Launch");
    let (sent, blocked) = (p["sent"].as_u64().unwrap(), p["blocked"].as_u64().unwrap());
    assert_eq!(sent, received.len() as u64, "{p}");
    assert_eq!(sent + blocked, n as u64, "{p}");
    assert!(
        sent > 0 && blocked > 0,
        "both options must occur among {n}: {p}"
    );
    let reasons = p["blocked_reasons"].as_array().unwrap();
    assert!(
        reasons.iter().all(|r| r["code"] == "template_problem"),
        "{p}"
    );
}

#[test]
fn sends_the_gate_refuses_for_one_reason_are_counted_under_that_reason() {
    let sink = Sink::start();
    let env = Env::new();
    let n = 5;
    env.campaign_ready(&sink, &many(n));
    env.started_campaign("Launch", "sink");
    // The opt-out line removed once the campaign runs: the gate refuses every message for the
    // same reason, which the progress view must show once, with its count, not once for each
    // recipient.
    env.save_template(
        "first",
        "A partnership",
        "Hello {{ first_name }}.\n\n{{ privacy_notice }}\n\n{{ postal_address }}\n",
    );
    env.ok(&["run", "--until-idle"]);

    assert!(
        sink.texts().is_empty(),
        "nothing without an opt-out line goes out"
    );
    let p = env.progress("Launch");
    assert_eq!([&p["blocked"], &p["stopped"]], [n, n], "{p}");
    let reasons = p["blocked_reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "one reason for all: {p}");
    assert_eq!(reasons[0]["code"], "template_problem");
    assert_eq!(reasons[0]["count"], n);
    assert_eq!(
        reasons[0]["reason"],
        "the template fails the pre-send check: The body does not include the opt-out line. \
         Add {{ opt_out }}."
    );

    // Fixed: the blocked people meet the gate again, which now lets them through.
    env.save_template(
        "first",
        "A partnership",
        "Hello {{ first_name }}.\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    let out = env.ok(&["campaign", "retry-blocked", "-w", "Acme", "Launch"]);
    assert!(
        out.contains(&format!(
            "{n} blocked enrolment(s) go to the compliance gate again"
        )),
        "{out}"
    );
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sink.texts().len(), n, "each once, now that they may go");
    let p = env.progress("Launch");
    assert_eq!([&p["blocked"], &p["sent"]], [0, n], "{p}");
}

/// `n` prospects as [`many`] makes them, but without last names.
fn without_last_names(n: usize) -> String {
    many(n).replace(",Test,", ",,")
}

/// What `campaign check` found, when it fails as it must.
fn failed_check(env: &Env, campaign: &str) -> serde_json::Value {
    let out = env.run(&["campaign", "check", "-w", "Acme", campaign, "--json"]);
    assert!(!out.status.success(), "the check of {campaign} should fail");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_campaign_check_counts_exactly_the_recipients_the_gate_will_stop() {
    let sink = Sink::start();
    let env = Env::new();
    let n = 24;
    env.campaign_ready(&sink, &without_last_names(n));
    env.started_campaign("Launch", "sink");
    // Edited once the campaign runs: a variable in one spintax option renders empty for those
    // who draw it, and the gate stops each of those messages.
    env.save_template(
        "first",
        "A partnership",
        "{Loved your work.|Dear {{ last_name }} team,}\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    let check = failed_check(&env, "Launch");
    let problems = check["steps"][0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{check}");
    assert_eq!(problems[0]["problem"]["kind"], "empty_variable", "{check}");
    let predicted = problems[0]["problem"]["prospects"].as_u64().unwrap();
    // The examples are named as people know them (the import's P0, P1, ...), not by row id.
    let message = problems[0]["message"].as_str().unwrap();
    let examples = problems[0]["problem"]["examples"].as_array().unwrap();
    assert!(!examples.is_empty(), "{check}");
    assert!(
        message.contains(" (e.g. P") && !message.contains('#'),
        "{message}"
    );
    env.ok(&["run", "--until-idle"]);

    let p = env.progress("Launch");
    let (sent, blocked) = (p["sent"].as_u64().unwrap(), p["blocked"].as_u64().unwrap());
    assert!(
        sent > 0 && blocked > 0,
        "both options must occur among {n}: {p}"
    );
    assert_eq!(
        predicted, blocked,
        "the check foresaw {predicted} of the stopped messages: {check}\n{p}"
    );
    assert_eq!(sent + blocked, n as u64, "{p}");
    assert_eq!(sink.texts().len() as u64, sent);
    // One reason stopped them all, shown once with its count.
    let reasons = p["blocked_reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{p}");
    assert_eq!(reasons[0]["count"].as_u64(), Some(blocked), "{p}");
}

#[test]
fn an_ab_variant_is_checked_against_the_recipients_who_get_it() {
    let sink = Sink::start();
    let env = Env::new();
    let n = 24;
    env.campaign_ready(&sink, &without_last_names(n));
    let clean =
        "Hello {{ first_name }},\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n";
    env.save_template("second", "Another idea", clean);
    env.always_open_campaign("Split", "sink", &["first,second"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Split"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Split"]);
    // Variant B alone now needs a last name, which nobody has.
    env.save_template(
        "second",
        "Another idea",
        &format!("Dear {{{{ last_name }}}} team,\n\n{clean}"),
    );
    let check = failed_check(&env, "Split");
    let steps = check["steps"].as_array().unwrap();
    assert_eq!(steps[0]["variant"], "A");
    assert_eq!(steps[0]["problems"], serde_json::json!([]), "{check}");
    assert_eq!(steps[1]["variant"], "B");
    let predicted = steps[1]["problems"][0]["problem"]["prospects"]
        .as_u64()
        .unwrap();
    env.ok(&["run", "--until-idle"]);

    let p = env.progress("Split");
    let blocked = p["blocked"].as_u64().unwrap();
    assert!(blocked > 0 && blocked < n as u64, "{p}");
    assert_eq!(predicted, blocked, "{check}\n{p}");
    assert_eq!(p["sent"].as_u64().unwrap() + blocked, n as u64, "{p}");
}

#[test]
fn a_follow_up_delay_past_a_year_or_a_zero_cap_is_refused_when_the_campaign_is_saved() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(1));
    let err = env.fails(&[
        "campaign",
        "create",
        "-w",
        "Acme",
        "Typo",
        "--account",
        "sink",
        "--step",
        "first",
        "--step",
        "follow@4000000",
    ]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("step 2") && message.contains("at most 260"),
        "{err}"
    );
    let missing = env.fails(&["campaign", "status", "-w", "Acme", "Typo"]);
    assert_eq!(missing["code"], "not_found", "nothing was saved: {missing}");
    // A daily cap of 0 would hold every message without a word: refused too.
    let err = env.fails(&[
        "campaign",
        "create",
        "-w",
        "Acme",
        "Zero",
        "--account",
        "sink",
        "--step",
        "first",
        "--daily-cap",
        "0",
    ]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("daily cap"),
        "{err}"
    );
    let err = env.loopback_account_refused("stuck", &sink, &["--per-minute", "0"]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("per minute"),
        "{err}"
    );
    // A year of business days is still a follow-up one may plan.
    env.always_open_campaign("Patient", "sink", &["first", "follow@260"]);
    // Only that one was saved.
    let listed = env.json(&["campaign", "list", "-w", "Acme"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["campaign"]["fields"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Patient"], "{listed}");
    let err = env.fails(&["campaign", "list", "-w", "Nobody"]);
    assert_eq!(err["code"], "not_found", "{err}");
}

#[test]
fn a_step_whose_date_cannot_be_worked_out_is_blocked_and_holds_up_nothing_else() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    // A typo in a follow-up's delay: 4,000,000 business days fall past the calendar's end.
    // Saving refuses it now; a database saved before that may still hold one.
    env.always_open_campaign("Broken", "sink", &["first", "follow@4"]);
    sql(
        &env,
        "UPDATE sequence_steps SET delay_business_days = 4000000 WHERE position = 2;",
    );
    env.ok(&["campaign", "enrol", "-w", "Acme", "Broken"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Broken"]);
    let _engine = env.engine("engine.log");
    eventually(
        "the broken follow-ups blocked",
        Duration::from_secs(60),
        || {
            let p = env.progress("Broken");
            p["sent"] == 3 && p["blocked"] == 3
        },
    );
    let broken = env.progress("Broken");
    let reasons = broken["blocked_reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .all(|r| r["code"] == "schedule" && r["reason"].as_str().unwrap().contains("range")),
        "{broken}"
    );
    // A campaign started afterwards goes out: the broken steps hold up nobody.
    env.started_campaign("Other", "sink");
    eventually("the other campaign sent", Duration::from_secs(60), || {
        env.progress("Other")["sent"] == 3
    });
    assert_eq!(sink.texts().len(), 6);
}

#[test]
fn killing_the_engine_again_and_again_never_sends_a_step_twice() {
    let sink = Sink::start();
    let env = Env::new();
    let n = 2000;
    env.campaign_ready(&sink, &many(n));
    env.started_campaign("Crash", "sink");

    let mut kills = 0;
    let mut seed: u64 = 0x5eed;
    let started = Instant::now();
    while kills < 20 && started.elapsed() < Duration::from_secs(300) {
        let mut engine = env
            .cmd(&["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A pseudo-random moment: 50 to 800 ms, covering start-up, scheduling and sending.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(50 + (seed >> 33) % 750));
        engine.kill().unwrap();
        engine.wait().unwrap();
        kills += 1;
    }
    assert_eq!(kills, 20);
    // Leave every message to a last, uninterrupted engine.
    env.ok(&["run", "--until-idle"]);

    let received = sink.texts();
    let mut ids = HashSet::new();
    let mut recipients = HashSet::new();
    for m in &received {
        let header = |name: &str| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in\n{m}"))
                .to_string()
        };
        assert!(
            ids.insert(header("message-id:")),
            "a Message-ID was received twice"
        );
        assert!(
            recipients.insert(header("to:")),
            "a recipient got the step twice"
        );
    }
    let status = env.json(&["campaign", "status", "-w", "Acme", "Crash"]);
    let p = &status["progress"];
    let sent = p["sent"].as_u64().unwrap();
    let unconfirmed = p["unconfirmed"].as_u64().unwrap();
    let queued = p["queued"].as_u64().unwrap();
    // Each kill leaves unconfirmed at most what was claimed and not yet written down.
    let in_flight = outreach_api::engine::EngineConfig::default().max_in_flight();
    assert!(unconfirmed <= kills * in_flight, "{status}");
    assert_eq!(
        sent + unconfirmed + queued,
        n as u64,
        "every step is sent, queued or unconfirmed: {status}"
    );
    assert_eq!(queued, 0, "{status}");
    let got = received.len() as u64;
    assert!(
        got >= sent && got <= sent + unconfirmed,
        "sink {got}, sent {sent}, unconfirmed {unconfirmed}"
    );
}

/// A statement run on the app's database from outside, as another program would.
fn sql(env: &Env, statement: &'static str) {
    let key = std::fs::read_to_string(env.path("db.key")).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(env.path("data").join("outreach.db"))
        .pragma("key", format!("\"x'{}'\"", key.trim()))
        .busy_timeout(Duration::from_secs(10));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{ConnectOptions, Connection};
        let mut db = options.connect().await.unwrap();
        sqlx::raw_sql(statement).execute(&mut db).await.unwrap();
        db.close().await.unwrap();
    });
}

#[test]
fn what_the_server_said_is_written_down_once_the_database_takes_writes_again() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    env.started_campaign("Stuck", "sink");
    // The database refuses to record any message as sent, as a full disk would.
    sql(
        &env,
        "CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON messages
         WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;",
    );
    let engine = env.engine("engine.log");
    let log = || std::fs::read_to_string(env.path("engine.log")).unwrap_or_default();
    sink.wait_for(3, Duration::from_secs(60));
    eventually(
        "the engine to report that it cannot write",
        Duration::from_secs(30),
        || log().contains("problem: ") && log().contains("simulated write failure"),
    );
    let p = env.progress("Stuck");
    assert_eq!(p["sent"], 0, "nothing is recorded yet: {p}");

    sql(&env, "DROP TRIGGER refuse_sent;");
    eventually(
        "the outcomes to be written down",
        Duration::from_secs(30),
        || env.progress("Stuck")["sent"] == 3,
    );
    drop(engine);
    let p = env.progress("Stuck");
    assert_eq!(p["unconfirmed"], 0, "the server's answers were kept: {p}");
    assert_eq!(p["queued"], 0, "{p}");
    assert_eq!(sink.texts().len(), 3, "each message went out once");
}

#[test]
fn a_per_minute_cap_holds_at_the_server_for_every_minute() {
    const CAP: usize = 3;
    const N: usize = 8;
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(N));
    env.loopback_account("capped", &sink, &["--per-minute", &CAP.to_string()]);
    env.started_campaign("Capped", "capped");
    let engine = env.engine("engine.log");
    // Three minutes' worth at most: 3 now, 3 a minute later, 2 a minute after that.
    sink.wait_for(N, Duration::from_secs(240));
    drop(engine);

    let arrivals = sink.arrivals();
    assert_eq!(arrivals.len(), N);
    let busiest = (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| {
                    t.duration_since(arrivals[i]).unwrap_or_default() < Duration::from_secs(60)
                })
                .count()
        })
        .max()
        .unwrap();
    assert!(
        busiest <= CAP,
        "the server saw {busiest} messages within one minute: {arrivals:?}"
    );
    // The cap was reached, not merely respected by a slow engine.
    assert_eq!(busiest, CAP, "{arrivals:?}");
    assert_eq!(env.progress("Capped")["sent"], N as u64);
}

#[test]
fn a_new_accounts_ramp_up_holds_its_first_day_to_the_first_amount() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(5));
    let refused = env.loopback_account_refused("cold", &sink, &["--ramp-start", "0"]);
    assert_eq!(refused["code"], "invalid_input", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("first day"),
        "{refused}"
    );
    // An increase alone would ramp from nothing: the command line asks for the start.
    let alone = env.loopback_account_run("cold", &sink, &["--ramp-increase", "3"]);
    assert!(!alone.status.success());
    assert!(
        String::from_utf8_lossy(&alone.stderr).contains("--ramp-start"),
        "{alone:?}"
    );

    env.loopback_account(
        "cold",
        &sink,
        &["--ramp-start", "2", "--ramp-increase", "3"],
    );
    let accounts = env.json(&["account", "list", "-w", "Acme"]);
    let cold = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["fields"]["name"] == "cold")
        .unwrap();
    assert_eq!(cold["fields"]["ramp_start"], 2, "{cold}");
    assert_eq!(cold["fields"]["ramp_increase"], 3, "{cold}");

    env.always_open_campaign("Warm-up", "cold", &["first"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Warm-up"]);
    // The confirmation counts what the ramp allows, not the five enrolled.
    assert_eq!(today_estimate(&env, "Warm-up"), 2);
    env.ok(&["campaign", "start", "-w", "Acme", "Warm-up"]);
    let midnight = next_utc_midnight();
    let engine = env.engine("engine.log");
    sink.wait_for(2, Duration::from_secs(30));
    // Without the ramp all five would have gone in the first batch, together with these.
    std::thread::sleep(Duration::from_secs(3));
    drop(engine);
    assert_eq!(sink.texts().len(), 2, "the first day allows 2");
    let p = env.progress("Warm-up");
    assert_eq!(p["sent"], 2, "{p}");
    assert_eq!(p["queued"], 3, "the rest wait for the next days: {p}");
    // The next day allows 5: the rest may go at midnight, not only when today's two are a
    // day old.
    assert_eq!(next_send_at(&p), midnight, "{p}");
    assert_eq!(
        p["next_send_held_by"], "the sender account's caps or ramp-up",
        "{p}"
    );
    assert_eq!(today_estimate(&env, "Warm-up"), 0, "today's two are used");
}

#[test]
fn a_campaign_that_used_its_daily_cap_ends_a_scripted_run_and_shows_when_it_can_go_on() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    env.always_open_campaign_with("Trickle", "sink", &["first"], &["--daily-cap", "1"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Trickle"]);
    assert_eq!(today_estimate(&env, "Trickle"), 1);
    env.ok(&["campaign", "start", "-w", "Acme", "Trickle"]);
    let before = jiff::Timestamp::now();
    // A script's run ends once what is left waits for tomorrow's room, rather than lasting
    // until then.
    let mut run = env
        .cmd(&["run", "--until-idle"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            panic!("`run --until-idle` was still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    let after = jiff::Timestamp::now();
    assert_eq!(sink.texts().len(), 1, "the cap allows one a day");
    assert_eq!(today_estimate(&env, "Trickle"), 0, "the day's one is used");
    let p = env.progress("Trickle");
    assert_eq!(p["queued"], 2, "{p}");
    // The earliest queued message was due at start; the cap holds it until the day's one
    // attempt is 24 hours old.
    let next = next_send_at(&p);
    assert_eq!(p["next_send_held_by"], "the campaign's daily cap", "{p}");
    let day = jiff::SignedDuration::from_hours(24);
    assert!(
        next >= before + day && next <= after + day,
        "{next} is not a day after the send: {p}"
    );
}

#[test]
fn the_start_confirmation_counts_only_what_the_send_window_lets_out_today() {
    use jiff::civil::Weekday;
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    // Open every day but today and tomorrow (in UTC, the workspace's zone): whatever the hour,
    // and even if midnight passes meanwhile, nothing can go out today.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday();
    let days: Vec<&str> = (0..7)
        .map(|n| today.wrapping_add(n))
        .skip(2)
        .map(|d| match d {
            Weekday::Monday => "mon",
            Weekday::Tuesday => "tue",
            Weekday::Wednesday => "wed",
            Weekday::Thursday => "thu",
            Weekday::Friday => "fri",
            Weekday::Saturday => "sat",
            Weekday::Sunday => "sun",
        })
        .collect();
    let days = days.join(",");
    env.ok(&[
        "campaign",
        "create",
        "-w",
        "Acme",
        "Later",
        "--account",
        "sink",
        "--step",
        "first",
        "--days",
        &days,
        "--window",
        "00:00-24:00",
        "--gap",
        "0-0",
    ]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Later"]);
    assert_eq!(
        today_estimate(&env, "Later"),
        0,
        "the window is closed until after tomorrow"
    );
    env.ok(&["campaign", "start", "-w", "Acme", "Later"]);
    let engine = env.engine("engine.log");
    eventually(
        "the steps queued for the window",
        Duration::from_secs(20),
        || env.progress("Later")["queued"] == 3,
    );
    drop(engine);
    assert!(sink.texts().is_empty(), "nothing went out");
    // Queued for a later day, they still do not count for today.
    assert_eq!(today_estimate(&env, "Later"), 0);

    // The same three in a window open every day all go today.
    env.always_open_campaign("Now", "sink", &["first"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Now"]);
    assert_eq!(today_estimate(&env, "Now"), 3);
}

#[test]
fn the_start_confirmation_leaves_out_prospects_the_gate_now_refuses() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(4));
    env.always_open_campaign("Now", "sink", &["first"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Now"]);
    assert_eq!(today_estimate(&env, "Now"), 4);
    // After enrolment one prospect turns out to live where consent is required, another is
    // deleted, and a third opts out (which ends their enrolment).
    let prospects = env.json(&["prospects", "list", "-w", "Acme"]);
    let id_of = |email: &str| {
        prospects
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["email"] == email)
            .unwrap()["id"]
            .to_string()
    };
    env.ok(&[
        "prospects",
        "edit",
        &id_of("p1@example.com"),
        "--set",
        "country=Germany",
    ]);
    env.ok(&[
        "prospects",
        "delete",
        "-w",
        "Acme",
        &id_of("p2@example.com"),
    ]);
    env.ok(&["consent", "opt-out", &id_of("p3@example.com")]);

    let check = env.json(&["campaign", "check", "-w", "Acme", "Now"]);
    assert_eq!(
        check["ready"], true,
        "refusals do not hold up the start: {check}"
    );
    assert_eq!(check["today_estimate"], 1, "{check}");
    let refused = check["refused"].as_array().expect("refusals");
    let mut codes: Vec<(&str, u64)> = refused
        .iter()
        .map(|g| (g["code"].as_str().unwrap(), g["count"].as_u64().unwrap()))
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, [("consent_required", 1), ("deleted", 1)], "{check}");
    let consent = refused
        .iter()
        .find(|g| g["code"] == "consent_required")
        .unwrap();
    assert_eq!(
        consent["examples"],
        serde_json::json!(["P1 Test"]),
        "{check}"
    );
    // The text output names them too.
    let text = env.ok(&["campaign", "check", "-w", "Acme", "Now"]);
    assert!(
        text.contains("refused: 1 enrolled prospect(s) (consent_required)"),
        "{text}"
    );
    assert!(text.contains("ready: up to 1 message(s) today"), "{text}");

    // The engine refuses them as the check said: one goes out.
    env.ok(&["campaign", "start", "-w", "Acme", "Now"]);
    env.ok(&["run", "--until-idle"]);
    let progress = env.progress("Now");
    assert_eq!(progress["sent"], 1, "{progress}");
    assert_eq!(progress["blocked"], 2, "{progress}");
    assert_eq!(sink.texts().len(), 1);
}

/// What the pre-send check says can go out today.
fn today_estimate(env: &Env, campaign: &str) -> u64 {
    let check = env.json(&["campaign", "check", "-w", "Acme", campaign]);
    check["today_estimate"].as_u64().expect("an estimate")
}

/// The first midnight (UTC) after now.
fn next_utc_midnight() -> jiff::Timestamp {
    let tz = jiff::tz::TimeZone::UTC;
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    today.tomorrow().unwrap().to_zoned(tz).unwrap().timestamp()
}

fn next_send_at(progress: &serde_json::Value) -> jiff::Timestamp {
    progress["next_send_at"]
        .as_str()
        .expect("a next send time")
        .parse()
        .unwrap()
}

#[test]
fn queued_messages_wait_out_an_outage_and_go_once_the_server_is_back() {
    let mut sink = Sink::stopped();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    env.started_campaign("Outage", "sink");
    let engine = env.engine("engine.log");
    let log = || std::fs::read_to_string(env.path("engine.log")).unwrap_or_default();

    eventually(
        "the engine to report the outage",
        Duration::from_secs(30),
        || log().contains("offline: "),
    );
    let p = env.progress("Outage");
    assert_eq!(
        p["queued"], 3,
        "nothing is lost or failed while offline: {p}"
    );
    assert_eq!(p["sent"], 0, "{p}");
    assert_eq!(p["failed"], 0, "{p}");
    assert!(
        p["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{p}"
    );

    // The first retry comes 30 s after the failure.
    sink.restart();
    sink.wait_for(3, Duration::from_secs(90));
    eventually(
        "the engine to report it is back",
        Duration::from_secs(10),
        || log().contains("back online"),
    );
    drop(engine);
    let p = env.progress("Outage");
    assert_eq!(p["sent"], 3, "{p}");
    assert_eq!(p["queued"], 0, "{p}");
    let recipients: HashSet<String> = sink
        .texts()
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("To: ")).map(str::to_owned))
        .collect();
    assert_eq!(recipients.len(), 3, "each message arrived once");
    assert_eq!(sink.texts().len(), 3);
}

#[test]
fn a_temporary_refusal_is_retried_and_a_permanent_one_bounces_the_prospect() {
    // 450 to every RCPT TO at first.
    let mut sink = Sink::start_with(&["-r", "rcpt"]);
    let env = Env::new();
    env.campaign_ready(&sink, &many(2));
    env.started_campaign("Refused", "sink");
    let engine = env.engine("engine.log");

    eventually("the temporary refusal", Duration::from_secs(30), || {
        let p = env.progress("Refused");
        p["last_error"].as_str().is_some_and(|e| e.contains("450"))
    });
    let p = env.progress("Refused");
    assert_eq!(p["queued"], 2, "a 4xx keeps the message queued: {p}");
    assert_eq!(p["failed"], 0, "{p}");
    assert_eq!(p["bounced"], 0, "{p}");

    // One prospect goes to the trash while their message waits for its retry: tried once, it
    // stays as written and is held until they are restored.
    let (trashed, _) = prospects(&env)[0].clone();
    env.ok(&["prospects", "delete", "-w", "Acme", &trashed.to_string()]);
    let p = env.progress("Refused");
    assert_eq!((&p["queued"], &p["held"]), (&2.into(), &1.into()), "{p}");
    let said = env.ok(&["campaign", "status", "-w", "Acme", "Refused"]);
    assert!(
        said.contains("held 1: tried before, waiting while the prospect is in the trash"),
        "{said}"
    );

    // From now on the server refuses the recipients for good, as an unknown user (5.1.1);
    // the retry meets that, for the prospect outside the trash only.
    sink.restart_with(&["-f", "rcpt", "-B", "550 5.1.1 Error: no such user here"]);
    eventually("the first bounce", Duration::from_secs(90), || {
        env.progress("Refused")["bounced"] == 1
    });
    let p = env.progress("Refused");
    assert_eq!((&p["queued"], &p["held"]), (&1.into(), &1.into()), "{p}");
    env.ok(&["prospects", "restore", "-w", "Acme", &trashed.to_string()]);
    eventually("the bounces", Duration::from_secs(90), || {
        env.progress("Refused")["bounced"] == 2
    });
    assert_eq!(env.progress("Refused")["failed"], 0);
    drop(engine);
    let p = env.progress("Refused");
    assert_eq!(p["queued"], 0, "{p}");
    assert_eq!(p["sent"], 0, "{p}");
    let bounced = env.json(&["prospects", "list", "-w", "Acme", "--status", "bounced"]);
    assert_eq!(
        bounced.as_array().map(Vec::len),
        Some(2),
        "a permanent recipient error marks the prospect bounced: {bounced}"
    );
    assert!(sink.texts().is_empty());
}

#[test]
fn each_prospect_gets_the_send_window_in_their_own_time_zone() {
    use jiff::{Timestamp, ToSpan, tz::TimeZone};
    let sink = Sink::start();
    let env = Env::new();
    // No country for either; Kai's own zone is twelve hours ahead of the workspace's (UTC).
    env.campaign_ready(
        &sink,
        "first_name,email,company,time zone\nUma,uma@utc.example,Uma Media,\nKai,kai@plus12.example,Kai Media,etc/gmt-12\n",
    );
    let prospects = env.json(&["prospects", "list", "-w", "Acme"]);
    let kai = prospects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["first_name"] == "Kai")
        .unwrap();
    assert_eq!(
        kai["time_zone"], "Etc/GMT-12",
        "stored as the database spells it"
    );
    let kai_id = kai["id"].as_i64().unwrap().to_string();

    // A bad zone is refused with the reason and changes nothing.
    let err = env.fails(&[
        "prospects",
        "edit",
        &kai_id,
        "--set",
        "time_zone=Mars/Olympus",
    ]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("Mars/Olympus"),
        "{err}"
    );

    // A two-hour window around now in UTC is closed in Kai's zone, whatever the hour.
    let now = Timestamp::now();
    let hour = i64::from(now.to_zoned(TimeZone::UTC).hour());
    let start = hour.min(22);
    let window = format!("{start:02}:00-{:02}:00", start + 2);
    env.ok(&[
        "campaign",
        "create",
        "-w",
        "Acme",
        "Zones",
        "--account",
        "sink",
        "--step",
        "first",
        "--days",
        "mon,tue,wed,thu,fri,sat,sun",
        "--window",
        &window,
        "--gap",
        "0-0",
    ]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Zones"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Zones"]);
    let engine = env.engine("engine.log");
    sink.wait_for(1, Duration::from_secs(30));
    eventually("Kai's message queued", Duration::from_secs(10), || {
        env.progress("Zones")["queued"] == 1
    });
    drop(engine);

    let received = sink.texts();
    assert_eq!(received.len(), 1, "only Uma's window is open now");
    assert!(
        received[0].contains("To: \"Uma\" <uma@utc.example>")
            || received[0].contains("uma@utc.example")
    );
    // Kai's message waits for the window's opening in Kai's zone: the next start:00 there.
    let kai_zone = TimeZone::get("Etc/GMT-12").unwrap();
    let local = now.to_zoned(kai_zone.clone());
    let mut opening = local
        .date()
        .at(i8::try_from(start).unwrap(), 0, 0, 0)
        .to_zoned(kai_zone)
        .unwrap();
    if opening.timestamp() <= now {
        opening = opening.checked_add(1.day()).unwrap();
    }
    let p = env.progress("Zones");
    let next: Timestamp = p["next_send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, opening.timestamp(), "{p}");

    // The sender signs differently now: the message waiting for Kai is written again from
    // the new sender, and waits for his window as before.
    let said = env.ok(&[
        "account",
        "edit",
        "-w",
        "Acme",
        "sink",
        "--from-name",
        "Alex of Acme",
    ]);
    assert!(
        said.contains("1 message(s) waiting to go out from it will be written again"),
        "{said}"
    );
    env.ok(&["run", "--until-idle"]);
    assert_eq!(env.progress("Zones")["queued"], 1);
    // The workspace now runs a one-click unsubscribe page: the opt-out line written for Kai
    // names it too, not only the header added when it goes.
    let said = env.ok(&[
        "sending-settings",
        "-w",
        "Acme",
        "--unsubscribe-url",
        "https://optout.acme.example/u",
    ]);
    assert!(
        said.contains("1 message(s) waiting to go out will be checked and written again"),
        "{said}"
    );
    env.ok(&["run", "--until-idle"]);
    assert_eq!(env.progress("Zones")["queued"], 1);

    // Scored for the first time: a template can use the score, so the message waiting for
    // Kai is written again; scoring again changes no score and leaves it.
    let said = env.ok(&["score", "-w", "Acme"]);
    assert!(
        said.contains(
            "1 message(s) waiting to go to those whose score changed will be written again"
        ),
        "{said}"
    );
    env.ok(&["run", "--until-idle"]);
    assert_eq!(env.progress("Zones")["queued"], 1);
    let said = env.ok(&["score", "-w", "Acme"]);
    assert!(!said.contains("written again"), "{said}");

    // Kai turns out to work from UTC: the message waiting for him is written again, and
    // goes at once, in the window open there.
    let said = env.ok(&["prospects", "edit", &kai_id, "--set", "time_zone=UTC"]);
    assert!(
        said.contains("1 message(s) waiting to go to them will be written again"),
        "{said}"
    );
    env.ok(&["run", "--until-idle"]);
    sink.wait_for(2, Duration::from_secs(30));
    let received = sink.texts();
    let to_kai = received
        .iter()
        .find(|m| m.contains("kai@plus12.example"))
        .expect("Kai's message arrived");
    assert!(to_kai.contains("Alex of Acme"), "{to_kai}");
    // The body may be quoted-printable (a long line): its soft breaks and `=3D` undone.
    let body = to_kai.replace("=\r\n", "").replace("=3D", "=");
    assert!(
        body.contains("open https://optout.acme.example/u?t="),
        "{to_kai}"
    );
    assert_eq!(env.progress("Zones")["sent"], 2);
}

/// Needs the Secret Service for the API key (scripts/test.sh provides one).
#[test]
fn a_sendgrid_account_sends_its_campaign_in_requests_the_official_spec_accepts() {
    let prism = outreach_testkit::PrismMock::start();
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(5));
    sendgrid_account(&env, prism.base_url(), "SG.test-key");
    env.started_campaign("Grid", "grid");
    env.ok(&["run", "--until-idle"]);

    // Prism answers 202 only to a request that conforms to SendGrid's spec.
    let p = env.progress("Grid");
    assert_eq!(p["sent"], 5, "{p}");
    assert_eq!(p["failed"], 0, "{p}");
    assert_eq!(p["queued"], 0, "{p}");
    assert!(sink.texts().is_empty(), "nothing went over SMTP");
    let audit = env.json(&["audit", "-w", "Acme", "--limit", "100"]);
    let sent = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "send.sent")
        .count();
    assert_eq!(sent, 5);
}

/// Adds the SendGrid account "grid" to Acme, at `api_url`, with `key` in the keychain.
fn sendgrid_account(env: &Env, api_url: &str, key: &str) {
    let out = env
        .cmd(&[
            "account",
            "add",
            "-w",
            "Acme",
            "grid",
            "--transport",
            "sendgrid",
            "--api-url",
            api_url,
            "--from-name",
            "Alex Partner",
            "--from",
            "alex@brand.example",
        ])
        .env("OUTREACH_SECRET", key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the keychain holds for an account's secret of `kind` (secret, dkim or mailbox), read
/// with libsecret's own tool; empty when nothing.
fn keychain_entry(env: &Env, account: i64, kind: &str) -> String {
    let data = env.path("data").canonicalize().unwrap();
    let out = std::process::Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "outreach-desk",
            "username",
            &format!("account:{}:{account}:{kind}", data.display()),
        ])
        .output()
        .expect("secret-tool (Debian package libsecret-tools)");
    String::from_utf8(out.stdout).unwrap()
}

/// The id of account `name` of workspace Acme.
fn account_id(env: &Env, name: &str) -> i64 {
    env.json(&["account", "list", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["fields"]["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// `outreach prospects list -w Acme --json` as (id, email) pairs.
fn prospects(env: &Env) -> Vec<(i64, String)> {
    env.json(&["prospects", "list", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["email"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_erased_recipient_is_gone_and_no_later_campaign_reaches_their_address() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(2));
    env.started_campaign("Launch", "sink");
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sink.texts().len(), 2);
    let (id, address) = prospects(&env)
        .into_iter()
        .find(|(_, email)| email == "p0@example.com")
        .unwrap();
    let id = id.to_string();

    // First they ask what is held about them: the record, with what reached them.
    let record = env.json(&["prospects", "export", &id]);
    assert_eq!(record["format"], "outreach-desk personal data");
    assert_eq!(record["workspace"], "Acme");
    assert_eq!(record["suppressed"], false);
    assert_eq!(record["prospect"]["email"], address.as_str());
    let sent = record["messages"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{record}");
    assert_eq!(sent[0]["campaign"], "Launch");
    assert_eq!(sent[0]["status"], "sent");
    let wire = sink
        .texts()
        .into_iter()
        .find(|t| t.contains(&format!("<{address}>")))
        .unwrap();
    assert!(
        wire.contains(sent[0]["subject"].as_str().unwrap()),
        "the subject that went out: {wire}"
    );
    assert_eq!(
        record["consent_history"][0]["kind"], "lawful_basis",
        "the basis assigned: {record}"
    );
    let file = env.path("record.json");
    let out = env.ok(&["prospects", "export", &id, "--out", file.to_str().unwrap()]);
    assert!(
        out.starts_with(&format!("wrote the personal data of prospect #{id} to ")),
        "{out}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["messages"], record["messages"]);
    let audit = env.ok(&["audit", "-w", "Acme"]);
    assert!(audit.contains("prospect.export"), "{audit}");
    // And what was done with their data, step by step, as the audit log recorded it.
    let activity: Vec<&str> = record["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        activity,
        [
            "prospects.import",
            "consent.lawful_basis",
            "campaign.enrol",
            "send.sent"
        ],
        "{record}"
    );

    // The audit log filtered to them holds their entries and no one else's send.
    let theirs = env.audit_actions(&["-w", "Acme", "--prospect", &id]);
    assert_eq!(
        theirs,
        [
            "prospect.export",
            "prospect.export",
            "send.sent",
            "campaign.enrol",
            "consent.lawful_basis",
            "prospects.import"
        ]
    );
    let sends = env.json(&[
        "audit", "-w", "Acme", "--topic", "sending", "--actor", "system",
    ]);
    assert_eq!(sends.as_array().unwrap().len(), 2, "both sends: {sends}");
    let out = env.run(&["audit", "-w", "Acme", "--topic", "mail"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("use prospects, consent, campaigns, sending"),
        "{err}"
    );

    // Without --yes it only says what would go, fails, and erases nothing.
    let out = env.run(&["prospects", "erase", "-w", "Acme", &id, "--json"]);
    assert!(!out.status.success());
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["erased"], false);
    assert_eq!(
        [
            &said["would_erase"]["prospects"],
            &said["would_erase"]["messages"]
        ],
        [1, 1]
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "invalid_input");
    assert!(err["message"].as_str().unwrap().contains("--yes"), "{err}");
    assert_eq!(prospects(&env).len(), 2);
    // Another workspace's id (or none) is refused the same way, with nothing erased.
    let err = env.fails(&["prospects", "erase", "-w", "Acme", &id, "999", "--yes"]);
    assert_eq!(err["code"], "not_found");
    assert!(err["message"].as_str().unwrap().contains("#999"), "{err}");
    assert_eq!(prospects(&env).len(), 2);

    // A search saved to find them by their address goes with them.
    env.ok(&[
        "prospects",
        "save-filter",
        "-w",
        "Acme",
        "Theirs",
        "--search",
        "p0",
    ]);
    let out = env.ok(&["prospects", "erase", "-w", "Acme", &id, "--yes"]);
    assert!(
        out.contains("erased 1 prospect with 1 message, 0 replies, 1 enrolment"),
        "{out}"
    );
    assert!(
        out.contains("and 1 saved filter whose search finds them by name"),
        "{out}"
    );
    assert!(
        !env.ok(&["prospects", "filters", "-w", "Acme"])
            .contains("Theirs"),
        "the search for them is gone"
    );
    assert_eq!(
        prospects(&env)
            .iter()
            .map(|(_, e)| e.as_str())
            .collect::<Vec<_>>(),
        ["p1@example.com"]
    );
    assert_eq!(env.fails(&["prospects", "show", &id])["code"], "not_found");
    let p = env.progress("Launch");
    assert_eq!([&p["enrolled"], &p["sent"]], [1, 1], "{p}");

    // The same list imported again brings the address back as a new prospect, but the
    // suppression list keeps every campaign from reaching it.
    let file = env.write("again.csv", &many(2));
    env.ok(&["import", &file, "--workspace", "Acme"]);
    env.ok(&["consent", "assign", "-w", "Acme"]);
    env.always_open_campaign("Again", "sink", &["first"]);
    let enrolled = env.json(&["campaign", "enrol", "-w", "Acme", "Again"]);
    assert_eq!(enrolled["enrolled"], 1, "{enrolled}");
    assert_eq!(enrolled["refused"][0]["code"], "suppressed", "{enrolled}");
    assert_eq!(enrolled["refused"][0]["count"], 1, "{enrolled}");
    env.ok(&["campaign", "start", "-w", "Acme", "Again"]);
    env.ok(&["run", "--until-idle"]);
    let p = env.progress("Again");
    assert_eq!([&p["enrolled"], &p["sent"]], [1, 1], "{p}");
    let to_them = sink
        .texts()
        .iter()
        .filter(|t| t.contains(&format!("To: {address}")) || t.contains(&format!("<{address}>")))
        .count();
    assert_eq!(to_them, 1, "only the message sent before the erasure");
    assert_eq!(sink.texts().len(), 3);
}

#[test]
fn someone_who_opted_out_stays_out_when_their_status_and_address_are_edited() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(2));
    let (id, _) = prospects(&env)
        .into_iter()
        .find(|(_, email)| email == "p0@example.com")
        .unwrap();
    let id = id.to_string();
    env.ok(&["consent", "opt-out", &id]);
    let record = env.json(&["prospects", "export", &id]);
    assert_eq!(record["suppressed"], true, "their address is on the list");
    assert_eq!(record["consent_history"][1]["kind"], "opt_out", "{record}");
    // Someone tries to set the status back: refused, and nothing of the edit is kept.
    let err = env.fails(&[
        "prospects",
        "edit",
        &id,
        "--set",
        "status=qualified",
        "--set",
        "email=p0.new@example.com",
    ]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("status stays unsubscribed"),
        "{err}"
    );
    let shown = env.json(&["prospects", "show", &id]);
    assert_eq!(
        [&shown["status"], &shown["email"]],
        ["unsubscribed", "p0@example.com"],
        "{shown}"
    );
    // They give them a new address (one the suppression list has never seen): the objection
    // still holds.
    env.ok(&[
        "prospects",
        "edit",
        &id,
        "--set",
        "email=p0.new@example.com",
    ]);
    let shown = env.json(&["prospects", "show", &id]);
    assert_eq!(shown["status"], "unsubscribed", "{shown}");
    assert!(shown["objection_at"].is_string(), "{shown}");
    env.always_open_campaign("Launch", "sink", &["first"]);
    let enrolled = env.json(&["campaign", "enrol", "-w", "Acme", "Launch"]);
    assert_eq!(enrolled["enrolled"], 1, "{enrolled}");
    assert_eq!(enrolled["refused"][0]["code"], "suppressed", "{enrolled}");
    env.ok(&["campaign", "start", "-w", "Acme", "Launch"]);
    env.ok(&["run", "--until-idle"]);
    let texts = sink.texts();
    assert_eq!(texts.len(), 1);
    assert!(!texts[0].contains("p0.new@example.com"));
}

#[test]
fn a_deleted_workspace_takes_everything_with_it_and_its_name_is_free_again() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    env.started_campaign("Launch", "sink");
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sink.texts().len(), 3);
    // A second account, whose API key is in the keychain.
    sendgrid_account(&env, "http://127.0.0.1:9", "SG.delete-me");
    let grid = env
        .json(&["account", "list", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["fields"]["name"] == "grid")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let keychain = || keychain_entry(&env, grid, "secret");
    assert_eq!(keychain().trim(), "SG.delete-me");

    // Without --yes it says what the workspace holds and deletes nothing.
    let out = env.run(&["workspace", "delete", "Acme", "--json"]);
    assert!(!out.status.success());
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["deleted"], false);
    let holds = &said["holds"];
    assert_eq!(
        [
            &holds["prospects"],
            &holds["campaigns"],
            &holds["accounts"],
            &holds["messages"]
        ],
        [3, 1, 2, 3],
        "{said}"
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "invalid_input");
    assert_eq!(prospects(&env).len(), 3);

    let done = env.json(&["workspace", "delete", "acme", "--yes"]);
    assert_eq!(done["deleted"], true);
    assert_eq!(done["result"]["finished"], true, "{done}");
    assert_eq!(done["result"]["held"]["prospects"], 3);
    assert!(
        env.ok(&["workspace", "list"]).lines().count() <= 1,
        "only the header"
    );
    assert_eq!(
        env.fails(&["prospects", "list", "-w", "Acme"])["code"],
        "not_found"
    );
    assert_eq!(keychain().trim(), "", "the API key left the keychain");

    // What is left is its name and its audit log, which says what it held and when it went.
    let deleted = env.json(&["workspace", "list", "--deleted"]);
    assert_eq!(deleted[0]["name"], "Acme", "{deleted}");
    assert!(deleted[0]["erased_at"].is_string(), "{deleted}");
    let id = deleted[0]["id"].to_string();
    let actions = env.audit_actions(&["--deleted-workspace", &id, "--topic", "workspace"]);
    assert_eq!(
        &actions[..2],
        ["workspace.purged", "workspace.delete"],
        "{actions:?}"
    );
    assert_eq!(
        env.fails(&["audit", "--deleted-workspace", "999"])["code"],
        "not_found"
    );

    // The name is free again and the new workspace starts empty; the same people may be
    // imported again, since nobody objected.
    env.ok(&["workspace", "create", "Acme"]);
    assert!(prospects(&env).is_empty());
    let file = env.write("again.csv", &many(3));
    let imported = env.json(&["import", &file, "--workspace", "Acme"]);
    assert_eq!(imported["created"], 3);
    // The engine has nothing of the old workspace left to send.
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sink.texts().len(), 3);
}

#[test]
fn a_headless_server_deletes_a_workspace_whose_accounts_keep_nothing_in_the_keychain() {
    // A server that keeps its database key in a file and sends through a local relay has no
    // keychain at all; deleting a client's workspace must not need one.
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(2));
    let out = env
        .cmd(&["workspace", "delete", "Acme", "--yes", "--json"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["deleted"], true);
    assert_eq!(done["result"]["held"]["accounts"], 1);
    assert!(no_workspace_left(&env));
}

/// Whether no live workspace is left.
fn no_workspace_left(env: &Env) -> bool {
    env.json(&["workspace", "list"])
        .as_array()
        .is_some_and(|a| a.is_empty())
}

#[test]
fn a_campaign_and_its_templates_go_to_the_trash_and_back_from_the_command_line() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(1));
    env.always_open_campaign("Launch", "sink", &["first", "follow@1"]);
    let code_and_message = |err: &serde_json::Value| {
        (
            err["code"].as_str().unwrap().to_owned(),
            err["message"].as_str().unwrap().to_owned(),
        )
    };

    // A template a campaign uses stays, and the refusal says which campaign.
    let (code, message) =
        code_and_message(&env.fails(&["template", "delete", "-w", "Acme", "first"]));
    assert_eq!(code, "conflict");
    assert!(message.contains("used by 'Launch'"), "{message}");

    // A draft goes, and the command says how to bring it back.
    let launch = env.json(&["campaign", "status", "-w", "Acme", "Launch"])["campaign"]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let said = env.ok(&["campaign", "delete", "-w", "Acme", "Launch"]);
    assert!(
        said.contains(&format!(
            "moved campaign 'Launch' (#{launch}) to the trash; undo with `outreach campaign restore -w \"Acme\" {launch}`"
        )),
        "{said}"
    );
    assert_eq!(
        env.json(&["campaign", "list", "-w", "Acme"]),
        serde_json::json!([])
    );
    let trashed = env.json(&["campaign", "list", "-w", "Acme", "--deleted"]);
    assert_eq!(trashed[0]["name"], "Launch", "{trashed}");
    assert_eq!(
        env.fails(&["campaign", "status", "-w", "Acme", "Launch"])["code"],
        "not_found"
    );

    // A variant starts as a copy.
    let said = env.ok(&[
        "template", "copy", "-w", "Acme", "follow", "--as", "follow B",
    ]);
    assert!(said.contains("copied 'follow' as 'follow B'"), "{said}");
    let variant = env.json(&["template", "list", "-w", "Acme"]);
    assert!(
        variant
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "follow B" && t["subject"] == "Re: a partnership"),
        "{variant}"
    );

    // Its templates are free now; the campaign then waits for them to come back.
    env.ok(&["template", "delete", "-w", "Acme", "first"]);
    let (code, message) =
        code_and_message(&env.fails(&["campaign", "restore", "-w", "Acme", &launch]));
    assert_eq!(code, "conflict");
    assert!(
        message.contains("template 'first' in the trash"),
        "{message}"
    );
    let first = env.json(&["template", "list", "-w", "Acme", "--deleted"])[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    env.ok(&["template", "restore", "-w", "Acme", &first]);
    let said = env.ok(&["campaign", "restore", "-w", "Acme", &launch]);
    assert!(said.contains("restored campaign 'Launch'"), "{said}");
    // Nothing of that id is in the trash any more.
    let (code, message) =
        code_and_message(&env.fails(&["campaign", "restore", "-w", "Acme", &launch]));
    assert_eq!(code, "not_found");
    assert!(message.contains("--deleted` lists them"), "{message}");

    // A running campaign stays until it is stopped.
    env.ok(&["campaign", "enrol", "-w", "Acme", "Launch"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Launch"]);
    let (code, message) =
        code_and_message(&env.fails(&["campaign", "delete", "-w", "Acme", "Launch"]));
    assert_eq!(code, "conflict");
    assert!(message.contains("is running; stop it"), "{message}");
    env.ok(&["campaign", "stop", "-w", "Acme", "Launch"]);
    // Its sequence runs again as a copy: a draft with nobody enrolled.
    let said = env.ok(&["campaign", "copy", "-w", "Acme", "Launch"]);
    assert!(
        said.contains("copied 'Launch' as 'Copy of Launch'"),
        "{said}"
    );
    let copy = env.json(&["campaign", "status", "-w", "Acme", "Copy of Launch"]);
    assert_eq!(copy["campaign"]["status"], "draft", "{copy}");
    assert_eq!(copy["progress"]["enrolled"], 0, "{copy}");
    assert_eq!(
        copy["campaign"]["fields"]["steps"],
        env.json(&["campaign", "status", "-w", "Acme", "Launch"])["campaign"]["fields"]["steps"]
    );
    let (code, _) = code_and_message(&env.fails(&[
        "campaign",
        "copy",
        "-w",
        "Acme",
        "Launch",
        "--as",
        "copy of launch",
    ]));
    assert_eq!(code, "conflict");
    env.ok(&["campaign", "delete", "-w", "Acme", "Launch"]);

    let actions = env.audit_actions(&["--workspace", "Acme"]);
    for action in [
        "template.delete",
        "template.restore",
        "campaign.delete",
        "campaign.restore",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[test]
fn a_removed_account_and_a_removed_mailbox_leave_nothing_in_the_keychain() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(1));
    sendgrid_account(&env, "http://127.0.0.1:9", "SG.remove-me");
    let grid = account_id(&env, "grid");
    let sink_account = account_id(&env, "sink");
    let mailbox =
        |account: &str| env.loopback_mailbox(account, 9, ("alex", "imap-secret"), &["--disabled"]);
    mailbox("sink");
    mailbox("grid");
    assert_eq!(
        keychain_entry(&env, sink_account, "mailbox").trim(),
        "imap-secret"
    );

    // Removing a mailbox takes its own password out of the keychain too.
    env.ok(&["mailbox", "remove", "-w", "Acme", "sink"]);
    assert_eq!(keychain_entry(&env, sink_account, "mailbox"), "");

    // An account a campaign sends from stays; without --yes nothing happens.
    env.always_open_campaign("Grid launch", "grid", &["first"]);
    let err = env.fails(&["account", "delete", "-w", "Acme", "grid", "--yes"]);
    assert_eq!(err["code"], "conflict", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("used by 'Grid launch'"),
        "{err}"
    );
    env.ok(&["campaign", "delete", "-w", "Acme", "Grid launch"]);
    let err = env.fails(&["account", "delete", "-w", "Acme", "grid"]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert_eq!(keychain_entry(&env, grid, "secret").trim(), "SG.remove-me");

    let said = env.ok(&["account", "delete", "-w", "Acme", "grid", "--yes"]);
    assert!(said.contains("removed sender account 'grid'"), "{said}");
    for kind in ["secret", "dkim", "mailbox"] {
        assert_eq!(keychain_entry(&env, grid, kind), "", "{kind}");
    }
    let names: Vec<String> = env
        .json(&["account", "list", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["fields"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["sink"]);
    assert!(
        env.audit_actions(&["--workspace", "Acme"])
            .iter()
            .any(|a| a == "account.delete")
    );
    // The campaign in the trash comes back as a draft that needs an account.
    let launch = env.json(&["campaign", "list", "-w", "Acme", "--deleted"])[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    env.ok(&["campaign", "restore", "-w", "Acme", &launch]);
    let status = env.json(&["campaign", "status", "-w", "Acme", "Grid launch"]);
    assert!(
        status["campaign"]["fields"]["account_id"].is_null(),
        "{status}"
    );
    // It gets one from the command line too.
    let said = env.ok(&[
        "campaign",
        "edit",
        "-w",
        "Acme",
        "Grid launch",
        "--account",
        "sink",
    ]);
    assert!(said.contains("sender account"), "{said}");
    let status = env.json(&["campaign", "status", "-w", "Acme", "Grid launch"]);
    assert_eq!(status["campaign"]["fields"]["account_id"], sink_account);
}

#[test]
fn a_draft_or_paused_campaign_changes_from_the_command_line_and_a_sending_one_does_not() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(1));
    env.always_open_campaign("Launch", "sink", &["first", "follow@1"]);
    let fields = |name: &str| {
        env.json(&["campaign", "status", "-w", "Acme", name])["campaign"]["fields"].clone()
    };
    let before = fields("Launch");

    // Nothing to change, or a template that does not exist: refused, nothing changed.
    let err = env.fails(&["campaign", "edit", "-w", "Acme", "Launch"]);
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("nothing to change"),
        "{err}"
    );
    let err = env.fails(&[
        "campaign", "edit", "-w", "Acme", "Launch", "--step", "first", "--step", "nope@2",
    ]);
    assert_eq!(err["code"], "not_found", "{err}");
    assert_eq!(fields("Launch"), before);

    // A draft: the sequence, cap and gap change; what is left out stays, and the command
    // says what changed.
    let said = env.ok(&[
        "campaign",
        "edit",
        "-w",
        "Acme",
        "Launch",
        "--step",
        "first",
        "--step",
        "follow@3",
        "--daily-cap",
        "40",
        "--gap",
        "5-10",
        "--rename",
        "Spring",
    ]);
    assert!(
        said.contains("changed campaign 'Spring'")
            && said.contains("name, sequence, daily cap, gap between sends"),
        "{said}"
    );
    let after = fields("Spring");
    assert_eq!(after["steps"][1]["delay_business_days"], 3, "{after}");
    assert_eq!(after["steps"][1]["condition"], "no_reply", "{after}");
    assert_eq!(after["daily_cap"], 40);
    assert_eq!(
        (
            after["min_gap_seconds"].clone(),
            after["max_gap_seconds"].clone()
        ),
        (5.into(), 10.into())
    );
    assert_eq!(after["window"], before["window"]);
    assert_eq!(after["account_id"], before["account_id"]);

    // A running campaign is paused first; the refusal changes nothing.
    env.ok(&["campaign", "enrol", "-w", "Acme", "Spring"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Spring"]);
    let err = env.fails(&["campaign", "edit", "-w", "Acme", "Spring", "--no-daily-cap"]);
    assert_eq!(err["code"], "conflict", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("pause the campaign"),
        "{err}"
    );
    assert_eq!(fields("Spring"), after);

    // Paused, the hours change and the days stay.
    env.ok(&["campaign", "pause", "-w", "Acme", "Spring"]);
    let said = env.ok(&[
        "campaign",
        "edit",
        "-w",
        "Acme",
        "Spring",
        "--window",
        "10:00-12:30",
        "--no-daily-cap",
    ]);
    assert!(said.contains("send window, daily cap"), "{said}");
    let paused = fields("Spring");
    assert_eq!(paused["window"]["start_minute"], 600);
    assert_eq!(paused["window"]["end_minute"], 750);
    assert_eq!(paused["window"]["days"], before["window"]["days"]);
    assert!(paused["daily_cap"].is_null(), "{paused}");
    let err = env.fails(&[
        "campaign",
        "edit",
        "-w",
        "Acme",
        "Spring",
        "--window",
        "12:00-10:00",
    ]);
    assert_eq!(err["code"], "invalid_input", "{err}");

    // Stopped, it has ended.
    env.ok(&["campaign", "stop", "-w", "Acme", "Spring"]);
    let err = env.fails(&["campaign", "edit", "-w", "Acme", "Spring", "--gap", "1-2"]);
    assert_eq!(err["code"], "conflict", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("has ended"),
        "{err}"
    );
    assert_eq!(
        env.audit_actions(&["--workspace", "Acme"])
            .iter()
            .filter(|a| *a == "campaign.update")
            .count(),
        2,
        "one entry for each edit that changed something"
    );
}

#[test]
fn an_account_changes_from_the_command_line_and_a_new_password_replaces_the_old_in_the_keychain() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(1));
    let id = account_id(&env, "sink");
    let fields = || env.json(&["account", "list", "-w", "Acme"])[0]["fields"].clone();
    let before = fields();
    let refused = |args: &[&str], code: &str, says: &str| {
        let mut all = vec!["account", "edit", "-w", "Acme", "sink"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = env
            .cmd(&all)
            .env_remove("OUTREACH_SECRET")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{all:?} should fail");
        let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(err["code"], code, "{err}");
        assert!(err["message"].as_str().unwrap().contains(says), "{err}");
    };
    let edit = |args: &[&str]| {
        let mut all = vec!["account", "edit", "-w", "Acme", "sink"];
        all.extend_from_slice(args);
        env.ok(&all)
    };

    // Refusals change nothing.
    refused(&[], "invalid_input", "nothing to change");
    refused(
        &["--security", "opportunistic"],
        "invalid_input",
        "unknown security",
    );
    refused(
        &["--new-secret"],
        "invalid_input",
        "OUTREACH_SECRET, which is not set",
    );
    // Plain SMTP goes only to a relay on this machine.
    refused(
        &["--host", "smtp.example.com"],
        "invalid_input",
        "only allowed to a relay on this machine",
    );
    assert_eq!(fields(), before);

    // Caps and reply-to change, `none` clears, the rest stays.
    edit(&["--per-minute", "30"]);
    let said = edit(&[
        "--per-day",
        "200",
        "--per-minute",
        "none",
        "--reply-to",
        "ops@brand.example",
    ]);
    assert!(
        said.contains("changed account 'sink'") && said.contains("reply-to, caps"),
        "{said}"
    );
    let after = fields();
    assert_eq!(after["daily_cap"], 200, "{after}");
    assert!(after["per_minute_cap"].is_null(), "{after}");
    assert_eq!(after["reply_to"], "ops@brand.example", "{after}");
    for same in ["host", "port", "security", "from_address", "from_name"] {
        assert_eq!(after[same], before[same], "{same}");
    }

    // A password comes with a user name (smtp-sink takes mail without signing in, so this
    // account does not send from here on), and a rotated one replaces it in the keychain.
    refused(
        &["--username", "alex"],
        "invalid_input",
        "a username needs a password",
    );
    assert_eq!(keychain_entry(&env, id, "secret").trim(), "");
    let said = env.ok_with_env(
        &[
            "account",
            "edit",
            "-w",
            "Acme",
            "sink",
            "--username",
            "alex",
            "--new-secret",
        ],
        &[("OUTREACH_SECRET", "first-2026")],
    );
    assert!(said.contains(": user name, password"), "{said}");
    assert_eq!(keychain_entry(&env, id, "secret").trim(), "first-2026");
    let with_user = fields();
    let said = env.ok_with_env(
        &["account", "edit", "-w", "Acme", "sink", "--new-secret"],
        &[("OUTREACH_SECRET", "rotated-2026")],
    );
    assert!(said.ends_with(": password\n"), "{said}");
    assert_eq!(keychain_entry(&env, id, "secret").trim(), "rotated-2026");
    assert_eq!(fields(), with_user);
    refused(
        &["--username", "none"],
        "invalid_input",
        "a password needs a username",
    );
    assert_eq!(
        env.audit_actions(&["--workspace", "Acme"])
            .iter()
            .filter(|a| *a == "account.update")
            .count(),
        4
    );

    // A DKIM key comes and goes; `none` takes it out of the keychain, with the selector.
    refused(
        &["--dkim-key", "none"],
        "invalid_input",
        "has no DKIM key to remove",
    );
    // A throwaway Ed25519 key, as `openssl genpkey -algorithm ed25519` writes one.
    let key = env.write(
        "dkim.pem",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n",
    );
    let said = edit(&["--dkim-selector", "s2026", "--dkim-key", &key]);
    assert!(said.ends_with(": DKIM selector, DKIM key\n"), "{said}");
    assert!(keychain_entry(&env, id, "dkim").contains("BEGIN PRIVATE KEY"));
    let said = edit(&["--dkim-key", "none"]);
    assert!(said.ends_with(": DKIM key removed\n"), "{said}");
    assert_eq!(keychain_entry(&env, id, "dkim").trim(), "");
    let after = fields();
    assert!(after["dkim_selector"].is_null(), "{after}");
    assert!(after["dkim_domain"].is_null(), "{after}");
    let listed = env.json(&["account", "list", "-w", "Acme"]);
    assert_eq!(listed[0]["has_dkim_key"], false, "{listed}");
}

#[test]
fn an_smtp_account_with_a_user_name_is_added_with_its_password_and_refused_without() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    let add = |name: &'static str, username: Option<&'static str>| {
        let mut args = vec![
            "account",
            "add",
            "-w",
            "Acme",
            name,
            "--host",
            "smtp.provider.example",
            "--security",
            "start_tls",
            "--from-name",
            "Alex Partner",
            "--from",
            "alex@brand.example",
            "--json",
        ];
        if let Some(u) = username {
            args.extend_from_slice(&["--username", u]);
        }
        args
    };
    let run = |args: &[&str], secret: Option<&str>| {
        let mut c = env.cmd(args);
        c.env_remove("OUTREACH_SECRET");
        if let Some(s) = secret {
            c.env("OUTREACH_SECRET", s);
        }
        c.output().unwrap()
    };
    // What every provider needs: a user name and its password.
    let out = run(
        &add("main", Some("alex@brand.example")),
        Some("app-password"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let main: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(main["has_secret"], true, "{main}");
    assert_eq!(
        keychain_entry(&env, main["id"].as_i64().unwrap(), "secret").trim(),
        "app-password"
    );
    // One without the other is refused before anything is stored.
    for (args, secret, says) in [
        (
            add("half", Some("alex")),
            None,
            "a username needs a password",
        ),
        (add("half", None), Some("pw"), "a password needs a username"),
    ] {
        let out = run(&args, secret);
        assert!(!out.status.success());
        let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(err["code"], "invalid_input", "{err}");
        assert!(err["message"].as_str().unwrap().contains(says), "{err}");
    }
    let names: Vec<String> = env
        .json(&["account", "list", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["fields"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["main"]);
}

#[test]
fn a_scripted_run_ends_and_says_why_when_an_accounts_password_is_missing_from_the_keychain() {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(2));
    env.ok_with_env(
        &[
            "account",
            "edit",
            "-w",
            "Acme",
            "sink",
            "--username",
            "alex",
            "--new-secret",
        ],
        &[("OUTREACH_SECRET", "app-password")],
    );
    // The keychain loses the password (a reset keyring, another machine's copy of the data).
    let data = env.path("data").canonicalize().unwrap();
    let id = account_id(&env, "sink");
    let cleared = std::process::Command::new("secret-tool")
        .args([
            "clear",
            "service",
            "outreach-desk",
            "username",
            &format!("account:{}:{id}:secret", data.display()),
        ])
        .status()
        .unwrap();
    assert!(cleared.success());
    env.started_campaign("Launch", "sink");

    // `run --until-idle` (from cron) ends instead of retrying for ever, and says why.
    let mut run = env
        .cmd(&["run", "--until-idle"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let ended = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            run.kill().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let said = String::from_utf8(run.wait_with_output().unwrap().stderr).unwrap();
    assert!(ended.is_some_and(|s| s.success()), "still running: {said}");
    assert!(said.contains("problem: sender account #"), "{said}");
    // Nothing went out; both messages still wait for the account to be fixed.
    assert!(sink.texts().is_empty());
    let status = env.json(&["campaign", "status", "-w", "Acme", "Launch"]);
    assert_eq!(status["progress"]["queued"], 2, "{status}");
}

/// Three prospects in campaign "Trickle" of `steps` with a daily cap of 1, started and run
/// once: the day's one message sent, the others waiting.
fn trickle_after_its_first_send(steps: &[&str]) -> (Sink, Env) {
    let sink = Sink::start();
    let env = Env::new();
    env.campaign_ready(&sink, &many(3));
    env.always_open_campaign_with("Trickle", "sink", steps, &["--daily-cap", "1"]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Trickle"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Trickle"]);
    env.ok(&["run", "--until-idle"]);
    assert_eq!(sink.texts().len(), 1, "the cap allows one a day");
    (sink, env)
}

/// Raises the daily cap of Trickle, paused, resumes it and runs.
fn lift_the_cap_and_run(env: &Env) {
    env.ok(&[
        "campaign",
        "edit",
        "-w",
        "Acme",
        "Trickle",
        "--daily-cap",
        "10",
    ]);
    env.ok(&["campaign", "start", "-w", "Acme", "Trickle"]);
    env.ok(&["run", "--until-idle"]);
}

#[test]
fn a_template_fixed_while_its_campaign_is_paused_reaches_everyone_not_yet_written_to() {
    let (sink, env) = trickle_after_its_first_send(&["first"]);
    assert_eq!(env.progress("Trickle")["queued"], 2);

    // The first recipient's copy shows a mistake: pause, fix the template, resume.
    env.ok(&["campaign", "pause", "-w", "Acme", "Trickle"]);
    let p = env.progress("Trickle");
    assert_eq!(p["queued"], 0, "the two not yet sent were taken back: {p}");
    assert_eq!(p["active"], 2, "{p}");
    env.save_template(
        "first",
        "A partnership for {{ first_name | default(\"you\") }}",
        "Hello {{ first_name | default(\"there\") }},\n\nthe corrected wording.\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    lift_the_cap_and_run(&env);

    let received = sink.texts();
    assert_eq!(received.len(), 3);
    let old = received.iter().filter(|m| m.contains("caught our eye"));
    let fixed = received
        .iter()
        .filter(|m| m.contains("the corrected wording"));
    assert_eq!((old.count(), fixed.count()), (1, 2), "{received:?}");
    let to: HashSet<&str> = received
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("To:")))
        .collect();
    assert_eq!(to.len(), 3, "each prospect once: {to:?}");
    assert_eq!(env.progress("Trickle")["sent"], 3);
}

#[test]
fn a_prospect_moved_to_the_trash_is_not_written_to_until_restored() {
    let (sink, env) = trickle_after_its_first_send(&["first", "follow@5"]);
    let sent_to: Vec<String> = sink
        .texts()
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("To:")).map(str::to_owned))
        .collect();
    // Someone not yet written to goes to the trash while their first step waits.
    let people = env.json(&["prospects", "list", "-w", "Acme"]);
    let waiting = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            let email = p["email"].as_str().unwrap();
            !sent_to.iter().any(|to| to.contains(email))
        })
        .unwrap()
        .clone();
    let id = waiting["id"].to_string();
    let to = format!("<{}>", waiting["email"].as_str().unwrap());
    env.ok(&["prospects", "delete", "-w", "Acme", &id]);
    assert_eq!(env.progress("Trickle")["queued"], 1);
    env.ok(&["campaign", "pause", "-w", "Acme", "Trickle"]);
    lift_the_cap_and_run(&env);
    let received = sink.texts();
    assert_eq!(received.len(), 2);
    assert!(
        !received.iter().any(|m| m.contains(&to)),
        "a message reached {to} in the trash"
    );
    let p = env.progress("Trickle");
    assert_eq!(p["blocked"], 1, "{p}");

    // Restored, their sequence goes on where it stood (the others wait for their follow-up).
    env.ok(&["prospects", "restore", "-w", "Acme", &id]);
    env.ok(&["run", "--until-idle"]);
    let received = sink.texts();
    assert_eq!(received.len(), 3);
    assert!(
        received.iter().any(|m| m.contains(&to)),
        "nothing reached {to} after the restore"
    );
    let p = env.progress("Trickle");
    assert_eq!(
        (p["sent"].as_u64(), p["blocked"].as_u64()),
        (Some(3), Some(0)),
        "{p}"
    );
}

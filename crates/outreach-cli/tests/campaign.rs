//! A whole campaign from the command line against a real SMTP server (Postfix's smtp-sink):
//! accounts, templates with the pre-send check, lawful basis, enrolment with refusals,
//! start, the engine (`outreach run`), and what arrives on the wire. Also the crash test:
//! killing the engine with SIGKILL again and again never sends a step twice.
#![cfg(unix)]
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// Postfix's smtp-sink on a free loopback port, dumping each message to a file.
struct Sink {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Self {
        assert!(
            Path::new(SMTP_SINK).exists(),
            "{SMTP_SINK} is missing: install postfix (scripts/setup.sh test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops root privileges to -u and then writes the dumps as that user.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(SMTP_SINK)
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/%M.", dir.path().display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { port, child, dir };
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("smtp-sink did not start");
    }

    fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_outreach"));
        c.arg("--data-dir").arg(self.path("data")).args(args);
        c.env("OUTREACH_KEY_FILE", self.path("db.key"))
            .env_remove("OUTREACH_DATA_DIR");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "outreach {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn fails(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(!out.status.success(), "{args:?} should fail");
        serde_json::from_slice(&out.stderr).unwrap()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// A workspace with a recorded assessment, `rows` prospects with legitimate interest, a
    /// loopback account on the sink, and two templates.
    fn campaign_ready(&self, sink: &Sink, csv: &str) {
        self.ok(&[
            "workspace",
            "create",
            "Acme",
            "--address",
            "Acme GmbH, 1 Main Street, 10115 Berlin",
            "--legal-notice",
            "Acme GmbH (Berlin) writes to publishers about its affiliate programme.",
        ]);
        let file = self.write("prospects.csv", csv);
        self.ok(&["import", &file, "--workspace", "Acme"]);
        self.ok(&[
            "consent",
            "assess",
            "-w",
            "Acme",
            "--purpose",
            "partner outreach",
            "--necessity",
            "publishers cannot be found otherwise",
            "--balancing",
            "business addresses, one short sequence, easy opt-out",
            "--author",
            "Dana Lead",
            "--date",
            "2026-11-01",
        ]);
        self.ok(&["consent", "assign", "-w", "Acme"]);
        let port = sink.port.to_string();
        self.ok(&[
            "account",
            "add",
            "-w",
            "Acme",
            "sink",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "plain_loopback",
            "--from-name",
            "Alex Partner",
            "--from",
            "alex@brand.example",
        ]);
        let first = self.write(
            "first.txt",
            "{Hi|Hello} {{ first_name | default(\"there\") }},\n\nyour site {{ company | default(\"\") }} caught our eye.\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n",
        );
        self.ok(&[
            "template",
            "save",
            "-w",
            "Acme",
            "first",
            "--subject",
            "A partnership for {{ first_name | default(\"you\") }}",
            "--body-file",
            &first,
        ]);
        let follow = self.write(
            "follow.txt",
            "Hi {{ first_name | default(\"there\") }}, just following up.\n\n{{ opt_out }}\n{{ postal_address }}\n",
        );
        self.ok(&[
            "template",
            "save",
            "-w",
            "Acme",
            "follow",
            "--subject",
            "Re: a partnership",
            "--body-file",
            &follow,
        ]);
    }
}

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

    env.ok(&[
        "campaign",
        "create",
        "-w",
        "Acme",
        "Launch",
        "--account",
        "sink",
        "--step",
        "first",
        "--step",
        "follow@0",
        "--days",
        "mon,tue,wed,thu,fri,sat,sun",
        "--window",
        "00:00-24:00",
        "--gap",
        "0-0",
    ]);
    // Germany is consent-only by default: Jurgen has legitimate interest only.
    let preview = env.json(&["campaign", "enrol", "-w", "Acme", "Launch", "--dry-run"]);
    assert_eq!(preview["will_enrol"], 4, "{preview}");
    assert_eq!(preview["refused"][0]["code"], "consent_required");
    env.ok(&["campaign", "enrol", "-w", "Acme", "Launch"]);

    // A follow-up template without the opt-out line fails the pre-send check; start refuses.
    let bad = env.write(
        "bad.txt",
        "Hi {{ first_name }}, [FIRST LINE]\n{{ postal_address }}\n",
    );
    env.ok(&[
        "template",
        "save",
        "-w",
        "Acme",
        "follow",
        "--subject",
        "Re: us",
        "--body-file",
        &bad,
    ]);
    let err = env.fails(&["campaign", "start", "-w", "Acme", "Launch"]);
    assert_eq!(err["code"], "pre_send_check", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("opt-out"),
        "{err}"
    );
    let good = env.write(
        "good.txt",
        "Hi {{ first_name | default(\"there\") }}, just following up.\n\n{{ opt_out }}\n{{ postal_address }}\n",
    );
    env.ok(&[
        "template",
        "save",
        "-w",
        "Acme",
        "follow",
        "--subject",
        "Re: a partnership",
        "--body-file",
        &good,
    ]);
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

    let received = sink.messages();
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
    let audit = env.json(&["audit", "-w", "Acme", "--limit", "200"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "send.sent").count(), 8);
    assert!(actions.contains(&"campaign.enrol"));
    assert!(actions.contains(&"campaign.start"));
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

/// Prospects for the kill test: enough that sending takes a few seconds.
fn many(n: usize) -> String {
    let mut csv = String::from("first_name,last_name,email,company,country\n");
    for i in 0..n {
        csv.push_str(&format!("P{i},Test,p{i}@example.com,Company {i},France\n"));
    }
    csv
}

#[test]
fn killing_the_engine_again_and_again_never_sends_a_step_twice() {
    let sink = Sink::start();
    let env = Env::new();
    let n = 2000;
    env.campaign_ready(&sink, &many(n));
    env.ok(&[
        "campaign",
        "create",
        "-w",
        "Acme",
        "Crash",
        "--account",
        "sink",
        "--step",
        "first",
        "--days",
        "mon,tue,wed,thu,fri,sat,sun",
        "--window",
        "00:00-24:00",
        "--gap",
        "0-0",
    ]);
    env.ok(&["campaign", "enrol", "-w", "Acme", "Crash"]);
    env.ok(&["campaign", "start", "-w", "Acme", "Crash"]);

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

    let received = sink.messages();
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
    // At most one claimed batch is in flight at a time, so each kill leaves at most that many
    // unconfirmed.
    let in_flight = u64::from(outreach_api::engine::EngineConfig::default().send_batch);
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

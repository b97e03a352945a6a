//! What the CLI tests share: a data folder with helpers to run `outreach` in it, a campaign
//! set up against a test SMTP server, a background engine, and waiting for a condition.
// Each test binary uses a part of these.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use outreach_testkit::SmtpSink as Sink;
use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_outreach"));
        c.arg("--data-dir").arg(self.path("data")).args(args);
        c.env("OUTREACH_KEY_FILE", self.path("db.key"))
            .env_remove("OUTREACH_DATA_DIR");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "outreach {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `ok` with extra environment variables (secrets are passed that way).
    pub fn ok_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> String {
        let mut c = self.cmd(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "outreach {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `ok` with `input` on standard input.
    pub fn ok_with_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "outreach {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// The actions of `outreach audit ARGS`, newest first.
    pub fn audit_actions(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["audit"];
        all.extend_from_slice(args);
        self.json(&all)
            .as_array()
            .expect("a list of entries")
            .iter()
            .map(|e| e["action"].as_str().expect("an action").to_owned())
            .collect()
    }

    pub fn fails(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(!out.status.success(), "{args:?} should fail");
        serde_json::from_slice(&out.stderr).unwrap()
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// A plain-SMTP account `name` on the sink, with more `account add` options.
    pub fn loopback_account(&self, name: &str, sink: &Sink, extra: &[&str]) {
        self.ok(&Self::loopback_account_args(
            name,
            &sink.port().to_string(),
            extra,
        ));
    }

    /// [`Env::loopback_account`] when it must be refused: the error.
    pub fn loopback_account_refused(&self, name: &str, sink: &Sink, extra: &[&str]) -> Value {
        self.fails(&Self::loopback_account_args(
            name,
            &sink.port().to_string(),
            extra,
        ))
    }

    /// [`Env::loopback_account`] when the command line itself may refuse: what it did.
    pub fn loopback_account_run(&self, name: &str, sink: &Sink, extra: &[&str]) -> Output {
        self.run(&Self::loopback_account_args(
            name,
            &sink.port().to_string(),
            extra,
        ))
    }

    fn loopback_account_args<'a>(name: &'a str, port: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "account",
            "add",
            "-w",
            "Acme",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--security",
            "plain_loopback",
            "--from-name",
            "Alex Partner",
            "--from",
            "alex@brand.example",
        ];
        args.extend_from_slice(extra);
        args
    }

    /// A workspace with a recorded assessment, `rows` prospects with legitimate interest, a
    /// loopback account on the sink, and two templates.
    pub fn campaign_ready(&self, sink: &Sink, csv: &str) {
        self.campaign_ready_with(sink, csv, &[]);
    }

    /// [`Env::campaign_ready`] with more `account add` options for the account.
    pub fn campaign_ready_with(&self, sink: &Sink, csv: &str, account: &[&str]) {
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
        self.loopback_account("sink", sink, account);
        self.save_template(
            "first",
            "A partnership for {{ first_name | default(\"you\") }}",
            "{Hi|Hello} {{ first_name | default(\"there\") }},\n\nyour site {{ company | default(\"\") }} caught our eye.\n\n{{ privacy_notice }}\n\n{{ opt_out }}\n{{ postal_address }}\n",
        );
        self.save_template(
            "follow",
            "Re: a partnership",
            "Hi {{ first_name | default(\"there\") }}, just following up.\n\n{{ opt_out }}\n{{ postal_address }}\n",
        );
    }
}

impl Env {
    /// Saves (creates or replaces) template `name` of workspace Acme.
    pub fn save_template(&self, name: &str, subject: &str, body: &str) {
        let file = self.write(&format!("{name}.txt"), body);
        self.ok(&[
            "template",
            "save",
            "-w",
            "Acme",
            name,
            "--subject",
            subject,
            "--body-file",
            &file,
        ]);
    }

    /// A campaign of `steps` (`template` or `template@delay`) on `account`, open all day every
    /// day, without gaps.
    pub fn always_open_campaign(&self, name: &str, account: &str, steps: &[&str]) {
        self.always_open_campaign_with(name, account, steps, &[]);
    }

    /// [`Env::always_open_campaign`] with more `campaign create` options.
    pub fn always_open_campaign_with(
        &self,
        name: &str,
        account: &str,
        steps: &[&str],
        extra: &[&str],
    ) {
        let mut args = vec![
            "campaign",
            "create",
            "-w",
            "Acme",
            name,
            "--account",
            account,
        ];
        for step in steps {
            args.extend_from_slice(&["--step", step]);
        }
        args.extend_from_slice(&[
            "--days",
            "mon,tue,wed,thu,fri,sat,sun",
            "--window",
            "00:00-24:00",
            "--gap",
            "0-0",
        ]);
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    /// A one-step campaign on `account`, open all day every day, without gaps, enrolled and
    /// started.
    pub fn started_campaign(&self, name: &str, account: &str) {
        self.always_open_campaign(name, account, &["first"]);
        self.ok(&["campaign", "enrol", "-w", "Acme", name]);
        self.ok(&["campaign", "start", "-w", "Acme", name]);
    }

    /// The reply mailbox of `account` on a Dovecot started by the test; returns what the
    /// command printed.
    pub fn dovecot_mailbox(&self, account: &str, dovecot: &outreach_testkit::Dovecot) -> String {
        self.loopback_mailbox(
            account,
            dovecot.port(),
            (
                outreach_testkit::Dovecot::USER,
                outreach_testkit::Dovecot::PASSWORD,
            ),
            &[],
        )
    }

    /// `mailbox set` for `account` to an IMAP server on 127.0.0.1:`port` without TLS, signing
    /// in as `(user, secret)`, with more options; returns what the command printed.
    pub fn loopback_mailbox(
        &self,
        account: &str,
        port: u16,
        (user, secret): (&str, &str),
        extra: &[&str],
    ) -> String {
        let port = port.to_string();
        let mut args = vec![
            "mailbox",
            "set",
            "-w",
            "Acme",
            account,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "plain_loopback",
            "--username",
            user,
        ];
        args.extend_from_slice(extra);
        self.ok_with_env(&args, &[("OUTREACH_MAILBOX_SECRET", secret)])
    }

    /// `outreach run` in the background, its messages to `log`; stopped with SIGTERM on drop.
    pub fn engine(&self, log: &str) -> Running {
        let file = std::fs::File::create(self.path(log)).unwrap();
        Running(
            self.cmd(&["run"])
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .unwrap(),
        )
    }

    pub fn progress(&self, campaign: &str) -> Value {
        self.json(&["campaign", "status", "-w", "Acme", campaign])["progress"].clone()
    }
}

/// A background engine process.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        outreach_testkit::stop_gracefully(&mut self.0);
    }
}

/// Polls `check` every 250 ms until it holds, failing after `limit` with `what`.
pub fn eventually(what: &str, limit: Duration, check: impl FnMut() -> bool) {
    eventually_or(what, limit, check, String::new);
}

/// [`eventually`] that adds `context()` (a log, what was found) to its failure.
pub fn eventually_or(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
    context: impl FnOnce() -> String,
) {
    let deadline = Instant::now() + limit;
    while !check() {
        if Instant::now() >= deadline {
            panic!("timed out waiting for {what}\n{}", context());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The current time as a mail `Date:` header value. Test mail must be dated now: a reply
/// matched by its sender counts only when it was written after our message to them.
pub fn mail_date() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

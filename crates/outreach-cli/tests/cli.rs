//! The `outreach` binary end to end, on a real encrypted database in a temporary folder.
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
    /// Commands run with their clock this many days ahead (0: the real clock).
    days_ahead: std::cell::Cell<u32>,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            days_ahead: std::cell::Cell::new(0),
        }
    }

    /// Runs the next commands `days` in the future: libfaketime (`faketime`) moves the clock of
    /// the `outreach` process alone, for what only time can bring about.
    fn move_clock_ahead(&self, days: u32) {
        self.days_ahead.set(days);
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("db.key")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_outreach");
        let mut c = match self.days_ahead.get() {
            0 => Command::new(bin),
            days => {
                let mut c = Command::new("faketime");
                c.arg("-f").arg(format!("+{days}d")).arg(bin);
                c
            }
        };
        c.arg("--data-dir").arg(self.data()).args(args);
        c.env("OUTREACH_KEY_FILE", self.key())
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
            "outreach {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Runs a command that must fail; returns the `{code, message}` it printed.
    fn fails(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} should fail: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stderr).unwrap()
    }

    fn prospects(&self, ws: &str) -> Vec<Value> {
        self.json(&["prospects", "list", "--workspace", ws])
            .as_array()
            .unwrap()
            .clone()
    }
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn workspaces_are_created_listed_and_duplicates_refused() {
    let env = Env::new();
    assert!(
        env.ok(&["workspace", "create", "Acme", "--address", "1 Road, Town"])
            .contains("created workspace 'Acme'")
    );
    let err = env.fails(&["workspace", "create", "acme"]);
    assert_eq!(err["code"], "conflict");
    let list = env.json(&["workspace", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["postal_address"], "1 Road, Town");
    assert_eq!(
        env.fails(&["prospects", "list", "-w", "Nope"])["code"],
        "not_found"
    );
}

#[test]
fn linkedin_export_imports_normalised_and_reimport_merges() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    let report = env.json(&[
        "import",
        &fixture("linkedin-connections.csv"),
        "--workspace",
        "Acme",
    ]);
    assert_eq!(report["created"], 4);
    assert_eq!(report["invalid"], 0);

    let rows = env.prospects("Acme");
    let ada = rows.iter().find(|p| p["first_name"] == "Ada").unwrap();
    assert_eq!(ada["email"], "ada@engines.example");
    assert_eq!(ada["email_original"], "Ada@Engines.example");
    assert_eq!(ada["domain"], "engines.example");
    assert_eq!(
        ada["linkedin_url"],
        "https://www.linkedin.com/in/ada-lovelace-demo"
    );
    assert_eq!(ada["source_type"], "linkedin_export");
    assert_eq!(ada["source_file"], "linkedin-connections.csv");
    assert_eq!(ada["lawful_basis"], "none");
    assert_eq!(ada["consent_given"], false);
    assert!(ada["collected_at"].as_str().unwrap().starts_with("20"));
    let turing = rows.iter().find(|p| p["first_name"] == "Alan").unwrap();
    assert_eq!(
        turing["linkedin_url"],
        "https://www.linkedin.com/in/alan-turing-demo"
    );

    let again = env.json(&[
        "import",
        &fixture("linkedin-connections.csv"),
        "--workspace",
        "Acme",
    ]);
    assert_eq!(
        (again["created"].as_u64(), again["merged"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(env.prospects("Acme").len(), 4, "never a second row");

    let audit = env.json(&["audit", "--workspace", "Acme"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["prospects.import", "prospects.import", "workspace.create"]
    );
    assert_eq!(audit[0]["actor"], "cli");
}

#[test]
fn map_overrides_the_detected_mapping_and_bad_maps_change_nothing() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    let err = env.fails(&[
        "import",
        &fixture("generic.csv"),
        "-w",
        "Acme",
        "--map",
        "nope=email",
    ]);
    assert_eq!(err["code"], "invalid_input");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no column 'nope'")
    );
    let err = env.fails(&[
        "import",
        &fixture("generic.csv"),
        "-w",
        "Acme",
        "--map",
        "notes=colour",
    ]);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("unknown field 'colour'")
    );
    assert_eq!(env.prospects("Acme").len(), 0);

    let err = env.fails(&[
        "import",
        &fixture("generic.csv"),
        "-w",
        "Acme",
        "--map",
        "title=company",
    ]);
    assert_eq!(err["code"], "csv_invalid");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("both mapped to company"),
        "{err}"
    );
    assert_eq!(env.prospects("Acme").len(), 0);

    env.json(&[
        "import",
        &fixture("generic.csv"),
        "-w",
        "Acme",
        "--map",
        "notes=skip",
        "--map",
        "title=company",
        "--map",
        "company=skip",
    ]);
    let rows = env.prospects("Acme");
    let k = rows
        .iter()
        .find(|p| p["email"] == "katherine@orbit.example")
        .unwrap();
    assert_eq!(k["notes"], Value::Null);
    assert_eq!(k["company"], "Affiliate Manager");
    assert_eq!(k["title"], Value::Null);
}

#[test]
fn dry_run_shows_the_mapping_and_imports_nothing() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    let out = env.ok(&[
        "import",
        &fixture("linkedin-connections.csv"),
        "-w",
        "Acme",
        "--dry-run",
    ]);
    assert!(out.contains("LinkedinExport"), "{out}");
    assert!(
        out.contains("Email Address") && out.contains("email"),
        "{out}"
    );
    assert_eq!(env.prospects("Acme").len(), 0);
}

#[test]
fn bad_files_give_clear_reports_and_no_partial_state() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);

    let bom = env.json(&["import", &fixture("bom-semicolon.csv"), "-w", "Acme"]);
    assert_eq!(bom["created"], 1);
    assert_eq!(env.prospects("Acme")[0]["company"], "Semi, Colon");

    let utf8 = env.json(&["import", &fixture("invalid-utf8.csv"), "-w", "Acme"]);
    assert_eq!(
        (utf8["created"].as_u64(), utf8["invalid"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(utf8["row_errors"][0]["row"], 3);
    assert!(
        utf8["row_errors"][0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );

    let before = env.prospects("Acme").len();
    let dup = env.fails(&["import", &fixture("duplicate-headers.csv"), "-w", "Acme"]);
    assert_eq!(dup["code"], "csv_invalid");
    assert!(
        dup["message"]
            .as_str()
            .unwrap()
            .contains("appears more than once")
    );
    let missing = env.fails(&["import", &fixture("missing-email.csv"), "-w", "Acme"]);
    assert_eq!(missing["code"], "csv_invalid");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("no column is mapped to email")
    );
    assert_eq!(
        env.prospects("Acme").len(),
        before,
        "failed imports leave nothing behind"
    );
    let audit = env.json(&["audit", "-w", "Acme"]);
    assert_eq!(audit[0]["action"], "prospects.import_failed");

    let errors = env.dir.path().join("errors.csv");
    let ten = env.json(&[
        "import",
        &fixture("ten-percent-invalid.csv"),
        "-w",
        "Acme",
        "--errors-out",
        errors.to_str().unwrap(),
    ]);
    assert_eq!(
        (ten["created"].as_u64(), ten["invalid"].as_u64()),
        (Some(90), Some(10))
    );
    let exported = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(exported.lines().count(), 11, "{exported}");
    assert!(exported.starts_with("line,column,value,problem"));
    assert!(
        exported.contains("11,email,broken-address-10,"),
        "{exported}"
    );
}

#[test]
fn scoring_qualifies_and_lists_by_status() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    env.json(&["import", &fixture("generic.csv"), "-w", "Acme"]);
    let s = env.json(&["score", "-w", "Acme"]);
    assert_eq!(s["scored"], 3);
    assert_eq!(s["threshold"], 70);
    let qualified = env.json(&["prospects", "list", "-w", "Acme", "--status", "qualified"]);
    let emails: Vec<&str> = qualified
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["katherine@orbit.example"]);
    let k = &qualified[0];
    assert_eq!(
        k["score"], 97,
        "50% e-mail 100 + 30% https 100 + 20% 25k followers 85"
    );
    let err = env.fails(&["prospects", "list", "-w", "Acme", "--status", "hot"]);
    assert!(err["message"].as_str().unwrap().contains("unknown status"));
}

#[test]
fn saved_filters_select_prospects_and_bad_ones_change_nothing() {
    let env = Env::new();
    env.ok(&["demo"]);
    let ws = "Demo workspace";
    let ids = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["prospects", "list", "-w", ws];
        all.extend_from_slice(args);
        let mut ids: Vec<u64> = env
            .json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_u64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let by_hand = ids(&["--status", "qualified", "--min-score", "90"]);
    assert!(!by_hand.is_empty());
    let saved = env.json(&[
        "prospects",
        "save-filter",
        "-w",
        ws,
        "Best",
        "--status",
        "qualified",
        "--min-score",
        "90",
    ]);
    assert_eq!(saved["name"], "Best");
    assert_eq!(saved["filter"]["min_score"], 90);
    // By name, in any case; an option replaces the criterion it names.
    assert_eq!(ids(&["--filter", "best"]), by_hand);
    assert_eq!(
        ids(&["--filter", "Best", "--min-score", "95"]),
        ids(&["--status", "qualified", "--min-score", "95"])
    );

    // Refused with the reason, and nothing saved.
    for (args, says) in [
        (vec!["Nothing"], "at least one condition"),
        (
            vec!["Upside", "--min-score", "80", "--max-score", "20"],
            "above the highest",
        ),
        (vec!["", "--status", "new"], "needs a name"),
        (vec!["Hot", "--status", "hot"], "unknown status"),
        (vec!["Src", "--source", "fax"], "unknown source"),
        (
            vec!["Of", "--filter", "Nope"],
            "no saved filter named 'Nope'",
        ),
    ] {
        let mut all = vec!["prospects", "save-filter", "-w", ws];
        all.extend_from_slice(&args);
        let mut all_json = all.clone();
        all_json.push("--json");
        let out = env.run(&all_json);
        assert!(!out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains(says), "{args:?}: {text}");
    }
    let names = || -> Vec<String> {
        env.json(&["prospects", "filters", "-w", ws])
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    // The demo's two, and this one.
    assert_eq!(
        names(),
        ["Best", "Qualified, score 80 or more", "Still to qualify"]
    );

    // Saving under the same name (any case) replaces it.
    env.ok(&[
        "prospects",
        "save-filter",
        "-w",
        ws,
        "BEST",
        "--country",
        "DE",
    ]);
    assert_eq!(
        names(),
        ["BEST", "Qualified, score 80 or more", "Still to qualify"]
    );
    assert_eq!(ids(&["--filter", "best"]), ids(&["--country", "de"]));

    let deleted = env.json(&["prospects", "delete-filter", "-w", ws, "best"]);
    assert_eq!(deleted["filter"]["country"], "DE");
    let err = env.fails(&["prospects", "list", "-w", ws, "--filter", "best"]);
    assert_eq!(err["code"], "not_found", "{err}");
    let audit = env.json(&["audit", "-w", ws, "--topic", "prospects", "--limit", "3"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "prospects.filter_deleted",
            "prospects.filter_changed",
            "prospects.filter_saved"
        ]
    );
}

#[test]
fn a_review_sets_many_statuses_at_once_within_its_workspace_only() {
    let env = Env::new();
    env.ok(&["demo"]);
    env.ok(&["workspace", "create", "Other"]);
    env.json(&["import", &fixture("generic.csv"), "-w", "Other"]);
    let ws = "Demo workspace";
    let low: Vec<u64> = env
        .json(&["prospects", "list", "-w", ws, "--max-score", "40"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert!(!low.is_empty());
    let other: Vec<u64> = env
        .prospects("Other")
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();

    let done = env.json(&[
        "prospects",
        "set-status",
        "-w",
        ws,
        "--to",
        "disqualified",
        "--max-score",
        "40",
    ]);
    assert_eq!(
        done["changed"].as_u64().unwrap(),
        low.len() as u64,
        "{done}"
    );
    let now = env.json(&["prospects", "list", "-w", ws, "--status", "disqualified"]);
    let mut now: Vec<u64> = now
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    now.sort_unstable();
    let mut expected = low.clone();
    expected.sort_unstable();
    assert_eq!(now, expected);
    // One audit entry, about each of them.
    let first = low[0].to_string();
    let about = env.json(&["audit", "-w", ws, "--prospect", &first, "--limit", "1"]);
    assert_eq!(about[0]["action"], "prospects.status", "{about}");

    // Another workspace's prospects are not this one's to change, by id either.
    let theirs: Vec<String> = other.iter().map(u64::to_string).collect();
    let mut args = vec!["prospects", "set-status", "-w", ws, "--to", "converted"];
    args.extend(theirs.iter().map(String::as_str));
    assert_eq!(env.json(&args)["changed"], 0);
    assert!(
        env.prospects("Other")
            .iter()
            .all(|p| p["status"] != "converted")
    );
    // Without ids or criteria nothing is chosen: refused.
    let err = env.fails(&["prospects", "set-status", "-w", ws, "--to", "new"]);
    assert_eq!(err["code"], "invalid_input", "{err}");

    // "Unsubscribed" is what an opt-out records, not a status to set; someone who opted out
    // keeps it.
    let err = env.fails(&[
        "prospects",
        "set-status",
        "-w",
        ws,
        "--to",
        "unsubscribed",
        &first,
    ]);
    assert!(
        err["message"].as_str().unwrap().contains("opt them out"),
        "{err}"
    );
    env.ok(&["consent", "opt-out", &first]);
    let out = env.ok(&["prospects", "set-status", "-w", ws, "--to", "new", &first]);
    assert!(
        out.contains("set 0 prospect(s) to new")
            && out.contains("1 opted out and stay unsubscribed"),
        "{out}"
    );
}

#[test]
fn demo_creates_a_populated_workspace() {
    let env = Env::new();
    env.ok(&["demo"]);
    let again = env.json(&["demo"]);
    assert_eq!(again["name"], "Demo workspace 2");
    let demo = env.prospects("Demo workspace");
    assert!(demo.len() >= 250);
    assert!(
        demo.iter().all(|p| p["score"].is_u64()),
        "demo data arrives scored"
    );
    assert!(demo.iter().any(|p| p["status"] == "qualified"));
    assert!(demo.iter().any(|p| p["status"] == "new"));
    // Its saved filters select what they say.
    let best = env.json(&[
        "prospects",
        "list",
        "-w",
        "Demo workspace",
        "--filter",
        "Qualified, score 80 or more",
    ]);
    let best = best.as_array().unwrap();
    assert!(!best.is_empty());
    assert!(
        best.iter()
            .all(|p| p["status"] == "qualified" && p["score"].as_u64().unwrap() >= 80)
    );
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_others_is_refused_and_wrong_key_is_explained() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    std::fs::set_permissions(env.key(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = env.fails(&["workspace", "list"]);
    assert_eq!(err["code"], "key_file");
    assert!(err["message"].as_str().unwrap().contains("chmod 600"));

    std::fs::remove_file(env.key()).unwrap();
    let err = env.fails(&["workspace", "list"]);
    assert_eq!(
        err["code"], "key_file",
        "a missing key for an existing database is never replaced"
    );

    let other = Env::new();
    other.ok(&["info"]);
    std::fs::copy(other.key(), env.key()).unwrap();
    let err = env.fails(&["workspace", "list"]);
    assert_eq!(err["code"], "wrong_key");
}

// D-Bus is how Linux reaches its keychain; other platforms' keychains cannot be switched off
// from a test.
#[cfg(target_os = "linux")]
#[test]
fn without_a_keychain_the_cli_says_so_and_creates_nothing() {
    let env = Env::new();
    let out = env
        .cmd(&["workspace", "list", "--json"])
        .env_remove("OUTREACH_KEY_FILE")
        .env_remove("DISPLAY")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "keychain_unavailable");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("OUTREACH_KEY_FILE")
    );
    assert!(
        !env.data().join("outreach.db").exists(),
        "no database without a key"
    );
}

/// Needs a running, unlocked Secret Service (the test script starts gnome-keyring on a private
/// D-Bus session); `cargo nextest run --run-ignored all` inside that session runs it.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs a Secret Service session; run by scripts/test.sh"]
fn the_key_lives_in_the_secret_service() {
    let env = Env::new();
    let with_keychain = |args: &[&str]| {
        let out = env
            .cmd(args)
            .env_remove("OUTREACH_KEY_FILE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    with_keychain(&["workspace", "create", "Keychained"]);
    assert!(
        with_keychain(&["workspace", "list"]).contains("Keychained"),
        "the key is read back"
    );
    assert!(!env.key().exists(), "no key file was written");
    let info = with_keychain(&["info"]);
    assert!(info.contains("OS keychain"), "{info}");
    // The secret filed in the Secret Service is the database key itself: read it back with
    // libsecret's own tool and it opens the database as a key file; another key does not.
    let account = format!("database:{}", env.data().canonicalize().unwrap().display());
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", "outreach-desk", "username", &account])
        .output()
        .expect("secret-tool (Debian package libsecret-tools)");
    let stored = String::from_utf8(lookup.stdout).unwrap();
    assert_eq!(
        stored.trim().len(),
        64,
        "a 256-bit key in hex, got {stored:?}"
    );
    let write_key = |hex: &str| {
        std::fs::write(env.key(), hex).unwrap();
        std::fs::set_permissions(
            env.key(),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
    };
    write_key(stored.trim());
    assert!(env.ok(&["workspace", "list"]).contains("Keychained"));
    write_key(&"00".repeat(32));
    let err = env.fails(&["workspace", "list"]);
    assert_eq!(err["code"], "wrong_key");
}

#[test]
fn prospects_are_shown_edited_deleted_and_restored() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    env.json(&["import", &fixture("generic.csv"), "-w", "Acme"]);
    env.json(&["score", "-w", "Acme"]);
    let k = env
        .prospects("Acme")
        .into_iter()
        .find(|p| p["email"] == "katherine@orbit.example")
        .unwrap();
    let id = k["id"].as_i64().unwrap().to_string();

    let shown = env.ok(&["prospects", "show", &id]);
    assert!(shown.contains("Katherine Johnson"), "{shown}");
    assert!(
        shown.contains("Custom domain orbit.example"),
        "the breakdown is printed: {shown}"
    );

    let err = env.fails(&[
        "prospects",
        "edit",
        &id,
        "--set",
        "email=not-an-email",
        "--set",
        "company=X",
    ]);
    assert_eq!(err["code"], "invalid_input");
    assert_eq!(
        env.json(&["prospects", "show", &id])["company"],
        "Orbit Partners",
        "nothing written"
    );
    let err = env.fails(&["prospects", "edit", &id, "--set", "colour=blue"]);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("unknown field 'colour'")
    );

    let edited = env.json(&[
        "prospects",
        "edit",
        &id,
        "--set",
        "company=Orbit Labs",
        "--set",
        "notes=",
        "--set",
        "status=disqualified",
    ]);
    assert_eq!(edited["company"], "Orbit Labs");
    assert_eq!(edited["notes"], Value::Null);
    assert_eq!(edited["status"], "disqualified");

    assert_eq!(
        env.json(&["prospects", "delete", "-w", "Acme", &id])["deleted"],
        1
    );
    assert_eq!(env.prospects("Acme").len(), 2);
    assert_eq!(
        env.json(&["prospects", "restore", "-w", "Acme", &id])["restored"],
        1
    );
    assert_eq!(env.prospects("Acme").len(), 3);

    let actions: Vec<String> = env
        .json(&["audit", "-w", "Acme"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        &actions[..3],
        ["prospect.restore", "prospect.delete", "prospect.update"]
    );
}

#[test]
fn scoring_weights_and_threshold_are_edited_and_used() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    env.json(&["import", &fixture("generic.csv"), "-w", "Acme"]);
    let shown = env.json(&["scoring", "-w", "Acme"]);
    assert_eq!(shown["threshold"], 70);

    let err = env.fails(&["scoring", "-w", "Acme", "--threshold", "101"]);
    assert_eq!(err["code"], "invalid_input");
    let err = env.fails(&["scoring", "-w", "Acme", "--weight", "charm=5"]);
    assert!(err["message"].as_str().unwrap().contains("unknown factor"));
    assert_eq!(
        env.json(&["scoring", "-w", "Acme"])["threshold"],
        70,
        "nothing changed"
    );

    // Only the e-mail counts, and 40 qualifies: Hedy's free-mail address (40 points) now does.
    let set = env.json(&[
        "scoring",
        "-w",
        "Acme",
        "--weight",
        "website=0",
        "--weight",
        "social=0",
        "--threshold",
        "40",
    ]);
    assert_eq!(set["threshold"], 40);
    env.json(&["score", "-w", "Acme"]);
    let qualified = env.json(&["prospects", "list", "-w", "Acme", "--status", "qualified"]);
    let emails: Vec<&str> = qualified
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"hedy@gmail.com"), "{emails:?}");
    assert!(emails.contains(&"katherine@orbit.example"), "{emails:?}");
}

#[test]
fn sending_settings_are_shown_changed_and_bad_values_change_nothing() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    let shown = || env.json(&["sending-settings", "-w", "Acme"]);
    let defaults = shown();
    assert_eq!(
        defaults["consent_only_countries"],
        serde_json::json!(["DE"])
    );

    let set = env.json(&[
        "sending-settings",
        "-w",
        "Acme",
        "--time-zone",
        "Europe/Paris",
        "--consent-only",
        "germany,AT",
        "--unsubscribe-url",
        "https://acme.example/unsubscribe",
    ]);
    assert_eq!(set["time_zone"], "Europe/Paris");
    assert_eq!(
        set["consent_only_countries"],
        serde_json::json!(["DE", "AT"])
    );
    assert_eq!(set["unsubscribe_url"], "https://acme.example/unsubscribe");
    assert_eq!(shown(), set, "stored");

    for (flag, value, says) in [
        ("--time-zone", "Mars/Olympus", "not a time zone"),
        ("--consent-only", "Atlantis", "not a country"),
        ("--unsubscribe-url", "http://acme.example/u", "https"),
    ] {
        let err = env.fails(&["sending-settings", "-w", "Acme", flag, value]);
        assert_eq!(err["code"], "invalid_input", "{err}");
        assert!(err["message"].as_str().unwrap().contains(says), "{err}");
        assert_eq!(shown(), set, "{flag} {value} changed nothing");
    }

    // Empty values clear the list and remove the endpoint; the rest stays.
    let cleared = env.json(&[
        "sending-settings",
        "-w",
        "Acme",
        "--consent-only",
        "",
        "--unsubscribe-url",
        "",
    ]);
    assert_eq!(cleared["consent_only_countries"], serde_json::json!([]));
    assert_eq!(cleared["unsubscribe_url"], Value::Null);
    assert_eq!(cleared["time_zone"], "Europe/Paris");
    let text = env.ok(&["sending-settings", "-w", "Acme"]);
    assert!(text.contains("unsubscribe url  (none)"), "{text}");
}

#[test]
fn prospects_past_the_retention_period_are_erased_and_may_be_imported_again() {
    let env = Env::new();
    env.ok(&["workspace", "create", "Acme"]);
    let list = fixture("linkedin-connections.csv");
    let imported = env.json(&["import", &list, "--workspace", "Acme"]);
    assert_eq!(imported["created"], 4);
    let kept = env.json(&["retention", "-w", "Acme", "--months", "1"]);
    assert_eq!(kept["months"], 1);
    assert_eq!(kept["due"]["prospects"], 0);
    assert!(kept["next_due_at"].is_string(), "{kept}");
    for months in ["0", "121"] {
        let err = env.fails(&["retention", "-w", "Acme", "--months", months]);
        assert_eq!(err["code"], "invalid_input", "{err}");
    }
    assert_eq!(env.json(&["retention", "-w", "Acme"])["months"], 1);

    // Forty days on, nobody has replied: all four are due.
    env.move_clock_ahead(40);
    assert_eq!(
        env.json(&["retention", "-w", "Acme"])["due"]["prospects"],
        4
    );
    // A purge asks for --yes and changes nothing without it.
    let err = env.fails(&["retention", "-w", "Acme", "--purge"]);
    assert_eq!(err["code"], "invalid_input");
    assert_eq!(env.prospects("Acme").len(), 4);

    // The engine, run as a scheduled job would, erases them before it stops.
    let run = env.run(&["run", "--until-idle"]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{said}");
    assert!(
        said.contains("erased 4 prospect(s) whose retention period ended"),
        "{said}"
    );
    assert!(env.prospects("Acme").is_empty());
    let audit = env.json(&["audit", "-w", "Acme", "--limit", "1"]);
    assert_eq!(audit[0]["action"], "prospect.purge");
    assert_eq!(audit[0]["actor"], "system");

    // They did not object, so nothing keeps them off a new list; a purge on demand erases
    // them again once their period has ended.
    assert_eq!(
        env.json(&["import", &list, "--workspace", "Acme"])["created"],
        4
    );
    env.move_clock_ahead(80);
    let purged = env.json(&["retention", "-w", "Acme", "--purge", "--yes"]);
    assert_eq!(purged["counts"]["prospects"], 4, "{purged}");
    assert!(env.prospects("Acme").is_empty());
}

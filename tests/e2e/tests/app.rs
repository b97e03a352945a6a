//! Drives the real app: the built binary in its webview, through tauri-driver and
//! WebKitWebDriver, on a fresh data folder whose key lives in the Secret Service.
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use outreach_testkit::{Dovecot, NotificationDaemon, SmtpSink, TrayMenu};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// tauri-driver, stopped with SIGTERM on drop: a SIGKILL would leave WebKitWebDriver holding
/// the port.
struct Driver {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        outreach_testkit::stop_gracefully(&mut self.child);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The desktop's colour preference the app starts under: the UI follows it (light and dark
/// themes must each pass the accessibility checks).
#[derive(Clone, Copy)]
enum Theme {
    Light,
    Dark,
}

fn start_driver(theme: Theme) -> Driver {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let native = free_port();
    let mut command =
        Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()));
    // WebKitGTK answers `prefers-color-scheme` from the GTK theme's variant.
    match theme {
        Theme::Light => command.env_remove("GTK_THEME"),
        Theme::Dark => command.env("GTK_THEME", "Adwaita:dark"),
    };
    let child = command
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("OUTREACH_DATA_DIR", data.path())
        .env_remove("OUTREACH_KEY_FILE")
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tauri-driver on the PATH (cargo install tauri-driver --locked --version '^2')");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "tauri-driver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver {
        child,
        port,
        _data: data,
    }
}

fn app_binary() -> String {
    std::env::var("OUTREACH_E2E_APP").unwrap_or_else(|_| {
        panic!("OUTREACH_E2E_APP must name the built app (scripts/test.sh builds it)")
    })
}

/// A session with a new instance of the app, through the tauri-driver listening on `port`.
async fn connect(port: u16) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app_binary() }),
    );
    Ok(
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?,
    )
}

fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

async fn wait(c: &Client, css: &str) -> Result<Element> {
    Ok(c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await?)
}

async fn wait_until<F, Fut>(what: &str, check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    wait_until_within(what, Duration::from_secs(20), check).await
}

async fn wait_until_within<F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether the open reply shows its (first) answer as sent.
async fn answer_shows_sent(c: &Client) -> Result<bool> {
    let sent = c.find_all(Locator::Css(&tid("answer-sent"))).await?;
    Ok(match sent.first() {
        Some(e) => e.attr("data-status").await?.as_deref() == Some("sent"),
        None => false,
    })
}

async fn rows(c: &Client) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for row in c.find_all(Locator::Css(&tid("prospect-row"))).await? {
        // textContent rather than WebDriver's "visible text", whose heuristics see nothing in
        // the absolutely positioned rows of the virtual table; the img check below covers
        // rendering.
        let cell = row.find(Locator::Css(&tid("cell-name"))).await?;
        names.push(
            cell.prop("textContent")
                .await?
                .unwrap_or_default()
                .trim()
                .to_string(),
        );
    }
    Ok(names)
}

async fn fill(c: &Client, id: &str, text: &str) -> Result<()> {
    let e = wait(c, &tid(id)).await?;
    // Select all and delete as a person would: WebDriver's own clear fires no `input` event,
    // so the UI would not see the field emptied.
    e.send_keys("\u{E009}a\u{E000}\u{E003}").await?;
    if !text.is_empty() {
        // A line break is the Enter key to WebDriver; a bare "\n" is dropped.
        e.send_keys(&text.replace('\n', "\u{E007}")).await?;
    }
    Ok(())
}

async fn click(c: &Client, id: &str) -> Result<()> {
    // A greyed-out button (a list still loading) ignores the click: wait for it, as a person does.
    wait_until(&format!("{id} to be enabled"), || async {
        Ok(wait(c, &tid(id)).await?.is_enabled().await?)
    })
    .await?;
    if wait(c, &tid(id)).await?.click().await.is_ok() {
        return Ok(());
    }
    // Toasts stay for a few seconds and can sit over a button near the bottom of the window
    // (seen in a fresh-clone run: the inbox's Send under four of them). A person dismisses
    // them and clicks again; so does the test.
    for close in c
        .find_all(Locator::Css(&format!("{} .close", tid("toast"))))
        .await?
    {
        let _ = close.click().await;
    }
    wait(c, &tid(id)).await?.click().await?;
    Ok(())
}

/// The whole first-day journey of a user.
async fn journey(c: &Client) -> Result<()> {
    // First run: create a workspace.
    wait(c, &tid("welcome")).await?;
    assert_accessible(c, "the first screen").await?;
    click(c, "create-first-workspace").await?;
    fill(c, "ws-name", "E2E Client").await?;
    fill(c, "ws-address", "1 Example Street, Sample Town").await?;
    // Escape would drop what is typed: the app asks first, over the dialog.
    wait(c, &tid("ws-address"))
        .await?
        .send_keys("\u{E00C}")
        .await?;
    wait_until("the question about the typed workspace", || async {
        Ok(text_of(c, "unsaved-what")
            .await?
            .contains("the new workspace “E2E Client”"))
    })
    .await?;
    click(c, "unsaved-stay").await?;
    click(c, "ws-save").await?;
    wait_until("the workspace to be selected", || async {
        Ok(wait(c, &tid("workspace-select"))
            .await?
            .prop("value")
            .await?
            .is_some())
    })
    .await?;

    // Import the LinkedIn fixture through the dialog.
    let fixture = repo()
        .join("tests/fixtures/linkedin-connections.csv")
        .canonicalize()?;
    click(c, "import-open").await?;
    fill(c, "import-path", fixture.to_str().unwrap_or_default()).await?;
    click(c, "import-preview").await?;
    wait(c, &tid("map-3")).await?;
    click(c, "import-run").await?;
    let created = wait(c, &tid("import-created")).await?;
    assert_eq!(created.text().await?.trim(), "4");
    assert_eq!(
        wait(c, &tid("import-invalid")).await?.text().await?.trim(),
        "0"
    );
    click(c, "import-close").await?;

    // Prospect-supplied markup is shown as text, never run or rendered.
    wait_until("4 named rows, one of them the literal markup", || async {
        let names = rows(c).await?;
        Ok(names.len() == 4
            && names.iter().all(|n| !n.is_empty())
            && names
                .iter()
                .any(|n| n.contains("<img src=x onerror=alert(1)>")))
    })
    .await?;
    assert!(
        c.find_all(Locator::Css("main img, [data-testid=\"prospect-row\"] img"))
            .await?
            .is_empty()
    );
    assert!(c.get_alert_text().await.is_err(), "no alert may have fired");

    // Search narrows the table.
    fill(c, "search", "turing").await?;
    wait_until("the search to find Alan Turing only", || async {
        let r = rows(c).await?;
        Ok(r.len() == 1 && r[0].contains("Alan Turing"))
    })
    .await?;
    // Saved as a filter, cleared, and applied again from the list.
    click(c, "filter-save").await?;
    fill(c, "filter-name", "Codebreakers").await?;
    assert_accessible(c, "the save-filter dialog").await?;
    click(c, "filter-save-ok").await?;
    click(c, "filter-clear").await?;
    wait_until("all rows back", || async { Ok(rows(c).await?.len() == 4) }).await?;
    choose(c, "saved-filter", "Codebreakers").await?;
    wait_until("the saved filter to find Alan Turing only", || async {
        let r = rows(c).await?;
        Ok(r.len() == 1 && r[0].contains("Alan Turing"))
    })
    .await?;
    fill(c, "search", "").await?;
    // Clearing with send_keys leaves the field empty; make sure the table comes back.
    wait_until("all rows back", || async { Ok(rows(c).await?.len() == 4) }).await?;

    // Another column, from the table's list of columns: the LinkedIn "Position".
    click(c, "columns-open").await?;
    click(c, "column-title").await?;
    assert_accessible(c, "the list of columns").await?;
    wait_until("Ada's job title in its column", || async {
        for cell in c.find_all(Locator::Css(&tid("cell-title"))).await? {
            if cell.prop("textContent").await?.as_deref() == Some("Founder") {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?;
    click(c, "columns-open").await?;

    // A review's outcome for the ticked rows at once, undone from its notice.
    for row in c.find_all(Locator::Css(&tid("prospect-row"))).await? {
        let text = row.prop("textContent").await?.unwrap_or_default();
        if text.contains("mallory@evil.example") {
            row.find(Locator::Css(&tid("prospect-check")))
                .await?
                .click()
                .await?;
        }
    }
    // At 1280x800 (DESIGN: usable there) with the bulk bar open, the dates stay whole.
    let dates = c
        .execute(
            "const cells = [...document.querySelectorAll('[data-testid=\"cell-created\"]')];
             return { shown: cells.length,
                      cut: cells.filter((d) => d.scrollWidth > d.clientWidth).map((d) => d.textContent) };",
            vec![],
        )
        .await?;
    assert_eq!(
        dates,
        serde_json::json!({ "shown": 4, "cut": [] }),
        "dates cut off in the table"
    );
    choose(c, "bulk-status", "Disqualified").await?;
    wait_until("Mallory disqualified", || async {
        toast_says(c, "Set 1 prospect to Disqualified.").await
    })
    .await?;
    click(c, "bulk-status-undo").await?;
    wait_until("Mallory's status back", || async {
        toast_says(c, "Gave 1 prospect back their status.").await
    })
    .await?;
    click(c, "bulk-clear").await?;

    // Score, then open a prospect and read the breakdown.
    click(c, "score-run").await?;
    wait(c, &tid("toast")).await?;
    let detail = open_prospect(c, "Ada Lovelace").await?;
    let breakdown = wait(c, &tid("score-breakdown")).await?;
    assert_accessible(c, "the prospect table with Ada's details").await?;
    let email_factor = breakdown
        .find(Locator::Css(&tid("factor-email_domain")))
        .await?
        .text()
        .await?;
    assert!(email_factor.contains("engines.example"), "{email_factor}");
    let company = detail
        .find(Locator::Css(&tid("edit-company")))
        .await?
        .prop("value")
        .await?;
    assert_eq!(company.as_deref(), Some("Analytical Engines Ltd"));

    // Edit a field in the panel. Leaving for another view first asks about the edit; the
    // user stays, saves, and the table shows the new value.
    fill(c, "edit-company", "Difference Engines").await?;
    click(c, "nav-audit").await?;
    wait_until("the question about the unsaved edit", || async {
        Ok(text_of(c, "unsaved-what")
            .await?
            .contains("your changes to Ada Lovelace"))
    })
    .await?;
    click(c, "unsaved-stay").await?;
    click(c, "detail-save").await?;
    wait_until("the edited company in the table", || async {
        for cell in c.find_all(Locator::Css(&tid("cell-company"))).await? {
            if cell
                .prop("textContent")
                .await?
                .unwrap_or_default()
                .contains("Difference Engines")
            {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?;

    // Move Ada to the trash, then undo from the toast.
    click(c, "detail-delete").await?;
    wait_until("3 rows after the delete", || async {
        Ok(rows(c).await?.len() == 3)
    })
    .await?;
    click(c, "undo").await?;
    wait_until("Ada back after undo", || async {
        Ok(rows(c).await?.iter().any(|n| n.contains("Ada Lovelace")))
    })
    .await?;

    // Ada's details keep her history; the audit log narrows to her from there.
    open_prospect(c, "Ada Lovelace").await?;
    wait_until("Ada's history", || async {
        let text = text_of(c, "prospect-activity").await?;
        Ok(text.contains("Restored 1 prospect") && text.contains("Edited prospect #"))
    })
    .await?;
    click(c, "prospect-activity-all").await?;
    wait_until("the audit log about Ada only", || async {
        let person = text_of(c, "audit-person").await?;
        let text = wait(c, &tid("audit-list")).await?.text().await?;
        Ok(person.contains("Ada Lovelace")
            && text.contains("prospect.update")
            && text.contains("prospects.import")
            && !text.contains("workspace.create"))
    })
    .await?;
    choose(c, "audit-topic", "Consent and lawful basis").await?;
    wait_until("nothing about her consent yet", || async {
        Ok(text_of(c, "audit-empty").await? == "No entries match these filters.")
    })
    .await?;
    click(c, "audit-clear").await?;
    wait_until("the whole log again", || async {
        let text = wait(c, &tid("audit-list")).await?.text().await?;
        Ok(text.contains("workspace.create"))
    })
    .await?;
    click(c, "nav-prospects").await?;

    // Alan asks to be forgotten: erasure names what goes and waits for the acknowledgement.
    open_prospect(c, "Alan Turing").await?;
    click(c, "detail-erase").await?;
    wait_until("what the erasure removes", || async {
        Ok(text_of(c, "erase-summary")
            .await?
            .contains("0 messages to them"))
    })
    .await?;
    // The search saved as "Codebreakers" finds him by his name: it goes with him.
    assert!(
        text_of(c, "erase-summary")
            .await?
            .contains("1 saved filter whose search finds them by name"),
        "{}",
        text_of(c, "erase-summary").await?
    );
    assert!(
        !wait(c, &tid("erase-confirm")).await?.is_enabled().await?,
        "erasing waits for the acknowledgement"
    );
    click(c, "erase-understood").await?;
    click(c, "erase-confirm").await?;
    wait_until("Alan gone for good", || async {
        let names = rows(c).await?;
        Ok(names.len() == 3 && !names.iter().any(|n| n.contains("Alan Turing")))
    })
    .await?;
    wait_until("the search for him gone from the saved filters", || async {
        let offered = wait(c, &tid("saved-filter"))
            .await?
            .prop("textContent")
            .await?
            .unwrap_or_default();
        Ok(!offered.contains("Codebreakers"))
    })
    .await?;
    assert!(
        c.find_all(Locator::Css(&tid("prospect-detail")))
            .await?
            .is_empty(),
        "his details closed"
    );
    fill(c, "search", "turing").await?;
    wait_until("no trace of him in search", || async {
        Ok(rows(c).await?.is_empty())
    })
    .await?;
    fill(c, "search", "").await?;
    wait_until("the other rows back", || async {
        Ok(rows(c).await?.len() == 3)
    })
    .await?;

    // The workspace keeps people who do not reply for two years instead of three; nobody
    // added today is due, so it saves without asking.
    click(c, "nav-settings").await?;
    wait_until("the retention in force", || async {
        Ok(wait(c, &tid("retention-months"))
            .await?
            .prop("value")
            .await?
            == Some("36".into()))
    })
    .await?;
    fill(c, "retention-months", "24").await?;
    click(c, "retention-save").await?;
    wait_until(
        "the next end of a retention period, two years on",
        || async {
            let due = text_of(c, "retention-due").await?;
            Ok(
                due.starts_with("Nobody is due now. The next period ends on")
                    && due.contains(&(jiff::Zoned::now().year() + 2).to_string()),
            )
        },
    )
    .await?;
    assert_accessible(c, "the settings").await?;

    // The audit log shows every step.
    click(c, "nav-audit").await?;
    wait_until("audit entries for every step", || async {
        let text = wait(c, &tid("audit-list")).await?.text().await?;
        Ok([
            "workspace.create",
            "prospects.import",
            "prospects.score",
            "prospect.update",
            "prospect.delete",
            "prospect.restore",
            "prospect.erase",
            "workspace.retention",
        ]
        .iter()
        .all(|a| text.contains(a)))
    })
    .await?;
    assert_accessible(c, "the audit log").await?;

    // Ctrl+K from the audit log: Grace, found by her company, her details in the prospect view.
    wait(c, "body")
        .await?
        .send_keys("\u{E009}k\u{E000}")
        .await?;
    fill(c, "palette-input", "compiler").await?;
    wait_until("Grace offered by the palette", || async {
        let first = wait(c, &tid("palette-option")).await?.text().await?;
        Ok(first.contains("Grace Hopper"))
    })
    .await?;
    assert_accessible(c, "the command palette").await?;
    wait(c, &tid("palette-input"))
        .await?
        .send_keys("\u{E007}")
        .await?;
    wait_until("Grace's details from the palette", || async {
        Ok(text_of(c, "detail-name").await? == "Grace Hopper")
    })
    .await?;

    // The client leaves: the workspace goes, once its name is typed, and the app is back at
    // its first screen.
    click(c, "nav-settings").await?;
    click(c, "workspace-delete").await?;
    wait_until("what the workspace holds", || async {
        Ok(text_of(c, "workspace-delete-summary")
            .await?
            .contains("It holds 3 prospects"))
    })
    .await?;
    fill(c, "workspace-delete-name", "E2E").await?;
    assert!(
        !wait(c, &tid("workspace-delete-confirm"))
            .await?
            .is_enabled()
            .await?,
        "deleting waits for the whole name"
    );
    fill(c, "workspace-delete-name", "E2E Client").await?;
    click(c, "workspace-delete-confirm").await?;
    wait(c, &tid("welcome")).await?;

    // With no workspace left, the first screen leads to the deleted one's log.
    click(c, "welcome-deleted-logs").await?;
    wait_until(
        "the deleted workspace's log from the first screen",
        || async {
            let text = wait(c, &tid("audit-list")).await?.text().await?;
            Ok(text.contains("workspace.purged")
                && text_of(c, "audit-deleted-note")
                    .await?
                    .contains("“E2E Client” was deleted on"))
        },
    )
    .await?;
    assert_accessible(c, "the deleted workspace's log").await?;
    click(c, "audit-back").await?;
    wait(c, &tid("welcome")).await?;

    // The next client's workspace can still show the deleted one's log: what it held, when
    // it was erased.
    click(c, "create-first-workspace").await?;
    fill(c, "ws-name", "Next Client").await?;
    click(c, "ws-save").await?;
    click(c, "nav-audit").await?;
    wait(c, &tid("audit-workspace")).await?;
    // The option's label ends with a date in the system's format: picked by position.
    c.execute(
        "const e = document.querySelector(arguments[0]);
         e.selectedIndex = 1;
         e.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![tid("audit-workspace").into()],
    )
    .await?;
    wait_until("the deleted workspace's log", || async {
        let text = wait(c, &tid("audit-list")).await?.text().await?;
        Ok(text.contains("workspace.purged")
            && text.contains("workspace.delete")
            && text_of(c, "audit-deleted-note")
                .await?
                .contains("everything it held was erased on"))
    })
    .await?;
    assert!(
        c.find_all(Locator::Css(&tid("error-banner")))
            .await?
            .is_empty(),
        "no error on the way: {}",
        text_of(c, "error-banner").await.unwrap_or_default()
    );
    Ok(())
}

/// What axe-core (from the UI's npm packages) finds against WCAG 2.1 A and AA in the window as
/// it stands, colour contrast included: the rules the unit tests cannot run without layout.
async fn accessibility_violations(c: &Client) -> Result<Vec<String>> {
    let loaded = c
        .execute("return typeof window.axe === 'object';", vec![])
        .await?;
    if loaded != serde_json::Value::Bool(true) {
        let path = repo().join("ui/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&path)
            .map_err(|e| format!("{} (npm package axe-core): {e}", path.display()))?;
        c.execute(&format!("{source}\nreturn true;"), vec![])
            .await?;
    }
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                .then((r) => done(r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${
                    v.nodes.map((n) => n.target.join(' ')).join(', ')}`)))
                .catch((e) => done([`axe failed: ${e}`]));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}

/// Fails with what axe found, if anything, in the window as it stands (`screen` names it).
async fn assert_accessible(c: &Client, screen: &str) -> Result<()> {
    let found = accessibility_violations(c).await?;
    assert!(found.is_empty(), "{screen}: {found:#?}");
    Ok(())
}

/// Opens the details of the prospect named `name` from the prospect table on screen.
/// The table may still be loading (just after switching to it), so this waits for the row.
async fn open_prospect(c: &Client, name: &str) -> Result<Element> {
    wait_until(&format!("{name}'s row"), || async {
        for row in c.find_all(Locator::Css(&tid("prospect-row"))).await? {
            if row
                .prop("textContent")
                .await?
                .unwrap_or_default()
                .contains(name)
            {
                row.click().await?;
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?;
    let detail = wait(c, &tid("prospect-detail")).await?;
    wait_until("the prospect's details", || async {
        Ok(c.find(Locator::Css(&tid("detail-name")))
            .await?
            .text()
            .await?
            .contains(name))
    })
    .await?;
    Ok(detail)
}

/// Picks an option of a `<select>` by its visible text, as a person would.
/// Options may arrive after the list behind them loads, so this waits for the one wanted.
async fn choose(c: &Client, id: &str, label: &str) -> Result<()> {
    wait_until(&format!("option '{label}' of {id}"), || async {
        Ok(wait(c, &tid(id))
            .await?
            .select_by_label(label)
            .await
            .is_ok())
    })
    .await
}

/// Sets a time or date input the way its picker does: the value, then an `input` event.
/// (WebKit's typed entry into these fields depends on the locale's format.)
async fn set_value(c: &Client, id: &str, value: &str) -> Result<()> {
    wait(c, &tid(id)).await?;
    c.execute(
        "const e = document.querySelector(arguments[0]);
         e.value = arguments[1];
         e.dispatchEvent(new Event('input', { bubbles: true }));
         e.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![tid(id).into(), value.into()],
    )
    .await?;
    Ok(())
}

async fn text_of(c: &Client, id: &str) -> Result<String> {
    Ok(wait(c, &tid(id))
        .await?
        .prop("textContent")
        .await?
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// Whether a toast on screen contains `text`.
async fn toast_says(c: &Client, text: &str) -> Result<bool> {
    for t in c.find_all(Locator::Css(&tid("toast"))).await? {
        if t.prop("textContent")
            .await?
            .unwrap_or_default()
            .contains(text)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Saves a template from the Templates view's editor.
async fn write_template(c: &Client, name: &str, subject: &str, body: &str) -> Result<()> {
    click(c, "template-new").await?;
    fill(c, "template-name", name).await?;
    fill(c, "template-subject", subject).await?;
    fill(c, "template-body", body).await?;
    click(c, "template-save").await?;
    wait_until(&format!("template {name} in the list"), || async {
        for item in c.find_all(Locator::Css(&tid("template-item"))).await? {
            if item.text().await?.trim() == name {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await
}

/// From an empty app to a running two-step campaign whose messages the engine sends to the
/// SMTP server on `port`.
async fn campaign(
    c: &Client,
    port: u16,
    sink: std::sync::Arc<SmtpSink>,
    mut dovecot: Dovecot,
    notifications: std::sync::Arc<NotificationDaemon>,
) -> Result<()> {
    // This journey runs under the desktop's dark theme: the UI follows it.
    let dark = c
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            vec![],
        )
        .await?;
    assert_eq!(dark, serde_json::Value::Bool(true), "the dark theme is on");
    click(c, "create-first-workspace").await?;
    fill(c, "ws-name", "Campaign Client").await?;
    fill(c, "ws-address", "1 Example Street, Sample Town").await?;
    fill(
        c,
        "ws-legal",
        "Sample Agency Ltd writes on behalf of Campaign Client about its partner programme.",
    )
    .await?;
    click(c, "ws-save").await?;
    let fixture = repo()
        .join("tests/fixtures/linkedin-connections.csv")
        .canonicalize()?;
    click(c, "import-open").await?;
    fill(c, "import-path", fixture.to_str().unwrap_or_default()).await?;
    click(c, "import-preview").await?;
    wait(c, &tid("map-3")).await?;
    assert_accessible(c, "the import dialog's column mapping").await?;
    click(c, "import-run").await?;
    wait(c, &tid("import-created")).await?;
    click(c, "import-close").await?;
    wait_until("the 4 imported rows", || async {
        Ok(rows(c).await?.len() == 4)
    })
    .await?;

    // The lawful basis: the legitimate-interest assessment, then all four under it.
    click(c, "nav-settings").await?;
    fill(
        c,
        "lia-purpose",
        "Finding affiliate partners for the client",
    )
    .await?;
    fill(
        c,
        "lia-necessity",
        "Publishers can only be reached directly",
    )
    .await?;
    fill(
        c,
        "lia-balancing",
        "Business addresses, one short sequence, easy opt-out",
    )
    .await?;
    set_value(c, "lia-date", "2026-11-01").await?;
    fill(c, "lia-author", "Dana Lead").await?;
    click(c, "lia-save").await?;
    wait_until("the assessment on record", || async {
        Ok(text_of(c, "lia-status")
            .await?
            .contains("Last recorded by Dana Lead"))
    })
    .await?;
    click(c, "nav-prospects").await?;
    click(c, "prospect-check-all").await?;
    click(c, "bulk-assign-li").await?;
    wait_until("the assignment toast", || async {
        toast_says(c, "Legitimate interest assigned to 4").await
    })
    .await?;

    // An account set up by mistake is removed, once the dialog has said what goes.
    click(c, "nav-accounts").await?;
    click(c, "account-new").await?;
    fill(c, "account-name", "Old relay").await?;
    fill(c, "account-host", "smtp.agency.example").await?;
    fill(c, "account-from-name", "Alex Partner").await?;
    fill(c, "account-from-address", "old@agency.example").await?;
    click(c, "account-save").await?;
    wait(c, &tid("account-item")).await?;
    click(c, "account-remove").await?;
    wait_until("the removal's summary", || async {
        Ok(text_of(c, "account-remove-summary")
            .await?
            .contains("cannot be undone"))
    })
    .await?;
    assert_accessible(c, "removing a sender account").await?;
    click(c, "account-remove-confirm").await?;
    wait_until("no account left", || async {
        Ok(c.find_all(Locator::Css(&tid("account-item")))
            .await?
            .is_empty())
    })
    .await?;

    // A sender account on the local SMTP server, and its connection test.
    click(c, "account-new").await?;
    fill(c, "account-name", "Local relay").await?;
    fill(c, "account-host", "127.0.0.1").await?;
    choose(
        c,
        "account-security",
        "Plain, to a relay on this computer only",
    )
    .await?;
    fill(c, "account-port", &port.to_string()).await?;
    fill(c, "account-from-name", "Alex Partner").await?;
    fill(c, "account-from-address", "alex@agency.example").await?;
    // Three a minute: the first steps go at once, the follow-ups wait a minute in the outbox.
    fill(c, "account-cap-minute", "3").await?;
    click(c, "account-save").await?;
    wait(c, &tid("account-item")).await?;
    click(c, "account-test").await?;
    wait_until("a successful connection test", || async {
        let r = wait(c, &tid("account-test-result")).await?;
        Ok(r.attr("data-ok").await?.as_deref() == Some("true"))
    })
    .await?;
    assert_accessible(c, "the sender account and its connection test").await?;

    // Its replies arrive in a local IMAP mailbox.
    fill(c, "mailbox-host", "127.0.0.1").await?;
    fill(c, "mailbox-port", &dovecot.port().to_string()).await?;
    choose(c, "mailbox-security", "No TLS (only to this computer)").await?;
    fill(c, "mailbox-username", Dovecot::USER).await?;
    fill(c, "mailbox-secret", Dovecot::PASSWORD).await?;
    click(c, "mailbox-save").await?;
    wait_until("the saved mailbox", || async {
        Ok(!c
            .find_all(Locator::Css(&tid("mailbox-remove")))
            .await?
            .is_empty())
    })
    .await?;
    // Saving reloads the account's panel, which can swallow a click made meanwhile: click
    // again while no result shows and the button is enabled.
    wait_until("a successful mailbox test", || async {
        if let Some(r) = c
            .find_all(Locator::Css(&tid("mailbox-test-result")))
            .await?
            .first()
        {
            return Ok(r.attr("data-ok").await?.as_deref() == Some("true"));
        }
        let button = wait(c, &tid("mailbox-test")).await?;
        if button.is_enabled().await? {
            button.click().await?;
        }
        Ok(false)
    })
    .await?;

    // Two templates; the follow-up forgets the opt-out line.
    click(c, "nav-templates").await?;
    write_template(
        c,
        "First",
        "A partnership, {{ first_name }}?",
        "Hello {{ first_name | default(\"there\") }},\n\nwe would like to work with {{ company | default(\"you\") }}.\n\n{{ privacy_notice }}\n{{ opt_out }}\n{{ postal_address }}",
    )
    .await?;
    write_template(
        c,
        "Follow",
        "Re: a partnership",
        "Hi {{ first_name | default(\"there\") }}, just following up.\n\n{{ postal_address }}",
    )
    .await?;
    // One written by mistake goes to the trash, which lists it under the templates.
    write_template(c, "Scratch", "Hi", "{{ opt_out }}").await?;
    click(c, "template-trash").await?;
    wait_until("Scratch in the trash", || async {
        Ok(text_of(c, "template-trash-list")
            .await?
            .contains("Trash (1)"))
    })
    .await?;
    let listed = c.find_all(Locator::Css(&tid("template-item"))).await?;
    let mut names = Vec::new();
    for item in listed {
        names.push(item.text().await?.trim().to_string());
    }
    assert_eq!(names, ["First", "Follow"]);
    c.find(Locator::Css(
        "[data-testid=\"template-trash-list\"] summary",
    ))
    .await?
    .click()
    .await?;
    assert_accessible(
        c,
        "the template editor with its preview, problems and trash",
    )
    .await?;

    // The campaign: both steps, open all day every day, no gaps between sends.
    click(c, "nav-campaigns").await?;
    click(c, "campaign-new").await?;
    fill(c, "campaign-name", "Launch").await?;
    choose(c, "campaign-account", "Local relay (alex@agency.example)").await?;
    choose(c, "step-1-template", "First").await?;
    click(c, "campaign-add-step").await?;
    choose(c, "step-2-template", "Follow").await?;
    fill(c, "step-2-delay", "0").await?;
    for day in ["sat", "sun"] {
        let box_ = wait(c, &tid(&format!("window-day-{day}"))).await?;
        if !box_.is_selected().await? {
            box_.click().await?;
        }
    }
    set_value(c, "window-start", "00:00").await?;
    set_value(c, "window-end", "00:00").await?;
    fill(c, "campaign-gap-min", "0").await?;
    fill(c, "campaign-gap-max", "0").await?;
    click(c, "campaign-save").await?;
    wait(c, &tid("campaign-title")).await?;

    // A template the campaign uses stays out of the trash, and the form says why.
    click(c, "nav-templates").await?;
    wait_until("the first template open", || async {
        Ok(wait(c, &tid("template-name"))
            .await?
            .prop("value")
            .await?
            .as_deref()
            == Some("First"))
    })
    .await?;
    click(c, "template-trash").await?;
    wait_until("the refusal naming Launch", || async {
        Ok(text_of(c, "form-error").await?.contains("used by 'Launch'"))
    })
    .await?;
    click(c, "nav-campaigns").await?;
    wait(c, &tid("campaign-title")).await?;

    // Enrol with the preview: Grace has no address. Nobody is scored yet, so any status.
    choose(c, "enrol-status", "Any status").await?;
    click(c, "enrol-preview").await?;
    wait_until("the enrolment preview", || async {
        Ok(text_of(c, "enrol-will").await? == "3")
    })
    .await?;
    click(c, "enrol-confirm").await?;
    wait_until("3 enrolled", || async {
        Ok(text_of(c, "progress-enrolled").await? == "3")
    })
    .await?;
    assert_accessible(c, "the campaign with its progress").await?;

    // Ticked in the table, those already enrolled are counted as such, not enrolled again.
    click(c, "nav-prospects").await?;
    click(c, "prospect-check-all").await?;
    click(c, "bulk-enrol").await?;
    wait_until("the enrolment preview of the ticked rows", || async {
        Ok(text_of(c, "enrol-dialog-summary")
            .await?
            .contains("3 already in"))
    })
    .await?;
    assert_accessible(c, "adding the ticked prospects to a campaign").await?;
    c.find(Locator::Css("[data-testid=\"enrol-dialog\"] footer button"))
        .await?
        .click()
        .await?;
    click(c, "bulk-clear").await?;
    click(c, "nav-campaigns").await?;

    // The pre-send check blocks the start and names the missing opt-out line.
    click(c, "campaign-start").await?;
    let check = wait(c, &tid("campaign-check-result")).await?;
    assert_eq!(check.attr("data-ready").await?.as_deref(), Some("false"));
    assert!(
        !c.find_all(Locator::Css("[data-kind=\"missing_opt_out\"]"))
            .await?
            .is_empty(),
        "the missing opt-out is listed"
    );
    assert!(
        c.find_all(Locator::Css(&tid("confirm-dialog")))
            .await?
            .is_empty(),
        "no confirmation is offered while the check fails"
    );
    assert_eq!(text_of(c, "progress-sent").await?, "0");

    // Fix the follow-up.
    click(c, "nav-templates").await?;
    // The list loads after the view appears: wait for the item rather than look once.
    wait_until("the Follow template in the list, clicked", || async {
        for item in c.find_all(Locator::Css(&tid("template-item"))).await? {
            if item.text().await?.trim() == "Follow" {
                item.click().await?;
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?;
    wait_until("the Follow template in the editor", || async {
        Ok(wait(c, &tid("template-name"))
            .await?
            .prop("value")
            .await?
            .as_deref()
            == Some("Follow"))
    })
    .await?;
    fill(
        c,
        "template-body",
        "Hi {{ first_name | default(\"there\") }}, just following up.\n\n{{ opt_out }}\n{{ postal_address }}",
    )
    .await?;
    click(c, "template-save").await?;
    wait_until("the saved template", || async {
        toast_says(c, "Follow").await
    })
    .await?;

    // Start, confirm the estimate, and watch the messages go.
    click(c, "nav-campaigns").await?;
    wait(c, &tid("campaign-title")).await?;
    click(c, "campaign-start").await?;
    let estimate = text_of(c, "confirm-estimate").await?;
    assert!(estimate.contains("3 messages"), "{estimate}");
    click(c, "confirm-ok").await?;
    wait_until("the campaign running", || async {
        let s = text_of(c, "campaign-current-status").await?;
        Ok(s == "Running" || s == "Completed")
    })
    .await?;
    wait_until("the three first steps sent", || async {
        Ok(text_of(c, "progress-sent").await? == "3")
    })
    .await?;

    // Ada answers her message while her follow-up waits in the outbox.
    let to_ada = sink
        .texts()
        .into_iter()
        .find(|m| header(m, "To").contains("ada@engines.example"))
        .ok_or("no message reached Ada")?;
    let ada_id = header(&to_ada, "Message-ID");
    dovecot.deliver(
        format!(
            "From: Ada Lovelace <ada@engines.example>\r\nTo: alex@agency.example\r\n\
             Subject: Re: A partnership, Ada?\r\nMessage-ID: <reply-1@engines.example>\r\n\
             In-Reply-To: {ada_id}\r\nReferences: {ada_id}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n\
             Yes, count us in! Please send over the details and the contract.\r\n\r\n\
             On Tue, 24 Nov 2026, Alex Partner <alex@agency.example> wrote:\r\n\
             > Hello Ada,\r\n"
        )
        .as_bytes(),
    );
    wait_until("the reply notification", || async {
        toast_says(c, "New reply from Ada Lovelace: Interested").await
    })
    .await?;
    click(c, "nav-inbox").await?;
    wait_until("Ada's reply in the inbox", || async {
        let items = c.find_all(Locator::Css(&tid("reply-item"))).await?;
        Ok(
            items.len() == 1
                && items[0].attr("data-intent").await?.as_deref() == Some("interested"),
        )
    })
    .await?;
    click(c, "reply-item").await?;
    wait_until("the reply's details", || async {
        Ok(text_of(c, "reply-new-text").await?
            == "Yes, count us in! Please send over the details and the contract.")
    })
    .await?;
    let actions = text_of(c, "reply-actions").await?;
    assert!(
        actions.contains("sequence stopped; 1 queued message cancelled"),
        "{actions}"
    );
    assert!(
        text_of(c, "reply-prospect-status")
            .await?
            .contains("Interested")
    );
    assert_accessible(c, "the inbox with a reply open").await?;

    // Ada gets an answer from the inbox: the prepared draft, completed and sent through the
    // outbox, in her thread.
    let draft = wait(c, &tid("answer-body"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert!(draft.contains("> Yes, count us in!"), "{draft}");
    // From the account her reply came in through, unless another is chosen.
    let from = text_of(c, "answer-from").await?;
    assert!(from.contains("Local relay"), "{from}");
    fill(
        c,
        "answer-body",
        "Hi Ada,\nwonderful! The contract is on its way.\nAlex",
    )
    .await?;
    // What is typed is kept once typing pauses, before anyone presses a button.
    wait_until("the answer's draft to save itself", || async {
        Ok(text_of(c, "answer-autosave").await? == "Draft saved")
    })
    .await?;
    // A notice (the new reply's, for a few seconds) sits at the bottom left, over where the
    // answer's buttons are: scrolled to its end, the answer shows them clear of it.
    assert_clear_of_toasts(c, "answer-send").await?;
    click(c, "answer-send").await?;
    // In the outbox; it goes out within the account's cap of 3 a minute (checked below), and
    // the open reply follows it there without a reload.
    wait(c, &tid("answer-sent")).await?;
    wait_until_within(
        "the open reply to show its answer sent",
        Duration::from_secs(120),
        || answer_shows_sent(c),
    )
    .await?;

    // The other two get their follow-ups after the minute; Ada's was cancelled.
    click(c, "nav-campaigns").await?;
    wait(c, &tid("campaign-title")).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if text_of(c, "progress-sent").await.unwrap_or_default() == "5" {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "5 sent expected, the panel shows {}",
                text_of(c, "campaign-progress").await?
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(text_of(c, "progress-failed").await?, "0");
    assert_eq!(text_of(c, "progress-blocked").await?, "0");
    // The engine completes the campaign; the list and the title follow without a reload.
    wait_until("the campaign completed", || async {
        Ok(text_of(c, "campaign-current-status").await? == "Completed"
            && text_of(c, "campaign-status").await? == "Completed")
    })
    .await?;
    // Ada's reply ended her sequence, the other two ran theirs; her withdrawn follow-up is
    // not a delivery error.
    let people = ["enrolled", "active", "replied", "completed", "stopped"];
    let mut shown = Vec::new();
    for key in people {
        shown.push(text_of(c, &format!("progress-{key}")).await?);
    }
    assert_eq!(shown, ["3", "0", "1", "2", "0"], "{people:?}");
    assert!(
        c.find_all(Locator::Css(&tid("progress-last-error")))
            .await?
            .is_empty(),
        "{}",
        text_of(c, "campaign-progress").await?
    );
    // Choosing a figure lists the people behind it.
    click(c, "progress-pick-replied").await?;
    wait_until("Ada listed among those who replied", || async {
        Ok(text_of(c, "progress-list").await?.contains("Ada Lovelace"))
    })
    .await?;
    // The sequence, ended, runs again as a copy: a draft with nobody enrolled.
    click(c, "campaign-copy").await?;
    wait_until("the copy open as a draft", || async {
        Ok(text_of(c, "campaign-title").await? == "Copy of Launch"
            && text_of(c, "campaign-current-status").await? == "Draft"
            && text_of(c, "progress-enrolled").await? == "0")
    })
    .await?;
    // Her details say so too.
    click(c, "nav-prospects").await?;
    wait_until("the prospect table", || async {
        Ok(rows(c).await?.len() == 4)
    })
    .await?;
    open_prospect(c, "Ada Lovelace").await?;
    wait_until("Ada's campaign in her details", || async {
        let campaigns = text_of(c, "prospect-campaigns").await?;
        Ok(campaigns.contains("Launch") && campaigns.contains("Replied"))
    })
    .await?;

    // Back in the inbox, the answer still shows as sent.
    click(c, "nav-inbox").await?;
    click(c, "reply-item").await?;
    wait_until("the answer shown as sent", || answer_shows_sent(c)).await?;
    assert_eq!(text_of(c, "answer-status").await?, "Sent");

    // A template's subject changed and not saved: quitting asks about it (below).
    click(c, "nav-templates").await?;
    wait_until("the first template in the editor", || async {
        let name = wait(c, &tid("template-name")).await?.prop("value").await?;
        Ok(name.is_some_and(|n| !n.is_empty()))
    })
    .await?;
    fill(c, "template-subject", "Half a thought").await?;

    // Closing the window leaves the app in the tray, still reading replies.
    let visible = main_windows()?;
    assert!(!visible.is_empty(), "the window is on screen");
    for w in &visible {
        request_close(w)?;
    }
    wait_until("the window to hide", || async {
        Ok(main_windows()?.is_empty())
    })
    .await?;
    let to_alan = sink
        .texts()
        .into_iter()
        .find(|m| header(m, "To").contains("alan@bletchley.example"))
        .ok_or("no message reached Alan")?;
    let alan_id = header(&to_alan, "Message-ID");
    dovecot.deliver(
        format!(
            "From: Alan Turing <alan@bletchley.example>\r\nTo: alex@agency.example\r\n\
             Subject: Re: A partnership\r\nMessage-ID: <reply-2@bletchley.example>\r\n\
             In-Reply-To: {alan_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             No thanks, this is not for us.\r\n"
        )
        .as_bytes(),
    );
    wait_until(
        "Alan's reply on the desktop, with the window closed",
        || async {
            Ok(notifications
                .shown()
                .iter()
                .any(|n| n.starts_with("Reply from Alan Turing")))
        },
    )
    .await?;
    let shown = notifications.shown();
    assert!(
        shown
            .iter()
            .any(|n| n.starts_with("Outreach Desk is still running")),
        "{shown:?}"
    );
    Ok(())
}

/// The app's tray menu on the session bus, once the app has exported it.
async fn app_menu() -> Result<TrayMenu> {
    let exe = PathBuf::from(app_binary());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(menu) = TrayMenu::of_program(&exe)? {
            let items = menu.items()?;
            let labels: Vec<&str> = items.iter().map(|(_, l)| l.as_str()).collect();
            assert_eq!(labels, ["Open Outreach Desk", "Quit"], "the tray menu");
            return Ok(menu);
        }
        if Instant::now() > deadline {
            return Err("the app exported no tray menu on the session bus".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The app ends within seconds and leaves its database closed: the engine stopped and the
/// write-ahead log was folded into the database file, which only the app's exit path does
/// (a killed app leaves the log behind).
async fn closed_cleanly(pid: u32, data: &Path) -> Result<()> {
    wait_until("the app to end", || async {
        Ok(outreach_testkit::tray::process_ended(pid))
    })
    .await?;
    let wal = data.join("outreach.db-wal");
    let left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "{} still holds {left} bytes", wal.display());
    assert!(data.join("outreach.db").exists());
    Ok(())
}

/// The app's visible top-level windows (X11 ids), found by title.
fn main_windows() -> Result<Vec<String>> {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^Outreach Desk$"])
        .output()
        .map_err(|e| format!("xdotool (apt package xdotool): {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// Asks window `id` to close as a window manager's close button does: a WM_DELETE_WINDOW
/// client message (xdotool's own `windowkill` would destroy it instead).
fn request_close(id: &str) -> Result<()> {
    const SCRIPT: &str = r#"
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]
d = x.XOpenDisplay(None)
if not d:
    sys.exit("no X display")
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
e = Event()
e.xclient.type = 33
e.xclient.window = int(sys.argv[1])
e.xclient.message_type = x.XInternAtom(d, b"WM_PROTOCOLS", 0)
e.xclient.format = 32
e.xclient.data[0] = x.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
x.XSendEvent(d, int(sys.argv[1]), 0, 0, ctypes.byref(e))
x.XFlush(d)
"#;
    let status = Command::new("python3")
        .args(["-c", SCRIPT, id])
        .status()
        .map_err(|e| format!("python3: {e}"))?;
    if !status.success() {
        return Err(format!("closing window {id} failed: {status}").into());
    }
    Ok(())
}

/// Scrolls the column holding button `id` to its end and, while a notice (toast) is shown,
/// fails unless the button, not the notice, is what a click at its centre reaches. Notices go
/// after a few seconds: with none shown there is nothing to check.
async fn assert_clear_of_toasts(c: &Client, id: &str) -> Result<()> {
    let seen = c
        .execute(
            "const b = document.querySelector(arguments[0]);
             let s = b.parentElement;
             while (s && !(s.scrollHeight > s.clientHeight
                           && getComputedStyle(s).overflowY !== 'visible')) s = s.parentElement;
             if (s) s.scrollTop = s.scrollHeight;
             if (!document.querySelector('[data-testid=toast]')) return 'no notice';
             const r = b.getBoundingClientRect();
             const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
             if (b.contains(hit)) return 'clear';
             const over = hit && hit.closest('[data-testid]');
             return 'covered by ' + (over ? over.getAttribute('data-testid') : String(hit));",
            vec![tid(id).into()],
        )
        .await?;
    if !matches!(seen.as_str(), Some("clear" | "no notice")) {
        screenshot(c, &format!("{id}-under-a-toast")).await;
        return Err(format!("{id} at the end of its view: {seen}").into());
    }
    Ok(())
}

async fn screenshot(c: &Client, name: &str) {
    let dir = repo().join("e2e-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = c.screenshot().await {
        let path = dir.join(format!("{name}.png"));
        if std::fs::write(&path, png).is_ok() {
            eprintln!("screenshot saved to {}", path.display());
        }
    }
}

/// Runs `journey` in the real app on a fresh data folder; a screenshot is saved when it
/// fails. The journey runs as its own task, so that a failed assertion still leaves us the
/// session for the screenshot.
async fn in_app<F, Fut>(name: &str, theme: Theme, journey: F)
where
    // The journey gets the session, the data folder and the driver's port (to start the app
    // again on the same data, as after a crash).
    F: FnOnce(Client, PathBuf, u16) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    // Two tests pick their free ports at the same moment and can collide (seen as a session
    // request cut short): a fresh driver on fresh ports then gets the session.
    let mut attempt = 1;
    let (driver, client) = loop {
        let driver = start_driver(theme);
        match connect(driver.port).await {
            Ok(client) => break (driver, client),
            Err(e) if attempt < 3 => {
                eprintln!("{name}: no WebDriver session on attempt {attempt} ({e}); retrying");
                drop(driver);
                attempt += 1;
            }
            Err(e) => panic!("a WebDriver session with the app: {e}"),
        }
    };
    let session = client.clone();
    let data = driver._data.path().to_path_buf();
    let port = driver.port;
    let result = match tokio::spawn(async move {
        journey(session, data, port)
            .await
            .map_err(|e| e.to_string())
    })
    .await
    {
        Ok(r) => r,
        Err(panic) => Err(format!("assertion failed: {panic}")),
    };
    // A journey may end with the window hidden in the tray, where WebKit's driver can wait
    // forever for a frame: the screenshot and the goodbye get a time limit.
    let shot = match &result {
        Err(e) => {
            eprintln!("{name} failed: {e}");
            format!("{name}-failure")
        }
        Ok(()) => format!("{name}-end"),
    };
    let limit = Duration::from_secs(15);
    if tokio::time::timeout(limit, screenshot(&client, &shot))
        .await
        .is_err()
    {
        eprintln!("{name}: no screenshot (the window is hidden)");
    }
    let _ = tokio::time::timeout(limit, client.close()).await;
    drop(driver);
    result.expect(name);
}

#[tokio::test]
#[ignore = "drives the built app; run by scripts/test.sh"]
async fn a_new_user_imports_searches_scores_and_reads_the_breakdown() {
    in_app("journey", Theme::Light, |c, data, _| async move {
        journey(&c).await?;
        // The desktop session ends (or `kill` asks): the app quits as from its tray.
        let app = app_menu().await?;
        let pid = app.pid().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status()?;
        assert!(status.success(), "kill -TERM {pid}: {status}");
        closed_cleanly(app.pid(), &data).await
    })
    .await;
}

#[tokio::test]
#[ignore = "drives the built app; run by scripts/test.sh"]
async fn a_user_builds_a_two_step_campaign_its_messages_arrive_and_a_reply_stops_one_sequence() {
    let sink = std::sync::Arc::new(SmtpSink::start());
    let port = sink.port();
    let dovecot = Dovecot::start();
    let notifications = std::sync::Arc::new(NotificationDaemon::start());
    let at_sink = std::sync::Arc::clone(&sink);
    let seen = std::sync::Arc::clone(&notifications);
    in_app("campaign", Theme::Dark, move |c, data, _| async move {
        campaign(&c, port, at_sink, dovecot, seen).await?;
        // Its window closed, the app is left from the tray menu's "Quit", as a person does.
        // The window comes back to ask about the unsaved template; the user lets it go.
        let app = app_menu().await?;
        app.click("Quit")?;
        wait_until("the question about the unsaved template", || async {
            Ok(!main_windows()?.is_empty()
                && text_of(&c, "unsaved-what")
                    .await?
                    .contains("If you quit now, the unsaved changes are lost."))
        })
        .await?;
        // The app ends as the click lands: the driver may lose its session before it answers.
        let _ = wait(&c, &tid("unsaved-discard")).await?.click().await;
        closed_cleanly(app.pid(), &data).await
    })
    .await;
    // The reply also reached the desktop.
    let shown = notifications.shown();
    assert!(
        shown
            .iter()
            .any(|n| n.starts_with("Reply from Ada Lovelace: interested")),
        "{shown:?}"
    );
    // Two steps to each of the three prospects with an address, each exactly once, except
    // Ada's follow-up: she replied before it went. And the answer to Ada's reply.
    let messages = sink.wait_for(6, Duration::from_secs(30));
    assert_eq!(messages.len(), 6);
    let mut seen = std::collections::HashSet::new();
    let mut to_ada = Vec::new();
    for m in sink.texts() {
        let to = header(&m, "To");
        let subject = header(&m, "Subject");
        let body = body_text(&m);
        assert!(m.contains("List-Unsubscribe: <mailto:"), "{m}");
        assert!(body.contains("\n1 Example Street, Sample Town"), "{body}");
        assert!(body.contains("\nNot interested? Reply"), "{body}");
        if to.contains("ada@engines.example") {
            to_ada.push((subject.clone(), body));
        }
        assert!(seen.insert((to, subject)), "a step arrived twice:\n{m}");
    }
    assert_eq!(to_ada.len(), 2, "the first step and the answer reach Ada");
    let (_, answer) = to_ada
        .iter()
        .find(|(subject, _)| subject == "Re: A partnership, Ada?")
        .expect("the answer, in her thread, reaches Ada");
    assert!(
        answer.starts_with("Hi Ada,\nwonderful! The contract is on its way.\nAlex"),
        "{answer}"
    );
    let threaded = sink
        .texts()
        .into_iter()
        .filter(|m| header(m, "In-Reply-To") == "<reply-1@engines.example>")
        .count();
    assert_eq!(threaded, 1, "the answer threads to Ada's reply");
    let (_, first) = to_ada
        .iter()
        .find(|(subject, _)| subject == "A partnership, Ada?")
        .expect("the first step, personalised, reaches Ada");
    assert!(
        first.starts_with("Hello Ada,\n\nwe would like to work with Analytical Engines Ltd."),
        "{first}"
    );
    assert!(
        first.contains("Where your details come from"),
        "the Art. 14 notice: {first}"
    );
}

#[tokio::test]
#[ignore = "drives the built app; run by scripts/test.sh"]
async fn a_template_being_written_comes_back_after_the_app_is_killed() {
    in_app("killed", Theme::Light, |c, _data, port| async move {
        click(&c, "create-first-workspace").await?;
        fill(&c, "ws-name", "Train Client").await?;
        click(&c, "ws-save").await?;
        click(&c, "nav-templates").await?;
        wait(&c, &tid("template-name")).await?;
        fill(&c, "template-name", "Train notes").await?;
        fill(&c, "template-subject", "Written on the train").await?;
        // Typing paused: the app says the text is kept, though not saved.
        wait_until("the unsaved template kept", || async {
            Ok(text_of(&c, "template-kept")
                .await
                .is_ok_and(|t| t.contains("kept in case the app stops")))
        })
        .await?;

        // The app dies (a crash, a power cut): no question, no exit path.
        let pid = app_menu().await?.pid();
        let killed = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()?;
        assert!(killed.success(), "kill -9 {pid}");
        wait_until("the app to end", || async {
            Ok(outreach_testkit::tray::process_ended(pid))
        })
        .await?;

        // Started again on the same data (the driver holds one session: the dead app's goes
        // first), the template being written is back, unsaved.
        let _ = tokio::time::timeout(Duration::from_secs(15), c.close()).await;
        let c = connect(port).await?;
        click(&c, "nav-templates").await?;
        wait_until("the template restored", || async {
            let subject = wait(&c, &tid("template-subject"))
                .await?
                .prop("value")
                .await?;
            Ok(subject.as_deref() == Some("Written on the train"))
        })
        .await?;
        let name = wait(&c, &tid("template-name")).await?.prop("value").await?;
        assert_eq!(name.as_deref(), Some("Train notes"));
        let notice = text_of(&c, "template-restored").await?;
        assert!(
            notice.contains("Restored what you were writing on"),
            "{notice}"
        );
        assert_accessible(&c, "the restored template").await?;
        // Saved now, it is a template like any other, and nothing more is restored.
        click(&c, "template-save").await?;
        wait_until("the template saved", || async {
            toast_says(&c, "Template “Train notes” saved.").await
        })
        .await?;
        assert!(
            c.find_all(Locator::Css(&tid("template-restored")))
                .await?
                .is_empty()
        );
        let _ = c.close().await;
        Ok(())
    })
    .await;
}

/// The decoded text body of a received message.
fn body_text(message: &str) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .expect("a parseable message");
    parsed
        .body_text(0)
        .expect("a text body")
        .replace("\r\n", "\n")
}

/// A header's value as received (unfolded), empty when absent.
fn header(message: &str, name: &str) -> String {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let mut lines = message.split("\r\n");
    let mut value = String::new();
    while let Some(line) = lines.next() {
        if line.to_ascii_lowercase().starts_with(&prefix) {
            value.push_str(line[prefix.len()..].trim());
            for next in lines.by_ref() {
                if next.starts_with([' ', '\t']) {
                    value.push(' ');
                    value.push_str(next.trim());
                } else {
                    break;
                }
            }
            break;
        }
    }
    value
}

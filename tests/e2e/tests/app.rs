//! Drives the real app: the built binary in its webview, through tauri-driver and
//! WebKitWebDriver, on a fresh data folder whose key lives in the Secret Service.
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

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
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver() -> Driver {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let native = free_port();
    let child =
        Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()))
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
            .expect(
                "tauri-driver on the PATH (cargo install tauri-driver --locked --version '^2')",
            );
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

async fn connect(driver: &Driver) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app_binary() }),
    );
    Ok(
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
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

async fn wait_until<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
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
        e.send_keys(text).await?;
    }
    Ok(())
}

async fn click(c: &Client, id: &str) -> Result<()> {
    wait(c, &tid(id)).await?.click().await?;
    Ok(())
}

/// The whole first-day journey of a user.
async fn journey(c: &Client) -> Result<()> {
    // First run: create a workspace.
    click(c, "create-first-workspace").await?;
    fill(c, "ws-name", "E2E Client").await?;
    fill(c, "ws-address", "1 Example Street, Sample Town").await?;
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
    fill(c, "search", "").await?;
    // Clearing with send_keys leaves the field empty; make sure the table comes back.
    wait_until("all rows back", || async { Ok(rows(c).await?.len() == 4) }).await?;

    // Score, then open a prospect and read the breakdown.
    click(c, "score-run").await?;
    wait(c, &tid("toast")).await?;
    let ada = c.find_all(Locator::Css(&tid("prospect-row"))).await?;
    let mut opened = false;
    for row in ada {
        if row
            .prop("textContent")
            .await?
            .unwrap_or_default()
            .contains("Ada Lovelace")
        {
            row.click().await?;
            opened = true;
            break;
        }
    }
    assert!(opened, "Ada's row");
    let detail = wait(c, &tid("prospect-detail")).await?;
    wait_until("the detail of Ada", || async {
        Ok(c.find(Locator::Css(&tid("detail-name")))
            .await?
            .text()
            .await?
            .contains("Ada Lovelace"))
    })
    .await?;
    let breakdown = wait(c, &tid("score-breakdown")).await?;
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

    // Edit a field in the panel; the table shows the new value.
    fill(c, "edit-company", "Difference Engines").await?;
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
        ]
        .iter()
        .all(|a| text.contains(a)))
    })
    .await?;
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

#[tokio::test]
#[ignore = "drives the built app; run by scripts/test.sh"]
async fn a_new_user_imports_searches_scores_and_reads_the_breakdown() {
    let driver = start_driver();
    let client = connect(&driver)
        .await
        .expect("a WebDriver session with the app");
    // Run the journey as its own task so that a failed assertion still leaves us the session
    // for a screenshot.
    let session = client.clone();
    let result =
        match tokio::spawn(async move { journey(&session).await.map_err(|e| e.to_string()) }).await
        {
            Ok(r) => r,
            Err(panic) => Err(format!("assertion failed: {panic}")),
        };
    if let Err(e) = &result {
        screenshot(&client, "journey-failure").await;
        eprintln!("journey failed: {e}");
    } else {
        screenshot(&client, "journey-end").await;
    }
    let _ = client.close().await;
    drop(driver);
    result.expect("the journey");
}

//! The send benchmark: 2,000 personalised messages through the real engine to Postfix's
//! `smtp-sink`, side by side with PyPI's `mailmerge` sending the same list to the same sink, and
//! the sink's own capacity measured with Postfix's `smtp-source`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use outreach_api::core::campaign::{
    AccountFields, CampaignFields, LegitimateInterestAssessment, SmtpSecurityMode, Step,
    StepCondition, Transport,
};
use outreach_api::core::schedule::{SendWindow, Weekday};
use outreach_api::engine::EngineConfig;
use outreach_api::store::prospects::ProspectQuery;
use outreach_api::store::workspaces::WorkspaceFields;
use outreach_api::{
    Api, ApiConfig, ApiEvent, Caller, CampaignRef, EnrolFilter, ImportCsv, KeyChoice, ProspectIds,
    RecordAssessment, SaveAccount, SaveCampaign, SaveTemplate,
};
use tokio::sync::broadcast::error::RecvError;

use crate::cpu::{Ran, Threads, process_ns, process_ns_since};

/// The port `mailmerge_server.conf` names; every sender in this benchmark uses the same sink.
const PORT: u16 = 2527;
const MAILMERGE_VERSION: &str = "2.3.0";

/// Our template: the text of `mailmerge_template.txt`, with our variable names, plus what the
/// law asks of every first message (opt-out line, postal address, Art. 14 notice).
const SUBJECT: &str =
    "{{ first_name }}, a {{ commission }}% partnership for your {{ niche }} {{ platform }}";
const BODY: &str = r#"Hi {{ first_name }},

I have been reading {{ website }} for a while, and your recent post "{{ last_post }}" was
exactly the kind of practical, no-nonsense writing our customers trust. With an audience
of about {{ followers }} people interested in {{ niche }}, you would be a great fit for our
affiliate programme.

Here is what we offer partners like you:
{% if custom.score | float >= 70 %}
  * Our top tier straight away: {{ commission }}% + 5% bonus on every referred sale
  * A dedicated partner manager and early access to new {{ niche }} products
{% elif custom.score | float >= 40 %}
  * {{ commission }}% commission on every referred sale, paid monthly
  * Free samples for reviews on your {{ platform }}
{% else %}
  * {{ commission }}% commission on every referred sale
{% endif %}
  * 60-day cookie window and real-time reporting
  * Ready-made banners, links and discount codes for your readers

If that sounds interesting, just reply to this email and I will send over the details
and a personal tracking link. If now is not a good time, no problem at all - a one-line
"not interested" reply and we will not contact you again.

Thanks for the great work on your {{ platform }}, {{ first_name }}.

Best regards,
Alex Partner
Partnerships, Brand Example
https://brand.example/partners

--
{{ opt_out }}
{{ postal_address }}

{{ privacy_notice }}
"#;

fn shared_dir() -> PathBuf {
    std::env::var_os("OUTREACH_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// A Postfix tool, in PATH or where Debian installs it.
fn postfix_tool(name: &str) -> Result<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    bail!("{name} not found: install the Debian package postfix (scripts/setup.sh test does)")
}

/// `smtp-sink` on the benchmark port, stopped when dropped.
struct Sink(Child);

impl Sink {
    fn start() -> Result<Self> {
        if std::net::TcpStream::connect(("127.0.0.1", PORT)).is_ok() {
            bail!("port {PORT} is in use; the benchmark needs it for smtp-sink");
        }
        let mut cmd = Command::new(postfix_tool("smtp-sink")?);
        // smtp-sink refuses to run as root without a user to switch to.
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        let child = cmd
            .arg(format!("127.0.0.1:{PORT}"))
            .arg("1024")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting smtp-sink")?;
        let sink = Sink(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", PORT)).is_err() {
            if Instant::now() > deadline {
                bail!("smtp-sink did not start listening on port {PORT}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(sink)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Peak resident memory of this process, in MiB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The `mailmerge` executable, installed into a private virtual environment on first use.
fn mailmerge() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("OUTREACH_MAILMERGE") {
        return Ok(PathBuf::from(p));
    }
    let version_ok = |venv: &Path| {
        Command::new(venv.join("bin/mailmerge"))
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(MAILMERGE_VERSION))
            .unwrap_or(false)
    };
    let venv = crate::venv::ensure(
        "bench-venv",
        &[&format!("mailmerge=={MAILMERGE_VERSION}")],
        version_ok,
    )?;
    let exe = venv.join("bin/mailmerge");
    Ok(exe)
}

/// Sends the list with mailmerge; returns the wall time.
fn run_mailmerge(peer: &Path, work: &Path, rows: usize) -> Result<Duration> {
    let exe = mailmerge()?;
    let out = std::fs::File::create(work.join("mailmerge.out"))?;
    let start = Instant::now();
    let status = Command::new(exe)
        .current_dir(work)
        .arg("--template")
        .arg(peer.join("mailmerge_template.txt"))
        .arg("--database")
        .arg(peer.join("prospects-2000.csv"))
        .arg("--config")
        .arg(peer.join("mailmerge_server.conf"))
        .args(["--no-dry-run", "--no-limit", "--output-format", "raw"])
        .stdout(out)
        .status()
        .context("running mailmerge")?;
    let took = start.elapsed();
    if !status.success() {
        bail!(
            "mailmerge failed ({status}); see {}",
            work.join("mailmerge.out").display()
        );
    }
    let log = std::fs::read_to_string(work.join("mailmerge.out"))?;
    let sent = log
        .lines()
        .filter(|l| l.starts_with(">>> message") && l.ends_with(" sent"))
        .count();
    if sent != rows {
        bail!("mailmerge reported {sent} of {rows} messages sent");
    }
    Ok(took)
}

/// The sink's capacity for this workload: `smtp-source` sending `count` messages of `size`
/// bytes over `sessions` connections, each reused from message to message as our engine does.
fn run_smtp_source(count: usize, size: usize, sessions: usize) -> Result<Duration> {
    let start = Instant::now();
    let out = Command::new(postfix_tool("smtp-source")?)
        .args(["-d", "-s", &sessions.to_string(), "-m", &count.to_string()])
        .args(["-l", &size.to_string()])
        .args(["-f", "partners@brand.example", "-t", "sink@bench.example"])
        .arg(format!("127.0.0.1:{PORT}"))
        .output()
        .context("running smtp-source")?;
    let took = start.elapsed();
    if !out.status.success() {
        bail!(
            "smtp-source failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(took)
}

/// Sets up a workspace with the list, a lawful basis, a loopback account and a one-step
/// campaign, started; returns the campaign id.
async fn prepare(api: &Api, csv: &Path) -> Result<(i64, usize)> {
    let ws = api
        .create_workspace(WorkspaceFields {
            name: "Send bench".into(),
            postal_address: "Brand Example Ltd, 1 Example Street, 10115 Berlin, Germany".into(),
            legal_notice: "Brand Example Ltd runs an affiliate programme for publishers.".into(),
        })
        .await?;
    let report = api
        .import_csv(ImportCsv {
            workspace_id: ws.id,
            path: csv.to_string_lossy().into_owned(),
            columns: None,
        })
        .await?;
    if report.invalid > 0 {
        bail!("{} rows of the list were refused", report.invalid);
    }
    api.record_assessment(RecordAssessment {
        workspace_id: ws.id,
        assessment: LegitimateInterestAssessment {
            purpose: "Offer publishers of a matching niche our affiliate programme.".into(),
            necessity: "Publishers can only join if they learn of the programme.".into(),
            balancing: "Business addresses, published for such requests; one opt-out reply ends it."
                .into(),
            assessed_on: "2026-11-01".into(),
            author: "Bench".into(),
        },
    })
    .await?;
    let mut ids = Vec::new();
    loop {
        let page = api
            .list_prospects(ProspectQuery {
                workspace_id: ws.id,
                limit: 500,
                offset: ids.len() as u32,
                ..Default::default()
            })
            .await?;
        if page.rows.is_empty() {
            break;
        }
        ids.extend(page.rows.iter().map(|p| p.id));
    }
    api.assign_legitimate_interest(ProspectIds {
        workspace_id: ws.id,
        ids: ids.clone(),
    })
    .await?;
    let account = api
        .save_account(SaveAccount {
            workspace_id: ws.id,
            id: None,
            fields: AccountFields {
                host: Some("127.0.0.1".into()),
                port: Some(PORT),
                security: Some(SmtpSecurityMode::PlainLoopback),
                reply_to: Some("partners@brand.example".into()),
                ..AccountFields::new(
                    "Local sink",
                    Transport::Smtp,
                    "Partnerships Team",
                    "partners@brand.example",
                )
            },
            secret: None,
            dkim_private_key: None,
            remove_dkim_key: false,
        })
        .await?
        .item;
    let template = api
        .save_template(SaveTemplate {
            workspace_id: ws.id,
            id: None,
            name: "Partnership offer".into(),
            subject: SUBJECT.into(),
            body: BODY.into(),
        })
        .await?
        .item;
    let campaign = api
        .save_campaign(SaveCampaign {
            workspace_id: ws.id,
            id: None,
            fields: CampaignFields {
                name: "Affiliate launch".into(),
                account_id: Some(account.id),
                window: SendWindow {
                    days: vec![
                        Weekday::Mon,
                        Weekday::Tue,
                        Weekday::Wed,
                        Weekday::Thu,
                        Weekday::Fri,
                        Weekday::Sat,
                        Weekday::Sun,
                    ],
                    start_minute: 0,
                    end_minute: 24 * 60,
                },
                daily_cap: None,
                min_gap_seconds: 0,
                max_gap_seconds: 0,
                steps: vec![Step {
                    delay_business_days: 0,
                    condition: StepCondition::Always,
                    template_ids: vec![template.id],
                }],
                positive_follow_up: Default::default(),
            },
        })
        .await?;
    let enrolled = api
        .enrol_prospects(EnrolFilter {
            campaign_id: campaign.id,
            query: ProspectQuery {
                workspace_id: ws.id,
                ..Default::default()
            },
        })
        .await?
        .enrolled;
    api.start_campaign(CampaignRef {
        campaign_id: campaign.id,
    })
    .await?;
    Ok((campaign.id, enrolled as usize))
}

/// The CPU time that went into our run, thread by thread, and the sink's.
struct RunCpu {
    /// What each of our threads ran, with its name.
    threads: Vec<(String, Ran)>,
    /// Nanoseconds the sink ran, if it could be read.
    sink: Option<u64>,
}

/// Runs the engine until every enrolled prospect's message is sent; returns the wall time
/// from engine start and the CPU time that went into it.
async fn run_engine(
    api: &Api,
    campaign_id: i64,
    expected: usize,
    sink_pid: u32,
) -> Result<(Duration, RunCpu)> {
    // The status events the app's window follows: watching them costs the engine nothing,
    // where polling `engine_status` would count the queue in the database each time.
    let mut events = api.subscribe();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let engine = {
        let api = api.clone();
        tokio::spawn(async move {
            api.run_engine_with(
                EngineConfig {
                    idle_tick: Duration::from_millis(20),
                    ..Default::default()
                },
                rx,
            )
            .await
        })
    };
    let threads_before = Threads::of("self");
    let sink_before = process_ns(sink_pid);
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let mut sent = 0;
    while sent < expected {
        tokio::select! {
            event = events.recv() => match event {
                Ok(ApiEvent::Engine { status }) => sent = status.sent as usize,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => bail!("the engine's events ended after {sent} sent"),
            },
            _ = tokio::time::sleep_until(deadline) => {
                bail!("the engine sent {sent} of {expected} in 10 minutes")
            }
        }
    }
    let took = start.elapsed();
    let cpu = RunCpu {
        threads: Threads::of("self").since(&threads_before),
        sink: process_ns_since(sink_pid, sink_before),
    };
    let _ = tx.send(true);
    engine.await??;
    let progress = api.campaign_progress(CampaignRef { campaign_id }).await?;
    if progress.sent as usize != expected || progress.failed + progress.blocked > 0 {
        bail!("the campaign ended with {progress:?}");
    }
    Ok((took, cpu))
}

/// Deletes the bench's one workspace, with its prospects and their messages (secure delete,
/// a batch at a time, as the app does); returns how long it took.
async fn delete_the_workspace(dir: &Path) -> Result<Duration> {
    let api = Api::open(ApiConfig {
        data_dir: dir.join("data"),
        key: KeyChoice::File(dir.join("bench.key")),
        caller: Caller::Cli,
    })
    .await?;
    let ws = api
        .list_workspaces(outreach_api::NoArgs {})
        .await?
        .into_iter()
        .next()
        .context("the bench's workspace")?;
    let start = Instant::now();
    let done = api
        .delete_workspace(outreach_api::DeleteWorkspace {
            workspace_id: ws.id,
            confirm_name: ws.name,
        })
        .await?;
    let took = start.elapsed();
    api.close().await;
    if !done.finished {
        bail!("the workspace's deletion did not finish");
    }
    Ok(took)
}

pub fn run() -> Result<()> {
    let peer = shared_dir().join("bench/peer-bench");
    let csv = peer.join("prospects-2000.csv");
    let rows = std::fs::read_to_string(&csv)
        .with_context(|| format!("reading {} (set OUTREACH_SHARED_DIR)", csv.display()))?
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    let dir = tempfile::tempdir()?;
    // Installed before anything is timed.
    mailmerge()?;
    let sink_process = Sink::start()?;
    let sink_pid = sink_process.0.id();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (ours, cpu, message_size) = runtime.block_on(async {
        let api = Api::open(ApiConfig {
            data_dir: dir.path().join("data"),
            key: KeyChoice::File(dir.path().join("bench.key")),
            caller: Caller::Cli,
        })
        .await?;
        let (campaign_id, enrolled) = prepare(&api, &csv).await?;
        if enrolled != rows {
            bail!("enrolled {enrolled} of {rows} prospects");
        }
        let (took, cpu) = run_engine(&api, campaign_id, rows, sink_pid).await?;
        // About what goes on the wire: the template's length (the variables add about as
        // much as their names take) plus the headers, List-Unsubscribe and the notice.
        let size = SUBJECT.len() + BODY.len() + 900;
        api.close().await;
        anyhow::Ok((took, cpu, size))
    })?;
    let rss = peak_rss_mb();
    // After the peak is read: what a client's departure costs once their messages went out.
    let deleting = runtime.block_on(delete_the_workspace(dir.path()))?;
    let mm = run_mailmerge(&peer, dir.path(), rows)?;
    // As many connections as our engine uses; one connection for reference.
    let sessions = EngineConfig::default().smtp_sessions;
    let sink_before = process_ns(sink_pid);
    let sink = run_smtp_source(rows, message_size, sessions)?;
    let sink_cpu = process_ns_since(sink_pid, sink_before);
    let sink_one = run_smtp_source(rows, message_size, 1)?;

    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    let (ours_r, mm_r, sink_r) = (rate(ours), rate(mm), rate(sink));
    println!("{rows} messages to smtp-sink on 127.0.0.1:{PORT}");
    println!(
        "ours:        {:>7.0} ms {ours_r:>8.0} msg/s (render, gate, outbox, audit, encrypted SQLite)",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "mailmerge:   {:>7.0} ms {mm_r:>8.0} msg/s (PyPI mailmerge {MAILMERGE_VERSION})",
        mm.as_secs_f64() * 1e3
    );
    println!(
        "smtp-source: {:>7.0} ms {sink_r:>8.0} msg/s ({sessions} connections like ours, {message_size} B messages)",
        sink.as_secs_f64() * 1e3
    );
    println!(
        "smtp-source: {:>7.0} ms {:>8.0} msg/s (1 connection, for reference)",
        sink_one.as_secs_f64() * 1e3,
        rate(sink_one)
    );
    print_cpu(&cpu, sink_cpu, rows, ours);
    println!(
        "then deleting the workspace: {:.0} ms ({rows} prospects with their messages, secure delete)",
        deleting.as_secs_f64() * 1e3
    );
    println!(
        "send-bench: ours_msg_per_s={ours_r:.0} mailmerge_msg_per_s={mm_r:.0} sink_msg_per_s={sink_r:.0} vs_mailmerge={:.2} vs_sink={:.2} peak_rss_mb={rss:.1}",
        ours_r / mm_r,
        ours_r / sink_r
    );
    Ok(())
}

/// Where the CPU went while our engine sent, per message: which part bounds the rate. SQLite
/// takes one writer at a time, so the busiest database connection (the engine's reads and
/// writes go through it) can record at most one message per its time per message, however
/// many cores there are.
fn print_cpu(cpu: &RunCpu, sink_under_source: Option<u64>, rows: usize, took: Duration) {
    if cpu.threads.is_empty() {
        println!("(thread run times unreadable: no per-message CPU figures)");
        return;
    }
    let per_message = |ns: u64| ns as f64 / 1e3 / rows as f64;
    let wakeups = |ran: Ran| ran.slices as f64 / rows as f64;
    let mut database = cpu
        .threads
        .iter()
        .filter(|(name, _)| name.starts_with("sqlx-sqlite"))
        .map(|(_, ran)| *ran);
    // `since` lists the busiest first.
    let writer = database.next().unwrap_or_default();
    let readers: Ran = database.sum();
    let workers: Ran = cpu
        .threads
        .iter()
        .filter(|(name, _)| name.starts_with("tokio"))
        .map(|(_, ran)| *ran)
        .sum();
    let ours: Ran = cpu.threads.iter().map(|(_, ran)| *ran).sum();
    let other = ours.ns - writer.ns - readers.ns - workers.ns;
    let wall = took.as_nanos() as f64;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("CPU per message while we sent (run time from the kernel's scheduler statistics):");
    println!(
        "  database writer:            {:>6.0} µs  {:>5.1} wake-ups; busy {:.0}% of the run; alone it allows {:.0} msg/s",
        per_message(writer.ns),
        wakeups(writer),
        writer.ns as f64 / wall * 100.0,
        rows as f64 / (writer.ns as f64 / 1e9)
    );
    println!(
        "  other database connections: {:>6.0} µs  {:>5.1} wake-ups",
        per_message(readers.ns),
        wakeups(readers)
    );
    println!(
        "  async and blocking workers: {:>6.0} µs  {:>5.1} wake-ups; render, gate, SMTP client",
        per_message(workers.ns),
        wakeups(workers)
    );
    if per_message(other) >= 0.5 {
        println!(
            "  other threads:              {:>6.0} µs",
            per_message(other)
        );
    }
    if let Some(sink) = cpu.sink {
        let under_source = sink_under_source
            .map(|ns| format!("  ({:.0} µs a message under smtp-source)", per_message(ns)))
            .unwrap_or_default();
        println!(
            "  smtp-sink:                  {:>6.0} µs{under_source}",
            per_message(sink)
        );
    }
    let all = ours.ns + cpu.sink.unwrap_or(0);
    println!(
        "  in all:                     {:>6.0} µs  {:.1} of {cores} cores busy",
        per_message(all),
        all as f64 / wall
    );
}

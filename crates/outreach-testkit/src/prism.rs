//! Prism (`@stoplight/prism-cli`, installed by `npm ci` in `tests/mocks`) serving SendGrid's
//! official OpenAPI spec on a free loopback port. Prism checks each request against the spec
//! (body schema, security) and answers 4xx when it does not conform, so a 2xx proves the request
//! is one SendGrid's spec accepts.

use std::env;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Loading the 219-path spec takes a few seconds; this only bounds a hang, it is not a test.
const STARTUP_LIMIT: Duration = Duration::from_secs(180);
const READY_LINE: &str = "Prism is listening on";

/// A running Prism; stopped when dropped.
pub struct PrismMock {
    child: Child,
    base_url: String,
}

impl PrismMock {
    /// Starts Prism on SendGrid's spec and waits until it listens. Panics with what to install
    /// when Prism or the spec is missing: the suite depends on both.
    pub fn start() -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // The repository root, wherever the crate that uses this kit lives.
        let prism = env::var_os("PRISM_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join("tests/mocks/node_modules/.bin/prism"));
        let shared = env::var_os("OUTREACH_SHARED_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join("../shared"));
        let spec = shared.join("specs/sendgrid/oas_v3.json");
        assert!(
            prism.is_file(),
            "Prism not found at {}: run `npm ci` in tests/mocks (scripts/setup.sh test does), \
             or point PRISM_BIN at a prism 5.14.2 binary",
            prism.display()
        );
        assert!(
            spec.is_file(),
            "SendGrid's OpenAPI spec not found at {}: set OUTREACH_SHARED_DIR to the folder \
             holding specs/sendgrid/",
            spec.display()
        );

        let port = free_port();
        let child = Command::new(&prism)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(&spec)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", prism.display()));
        // Owned by the guard from here on, so a failed start still stops the process.
        let mut mock = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };

        let log = Arc::new(Mutex::new(String::new()));
        let (ready, is_ready) = mpsc::channel();
        if let Some(stdout) = mock.child.stdout.take() {
            drain(stdout, Arc::clone(&log), Some(ready));
        }
        if let Some(stderr) = mock.child.stderr.take() {
            drain(stderr, Arc::clone(&log), None);
        }
        match is_ready.recv_timeout(STARTUP_LIMIT) {
            Ok(()) => mock,
            Err(RecvTimeoutError::Disconnected) => {
                let _ = mock.child.wait();
                panic!("Prism exited before listening:\n{}", text(&log));
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "Prism was not listening after {STARTUP_LIMIT:?}:\n{}",
                    text(&log)
                )
            }
        }
    }

    /// Where Prism listens, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for PrismMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now. Another process could take it before Prism binds; then
/// Prism fails to start and says so.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}

/// Keeps reading Prism's output (a full pipe would stall it), collects it for failure messages,
/// and reports the line that says it listens.
fn drain(
    output: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    ready: Option<mpsc::Sender<()>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if let (Some(ready), true) = (&ready, line.contains(READY_LINE)) {
                let _ = ready.send(());
            }
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
}

fn text(log: &Mutex<String>) -> String {
    log.lock().map(|log| log.clone()).unwrap_or_default()
}

//! Postfix's `smtp-sink` on a loopback port, dumping each message it accepts to a file, so a
//! test can assert on the bytes that crossed the wire and on when they arrived.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime},
};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// A running `smtp-sink`, killed on drop. The dump folder outlives restarts on the same port.
pub struct SmtpSink {
    port: u16,
    child: Option<Child>,
    extra: Vec<String>,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the sink with extra `smtp-sink` options, such as `["-r", "rcpt"]` to answer
    /// RCPT TO with a temporary (4xx) error or `["-f", "rcpt"]` with a permanent one.
    pub fn start_with(options: &[&str]) -> Self {
        let mut sink = Self::stopped();
        sink.restart_with(options);
        sink
    }

    /// A sink that is not running yet on a port reserved for it: the server of a test that
    /// starts offline. Call [`SmtpSink::restart`] to bring it up.
    pub fn stopped() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        // smtp-sink drops root privileges to the -u user and then writes the dumps as them.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        Self {
            port: crate::unused_port(),
            child: None,
            extra: Vec::new(),
            dir,
        }
    }

    /// The loopback port the sink listens on (or will, once restarted).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server: connections are refused until [`SmtpSink::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts the server on the same port with other `smtp-sink` options (none: accept all).
    pub fn restart_with(&mut self, options: &[&str]) {
        self.extra = options.iter().map(|s| (*s).to_owned()).collect();
        self.restart();
    }

    /// (Re)starts the server on the same port, with the options it was made with.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            Path::new(SMTP_SINK).exists(),
            "{SMTP_SINK} is missing: install postfix (scripts/setup.sh test does)"
        );
        let mut command = Command::new(SMTP_SINK);
        if crate::is_root() {
            command.args(["-u", "nobody"]);
        }
        command
            .args(&self.extra)
            .arg("-d")
            .arg(format!("{}/%M.", self.dir.path().display()))
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("64")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start smtp-sink");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("smtp-sink status") {
                panic!("smtp-sink exited early: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "smtp-sink did not listen on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        self.child = Some(child);
    }

    fn dumps(&self) -> Vec<(PathBuf, SystemTime)> {
        let mut found: Vec<(PathBuf, SystemTime)> = fs::read_dir(self.dir.path())
            .expect("read dump directory")
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let modified = entry.metadata().ok()?.modified().ok()?;
                Some((entry.path(), modified))
            })
            .collect();
        found.sort();
        found
    }

    /// The complete messages dumped so far, each with CRLF line endings as on the wire.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.dumps()
            .iter()
            .filter_map(|(path, _)| fs::read(path).ok())
            .map(|bytes| to_crlf(&bytes))
            .filter(|m| is_complete(m))
            .collect()
    }

    /// The messages as text (lossy UTF-8), CRLF line endings.
    pub fn texts(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    /// When each message arrived (its dump file's modification time), oldest first.
    pub fn arrivals(&self) -> Vec<SystemTime> {
        let mut times: Vec<SystemTime> = self.dumps().into_iter().map(|(_, t)| t).collect();
        times.sort();
        times
    }

    /// Waits up to `timeout` until `count` complete messages have been dumped: smtp-sink may
    /// still be closing a file when the client already has its 250.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} messages, the sink has {} after {timeout:?}",
                messages.len()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// [`SmtpSink::wait_for`] with ten seconds.
    pub fn wait_for_messages(&self, count: usize) -> Vec<Vec<u8>> {
        self.wait_for(count, Duration::from_secs(10))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The value of header `name` (any case) in a dumped message's text, when it has one.
pub fn header_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (field, value) = line.split_once(':')?;
        field
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The message as the client sent it: smtp-sink's own headers (X-Client-Addr … the
/// multi-line Received) removed.
pub fn strip_sink_headers(dump: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(dump);
    let start = text.find("Received: ").expect("smtp-sink Received header");
    let after_received = text[start..]
        .split_inclusive("\r\n")
        .enumerate()
        .take_while(|(i, line)| *i == 0 || line.starts_with('\t'))
        .map(|(_, line)| line.len())
        .sum::<usize>();
    text[start + after_received..].as_bytes().to_vec()
}

fn is_complete(dump: &[u8]) -> bool {
    // The dump ends with the empty line smtp-sink appends after the message.
    dump.ends_with(b"\r\n\r\n")
}

fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 40);
    for &b in bytes {
        if b == b'\n' && out.last() != Some(&b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

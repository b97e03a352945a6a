//! Postfix's `smtp-sink`, started on a free loopback port, dumping each message to a file.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::fixtures::unused_port;

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// A running `smtp-sink`, killed on drop.
pub struct Sink {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    /// Starts the sink and waits until it accepts connections.
    pub fn start() -> Self {
        assert!(
            Path::new(SMTP_SINK).exists(),
            "{SMTP_SINK} is missing: install postfix (apt-get install postfix) to run the SMTP tests"
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        // smtp-sink refuses to run as root without -u, and then writes as that user.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let port = unused_port();
        let mut command = Command::new(SMTP_SINK);
        if is_root() {
            command.args(["-u", "nobody"]);
        }
        let child = command
            .arg("-d")
            .arg(format!("{}/%M.", dir.path().display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start smtp-sink");
        let mut sink = Self { port, child, dir };
        sink.wait_until_listening();
        sink
    }

    fn wait_until_listening(&mut self) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("smtp-sink status") {
                panic!("smtp-sink exited early: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("smtp-sink did not start listening on port {}", self.port);
    }

    /// The dumped messages so far, each with CRLF line endings as on the wire.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<PathBuf> = fs::read_dir(self.dir.path())
            .expect("read dump directory")
            .map(|entry| entry.expect("dump entry").path())
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| to_crlf(&fs::read(path).expect("read dump")))
            .collect()
    }

    /// Waits (bounded) until `count` messages have been dumped: smtp-sink may still be closing
    /// the file when the client has its 250.
    pub fn wait_for_messages(&self, count: usize) -> Vec<Vec<u8>> {
        for _ in 0..400 {
            let messages = self.messages();
            if messages.len() >= count && messages.iter().all(|m| is_complete(m)) {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "expected {count} messages, sink has {}",
            self.messages().len()
        );
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message as the client sent it: smtp-sink's own headers (X-Client-Addr … the three-line
/// Received) removed.
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

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

//! Test support shared by the project's test suites and benchmarks: real servers they start
//! and stop, never mocks. Never a dependency of anything shipped.

pub mod dovecot;
pub mod notifications;
pub mod prism;
pub mod session_limit;
pub mod smtp_sink;
pub mod tray;

pub use dovecot::Dovecot;
pub use notifications::NotificationDaemon;
pub use prism::PrismMock;
pub use session_limit::{EXCHANGE_SESSION_LIMIT, SessionLimitedSmtp};
pub use smtp_sink::{SmtpSink, header_value, strip_sink_headers};
pub use tray::TrayMenu;

/// Stops a server the way its own shutdown expects: SIGTERM, up to five seconds to finish,
/// then SIGKILL. (A SIGKILL first can leave its children holding ports.)
pub fn stop_gracefully(child: &mut std::process::Child) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether the tests run as root: servers that drop privileges then need a user to run as.
pub(crate) fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port on 127.0.0.1")
}

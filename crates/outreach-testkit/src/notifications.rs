//! A real desktop notification service for the end-to-end tests: dunst, started on the
//! test's D-Bus session and X display (Xvfb), read back with `dunstctl`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// dunst, owning `org.freedesktop.Notifications` on the session bus until dropped.
pub struct NotificationDaemon {
    child: Child,
}

impl NotificationDaemon {
    /// Starts dunst and waits until it answers. Needs `DISPLAY` and a session bus (the E2E
    /// suite runs under Xvfb in a private D-Bus session).
    pub fn start() -> Self {
        let child = Command::new("dunst")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst on the PATH (scripts/setup.sh test installs it)");
        let mut daemon = Self { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !daemon.answers() {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("dunst exited early ({status}); is DISPLAY set?");
            }
            assert!(Instant::now() < deadline, "dunst did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    fn answers(&self) -> bool {
        Command::new("dunstctl")
            .arg("is-paused")
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Every notification shown so far, as `summary: body`, oldest first. Closes the ones on
    /// screen first, which moves them into dunst's history.
    pub fn shown(&self) -> Vec<String> {
        let _ = Command::new("dunstctl").arg("close-all").status();
        let out = Command::new("dunstctl")
            .arg("history")
            .output()
            .expect("dunstctl history");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let mut all: Vec<String> = json["data"][0]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|n| {
                        format!(
                            "{}: {}",
                            n["summary"]["data"].as_str().unwrap_or_default(),
                            n["body"]["data"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        // dunst lists its history newest first.
        all.reverse();
        all
    }
}

impl Drop for NotificationDaemon {
    fn drop(&mut self) {
        crate::stop_gracefully(&mut self.child);
    }
}

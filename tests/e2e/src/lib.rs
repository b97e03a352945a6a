//! End-to-end tests of the desktop app: see `tests/app.rs`. They need the app built with the
//! embedded UI, `tauri-driver` and `WebKitWebDriver` on the PATH, and a display (Xvfb);
//! `scripts/test.sh` provides all of that and runs them with `--run-ignored`.

#!/usr/bin/env bash
# Runs every check and test of the project, as CI does: formatting, the dependency rule,
# lints, the UI's lint/type check/tests, binding drift, all Rust tests (with the real Secret
# Service), the end-to-end test of the real app under Xvfb, and a short fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/outreach-desk/target}"
export SQLX_OFFLINE=true
# Every run builds a fresh clone once: incremental caches would only pile up in the shared
# target folder (tens of GB over a few runs) without speeding anything up.
export CARGO_INCREMENTAL=0
export NO_AT_BRIDGE=1
step() { printf '\n== %s\n' "$*"; }

scripts/setup.sh test

step "format"
cargo fmt --all -- --check

step "dependency rule"
scripts/check-deps.sh

step "UI: lint, type check, unit tests, build"
(cd ui && npm run --silent lint && npm run --silent check && npm test --silent && npm run --silent build)

step "TypeScript bindings match the Rust types"
generated=$(mktemp -d)
cargo run --quiet -p outreach-api --bin outreach-bindings -- "$generated" >/dev/null
if ! diff -r "$generated" ui/src/lib/generated; then
  echo "ui/src/lib/generated is stale: run 'cargo run -p outreach-api --bin outreach-bindings' and commit" >&2
  exit 1
fi

step "clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# Secret Service for the keychain tests and the app: a private D-Bus session with a fresh,
# unlocked gnome-keyring (an existing login keyring would open a password prompt and hang).
in_keyring_session() {
  dbus-run-session -- bash -c '
    export XDG_DATA_HOME="$(mktemp -d)"
    echo -n outreach-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$@"' keyring-session "$@"
}

step "build the app with the embedded UI"
cargo build --quiet -p outreach-desk --features custom-protocol
export OUTREACH_E2E_APP="$CARGO_TARGET_DIR/debug/outreach-desk"

step "fuzz the CSV import path (30 s)"
corpus=$(mktemp -d)
cp tests/fixtures/*.csv "$corpus/"
(cd fuzz && cargo +nightly fuzz run csv_import "$corpus" -- -max_total_time=30 -rss_limit_mb=4096 2>&1 | tail -n 3)

step "end-to-end: the real app under Xvfb through tauri-driver"
# One app at a time: two WebKitWebDrivers started together can pick the same port for their
# browsers' remote inspector, and the second app then hangs (seen as a 900 s timeout).
in_keyring_session timeout 300 xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo nextest run --cargo-quiet -p outreach-e2e --run-ignored only --no-fail-fast --test-threads 1

step "Rust tests (with the Secret Service)"
in_keyring_session cargo nextest run --cargo-quiet --workspace --exclude outreach-e2e --run-ignored all --no-fail-fast

#!/usr/bin/env bash
# Sets up what is missing, builds the UI and the app, and starts Outreach Desk on the embedded
# SQLite database in the default data folder (or --data-dir DIR / OUTREACH_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/outreach-desk/target}"
scripts/setup.sh app
(cd ui && npm run --silent build)
cargo build --release -p outreach-desk --features custom-protocol
exec "$CARGO_TARGET_DIR/release/outreach-desk" "$@"

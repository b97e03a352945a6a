#!/usr/bin/env bash
# Regenerates the committed query cache (crates/outreach-store/.sqlx) that lets every build
# check the query! macros without a database. Run it after changing a query or a migration.
# The macros check against a plain (unencrypted) development database built from the same
# migrations; SQLCipher reads such a file without a key.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/sqlx-dev.db"
for m in migrations/*.sql; do sqlite3 "$db" < "$m"; done
rm -rf crates/outreach-store/.sqlx
mkdir -p crates/outreach-store/.sqlx
touch crates/outreach-store/build.rs
SQLX_OFFLINE=false DATABASE_URL="sqlite:$db" SQLX_OFFLINE_DIR="$PWD/crates/outreach-store/.sqlx" \
  cargo check -p outreach-store --all-targets --quiet
echo "query cache: $(ls crates/outreach-store/.sqlx | wc -l) queries"

#!/usr/bin/env bash
# The dependency rule of DESIGN.md: nothing under crates/ may depend on tauri, directly or
# through another crate. Fails with the offending path otherwise, and fails if cargo cannot
# tell (a check that cannot run must not pass).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for manifest in crates/*/Cargo.toml; do
  crate=$(basename "$(dirname "$manifest")")
  tree=$(cargo tree -e normal,build -p "$crate" --prefix none --format '{p}')
  if grep -qE '^tauri(-[a-z0-9-]+)? ' <<<"$tree"; then
    echo "dependency rule broken: $crate depends on tauri:" >&2
    cargo tree -e normal,build -p "$crate" -i tauri >&2 || true
    status=1
  fi
done
[ $status -eq 0 ] && echo "dependency rule: no crate under crates/ depends on tauri"
exit $status

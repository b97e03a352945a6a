#!/usr/bin/env bash
# Installs what Outreach Desk needs on Debian 12 and skips what is already there.
#   scripts/setup.sh app    build and run the desktop app and the CLI
#   scripts/setup.sh test   the above plus what the test suite needs (Xvfb, WebKitWebDriver,
#                           tauri-driver, a Secret Service, cargo-fuzz, nightly for fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

app_packages=(build-essential pkg-config curl wget file libwebkit2gtk-4.1-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev
  libxdo-dev libdbus-1-dev sqlite3)
# postfix ships smtp-sink (the SMTP server the sending tests and benchmark deliver to); it is
# installed unconfigured and never started as a mail system.
# dovecot-imapd is the IMAP server the reply tests start with a private config on a loopback
# port (the tests never use the system service the package sets up); dunst is the desktop
# notification service the end-to-end test reads the app's notifications from; gdbus (GLib's
# tools) clicks the app's tray menu there; faketime runs the CLI with its clock moved ahead, for
# what only time brings about (the retention period ending).
test_packages=(xvfb xauth webkit2gtk-driver dbus dbus-x11 gnome-keyring libsecret-tools postfix
  dovecot-imapd dunst xdotool libglib2.0-bin faketime)

packages=("${app_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: Node.js 20 with npm is required" >&2; exit 1; }

# The UI's packages, exactly as locked.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: installing the UI's npm packages"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$mode" = test ]; then
  # Prism serves the official SendGrid OpenAPI spec as the HTTP stand-in for its tests.
  if [ ! -d tests/mocks/node_modules ] || [ tests/mocks/package-lock.json -nt tests/mocks/node_modules/.package-lock.json ]; then
    echo "setup: installing the mock servers (Prism)"
    (cd tests/mocks && npm ci --no-audit --no-fund --loglevel=error)
  fi
  command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
  command -v tauri-driver >/dev/null || cargo install --locked tauri-driver --version '^2'
  command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
fi

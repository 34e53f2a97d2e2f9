#!/usr/bin/env bash
# Installs the tools the monitoring and admin UI tests need, when they are missing:
#   - promtool (checks Prometheus config, alert rules and /metrics output), taken out of Debian's
#     `prometheus` package without installing it (no daemon is set up or started);
#   - Chromium (Debian's `chromium`), which playwright-core drives headless.
#
# Usage: scripts/install-tools.sh     (needs root, or sudo when not root)
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

if command -v promtool >/dev/null 2>&1; then
  echo "promtool: already available ($(command -v promtool))"
else
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/herd-promtool.XXXXXX")"
  trap 'rm -rf "$WORK_DIR"' EXIT
  echo "promtool: extracting it from Debian's prometheus package"
  (cd "$WORK_DIR" && { apt-get -o APT::Sandbox::User=root download prometheus >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null && apt-get -o APT::Sandbox::User=root download prometheus >/dev/null; }; })
  dpkg-deb -x "$WORK_DIR"/prometheus_*.deb "$WORK_DIR/root"
  $SUDO install -m 0755 "$WORK_DIR/root/usr/bin/promtool" /usr/local/bin/promtool
  echo "promtool: installed ($(promtool --version 2>&1 | head -1))"
fi

if command -v chromium >/dev/null 2>&1; then
  echo "chromium: already available ($(command -v chromium))"
else
  echo "chromium: installing Debian's chromium"
  apt_install chromium
  echo "chromium: installed ($(chromium --version 2>/dev/null | head -1))"
fi

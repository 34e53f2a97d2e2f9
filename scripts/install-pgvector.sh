#!/usr/bin/env bash
# Makes the pgvector extension available in the local PostgreSQL when it is missing.
#
# Debian bookworm does not package pgvector for PostgreSQL 15, so this builds Debian's own
# `pgvector` source package (from trixie) against the installed server. It uses a private apt
# configuration under $WORK_DIR: the system's sources lists are never touched.
#
# Usage: scripts/install-pgvector.sh            (needs root, or sudo when not root)
# Env:   PGVECTOR_MIRROR (default: the mirror of the system's Debian sources), PG_CONFIG.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PG_CONFIG="${PG_CONFIG:-$(command -v pg_config || true)}"
if [ -z "$PG_CONFIG" ]; then
  for candidate in /usr/lib/postgresql/*/bin/pg_config; do
    if [ -x "$candidate" ]; then PG_CONFIG="$candidate"; fi
  done
fi

sharedir() {
  if [ -n "$PG_CONFIG" ] && [ -x "$PG_CONFIG" ]; then "$PG_CONFIG" --sharedir; fi
}

if [ -n "$(sharedir)" ] && [ -f "$(sharedir)/extension/vector.control" ]; then
  echo "pgvector: already available ($(sharedir)/extension/vector.control)"
  exit 0
fi

# The server's major version decides which -dev package builds the extension.
PG_MAJOR="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)"
if [ -z "$PG_MAJOR" ]; then
  echo "pgvector: no PostgreSQL server found under /usr/lib/postgresql" >&2
  exit 1
fi

echo "pgvector: installing build dependencies for PostgreSQL $PG_MAJOR"
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s "postgresql-server-dev-$PG_MAJOR" >/dev/null 2>&1 || ! dpkg -s dpkg-dev >/dev/null 2>&1 || ! dpkg -s make >/dev/null 2>&1; then
  $SUDO apt-get install -y --no-install-recommends "postgresql-server-dev-$PG_MAJOR" dpkg-dev make gcc >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "postgresql-server-dev-$PG_MAJOR" dpkg-dev make gcc >/dev/null; }
fi
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"

MIRROR="${PGVECTOR_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  MIRROR="$(grep -hoE '^URIs:\s*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -m1 'debian' || true)"
fi
if [ -z "$MIRROR" ]; then
  MIRROR="$(grep -hoE '^deb\s+\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -m1 debian || true)"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/herd-pgvector.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT
mkdir -p "$WORK_DIR/lists/partial" "$WORK_DIR/cache/archives/partial" "$WORK_DIR/src"
echo "deb-src $MIRROR trixie main" > "$WORK_DIR/sources.list"
APT_OPTS=(
  -o "Dir::Etc::SourceList=$WORK_DIR/sources.list"
  -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$WORK_DIR/lists"
  -o "Dir::Cache=$WORK_DIR/cache"
  -o "APT::Sandbox::User=root"
)

echo "pgvector: fetching Debian's pgvector source package from $MIRROR (trixie)"
apt-get "${APT_OPTS[@]}" update >/dev/null
(cd "$WORK_DIR/src" && apt-get "${APT_OPTS[@]}" source --download-only pgvector >/dev/null && dpkg-source -x --no-check ./*.dsc pgvector >/dev/null)

echo "pgvector: building against $PG_CONFIG"
make -C "$WORK_DIR/src/pgvector" PG_CONFIG="$PG_CONFIG" -j"$(nproc)" >/dev/null
$SUDO make -C "$WORK_DIR/src/pgvector" PG_CONFIG="$PG_CONFIG" install >/dev/null
echo "pgvector: installed ($("$PG_CONFIG" --sharedir)/extension/vector.control)"

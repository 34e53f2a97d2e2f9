#!/usr/bin/env bash
# Remakes packages/testing/fixtures/pump-manual.doc (Word 97-2003) from pump-manual.fodt with
# LibreOffice, a real producer of the format, so the .doc test reads a file no hand wrote.
# Not run by CI or the tests (they use the committed .doc); run it after changing the .fodt.
#
# Needs LibreOffice Writer: apt-get install --no-install-recommends libreoffice-writer-nogui
set -euo pipefail

cd "$(dirname "$0")/../packages/testing/fixtures"
if ! command -v soffice >/dev/null 2>&1; then
  echo "soffice not found: apt-get install --no-install-recommends libreoffice-writer-nogui" >&2
  exit 1
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
soffice --headless "-env:UserInstallation=file://$profile" --convert-to "doc:MS Word 97" --outdir . pump-manual.fodt
echo "wrote $(pwd)/pump-manual.doc"

#!/usr/bin/env bash
# Remakes packages/testing/fixtures/pump-manual.doc (Word 97-2003) and pump-manual.odt
# (OpenDocument) from pump-manual.fodt with LibreOffice, a real producer of both formats, so the
# tests read files no hand wrote. Not run by CI or the tests (they use the committed files); run it
# after changing the .fodt.
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
for target in "doc:MS Word 97" "odt:writer8"; do
  soffice --headless "-env:UserInstallation=file://$profile" --convert-to "$target" --outdir . pump-manual.fodt
done
echo "wrote pump-manual.doc and pump-manual.odt in $(pwd)"

#!/usr/bin/env bash
# Remakes the committed test documents of packages/testing/fixtures with LibreOffice, a real
# producer of each format, so the tests read files no hand wrote: pump-manual.doc (Word 97-2003)
# and pump-manual.odt from pump-manual.fodt, spare-parts.ods from spare-parts.fods. Not run by CI
# or the tests (they use the committed files); run it after changing a source.
#
# Needs LibreOffice: apt-get install --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui
set -euo pipefail

cd "$(dirname "$0")/../packages/testing/fixtures"
if ! command -v soffice >/dev/null 2>&1; then
  echo "soffice not found: apt-get install --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui" >&2
  exit 1
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
convert() { soffice --headless "-env:UserInstallation=file://$profile" --convert-to "$1" --outdir . "$2"; }
convert "doc:MS Word 97" pump-manual.fodt
convert "odt:writer8" pump-manual.fodt
convert "ods:calc8" spare-parts.fods
echo "wrote pump-manual.doc, pump-manual.odt and spare-parts.ods in $(pwd)"

#!/usr/bin/env bash
# Remakes the committed test documents of packages/testing/fixtures with LibreOffice, a real
# producer of each format, so the tests read files no hand wrote: pump-manual.doc (Word 97-2003)
# and pump-manual.odt from pump-manual.fodt, spare-parts.ods from spare-parts.fods, and
# service-training.odp from the deck SERVICE_TRAINING in @herd/testing (written as .pptx by
# makePptx, so Impress reads real placeholders), pump-curves.odp from PUMP_CURVES's chart slides
# and pump-curves.odt from PUMP_CURVES_DOC (written as .docx by makeDocx), so their charts are
# LibreOffice's own chart objects, picture-slides.odp from PICTURE_SLIDES and scanned-pages.odt
# from SCANNED_PAGES_DOC. Not run by CI or the tests (they use the
# committed files); run it after changing a source, once `npm run build` has built @herd/testing.
#
# Needs LibreOffice: apt-get install --no-install-recommends libreoffice-writer-nogui \
#   libreoffice-calc-nogui libreoffice-impress-nogui
set -euo pipefail

cd "$(dirname "$0")/../packages/testing/fixtures"
if ! command -v soffice >/dev/null 2>&1; then
  echo "soffice not found: apt-get install --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui" >&2
  exit 1
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
convert() { soffice --headless "-env:UserInstallation=file://$profile" --convert-to "$1" --outdir . "$2"; }
convert "doc:MS Word 97" pump-manual.fodt
convert "odt:writer8" pump-manual.fodt
convert "ods:calc8" spare-parts.fods
(cd .. && node --input-type=module -e '
import { writeFileSync } from "node:fs";
import { makeDocx, makePptx, PICTURE_SLIDES, PUMP_CURVES, PUMP_CURVES_DOC, SCANNED_PAGES_DOC, SERVICE_TRAINING } from "./dist/index.js";
const [dir] = process.argv.slice(1);
writeFileSync(`${dir}/service-training.pptx`, await makePptx(SERVICE_TRAINING.slides, SERVICE_TRAINING.footer));
// The SmartArt slide stays out: Impress keeps only its drawn shapes, which are not a SmartArt test.
writeFileSync(`${dir}/pump-curves.pptx`, await makePptx(PUMP_CURVES.slides.filter((slide) => !("smartArt" in slide))));
writeFileSync(`${dir}/pump-curves.docx`, await makeDocx(PUMP_CURVES_DOC));
writeFileSync(`${dir}/picture-slides.pptx`, await makePptx(PICTURE_SLIDES.slides));
writeFileSync(`${dir}/scanned-pages.docx`, await makeDocx(SCANNED_PAGES_DOC));
' "$profile")
convert "odp:impress8" "$profile/service-training.pptx"
convert "odp:impress8" "$profile/pump-curves.pptx"
convert "odt:writer8" "$profile/pump-curves.docx"
convert "odp:impress8" "$profile/picture-slides.pptx"
convert "odt:writer8" "$profile/scanned-pages.docx"
echo "wrote pump-manual.doc, pump-manual.odt, spare-parts.ods, service-training.odp, pump-curves.odp, pump-curves.odt, picture-slides.odp and scanned-pages.odt in $(pwd)"

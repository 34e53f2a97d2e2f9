import { readFileSync } from "node:fs";

/**
 * A Word 97-2003 (.doc) pump manual made by LibreOffice from fixtures/pump-manual.fodt
 * (scripts/make-doc-fixture.sh): a heading, paragraphs, a footnote, a table, a text box, a
 * reviewer's comment, a running header and footer. The format cannot be written here without it.
 */
export const pumpManualDoc = (): Buffer => readFileSync(new URL("../fixtures/pump-manual.doc", import.meta.url));

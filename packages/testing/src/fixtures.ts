import { readFileSync } from "node:fs";

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

/*
 * A pump manual made by LibreOffice from fixtures/pump-manual.fodt (scripts/make-office-fixtures.sh):
 * a table of contents, headings, paragraphs, a list, a footnote, a table, a text box, a tracked
 * deletion, a reviewer's comment, a running header and footer. Neither format can be written here
 * without LibreOffice, so the files are committed.
 */
/** As Word 97-2003 (.doc). */
export const pumpManualDoc = (): Buffer => fixture("pump-manual.doc");
/** As OpenDocument text (.odt). */
export const pumpManualOdt = (): Buffer => fixture("pump-manual.odt");

/**
 * A LibreOffice Calc spreadsheet (.ods) made from fixtures/spare-parts.fods: a sheet with a
 * formula, formatted prices, a date, empty and merged cells; a sheet with only a header; a third.
 */
export const sparePartsOds = (): Buffer => fixture("spare-parts.ods");

/** SERVICE_TRAINING (the .pptx test's deck) as LibreOffice Impress converts it to OpenDocument (.odp). */
export const serviceTrainingOdp = (): Buffer => fixture("service-training.odp");

/** PUMP_CURVES's charts (its first two slides) as LibreOffice Impress converts the deck to .odp. */
export const pumpCurvesOdp = (): Buffer => fixture("pump-curves.odp");

/** PUMP_CURVES_DOC as LibreOffice Writer converts it from .docx to .odt (the chart an embedded chart object). */
export const pumpCurvesOdt = (): Buffer => fixture("pump-curves.odt");

/** PICTURE_SLIDES as LibreOffice Impress converts it to .odp (its pictures draw:image frames). */
export const pictureSlidesOdp = (): Buffer => fixture("picture-slides.odp");

/** SCANNED_PAGES_DOC as LibreOffice Writer converts it from .docx to .odt (two draw:image frames). */
export const scannedPagesOdt = (): Buffer => fixture("scanned-pages.odt");

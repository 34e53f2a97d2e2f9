import JSZip from "jszip";
import { afterAll, describe, expect, it } from "vitest";
import { makeDocx, makePdf, makePptx, makeXlsx, PICTURE_SLIDES, pictureSlidesOdp, PUMP_CURVES, PUMP_CURVES_DOC, pumpCurvesOdp, pumpCurvesOdt, pumpManualDoc, pumpManualOdt, SCANNED_PAGES_DOC, scannedPagesOdt, SERVICE_TRAINING, serviceTrainingOdp, sparePartsOds, waitFor } from "@herd/testing";
import { ParsePool } from "@herd/ingest";
import { DOC, DOCX, legacyTypeOf, ODP, ODS, ODT, PPTX, resolveType, XLSX, type Block } from "../src/index.js";
import { chunkBlocks, parseAndChunk, parseDocument } from "../src/parsing.js";
import { boundedParts, MAX_RUN } from "../src/tokens.js";
import { parseDocx } from "../src/parsers/docx.js";
import { withDrawingsAsText } from "../src/parsers/docx-drawings.js";
import { pageRanges } from "../src/parsers/ranges.js";
import { parsePptx } from "../src/parsers/pptx.js";
import { chartBlocks } from "../src/parsers/chart.js";
import { parseXml } from "../src/parsers/xml.js";

const encoder = new TextEncoder();
const settings = { chunkTokens: 60, chunkOverlap: 15 };

/** SERVICE_TRAINING's deck as blocks, whether it comes as .pptx or as LibreOffice's .odp of it. */
const SERVICE_TRAINING_BLOCKS: Block[] = [
  { kind: "heading", level: 1, text: "Pump maintenance" },
  { kind: "text", text: "Check the seal\nReplace the filter every 500 h" },
  { kind: "text", text: "Notes: Explain why the seal fails first." },
  // No title: the slide's number (every slide has a slide-number placeholder, never read, and a footer).
  { kind: "heading", level: 1, text: "Slide 2" },
  { kind: "text", text: "Fault codes of the HX-220" },
  { kind: "text", text: "Code: E-411; Fault: Low pressure" },
  { kind: "text", text: "Code: E-412" },
  // A title alone is still text; numbering counts the hidden slide, as PowerPoint does.
  { kind: "heading", level: 1, text: "Slide 4" },
  { kind: "text", text: "Always wear gloves with hydraulic fluid" },
];

/** PUMP_CURVES's deck as blocks (its charts the same from .pptx and from LibreOffice's .odp of it). */
const PUMP_CURVES_BLOCKS: Block[] = [
  { kind: "heading", level: 1, text: "Pump curves" },
  { kind: "text", text: "Chart: Flow by pressure; values: Flow (l/min)" },
  { kind: "text", text: "Pressure: 1 bar; HX-220: 40; HX-330: 60" },
  { kind: "text", text: "Pressure: 2 bar; HX-220: 32; HX-330: 51" },
  { kind: "text", text: "Pressure: 3 bar; HX-220: 21; HX-330: 38.5" },
  { kind: "text", text: "Notes: The HX-330 keeps its flow longer." },
  { kind: "heading", level: 1, text: "Faults in 2025" },
  { kind: "text", text: "Most were seals" },
  // Untitled: named by its series.
  { kind: "text", text: "Chart: Faults by code" },
  { kind: "text", text: "category: E-411; Faults by code: 12" },
  { kind: "text", text: "category: E-412; Faults by code: 3" },
  { kind: "heading", level: 1, text: "Bleeding the brakes" },
  // The data model lists the nodes backwards (see smartArtData): the order is the connections'.
  { kind: "text", text: "Fill the reservoir\nOpen the bleed screw\n› Start at the wheel farthest from the master cylinder\n› Keep the reservoir full\nClose and check the pedal" },
];

describe("formats", () => {
  it("chooses the parser by MIME type, else by extension", () => {
    expect(resolveType("text/markdown; charset=utf-8", "x.bin")).toBe("text/markdown");
    expect(resolveType(undefined, "Manual.PDF")).toBe("application/pdf");
    expect(resolveType("application/octet-stream", "notes.txt")).toBe("text/plain");
    expect(resolveType("application/msword", "a.doc")).toBe(DOC);
    expect(resolveType(undefined, "MANUAL.DOC")).toBe(DOC);
    expect(resolveType("application/vnd.ms-excel", "a.xls")).toBeUndefined();
    // Old formats Herd does not read are known by name, to fail saying what to do.
    expect([legacyTypeOf(undefined, "Deck.PPT"), legacyTypeOf("application/octet-stream", "parts.xls"), legacyTypeOf(undefined, "notes.rtf"), legacyTypeOf(undefined, "a.bin")]).toEqual(["application/vnd.ms-powerpoint", "application/vnd.ms-excel", "application/rtf", undefined]);
    expect(resolveType(undefined, "Service Guide.DOCX")).toBe(DOCX);
    expect(resolveType("application/octet-stream", "a.docx")).toBe(DOCX);
    expect(resolveType(undefined, "parts.CSV")).toBe("text/csv");
    expect(resolveType(undefined, "spare parts.xlsx")).toBe(XLSX);
    expect(resolveType(undefined, "Service training.PPTX")).toBe(PPTX);
    expect(resolveType(undefined, "handbook.odt")).toBe(ODT);
    expect(resolveType(undefined, "parts.ods")).toBe(ODS);
    expect(resolveType(undefined, "training.odp")).toBe(ODP);
    expect(resolveType(undefined, "codes.tsv")).toBe("text/tab-separated-values");
  });

  it("reads Markdown headings and blocks", async () => {
    const blocks = await parseDocument(encoder.encode("# Pump\n\nIntro text.\n\n## Maintenance\n\n- check oil\n- check seals\n"), "text/markdown");
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Pump" },
      { kind: "text", text: "Intro text." },
      { kind: "heading", level: 2, text: "Maintenance" },
      { kind: "text", text: "- check oil\n- check seals" },
    ]);
  });

  it("drops the NUL character, which PostgreSQL cannot store, from headings and text; a block of nothing else goes", async () => {
    const blocks = await parseDocument(encoder.encode("# Pu\u0000mp\n\nIntro\u0000 text.\n\n\u0000\u0000\n\nEnd.\n"), "text/markdown");
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Pump" },
      { kind: "text", text: "Intro text." },
      { kind: "text", text: "End." },
    ]);
  });

  it("stores text composed (NFC): a letter written as a base and a combining mark becomes one character", async () => {
    const decomposed = "# Pru\u0308fung\n\nO\u0308l pru\u0308fen.\n";
    expect(await parseDocument(encoder.encode(decomposed), "text/markdown")).toEqual([
      { kind: "heading", level: 1, text: "Prüfung" },
      { kind: "text", text: "Öl prüfen." },
    ]);
  });

  it("reads HTML as sections, without scripts, styles or link targets", async () => {
    const html = "<html><head><style>p{}</style><script>evil()</script></head><body><h1>Valve</h1><p>Turn the <a href='http://x'>handle</a> slowly.</p><h2>Torque</h2><p>Use 40 Nm.</p></body></html>";
    const blocks = await parseDocument(encoder.encode(html), "text/html");
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Valve" },
      { kind: "text", text: "Turn the handle slowly." },
      { kind: "heading", level: 2, text: "Torque" },
      { kind: "text", text: "Use 40 Nm." },
    ]);
  });

  it("reads PDF text page by page, and rejects a corrupt PDF with a clear reason", async () => {
    const pdf = makePdf([["Bleed the pump before first use.", "Open the valve slowly."], ["Replace the seal yearly."]]);
    const blocks = await parseDocument(pdf, "application/pdf");
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Page 1" },
      { kind: "text", text: "Bleed the pump before first use." },
      { kind: "text", text: "Open the valve slowly." },
      { kind: "heading", level: 1, text: "Page 2" },
      { kind: "text", text: "Replace the seal yearly." },
    ]);
    const corrupt = await parseAndChunk({ bytes: Buffer.concat([pdf.subarray(0, 200), Buffer.from("garbage")]), type: "application/pdf", ...settings });
    expect(corrupt).toMatchObject({ ok: false, reason: expect.stringMatching(/PDF/) });
    expect(await parseAndChunk({ bytes: encoder.encode("hello"), type: "application/pdf", ...settings })).toEqual({ ok: false, reason: "not a PDF file (no %PDF- header)" });
    // Some pages without text: stored, with a warning naming those pages.
    expect(await parseAndChunk({ bytes: makePdf([["Fuse F3 protects the pump motor."], [], [], ["Relay K1."], []]), type: "application/pdf", ...settings })).toMatchObject({
      ok: true,
      warnings: ["pages 2-3, 5 of 5 have no text (pictures of pages, a scan?): not searchable until made so with OCR, e.g. ocrmypdf"],
    });
    expect(await parseAndChunk({ bytes: makePdf([["Fuse F3."], []]), type: "application/pdf", ...settings })).toMatchObject({ ok: true, warnings: [expect.stringMatching(/^page 2 of 2 has no text /)] });
    // A long list of pages is cut short, saying how many there are.
    expect(pageRanges([1, 3, 4, 5, 9])).toBe("1, 3-5, 9");
    expect(pageRanges([1, 3, 5, 7, 9, 10], 3)).toBe("1, 3, 5, … (6 pages)");
    expect(pageRanges([1, 3, 5, 7], 2, "slides")).toBe("1, 3, … (4 slides)");
    expect(await parseAndChunk({ bytes: pdf, type: "application/pdf", ...settings })).toMatchObject({ ok: true, warnings: [] });
    // Pages without text (a scan's pages are pictures): the reason says what to do.
    expect(await parseAndChunk({ bytes: makePdf([[], []]), type: "application/pdf", ...settings })).toEqual({ ok: false, reason: expect.stringMatching(/^the PDF contains no text, only pictures of its pages \(a scan\?\): make it searchable with OCR first/) });
    expect(await parseAndChunk({ bytes: encoder.encode(" \n\n "), type: "text/plain", ...settings })).toEqual({ ok: false, reason: "the document contains no text" });
    expect(await parseAndChunk({ bytes: encoder.encode("x"), type: "image/png", ...settings })).toMatchObject({ ok: false, reason: expect.stringContaining("unsupported type") });
    expect(await parseAndChunk({ bytes: new Uint8Array([0x41, 0xe9, 0x42]), type: "text/plain", ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^the text is not valid UTF-8; .*charset=windows-1252/) });
  });

  it("reads Word documents as sections with their tables' rows, and rejects what is not one with a clear reason", async () => {
    const docx = await makeDocx([
      { heading: 1, text: "HX-220 pump" },
      { text: "Bleed the pump before first use & keep the <cap> on.", footnote: "See the bleeding chart." },
      { heading: 2, text: "Torque" },
      { table: [["Bolt", "Torque"], ["M8", "25 Nm"], ["M10", "40 Nm"]] },
    ]);
    const blocks = await parseDocument(docx, DOCX);
    expect(blocks.slice(0, 3)).toEqual([
      { kind: "heading", level: 1, text: "HX-220 pump" },
      { kind: "text", text: "Bleed the pump before first use & keep the <cap> on.[1]" },
      { kind: "heading", level: 2, text: "Torque" },
    ]);
    // Each table row on a line of its own, cells apart: "M10" and "40 Nm" never run together.
    const table = blocks[3]?.text.split("\n").map((line) => line.trim().split(/\s{2,}/));
    expect(table).toEqual([["Bolt", "Torque"], ["M8", "25 Nm"], ["M10", "40 Nm"]]);
    // Footnotes come last, without the "↑" that links each back to its reference.
    expect(blocks.slice(4)).toEqual([{ kind: "text", text: "1. See the bleeding chart." }]);
    expect(await parseAndChunk({ bytes: encoder.encode("hello"), type: DOCX, ...settings })).toEqual({ ok: false, reason: "not a Word document (neither a .docx zip archive nor a Word 97-2003 .doc)" });
    expect(await parseAndChunk({ bytes: docx.subarray(0, 100), type: DOCX, ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the DOCX: /) });
  });

  it("reads a Word document's charts and SmartArt where they stand, after the paragraph holding them", async () => {
    const docx = await makeDocx([
      { heading: 1, text: "Pump curves" },
      { text: "Measured at 20 °C:", chart: { type: "bar", title: "Flow by pressure", categoryAxis: "Pressure", valueAxis: "Flow (l/min)", series: [{ name: "HX-220", labels: ["1 bar", "2 bar"], values: [40, 32] }, { name: "HX-330", labels: ["1 bar", "2 bar"], values: [60, 51] }] } },
      { heading: 1, text: "Bleeding" },
      { smartArt: [{ text: "Fill the reservoir" }, { text: "Open the bleed screw", children: [{ text: "Start farthest from the master cylinder" }] }, { text: "Close & check" }] },
      { text: "Dispose of old fluid." },
    ]);
    const expected: Block[] = [
      { kind: "heading", level: 1, text: "Pump curves" },
      { kind: "text", text: "Measured at 20 °C:" },
      { kind: "text", text: "Chart: Flow by pressure; values: Flow (l/min)" },
      { kind: "text", text: "Pressure: 1 bar; HX-220: 40; HX-330: 60" },
      { kind: "text", text: "Pressure: 2 bar; HX-220: 32; HX-330: 51" },
      { kind: "heading", level: 1, text: "Bleeding" },
      { kind: "text", text: "Fill the reservoir\nOpen the bleed screw\n› Start farthest from the master cylinder\nClose & check" },
      { kind: "text", text: "Dispose of old fluid." },
    ];
    expect(await parseDocument(docx, DOCX)).toEqual(expected);
    // Word may write a drawing twice, in both branches of a compatibility choice: read once.
    const zip = await JSZip.loadAsync(docx);
    const xml = (await zip.file("word/document.xml")?.async("string")) ?? "";
    const drawing = /<w:r><w:drawing>.*?<\/w:drawing><\/w:r>/.exec(xml)?.[0] ?? "";
    const choice = `<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="c14">${drawing}</mc:Choice><mc:Fallback>${drawing}</mc:Fallback></mc:AlternateContent>`;
    zip.file("word/document.xml", xml.replace(drawing, choice));
    expect(await parseDocument(await zip.generateAsync({ type: "uint8array" }), DOCX)).toEqual(expected);
    // A document without either is handed to mammoth as it came, not rewritten.
    const plain = await makeDocx([{ text: "No drawings." }]);
    expect(await withDrawingsAsText(plain)).toBe(plain);
  });

  it("reads Word 97-2003 (.doc) files: paragraphs, list items, table rows, text boxes and footnotes, without tracked deletions, running headers, footers or comments", async () => {
    // Made by LibreOffice (scripts/make-office-fixtures.sh), as the .odt below.
    const doc = pumpManualDoc();
    const blocks = await parseDocument(doc, DOC);
    expect(blocks).toEqual([
      // The old format's table of contents is read as text (its field result); headings are plain paragraphs.
      { kind: "text", text: "Contents" },
      { kind: "text", text: "HX-220 hydraulic pump  1" },
      { kind: "text", text: "Torques  1" },
      { kind: "text", text: "HX-220 hydraulic pump" },
      { kind: "text", text: "Bleed the pump before the first start." },
      { kind: "text", text: "To bleed it:" },
      { kind: "text", text: "Close the suction valve." },
      { kind: "text", text: "Open the bleed screw until oil flows." },
      // "any mineral oil or " was deleted with changes tracked: still in the file, no longer the text.
      { kind: "text", text: "Fill with ISO VG 46 oil." },
      { kind: "text", text: "Torques" },
      { kind: "text", text: "Tighten the flange bolts crosswise to these torques:" },
      // A table in one block, a row per line, cells apart.
      { kind: "text", text: "Bolt  Torque\nM8  25 Nm\nM10  40 Nm" },
      // The document's own characters (no ASCII look-alike for the en dash).
      { kind: "text", text: "Prüfen Sie die Dichtung – Größe 42 × 3 mm." },
      { kind: "text", text: "Replace the filter every 500 hours." },
      { kind: "text", text: "Never open the filler cap under pressure." },
      { kind: "text", text: "See the bleeding chart on page 4." },
    ]);
    // Word files named for the other format are read by what they are.
    expect(await parseDocument(doc, DOCX)).toEqual(blocks);
    expect(await parseDocument(await makeDocx([{ heading: 1, text: "Hoses" }]), DOC)).toEqual([{ kind: "heading", level: 1, text: "Hoses" }]);
    expect(await parseAndChunk({ bytes: encoder.encode("{\\rtf1\\ansi Bleed the pump.}"), type: DOC, ...settings })).toEqual({ ok: false, reason: "an RTF file, which Herd does not read: save it as .docx" });
    expect(await parseAndChunk({ bytes: encoder.encode("hello"), type: DOC, ...settings })).toEqual({ ok: false, reason: "not a Word document (neither a .docx zip archive nor a Word 97-2003 .doc)" });
    expect(await parseAndChunk({ bytes: doc.subarray(0, 2000), type: DOC, ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the DOC: /) });
  });

  it("reads OpenDocument text (.odt): headings by outline level, lists, tables, text boxes, notes last; no table of contents, tracked deletions or comments", async () => {
    const odt = pumpManualOdt();
    expect(await parseDocument(odt, ODT)).toEqual([
      { kind: "heading", level: 1, text: "HX-220 hydraulic pump" },
      { kind: "text", text: "Bleed the pump before the first start.[1]" },
      { kind: "text", text: "To bleed it:" },
      { kind: "text", text: "Close the suction valve.\nOpen the bleed screw until oil flows." },
      { kind: "text", text: "Fill with ISO VG 46 oil." },
      { kind: "heading", level: 2, text: "Torques" },
      { kind: "text", text: "Tighten the flange bolts crosswise to these torques:" },
      { kind: "text", text: "Bolt  Torque\nM8  25 Nm\nM10  40 Nm" },
      { kind: "text", text: "Prüfen Sie die Dichtung – Größe 42 × 3 mm." },
      { kind: "text", text: "Replace the filter every 500 hours." },
      // The text box anchored in the paragraph above, after it.
      { kind: "text", text: "Never open the filler cap under pressure." },
      { kind: "text", text: "1. See the bleeding chart on page 4." },
    ]);
    expect(await parseAndChunk({ bytes: encoder.encode("hello"), type: ODT, ...settings })).toEqual({ ok: false, reason: "not an ODT file (not a zip archive)" });
    expect(await parseAndChunk({ bytes: odt.subarray(0, 100), type: ODT, ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the ODT: /) });
    expect(await parseAndChunk({ bytes: await makeDocx([{ text: "Not OpenDocument." }]), type: ODT, ...settings })).toEqual({ ok: false, reason: "could not read the ODT: no content.xml (not an OpenDocument file)" });
  });

  it("reads CSV and TSV tables a row at a time, each cell named by its column", async () => {
    const csv = '\ufeffCode,Fault,Remedy\nE-411,"Grease pump cycle incomplete, cartridge empty",Refill the cartridge\n\nE-401,Oil level low,"Top up the reservoir\nwith ISO VG 46 oil"\nE-403,,Let the motor cool\n';
    expect(await parseDocument(encoder.encode(csv), "text/csv")).toEqual([
      { kind: "text", text: "Code: E-411; Fault: Grease pump cycle incomplete, cartridge empty; Remedy: Refill the cartridge" },
      { kind: "text", text: "Code: E-401; Fault: Oil level low; Remedy: Top up the reservoir with ISO VG 46 oil" },
      { kind: "text", text: "Code: E-403; Remedy: Let the motor cool" },
    ]);
    // A cell beyond the header's columns is named by its place.
    expect(await parseDocument(encoder.encode("Part\tTorque\nM8\t25 Nm\textra\n"), "text/tab-separated-values")).toEqual([{ kind: "text", text: "Part: M8; Torque: 25 Nm; column 3: extra" }]);
    // Rows fill chunks whole: an error code is never apart from its remedy.
    const table = ["Code,Remedy", ...Array.from({ length: 60 }, (_, i) => `E-${500 + i},Replace the sensor number ${i} and restart the press`)].join("\n");
    const chunks = chunkBlocks(await parseDocument(encoder.encode(table), "text/csv"), { chunkTokens: 64, chunkOverlap: 0 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) for (const row of chunk.text.split("\n\n")) expect(row).toMatch(/^Code: E-\d+; Remedy: Replace the sensor number \d+ and restart the press$/);
    expect(await parseAndChunk({ bytes: encoder.encode('Code,Fault\nE-1,"unclosed\n'), type: "text/csv", ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the CSV: /) });
  });

  it("reads Excel workbooks a sheet at a time, under the sheet's name, each row's cells named by their columns", async () => {
    const xlsx = await makeXlsx([
      { name: "Spare parts", rows: [["Part", "Torque", "Qty", "Since"], ["M8 bolt", "25 Nm", 4, new Date(Date.UTC(2024, 0, 15))], ["M10 bolt", null, 2, null]] },
      { name: "Empty", rows: [["Header only"]] },
      { name: "Error codes", rows: [["Code", "Remedy"], ["E-411", "Refill & bleed the grease pump"]] },
    ]);
    expect(await parseDocument(xlsx, XLSX)).toEqual([
      { kind: "heading", level: 1, text: "Spare parts" },
      // A date-formatted cell as its ISO date.
      { kind: "text", text: "Part: M8 bolt; Torque: 25 Nm; Qty: 4; Since: 2024-01-15" },
      { kind: "text", text: "Part: M10 bolt; Qty: 2" },
      { kind: "heading", level: 1, text: "Error codes" },
      { kind: "text", text: "Code: E-411; Remedy: Refill & bleed the grease pump" },
    ]);
    expect(await parseAndChunk({ bytes: encoder.encode("Part,Qty"), type: XLSX, ...settings })).toEqual({ ok: false, reason: "not an XLSX file (not a zip archive; an old .xls must be saved as .xlsx)" });
    expect(await parseAndChunk({ bytes: xlsx.subarray(0, 100), type: XLSX, ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the XLSX: /) });
    // A Word document is a zip too, but no workbook.
    expect(await parseAndChunk({ bytes: await makeDocx([{ text: "Not a workbook." }]), type: XLSX, ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the XLSX: /) });
  });

  it("reads OpenDocument spreadsheets (.ods) as Excel workbooks: a sheet a section, cells as displayed, dates as ISO dates", async () => {
    // Made by LibreOffice Calc (scripts/make-office-fixtures.sh).
    const ods = sparePartsOds();
    expect(await parseDocument(ods, ODS)).toEqual([
      { kind: "heading", level: 1, text: "Spare parts" },
      // Formatted prices and a formula's result as the sheet shows them; the date as its ISO date.
      { kind: "text", text: "Part: M8 bolt; Qty: 4; Price: 0.50 EUR; Total: 2.00 EUR; Since: 2024-01-15" },
      // Empty cells left out, a merged cell named by its first column.
      { kind: "text", text: "Part: Seal kit; Price: 12.00 EUR; Note: Order in pairs" },
      { kind: "heading", level: 1, text: "Error codes" },
      { kind: "text", text: "Code: E-411; Remedy: Refill & bleed the grease pump" },
    ]);
    expect(await parseAndChunk({ bytes: encoder.encode("Part,Qty"), type: ODS, ...settings })).toEqual({ ok: false, reason: "not an ODS file (not a zip archive)" });
    // A text document is OpenDocument too, but no spreadsheet.
    expect(await parseAndChunk({ bytes: pumpManualOdt(), type: ODS, ...settings })).toEqual({ ok: false, reason: 'could not read the ODS: it holds "application/vnd.oasis.opendocument.text", not a spreadsheet' });
  });

  it("refuses a spreadsheet whose repeated rows expand beyond a million, without expanding them", async () => {
    const row = (repeat: number) => `<table:table-row table:number-rows-repeated="${repeat}"><table:table-cell office:value-type="string"><text:p>Same row</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1000000000"/></table:table-row>`;
    const ods = async (rows: string) => {
      const zip = new JSZip();
      zip.file("mimetype", ODS);
      zip.file("content.xml", `<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="S">${rows}</table:table></office:spreadsheet></office:body></office:document-content>`);
      return zip.generateAsync({ type: "uint8array" });
    };
    // Empty repeated cells (a billion columns here) only move the column: nothing is filled in.
    expect(await parseDocument(await ods(`<table:table-row><table:table-cell office:value-type="string"><text:p>Header</text:p></table:table-cell></table:table-row>${row(3)}`), ODS)).toEqual([
      { kind: "heading", level: 1, text: "S" },
      ...Array.from({ length: 3 }, () => ({ kind: "text", text: "Header: Same row" })),
    ]);
    expect(await parseAndChunk({ bytes: await ods(row(2_000_000_000)), type: ODS, ...settings })).toEqual({ ok: false, reason: "the spreadsheet expands to more than 1048576 rows with content; split it into smaller documents" });
  });

  it("reads PowerPoint decks a slide at a time: title as heading, text boxes, table rows, speaker notes; hidden slides, footers and slide numbers left out", async () => {
    const deck = await makePptx(SERVICE_TRAINING.slides, SERVICE_TRAINING.footer);
    expect(await parseDocument(deck, PPTX)).toEqual(SERVICE_TRAINING_BLOCKS);
    // A deck's named sections head their slides.
    const sectioned = await makePptx([
      { section: "Hydraulics", title: "Hoses", bullets: ["Replace a cracked hose at once"] },
      { section: "Hydraulics", title: "Filters", bullets: ["Clean the strainer monthly"] },
      { section: "Electrics", title: "Fuses", bullets: ["F3 is 10 A"] },
    ]);
    expect((await parseDocument(sectioned, PPTX)).filter((block) => block.kind === "heading")).toEqual([
      { kind: "heading", level: 1, text: "Hydraulics" },
      { kind: "heading", level: 2, text: "Hoses" },
      { kind: "heading", level: 2, text: "Filters" },
      { kind: "heading", level: 1, text: "Electrics" },
      { kind: "heading", level: 2, text: "Fuses" },
    ]);
    expect(await parseAndChunk({ bytes: encoder.encode("hello"), type: PPTX, ...settings })).toEqual({ ok: false, reason: "not a PPTX file (not a zip archive; an old .ppt must be saved as .pptx)" });
    expect(await parseAndChunk({ bytes: deck.subarray(0, 100), type: PPTX, ...settings })).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not read the PPTX: /) });
    expect(await parseAndChunk({ bytes: await makeDocx([{ text: "Not a deck." }]), type: PPTX, ...settings })).toEqual({ ok: false, reason: 'could not read the PPTX: its main part, word/document.xml, is a "document" (not a PowerPoint presentation)' });
    await expect(parsePptx(deck, 1000)).rejects.toThrow(/^the presentation's archive expands to 1 MB, more than the 1 MB one presentation may; split it into smaller documents$/);
  });

  it("reads a deck's charts (title, axes, a line per category) and SmartArt (its nodes in the diagram's order, nested ones under their parent)", async () => {
    const deck = await makePptx(PUMP_CURVES.slides);
    expect(await parseDocument(deck, PPTX)).toEqual(PUMP_CURVES_BLOCKS);
    // Charts whose parts are missing leave the rest of their slides readable.
    const zip = await JSZip.loadAsync(deck);
    for (const path of Object.keys(zip.files).filter((name) => name.startsWith("ppt/charts/chart"))) zip.remove(path);
    const stripped = await parseDocument(await zip.generateAsync({ type: "uint8array" }), PPTX);
    expect(stripped.map((block) => block.text)).toEqual(["Pump curves", "Notes: The HX-330 keeps its flow longer.", "Faults in 2025", "Most were seals", "Bleeding the brakes", expect.stringMatching(/^Fill the reservoir\n/)]);
  });

  it("reads a chart's multi-level categories, sparse points and literal values as its part caches them", () => {
    const chartPart = (series: string) =>
      parseXml(
        `<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><c:chart><c:autoTitleDeleted val="1"/><c:plotArea><c:barChart><c:barDir val="col"/>${series}</c:barChart><c:catAx><c:axId val="1"/></c:catAx><c:valAx><c:axId val="2"/><c:title><c:tx><c:rich><a:p><a:r><a:t>Hours</a:t></a:r></a:p></c:rich></c:tx></c:title></c:valAx></c:plotArea></c:chart></c:chartSpace>`,
        "chart1.xml",
      );
    const quarters = `<c:ser><c:idx val="0"/><c:tx><c:v>Downtime</c:v></c:tx><c:cat><c:multiLvlStrRef><c:f>S!$A$2:$B$5</c:f><c:multiLvlStrCache><c:ptCount val="4"/><c:lvl><c:pt idx="0"><c:v>Q1</c:v></c:pt><c:pt idx="1"><c:v>Q2</c:v></c:pt><c:pt idx="2"><c:v>Q1</c:v></c:pt><c:pt idx="3"><c:v>Q2</c:v></c:pt></c:lvl><c:lvl><c:pt idx="0"><c:v>2024</c:v></c:pt><c:pt idx="2"><c:v>2025</c:v></c:pt></c:lvl></c:multiLvlStrCache></c:multiLvlStrRef></c:cat><c:val><c:numRef><c:f>S!$C$2:$C$5</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="4"/><c:pt idx="0"><c:v>12</c:v></c:pt><c:pt idx="2"><c:v>7.5</c:v></c:pt><c:pt idx="3"><c:v>4</c:v></c:pt></c:numCache></c:numRef></c:val></c:ser>`;
    expect(chartBlocks(chartPart(quarters))).toEqual([
      { kind: "text", text: "Chart: Downtime; values: Hours" },
      { kind: "text", text: "category: 2024 / Q1; Downtime: 12" },
      // A point the cache leaves out is no value, not a zero.
      { kind: "text", text: "category: 2024 / Q2" },
      { kind: "text", text: "category: 2025 / Q1; Downtime: 7.5" },
      { kind: "text", text: "category: 2025 / Q2; Downtime: 4" },
    ]);
    const literal = `<c:ser><c:idx val="0"/><c:val><c:numLit><c:ptCount val="2"/><c:pt idx="0"><c:v>3</c:v></c:pt><c:pt idx="1"><c:v>5</c:v></c:pt></c:numLit></c:val></c:ser>`;
    expect(chartBlocks(chartPart(literal))).toEqual([
      { kind: "text", text: "Chart: series 1; values: Hours" },
      { kind: "text", text: "point: 1; series 1: 3" },
      { kind: "text", text: "point: 2; series 1: 5" },
    ]);
    // A corrupt index far beyond the points' count is dropped, not allocated.
    const corrupt = literal.replace('idx="1"', 'idx="999999999"');
    expect(chartBlocks(chartPart(corrupt))).toEqual([
      { kind: "text", text: "Chart: series 1; values: Hours" },
      { kind: "text", text: "point: 1; series 1: 3" },
      { kind: "text", text: "point: 2" },
    ]);
  });

  it("reads the charts of OpenDocument files as those of Office files: LibreOffice's conversions of the same deck and document read the same", async () => {
    const odp = pumpCurvesOdp();
    const slides = PUMP_CURVES_BLOCKS.slice(0, PUMP_CURVES_BLOCKS.findIndex((block) => block.text === "Bleeding the brakes"));
    expect(await parseDocument(odp, ODP)).toEqual(slides);
    const docx = await parseDocument(await makeDocx(PUMP_CURVES_DOC), DOCX);
    expect(await parseDocument(pumpCurvesOdt(), ODT)).toEqual(docx);
    expect(docx).toEqual([
      { kind: "heading", level: 1, text: "Pump curves" },
      { kind: "text", text: "Measured at 20 °C:" },
      ...slides.slice(1, 5),
      { kind: "text", text: "Dispose of old fluid." },
    ]);
    // A chart object missing from the archive leaves the rest of its slide readable.
    const zip = await JSZip.loadAsync(odp);
    for (const path of Object.keys(zip.files).filter((name) => name.startsWith("Object "))) zip.remove(path);
    expect((await parseDocument(await zip.generateAsync({ type: "uint8array" }), ODP)).map((block) => block.text)).toEqual(["Pump curves", "Notes: The HX-330 keeps its flow longer.", "Faults in 2025", "Most were seals"]);
  });

  it("leaves out a chart or SmartArt diagram it cannot read, naming it in the warnings, and reads the rest of the document", async () => {
    /** The file with every part whose name matches `parts` replaced by broken XML. */
    const breaking = async (bytes: Uint8Array, parts: RegExp) => {
      const zip = await JSZip.loadAsync(bytes);
      for (const name of Object.keys(zip.files).filter((path) => parts.test(path))) zip.file(name, "<broken");
      return zip.generateAsync({ type: "uint8array" });
    };
    const deck = await parseAndChunk({ bytes: await breaking(await makePptx(PUMP_CURVES.slides), /^ppt\/(charts\/chart|diagrams\/data)\d+\.xml$/), type: PPTX, ...settings });
    expect(deck).toMatchObject({ ok: true, warnings: [expect.stringMatching(/^slide 1: a chart could not be read \(ppt\/charts\/chart\d+\.xml: .+\); its text is left out$/), expect.stringMatching(/^slide 2: a chart could not be read/), expect.stringMatching(/^slide 3: a SmartArt diagram could not be read \(ppt\/diagrams\/data3\.xml: /)] });
    expect(deck.ok && deck.chunks.map((chunk) => chunk.text).join("\n")).toContain("Notes: The HX-330 keeps its flow longer.");
    const docx = await parseAndChunk({ bytes: await breaking(await makeDocx(PUMP_CURVES_DOC), /^word\/charts\//), type: DOCX, ...settings });
    expect(docx).toMatchObject({ ok: true, warnings: [expect.stringMatching(/^a chart could not be read \(word\/charts\/chart1\.xml: .+\); its text is left out$/)] });
    expect(docx.ok && docx.chunks.map((chunk) => chunk.text).join("\n")).toContain("Dispose of old fluid.");
    const odt = await parseAndChunk({ bytes: await breaking(pumpCurvesOdt(), /^Object \d+\/content\.xml$/), type: ODT, ...settings });
    expect(odt).toMatchObject({ ok: true, warnings: [expect.stringMatching(/^a chart \(Object \d+\) could not be read \(Object \d+\/content\.xml: .+\); its text is left out$/)] });
  });

  it("names a deck's slides that are only pictures in its warnings, .pptx and LibreOffice's .odp of it alike; a deck or Word document of nothing else fails saying so", async () => {
    const warning = "slides 2-3 of 5 have only pictures and no text (screenshots, scans?): not searchable until their text is typed in or read with OCR";
    const pptx = await parseAndChunk({ bytes: await makePptx(PICTURE_SLIDES.slides), type: PPTX, ...settings });
    const odp = await parseAndChunk({ bytes: pictureSlidesOdp(), type: ODP, ...settings });
    // Slide 4 has a title beside its picture: it is found by its title, and not named.
    expect(pptx).toMatchObject({ ok: true, warnings: [warning] });
    expect(odp).toEqual(pptx);
    const pictures = await makePptx([{ picture: true }, { picture: true, notes: "" }]);
    expect(await parseAndChunk({ bytes: pictures, type: PPTX, ...settings })).toEqual({
      ok: false,
      reason: "slides 1-2 of 2 have only pictures and no text (screenshots, scans?): not searchable until their text is typed in or read with OCR",
    });
    // Scanned pages pasted into a Word document, and LibreOffice's .odt of it, fail saying so.
    const scanned = "the document holds 2 pictures and no text (scanned pages pasted in?): save it as PDF, make that searchable with OCR (e.g. ocrmypdf), then upload it";
    expect(await parseAndChunk({ bytes: await makeDocx(SCANNED_PAGES_DOC), type: DOCX, ...settings })).toEqual({ ok: false, reason: scanned });
    expect(await parseAndChunk({ bytes: scannedPagesOdt(), type: ODT, ...settings })).toEqual({ ok: false, reason: scanned });
    // A picture beside text is a diagram, not a warning.
    expect(await parseAndChunk({ bytes: await makeDocx([{ text: "Wiring of the control board:" }, { picture: true }]), type: DOCX, ...settings })).toMatchObject({ ok: true, warnings: [] });
    // A deck without pictures warns of nothing.
    expect(await parseAndChunk({ bytes: await makePptx(SERVICE_TRAINING.slides), type: PPTX, ...settings })).toMatchObject({ ok: true, warnings: [] });
  });

  it("reads OpenDocument presentations (.odp) as PowerPoint decks: the same deck converted by LibreOffice reads the same", async () => {
    const odp = serviceTrainingOdp();
    expect(await parseDocument(odp, ODP)).toEqual(SERVICE_TRAINING_BLOCKS);
    expect(await parseAndChunk({ bytes: encoder.encode("hello"), type: ODP, ...settings })).toEqual({ ok: false, reason: "not an ODP file (not a zip archive)" });
    expect(await parseAndChunk({ bytes: sparePartsOds(), type: ODP, ...settings })).toEqual({ ok: false, reason: 'could not read the ODP: it holds "application/vnd.oasis.opendocument.spreadsheet", not a presentation' });
  });

  it("refuses a Word document that expands beyond what one document may hold, saying so", async () => {
    const docx = await makeDocx([{ text: "Bleed the pump before first use. ".repeat(100) }]);
    expect((await parseDocx(docx, 10_000)).length).toBe(1);
    await expect(parseDocx(docx, 1000)).rejects.toThrow(/^the document expands to 1 MB of text and markup, more than the 1 MB one document may hold; split it into smaller documents$/);
    // Refused from what the archive says it holds, before any of it is inflated.
    await expect(parseDocx(docx, 10_000, 1000)).rejects.toThrow(/^the document's archive expands to 1 MB, more than the 1 MB one Word document may; split it into smaller documents$/);
  });

  it("reads all of an HTML file larger than html-to-text's own 16 MiB limit", async () => {
    const section = (i: number) => `<h2>Step ${i}</h2><p>${"Bleed the pump before the first start. ".repeat(40)}</p>\n`;
    const count = Math.ceil((17 * 1024 * 1024) / section(0).length);
    const html = `<html><body>${Array.from({ length: count }, (_, i) => section(i)).join("")}</body></html>`;
    const blocks = await parseDocument(encoder.encode(html), "text/html");
    expect(blocks.at(-2)).toEqual({ kind: "heading", level: 2, text: `Step ${count - 1}` });
  });
});

describe("chunking", () => {
  const long = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `${topic} sentence number ${i} explains one more detail about the ${topic}.`).join(" ");

  it("keeps a small section whole and merges small sections under their common heading", () => {
    const blocks: Block[] = [
      { kind: "heading", level: 1, text: "Pump" },
      { kind: "heading", level: 2, text: "Oil" },
      { kind: "text", text: "Use grade 46 oil." },
      { kind: "heading", level: 2, text: "Seals" },
      { kind: "text", text: "Replace seals yearly." },
    ];
    const chunks = chunkBlocks(blocks, settings);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ ordinal: 0, heading: "Pump", text: "Oil\n\nUse grade 46 oil.\n\nSeals\n\nReplace seals yearly." });
    expect(chunks[0]?.embeddingText.startsWith("Pump\n\n")).toBe(true);
  });

  it("splits a long section within the token budget, with overlap, never across sections", () => {
    const blocks: Block[] = [
      { kind: "heading", level: 1, text: "Bearings" },
      ...long("bearing", 12).split(/(?<=\.) /).map((text) => ({ kind: "text" as const, text })),
      { kind: "heading", level: 1, text: "Belts" },
      { kind: "text", text: long("belt", 2) },
    ];
    const chunks = chunkBlocks(blocks, settings);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(settings.chunkTokens + 10);
    const bearings = chunks.filter((chunk) => chunk.heading === "Bearings");
    const belts = chunks.filter((chunk) => chunk.heading === "Belts");
    expect(bearings.length + belts.length).toBe(chunks.length);
    expect(belts.every((chunk) => !chunk.text.includes("bearing"))).toBe(true);
    // The last sentence of one bearing chunk opens the next one.
    const [first, second] = bearings;
    const lastSentence = first?.text.split("\n\n").at(-1) ?? "";
    expect(second?.text.startsWith(lastSentence)).toBe(true);
    expect(chunks.map((chunk) => chunk.ordinal)).toEqual(chunks.map((_, i) => i));
  });

  it("splits a long Chinese or Japanese paragraph at its sentence ends (。！？)", () => {
    const sentences = ["检查液压泵的密封，必要时更换阀门。", "液压油每年更换一次！", "启动前请确认油位正常，并排出系统中的空气。", "「ポンプを点検してください。」", "フィルターは交換しましたか？"];
    const paragraph = Array.from({ length: 6 }, () => sentences.join("")).join("");
    const chunks = chunkBlocks([{ kind: "text", text: paragraph }], { chunkTokens: 64, chunkOverlap: 0 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(64);
      // Every chunk is whole sentences: it starts where one starts and ends where one ends.
      expect(sentences.some((sentence) => chunk.text.startsWith(sentence))).toBe(true);
      expect(sentences.some((sentence) => chunk.text.endsWith(sentence))).toBe(true);
    }
  });

  it("splits a long Hindi, Burmese or Khmer paragraph at its sentence ends (। ။ ។)", () => {
    for (const sentence of ["पंप की सील की जाँच करें और हर साल वाल्व बदलें।", "ရေစုပ်စက်ကို လစဉ် စစ်ဆေးပါ။", "ពិនិត្យម៉ាស៊ីនបូមទឹកជារៀងរាល់ខែ។"]) {
      const chunks = chunkBlocks([{ kind: "text", text: Array.from({ length: 12 }, () => sentence).join(" ") }], { chunkTokens: 64, chunkOverlap: 0 });
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(chunk.tokenCount).toBeLessThanOrEqual(64);
        expect(chunk.text.split("\n\n").every((part) => part === sentence)).toBe(true);
      }
    }
  });

  it("cuts a sentence longer than a chunk between words, never inside one, and loses no text", () => {
    // Thai parts phrases with spaces and ends no sentence with a mark: the whole paragraph is one
    // "sentence" to the splitter. English without a full stop (a long list) is the same case.
    const thai = ["ตรวจสอบปั๊มไฮดรอลิก", "และเปลี่ยนซีลทุกปี", "ล้างไส้กรองน้ำมันทุกเดือน", "ก่อนเริ่มเครื่องให้ตรวจระดับน้ำมัน"];
    const english = ["hydraulic", "pump", "seal", "valve", "filter", "bearing", "gasket", "impeller"];
    for (const words of [thai, english]) {
      const sequence = Array.from({ length: 120 }, (_, i) => words[i % words.length] as string);
      const chunks = chunkBlocks([{ kind: "text", text: sequence.join(" ") }], { chunkTokens: 64, chunkOverlap: 0 });
      expect(chunks.length).toBeGreaterThan(2);
      const cut = chunks.flatMap((chunk) => chunk.text.split(/\s+/));
      expect(cut).toEqual(sequence);
      for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(64);
    }
  });

  it("cuts a run of 100,000 characters with no space (Chinese without punctuation, Thai typed without spaces, emoji) between characters, losing none", () => {
    // The tokenizer takes such a run in pieces: whole, its cost grows with the square of the run's length (minutes for a megabyte).
    for (const word of ["液压泵排气螺钉", "ปั๊มไฮดรอลิก", "🔧⚙️"]) {
      const run = word.repeat(Math.ceil(100_000 / word.length));
      const chunks = chunkBlocks([{ kind: "text", text: run }], { chunkTokens: 256, chunkOverlap: 0 });
      expect(chunks.map((chunk) => chunk.text.split("\n\n").join("")).join("")).toBe(run);
      for (const chunk of chunks) {
        expect(chunk.tokenCount).toBeLessThanOrEqual(256);
        // Never a character cut in two (a replacement character), nor a mark cut from its letter.
        expect(chunk.text).not.toMatch(/\uFFFD|^\p{M}/u);
      }
      // Full chunks (at the default budget): the pieces are small enough to fill each to most of it.
      expect(chunks.length).toBeLessThan((chunks.reduce((sum, chunk) => sum + chunk.tokenCount, 0) / 256) * 1.25);
    }
  });

  it("hands the tokenizer no run of non-space characters longer than MAX_RUN, and text without one as it is", () => {
    const text = `Intro ${"ปั๊มไฮดรอลิก".repeat(100)} middle ${"x".repeat(MAX_RUN)} end ${"🔧".repeat(300)}`;
    const parts = boundedParts(text);
    expect(parts.join("")).toBe(text);
    expect(parts.length).toBeGreaterThan(10);
    for (const part of parts) {
      expect(Math.max(...(part.match(/\S+/gu) ?? [""]).map((run) => [...run].length))).toBeLessThanOrEqual(MAX_RUN);
      expect(part).not.toMatch(/^[\p{M}\uDC00-\uDFFF]/u);
    }
    const ordinary = `${"word ".repeat(500)}${"y".repeat(MAX_RUN)}`;
    expect(boundedParts(ordinary)).toEqual([ordinary]);
  });

  it("keeps a run of full stops that opens a sentence", () => {
    const text = Array.from({ length: 40 }, (_, i) => `... step ${i} of the bleeding procedure is done.`).join(" ");
    const chunks = chunkBlocks([{ kind: "text", text }], { chunkTokens: 32, chunkOverlap: 0 });
    expect(chunks.map((chunk) => chunk.text.split("\n\n").join(" ")).join(" ")).toBe(text);
  });

  it("is deterministic: same input, same chunks and hashes", () => {
    const blocks: Block[] = [{ kind: "text", text: long("valve", 20) }];
    expect(chunkBlocks(blocks, settings)).toEqual(chunkBlocks(blocks, settings));
    expect(new Set(chunkBlocks(blocks, settings).map((chunk) => chunk.contentHash)).size).toBe(chunkBlocks(blocks, settings).length);
  });
});

describe("parse pool", () => {
  const pool = new ParsePool(1);
  afterAll(() => pool.close());

  it("parses and chunks on a worker thread", async () => {
    const result = await pool.run({ bytes: encoder.encode("# Title\n\nSome text here."), type: "text/markdown", ...settings });
    expect(result).toMatchObject({ ok: true, chunks: [{ heading: "Title", text: "Some text here." }] });
  });

  it("starts a thread with the first document and stops it once idle", async () => {
    const idle = new ParsePool(1, 200);
    try {
      expect(idle.threads).toBe(0);
      const result = await idle.run({ bytes: encoder.encode("Some text."), type: "text/plain", ...settings });
      expect(result.ok).toBe(true);
      expect(idle.threads).toBe(1);
      await waitFor(() => idle.threads === 0, { timeoutMs: 10_000 });
    } finally {
      await idle.close();
    }
  });

  it("fails a document that needs more memory than a thread may use, and parses the next one", async () => {
    const small = new ParsePool(1, 60_000, 64 * 1024 * 1024);
    try {
      const section = `<h2>Step</h2><p>${"Bleed the pump before the first start. ".repeat(40)}</p>\n`;
      const html = encoder.encode(`<html><body>${section.repeat(Math.ceil((24 * 1024 * 1024) / section.length))}</body></html>`);
      expect(await small.run({ bytes: html, type: "text/html", ...settings })).toEqual({
        ok: false,
        reason: "parsing the document took more than the 64 MB a parse thread may use (HERD_PARSE_MEMORY); split it into smaller documents",
      });
      expect(await small.run({ bytes: encoder.encode("Some text."), type: "text/plain", ...settings })).toMatchObject({ ok: true });
    } finally {
      await small.close();
    }
  });

  it("fails a document that takes longer than a document may, stopping its thread, and parses the next one", async () => {
    // 2 s: a thread loads the parsers and reads a short text well within it; 40 MB of CSV take several times as long.
    const bounded = new ParsePool(1, 60_000, undefined, 2000);
    try {
      const short = { bytes: encoder.encode("Some text."), type: "text/plain", ...settings };
      expect(await bounded.run(short)).toMatchObject({ ok: true });
      const row = (i: number) => `E-${i},the pump must be bled before first use ${i},open the bleed screw until oil flows ${i}\n`;
      const csv = encoder.encode(`code,fault,remedy\n${Array.from({ length: 420_000 }, (_, i) => row(i)).join("")}`);
      expect(await bounded.run({ bytes: csv, type: "text/csv", ...settings })).toEqual({
        ok: false,
        reason: "parsing the document took longer than 2 s, the most a document may take (HERD_PARSE_TIMEOUT); split it into smaller documents",
      });
      await waitFor(() => bounded.threads === 0, { timeoutMs: 10_000, message: "the timed-out document's thread to be stopped" });
      expect(await bounded.run(short)).toMatchObject({ ok: true });
    } finally {
      await bounded.close();
    }
  });
});

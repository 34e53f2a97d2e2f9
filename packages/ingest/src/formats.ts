import { CorruptDocumentError, UnsupportedFormatError, paragraphs, type Block } from "./blocks.js";
import { parseTable } from "./parsers/csv.js";
import { isOle2, parseDoc } from "./parsers/doc.js";
import { parseDocx } from "./parsers/docx.js";
import { parseOdp } from "./parsers/odp.js";
import { parseOds } from "./parsers/ods.js";
import { parseOdt } from "./parsers/odt.js";
import { parsePptx } from "./parsers/pptx.js";
import { parseXlsx } from "./parsers/xlsx.js";
import { parseHtml } from "./parsers/html.js";
import { parseMarkdown } from "./parsers/markdown.js";
import { parsePdf } from "./parsers/pdf.js";
import { DOC, DOCX, ODP, ODS, ODT, PPTX, SUPPORTED_TYPES, XLSX } from "./document-types.js";
import { decodeText, mimeEssence } from "./encodings.js";

const RTF_ADVICE = "an RTF file, which Herd does not read: save it as .docx";

/** Old formats Herd does not read, and what to do with such a file. */
const LEGACY_FORMATS: Record<string, string> = {
  "application/vnd.ms-powerpoint": "an old binary PowerPoint file (.ppt), which Herd does not read: save it as .pptx",
  "application/vnd.ms-excel": "an old binary Excel file (.xls), which Herd does not read: save it as .xlsx",
  "application/rtf": RTF_ADVICE,
  "text/rtf": RTF_ADVICE,
};

/** Office Open XML (.docx, .xlsx, .pptx) and OpenDocument (.odt, .ods, .odp) files are zip archives: they start with a local file header. */
const isZip = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 4)).toString("latin1") === "PK\x03\x04";

/** `bytes` as `format` (say "an ODT"), a zip archive; an old binary file (`old`, say ".xls") gets told what to save it as. */
function fromZip(bytes: Uint8Array, format: string, parse: (bytes: Uint8Array) => Promise<Block[]>, old?: { extension: string; saveAs: string }): Promise<Block[]> {
  if (!isZip(bytes)) throw new CorruptDocumentError(`not ${format} file (not a zip archive${old ? `; an old ${old.extension} must be saved as ${old.saveAs}` : ""})`);
  return parse(bytes);
}

/**
 * `mimeType` chooses the parser; its charset parameter, if any, the text's encoding (see
 * decodeText). What a parser could not read of an otherwise readable document is added to
 * `warnings` (a PDF's pages without text, a deck's slides that are only pictures, a chart that
 * could not be read).
 */
export async function parseDocument(bytes: Uint8Array, mimeType: string, warnings: string[] = []): Promise<Block[]> {
  return storable(await parseBlocks(bytes, mimeType, warnings));
}

/**
 * The blocks' text as it is stored and searched:
 * - Without U+0000, which PostgreSQL cannot store and which carries no text. Files hold it more
 *   often than one would think (text extracted from some PDFs, exports from old systems; UTF-16
 *   read as an 8-bit encoding, with no byte order mark or charset, has one after every Latin
 *   letter), and one would fail the whole document at its last step.
 * - In Unicode's composed form (NFC), as search queries are (see the API's retrieval): text
 *   written on macOS or exported by some tools spells "ü" as "u" plus a combining diaeresis, and
 *   PostgreSQL's full-text search matches the two spellings of a word as different words.
 */
function storable(blocks: Block[]): Block[] {
  return blocks.flatMap((block) => {
    const text = block.text.replaceAll("\u0000", "").normalize("NFC");
    if (text === block.text) return [block];
    return text.trim() === "" ? [] : [{ ...block, text }];
  });
}

async function parseBlocks(bytes: Uint8Array, mimeType: string, warnings: string[]): Promise<Block[]> {
  const type = mimeEssence(mimeType);
  switch (type) {
    case "text/plain":
      return paragraphs(decodeText(bytes, mimeType));
    case "text/markdown":
      return parseMarkdown(decodeText(bytes, mimeType));
    case "text/html":
      return parseHtml(decodeText(bytes, mimeType));
    case "text/csv":
      return parseTable(decodeText(bytes, mimeType), ",");
    case "text/tab-separated-values":
      return parseTable(decodeText(bytes, mimeType), "\t");
    case "application/pdf":
      if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "%PDF-") throw new CorruptDocumentError("not a PDF file (no %PDF- header)");
      return parsePdf(bytes, warnings);
    // Word files are often named for the other format (a .docx saved as "manual.doc"): the bytes decide.
    case DOC:
    case DOCX:
      if (isZip(bytes)) return parseDocx(bytes, undefined, undefined, warnings);
      if (isOle2(bytes)) return parseDoc(bytes);
      if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") === "{\\rtf") throw new CorruptDocumentError(RTF_ADVICE);
      throw new CorruptDocumentError("not a Word document (neither a .docx zip archive nor a Word 97-2003 .doc)");
    case XLSX:
      return fromZip(bytes, "an XLSX", parseXlsx, { extension: ".xls", saveAs: ".xlsx" });
    case ODT:
      return fromZip(bytes, "an ODT", (zip) => parseOdt(zip, undefined, warnings));
    case ODS:
      return fromZip(bytes, "an ODS", parseOds);
    case ODP:
      return fromZip(bytes, "an ODP", (zip) => parseOdp(zip, undefined, warnings));
    case PPTX:
      return fromZip(bytes, "a PPTX", (zip) => parsePptx(zip, undefined, warnings), { extension: ".ppt", saveAs: ".pptx" });
    default:
      throw new UnsupportedFormatError(LEGACY_FORMATS[type] ?? `unsupported type "${type}"; supported: ${SUPPORTED_TYPES.join(", ")}`);
  }
}

import WordExtractor from "word-extractor";
import { CorruptDocumentError, type Block } from "../blocks.js";

/** An OLE2 compound file (Word 97-2003 .doc, and the other old Office formats) starts with these bytes. */
export const isOle2 = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 8)).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));

/**
 * Lines of Word text → blocks: a paragraph per line; a run of table rows (Word ends each row's
 * last cell with a mark word-extractor turns into a trailing tab) is one block, a row per line,
 * cells two spaces apart so "M10" and "40 Nm" never run together.
 */
function lineBlocks(text: string): Block[] {
  const out: Block[] = [];
  let table: string[] = [];
  const endTable = () => {
    if (table.length > 0) out.push({ kind: "text", text: table.join("\n") });
    table = [];
  };
  for (const raw of text.split("\n")) {
    const isRow = raw.endsWith("\t") && raw.trim() !== "";
    const line = raw
      .split("\t")
      .map((cell) => cell.replace(/\s+/g, " ").trim())
      .filter((cell) => cell !== "")
      .join("  ");
    if (isRow) {
      table.push(line);
      continue;
    }
    endTable();
    if (line !== "") out.push({ kind: "text", text: line });
  }
  endTable();
  return out;
}

/**
 * Word 97-2003 (.doc) → its body a paragraph at a time (tables as rows), then its text boxes,
 * footnotes and endnotes, via word-extractor. The old format keeps no heading structure this
 * reader sees, so the document is one section. Headers, footers and reviewers' comments are left
 * out: a running header repeats on every page, and comments are not the document's text.
 */
export async function parseDoc(bytes: Uint8Array): Promise<Block[]> {
  let document: Awaited<ReturnType<WordExtractor["extract"]>>;
  try {
    document = await new WordExtractor().extract(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new CorruptDocumentError(`could not read the DOC: ${(error as Error).message}`);
  }
  // filterUnicode off: keep the document's own dashes and quotes instead of ASCII look-alikes.
  const raw = { filterUnicode: false };
  return [document.getBody(raw), document.getTextboxes({ ...raw, includeHeadersAndFooters: false, includeBody: true }), document.getFootnotes(raw), document.getEndnotes(raw)].flatMap(lineBlocks);
}

import { chunkBlocks, type Chunk, type ChunkSettings } from "./chunker.js";
import { mimeEssence } from "./encodings.js";
import { parseDocument } from "./formats.js";

/** A scanned PDF holds pictures of its pages and no text: the usual reason a PDF parses to nothing. */
const NO_TEXT_PDF = "the PDF contains no text, only pictures of its pages (a scan?): make it searchable with OCR first (e.g. ocrmypdf), then upload it again";

export interface ParseTask extends ChunkSettings {
  bytes: Uint8Array;
  type: string;
}

/** warnings: what could not be read of a document that was (see parseDocument). */
export type ParseResult = { ok: true; chunks: Chunk[]; warnings: string[] } | { ok: false; reason: string };

/** Parse and chunk one document. Runs in a worker thread (see pool.ts); never throws. */
export async function parseAndChunk(task: ParseTask): Promise<ParseResult> {
  try {
    const warnings: string[] = [];
    const blocks = await parseDocument(task.bytes, task.type, warnings);
    const chunks = chunkBlocks(blocks, task);
    if (chunks.length === 0) {
      // What kept the text out (a deck of nothing but pictures, scanned pages pasted into Word) says more than "no text".
      const reason = mimeEssence(task.type) === "application/pdf" ? NO_TEXT_PDF : warnings.length > 0 ? warnings.join("; ") : "the document contains no text";
      return { ok: false, reason };
    }
    return { ok: true, chunks, warnings };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

export default parseAndChunk;

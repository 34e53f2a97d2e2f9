import { getDocument, VerbosityLevel } from "pdfjs-dist/legacy/build/pdf.mjs";
import { CorruptDocumentError, paragraphs, type Block } from "../blocks.js";
import { pageRanges } from "./ranges.js";

interface TextItem {
  str: string;
  hasEOL?: boolean;
  height?: number;
  transform?: number[];
}

/**
 * PDF → one heading per page ("Page N", so citations can point at pages) followed by the page's
 * paragraphs, with Mozilla's pdf.js. Corrupt or encrypted files fail with a CorruptDocumentError.
 * Pages without text (scanned pages are pictures) are named in `warnings`: a manual whose
 * diagrams were scanned is otherwise searchable with holes nobody sees.
 */
export async function parsePdf(bytes: Uint8Array, warnings: string[] = []): Promise<Block[]> {
  let document;
  try {
    // pdf.js wants a plain Uint8Array and takes ownership of it: hand it a copy.
    document = await getDocument({ data: new Uint8Array(bytes), verbosity: VerbosityLevel.ERRORS, isEvalSupported: false, useSystemFonts: false, stopAtErrors: true }).promise;
  } catch (error) {
    throw new CorruptDocumentError(`could not read the PDF: ${(error as Error).message}`);
  }
  try {
    const blocks: Block[] = [];
    const empty: number[] = [];
    for (let number = 1; number <= document.numPages; number += 1) {
      const page = await document.getPage(number);
      const content = await page.getTextContent();
      let text = "";
      let lastY: number | undefined;
      for (const item of content.items as TextItem[]) {
        if (typeof item.str !== "string") continue;
        const y = item.transform?.[5];
        // A vertical gap of more than about one and a half lines starts a new paragraph.
        if (y !== undefined && lastY !== undefined && lastY - y > 1.6 * (item.height || 10)) text += "\n\n";
        if (y !== undefined && item.str.length > 0) lastY = y;
        text += item.str;
        text += item.hasEOL ? "\n" : item.str.endsWith(" ") ? "" : " ";
      }
      const pageBlocks = paragraphs(text.replace(/\n{2,}/g, "\n\n"));
      if (pageBlocks.length > 0) blocks.push({ kind: "heading", level: 1, text: `Page ${number}` }, ...pageBlocks);
      else empty.push(number);
      page.cleanup();
    }
    // A PDF with no text at all fails instead (see parseAndChunk), saying the same.
    if (empty.length > 0 && blocks.length > 0) {
      const which = empty.length === 1 ? `page ${empty[0]}` : `pages ${pageRanges(empty)}`;
      warnings.push(`${which} of ${document.numPages} ${empty.length === 1 ? "has" : "have"} no text (pictures of pages, a scan?): not searchable until made so with OCR, e.g. ocrmypdf`);
    }
    return blocks;
  } catch (error) {
    throw new CorruptDocumentError(`could not extract text from the PDF: ${(error as Error).message}`);
  } finally {
    await document.destroy();
  }
}

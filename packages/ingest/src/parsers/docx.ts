import mammoth from "mammoth";
import { CorruptDocumentError, type Block } from "../blocks.js";
import { parseHtml } from "./html.js";

/** Images carry no text to index: left out without reading them (mammoth's default inlines each as base64). */
const noImages = mammoth.images.imgElement(() => Promise.resolve({ src: "" }));

/** The "↑" mammoth ends each footnote and endnote with, a link back to its reference: no text of the note. */
const FOOTNOTE_BACKLINK = /\s*<a href="#(?:footnote|endnote)-ref-[^"]*">↑<\/a>/g;

/**
 * Word (.docx) → HTML with mammoth (headings from the paragraph styles "Heading 1"…, lists,
 * tables), then the HTML path, so sections and table rows come out as from an HTML manual. Files
 * the document links outside itself are never read (mammoth's default).
 */
export async function parseDocx(bytes: Uint8Array): Promise<Block[]> {
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }, { convertImage: noImages, externalFileAccess: false })).value;
  } catch (error) {
    throw new CorruptDocumentError(`could not read the DOCX: ${(error as Error).message}`);
  }
  return parseHtml(html.replace(FOOTNOTE_BACKLINK, ""));
}

import mammoth from "mammoth";
import { CorruptDocumentError, DocumentTooLargeError, type Block } from "../blocks.js";
import { parseHtml } from "./html.js";
import { declaredExpandedBytes } from "./zip-size.js";

/** Images carry no text to index: left out without reading them (mammoth's default inlines each as base64). */
const noImages = mammoth.images.imgElement(() => Promise.resolve({ src: "" }));

/** The "↑" mammoth ends each footnote and endnote with, a link back to its reference: no text of the note. */
const FOOTNOTE_BACKLINK = /\s*<a href="#(?:footnote|endnote)-ref-[^"]*">↑<\/a>/g;

/**
 * Most characters of HTML a Word document may expand to: as large as the biggest upload by default
 * (HERD_MAX_UPLOAD_BYTES, 64 MB), so an HTML manual and a Word one have the same room. A .docx is
 * compressed: a few megabytes can hold hundreds of megabytes of text (or be made to), and parsing
 * takes about ten times the text's size in memory, in the process that hosts the parse threads.
 */
export const MAX_DOCX_HTML_CHARS = 64 * 1024 * 1024;

/**
 * Most bytes a Word document's archive may say it expands to (its XML, images and the rest):
 * refused before mammoth inflates any of it. Word's XML is a few times the HTML it makes, and an
 * upload's images (already compressed) are at most the upload's size. mammoth holds about three
 * times the XML in memory: 400 MB of XML ran a parse thread out of its 1 GB heap in 14 s.
 */
export const MAX_DOCX_EXPANDED_BYTES = 4 * MAX_DOCX_HTML_CHARS;

/**
 * Word (.docx) → HTML with mammoth (headings from the paragraph styles "Heading 1"…, lists,
 * tables), then the HTML path, so sections and table rows come out as from an HTML manual. Files
 * the document links outside itself are never read (mammoth's default).
 */
export async function parseDocx(bytes: Uint8Array, maxHtmlChars = MAX_DOCX_HTML_CHARS, maxExpandedBytes = MAX_DOCX_EXPANDED_BYTES): Promise<Block[]> {
  const mb = (count: number) => `${Math.ceil(count / 1024 / 1024)} MB`;
  let expanded: number;
  try {
    expanded = await declaredExpandedBytes(bytes);
  } catch (error) {
    throw new CorruptDocumentError(`could not read the DOCX: ${(error as Error).message}`);
  }
  if (expanded > maxExpandedBytes) throw new DocumentTooLargeError(`the document's archive expands to ${mb(expanded)}, more than the ${mb(maxExpandedBytes)} one Word document may; split it into smaller documents`);
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }, { convertImage: noImages, externalFileAccess: false })).value;
  } catch (error) {
    throw new CorruptDocumentError(`could not read the DOCX: ${(error as Error).message}`);
  }
  if (html.length > maxHtmlChars) {
    throw new DocumentTooLargeError(`the document expands to ${mb(html.length)} of text and markup, more than the ${mb(maxHtmlChars)} one document may hold; split it into smaller documents`);
  }
  return parseHtml(html.replace(FOOTNOTE_BACKLINK, ""));
}

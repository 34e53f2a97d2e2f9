import mammoth from "mammoth";
import { CorruptDocumentError, DocumentTooLargeError, picturesOnlyWarning, type Block } from "../blocks.js";
import { withDrawingsAsText } from "./docx-drawings.js";
import { parseHtml } from "./html.js";
import { checkArchiveSize, MAX_ARCHIVE_EXPANDED_BYTES, megabytes } from "./zip-size.js";

/**
 * Images carry no text to index: left out without reading them (mammoth's default inlines each as
 * base64), only counted.
 */
const countImages = (counter: { images: number }) =>
  mammoth.images.imgElement(() => {
    counter.images += 1;
    return Promise.resolve({ src: "" });
  });

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
 * Word (.docx) → HTML with mammoth (headings from the paragraph styles "Heading 1"…, lists,
 * tables; charts and SmartArt first written in as paragraphs, see withDrawingsAsText), then the
 * HTML path, so sections and table rows come out as from an HTML manual. Files
 * the document links outside itself are never read (mammoth's default).
 */
export async function parseDocx(bytes: Uint8Array, maxHtmlChars = MAX_DOCX_HTML_CHARS, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES, warnings: string[] = []): Promise<Block[]> {
  await checkArchiveSize(bytes, "DOCX", maxExpandedBytes);
  let html: string;
  const counter = { images: 0 };
  try {
    const document = await withDrawingsAsText(bytes, warnings);
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(document.buffer, document.byteOffset, document.byteLength) }, { convertImage: countImages(counter), externalFileAccess: false })).value;
  } catch (error) {
    throw new CorruptDocumentError(`could not read the DOCX: ${(error as Error).message}`);
  }
  if (html.length > maxHtmlChars) {
    throw new DocumentTooLargeError(`the document expands to ${megabytes(html.length)} of text and markup, more than the ${megabytes(maxHtmlChars)} one document may hold; split it into smaller documents`);
  }
  const blocks = parseHtml(html.replace(FOOTNOTE_BACKLINK, ""));
  if (blocks.length === 0 && counter.images > 0) warnings.push(picturesOnlyWarning(counter.images));
  return blocks;
}

import yauzl from "yauzl";
import { CorruptDocumentError, DocumentTooLargeError } from "../blocks.js";

/**
 * Most bytes an office document's archive (.docx, .xlsx, .pptx, .odt, .ods, .odp) may say it expands to (its XML, images
 * and the rest): refused before anything is inflated. Word's XML is a few times the HTML it makes
 * (at most 64 MiB, MAX_DOCX_HTML_CHARS), and an upload's images (already compressed) are at most
 * the upload's size. mammoth holds about three times the XML in memory: 400 MB of XML ran a parse
 * thread out of its 1 GB heap in 14 s.
 */
export const MAX_ARCHIVE_EXPANDED_BYTES = 256 * 1024 * 1024;

/** Megabytes, rounded up, for messages. */
export const megabytes = (count: number) => `${Math.ceil(count / 1024 / 1024)} MB`;

/**
 * The bytes a zip archive's entries say they expand to, read from its central directory without
 * inflating anything (yauzl). A few compressed megabytes can hold gigabytes; what the archive
 * declares is what an honest one expands to. A dishonest one (sizes that lie) is still bounded by
 * the parse thread's heap limit (ParsePool).
 */
export async function declaredExpandedBytes(bytes: Uint8Array): Promise<number> {
  const zip = await yauzl.fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { lazyEntries: true });
  try {
    return await new Promise<number>((resolve, reject) => {
      let total = 0;
      zip.on("entry", (entry: yauzl.Entry) => {
        total += entry.uncompressedSize;
        zip.readEntry();
      });
      zip.on("end", () => resolve(total));
      zip.on("error", reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/** How messages name each Office format: the file, and what one such file is. */
const NAMES = { DOCX: { file: "document", one: "Word document" }, XLSX: { file: "workbook", one: "workbook" }, PPTX: { file: "presentation", one: "presentation" }, ODT: { file: "document", one: "document" }, ODS: { file: "spreadsheet", one: "spreadsheet" }, ODP: { file: "presentation", one: "presentation" } } as const;

/** Throws unless `bytes` is a zip archive of `format` that says it expands to at most `maxBytes`. */
export async function checkArchiveSize(bytes: Uint8Array, format: keyof typeof NAMES, maxBytes: number): Promise<void> {
  let expanded: number;
  try {
    expanded = await declaredExpandedBytes(bytes);
  } catch (error) {
    throw new CorruptDocumentError(`could not read the ${format}: ${(error as Error).message}`);
  }
  const { file, one } = NAMES[format];
  if (expanded > maxBytes) throw new DocumentTooLargeError(`the ${file}'s archive expands to ${megabytes(expanded)}, more than the ${megabytes(maxBytes)} one ${one} may; split it into smaller documents`);
}

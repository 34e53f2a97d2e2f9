import readXlsxFile from "read-excel-file/node";
import { CorruptDocumentError, type Block } from "../blocks.js";
import { rowBlocks } from "./csv.js";
import { checkArchiveSize, MAX_ARCHIVE_EXPANDED_BYTES } from "./zip-size.js";

/** A cell as text: dates as ISO dates (times only when they have one), the rest as written. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
  }
  return String(value);
}

/**
 * Excel (.xlsx) → each sheet a section under its name, its rows as a table's (rowBlocks: the
 * first row of each sheet is its header). Refused before anything is inflated when the archive
 * says it expands to more than MAX_ARCHIVE_EXPANDED_BYTES.
 */
export async function parseXlsx(bytes: Uint8Array, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES): Promise<Block[]> {
  await checkArchiveSize(bytes, "XLSX", maxExpandedBytes);
  let sheets: Awaited<ReturnType<typeof readXlsxFile>>;
  try {
    sheets = await readXlsxFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new CorruptDocumentError(`could not read the XLSX: ${(error as Error).message}`);
  }
  return sheets.flatMap((sheet) => {
    const rows = rowBlocks(sheet.data.map((row) => row.map(cellText)));
    return rows.length > 0 ? [{ kind: "heading" as const, level: 1, text: sheet.sheet }, ...rows] : [];
  });
}

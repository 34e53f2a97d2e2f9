import { extname } from "node:path";

export const DOC = "application/msword";
export const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
export const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
export const ODT = "application/vnd.oasis.opendocument.text";
export const ODS = "application/vnd.oasis.opendocument.spreadsheet";
export const ODP = "application/vnd.oasis.opendocument.presentation";
export const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
export const SUPPORTED_TYPES = ["text/plain", "text/markdown", "text/html", "text/csv", "text/tab-separated-values", "application/pdf", DOC, DOCX, ODT, XLSX, ODS, PPTX, ODP] as const;
export type SupportedType = (typeof SUPPORTED_TYPES)[number];

const BY_EXTENSION: Record<string, SupportedType> = {
  ".txt": "text/plain",
  ".text": "text/plain",
  ".log": "text/plain",
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".html": "text/html",
  ".htm": "text/html",
  ".pdf": "application/pdf",
  ".doc": DOC,
  ".docx": DOCX,
  ".odt": ODT,
  ".xlsx": XLSX,
  ".ods": ODS,
  ".pptx": PPTX,
  ".odp": ODP,
  ".csv": "text/csv",
  ".tsv": "text/tab-separated-values",
};

/** Formats Herd does not read but knows by name, so their documents fail saying what to do (see parseDocument). */
const LEGACY_BY_EXTENSION: Record<string, string> = { ".ppt": "application/vnd.ms-powerpoint", ".xls": "application/vnd.ms-excel", ".rtf": "application/rtf" };

/** Whether the file name decides the type: none was declared, or only "some bytes". */
const nameDecides = (declared: string | undefined) => !declared || declared === "application/octet-stream";

/** The MIME type of an old format Herd does not read, when the file name decides (see resolveType) and names one (.ppt, .xls, .rtf). */
export function legacyTypeOf(mimeType: string | undefined, fileName: string | undefined): string | undefined {
  return fileName && nameDecides(mimeType?.split(";")[0]?.trim().toLowerCase()) ? LEGACY_BY_EXTENSION[extname(fileName).toLowerCase()] : undefined;
}

const ALIASES: Record<string, SupportedType> = { "text/x-markdown": "text/markdown", "application/xhtml+xml": "text/html" };

/** Picks the format from a declared MIME type, else the file name's extension. */
export function resolveType(mimeType: string | undefined, fileName: string | undefined): SupportedType | undefined {
  const declared = mimeType?.split(";")[0]?.trim().toLowerCase();
  if (declared && (SUPPORTED_TYPES as readonly string[]).includes(declared)) return declared as SupportedType;
  if (declared && ALIASES[declared]) return ALIASES[declared];
  const byName = fileName ? BY_EXTENSION[extname(fileName).toLowerCase()] : undefined;
  if (byName && nameDecides(declared)) return byName;
  return undefined;
}

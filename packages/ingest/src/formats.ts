import { extname } from "node:path";
import { CorruptDocumentError, UnsupportedFormatError, paragraphs, type Block } from "./blocks.js";
import { parseHtml } from "./parsers/html.js";
import { parseMarkdown } from "./parsers/markdown.js";
import { parsePdf } from "./parsers/pdf.js";

export const SUPPORTED_TYPES = ["text/plain", "text/markdown", "text/html", "application/pdf"] as const;
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
};

const ALIASES: Record<string, SupportedType> = { "text/x-markdown": "text/markdown", "application/xhtml+xml": "text/html" };

/** Picks the format from a declared MIME type, else the file name's extension. */
export function resolveType(mimeType: string | undefined, fileName: string | undefined): SupportedType | undefined {
  const declared = mimeType?.split(";")[0]?.trim().toLowerCase();
  if (declared && (SUPPORTED_TYPES as readonly string[]).includes(declared)) return declared as SupportedType;
  if (declared && ALIASES[declared]) return ALIASES[declared];
  const byName = fileName ? BY_EXTENSION[extname(fileName).toLowerCase()] : undefined;
  if (byName && (!declared || declared === "application/octet-stream")) return byName;
  return undefined;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CorruptDocumentError("the text is not valid UTF-8");
  }
}

export async function parseDocument(bytes: Uint8Array, type: string): Promise<Block[]> {
  switch (type) {
    case "text/plain":
      return paragraphs(decodeText(bytes));
    case "text/markdown":
      return parseMarkdown(decodeText(bytes));
    case "text/html":
      return parseHtml(decodeText(bytes));
    case "application/pdf":
      if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "%PDF-") throw new CorruptDocumentError("not a PDF file (no %PDF- header)");
      return parsePdf(bytes);
    default:
      throw new UnsupportedFormatError(`unsupported type "${type}"; supported: ${SUPPORTED_TYPES.join(", ")}`);
  }
}

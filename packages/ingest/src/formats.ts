import { CorruptDocumentError, UnsupportedFormatError, paragraphs, type Block } from "./blocks.js";
import { parseHtml } from "./parsers/html.js";
import { parseMarkdown } from "./parsers/markdown.js";
import { parsePdf } from "./parsers/pdf.js";
import { SUPPORTED_TYPES } from "./document-types.js";

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

/** A document as an ordered list of headings and text blocks, whatever format it came in. */
export type Block = { kind: "heading"; level: number; text: string } | { kind: "text"; text: string };

export class UnsupportedFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedFormatError";
  }
}

export class CorruptDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorruptDocumentError";
  }
}

export class DocumentTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DocumentTooLargeError";
  }
}

/** Splits plain text into paragraphs (blank-line separated), normalising whitespace inside each. */
export function paragraphs(text: string): Block[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/[ \t]+/g, " ").replace(/ *\n */g, "\n").trim())
    .filter((paragraph) => paragraph.length > 0)
    .map((paragraph) => ({ kind: "text" as const, text: paragraph }));
}

/**
 * Why a Word or OpenDocument text with pictures and no text gives nothing: usually scanned pages
 * pasted in, which OCR can read once the document is a PDF.
 */
export function picturesOnlyWarning(pictures: number): string {
  const what = pictures === 1 ? "1 picture" : `${pictures} pictures`;
  return `the document holds ${what} and no text (scanned pages pasted in?): save it as PDF, make that searchable with OCR (e.g. ocrmypdf), then upload it`;
}

import type { Element } from "@xmldom/xmldom";
import JSZip from "jszip";
import { CorruptDocumentError, type Block } from "../blocks.js";
import { ODT } from "../document-types.js";
import { attribute, elements, parseXml } from "./xml.js";
import { checkArchiveSize, MAX_ARCHIVE_EXPANDED_BYTES } from "./zip-size.js";

/** Generated from the text itself (tables of contents, indexes): their lines would repeat the headings. */
const GENERATED = new Set(["table-of-content", "alphabetical-index", "bibliography", "illustration-index", "table-index", "object-index", "user-index"]);
/** Declarations and the record of tracked changes, whose deletions are no longer the document's text. */
const NOT_TEXT = new Set(["tracked-changes", "sequence-decls", "variable-decls", "user-field-decls", "dde-connection-decls", "forms", "annotation", "annotation-end"]);

const clean = (text: string) => text.replace(/[^\S\n]+/g, " ").replace(/ *\n */g, "\n").trim();

class Reader {
  readonly blocks: Block[] = [];
  readonly notes: string[] = [];

  /** The text of a paragraph or heading; its notes are kept for the end, its text boxes read after it. */
  inline(node: Element, boxes: Element[]): string {
    let out = "";
    for (const part of Array.from(node.childNodes)) {
      if (part.nodeType === 3) out += part.nodeValue ?? "";
      if (part.nodeType !== 1) continue;
      const element = part as Element;
      const name = element.localName ?? "";
      if (name === "s") out += " ".repeat(Number(attribute(element, "c") ?? 1) || 1);
      else if (name === "tab") out += "\t";
      else if (name === "line-break") out += "\n";
      else if (name === "note") out += this.note(element);
      else if (name === "frame") boxes.push(...elements(element).filter((e) => e.localName === "text-box"));
      else if (!NOT_TEXT.has(name)) out += this.inline(element, boxes);
    }
    return out;
  }

  note(note: Element): string {
    const citation = clean(elements(note).find((e) => e.localName === "note-citation")?.textContent ?? "") || String(this.notes.length + 1);
    const body = elements(note).find((e) => e.localName === "note-body");
    const text = body ? this.textOf(body) : "";
    if (text !== "") this.notes.push(`${citation}. ${text}`);
    return `[${citation}]`;
  }

  /** All the text inside `container`, paragraphs a line each (a list item, a table cell, a note). */
  textOf(container: Element): string {
    const reader = new Reader();
    reader.body(container);
    this.notes.push(...reader.notes);
    return reader.blocks.map((block) => block.text).join("\n");
  }

  paragraph(node: Element, heading: number | undefined): void {
    const boxes: Element[] = [];
    const text = clean(this.inline(node, boxes));
    if (text !== "") this.blocks.push(heading === undefined ? { kind: "text", text } : { kind: "heading", level: heading, text: text.replace(/\s+/g, " ") });
    for (const box of boxes) this.body(box);
  }

  table(table: Element): void {
    const rows: string[] = [];
    const visit = (node: Element) => {
      for (const part of elements(node)) {
        if (part.localName === "table-row") {
          const cells = elements(part)
            .filter((cell) => cell.localName === "table-cell")
            .map((cell) => this.textOf(cell).replace(/\s+/g, " "))
            .filter((cell) => cell !== "");
          if (cells.length > 0) rows.push(cells.join("  "));
        } else if (part.localName !== "table-column" && part.localName !== "table-columns") visit(part);
      }
    };
    visit(table);
    if (rows.length > 0) this.blocks.push({ kind: "text", text: rows.join("\n") });
  }

  body(container: Element): void {
    for (const node of elements(container)) {
      const name = node.localName ?? "";
      if (name === "h") this.paragraph(node, Math.max(1, Number(attribute(node, "outline-level") ?? 1) || 1));
      else if (name === "p") this.paragraph(node, undefined);
      else if (name === "list") {
        const items = elements(node).filter((item) => item.localName === "list-item" || item.localName === "list-header");
        const lines = items.map((item) => this.textOf(item)).filter((line) => line !== "");
        if (lines.length > 0) this.blocks.push({ kind: "text", text: lines.join("\n") });
      } else if (name === "table") this.table(node);
      else if (!GENERATED.has(name) && !NOT_TEXT.has(name)) this.body(node);
    }
  }
}

/**
 * OpenDocument text (.odt, LibreOffice's and OpenOffice's format) → headings from their outline
 * level, paragraphs, lists (an item a line), tables (a row a line, cells apart), text boxes after
 * their paragraph, then footnotes and endnotes ("1. …", cited as "[1]" where they stood).
 * Tables of contents and indexes, comments, and tracked deletions are left out; headers and
 * footers (in styles.xml) are not read.
 */
export async function parseOdt(bytes: Uint8Array, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES): Promise<Block[]> {
  await checkArchiveSize(bytes, "ODT", maxExpandedBytes);
  let root: Element;
  try {
    const zip = await JSZip.loadAsync(bytes);
    const mimetype = (await zip.file("mimetype")?.async("string"))?.trim();
    if (mimetype !== undefined && mimetype !== ODT) throw new Error(`it holds "${mimetype}", not a text document`);
    const content = zip.file("content.xml");
    if (!content) throw new Error("no content.xml (not an OpenDocument file)");
    root = parseXml(await content.async("string"), "content.xml");
  } catch (error) {
    throw new CorruptDocumentError(`could not read the ODT: ${(error as Error).message}`);
  }
  const text = elements(elements(root).find((e) => e.localName === "body") ?? root).find((e) => e.localName === "text");
  if (!text) throw new CorruptDocumentError("could not read the ODT: content.xml has no office:text body");
  const reader = new Reader();
  reader.body(text);
  return [...reader.blocks, ...reader.notes.map((note) => ({ kind: "text" as const, text: note }))];
}

import type { Element } from "@xmldom/xmldom";
import { picturesOnlyWarning, type Block } from "../blocks.js";
import { objectName, readOdfBody } from "./odf.js";
import { odfChartBlocks } from "./odf-chart.js";
import { attribute, child, children, collapseSpaces, descendants, elements } from "./xml.js";

/** Generated from the text itself (tables of contents, indexes): their lines would repeat the headings. */
const GENERATED = new Set(["table-of-content", "alphabetical-index", "bibliography", "illustration-index", "table-index", "object-index", "user-index"]);
/** Declarations and the record of tracked changes, whose deletions are no longer the document's text. */
const NOT_TEXT = new Set(["tracked-changes", "sequence-decls", "variable-decls", "user-field-decls", "dde-connection-decls", "forms", "annotation", "annotation-end"]);

class Reader {
  readonly blocks: Block[] = [];
  readonly notes: string[] = [];

  /** The document's embedded charts, by object name (see readOdfBody). */
  constructor(private readonly charts: Map<string, Element> = new Map()) {}

  /** The text of a paragraph or heading; its notes are kept for the end, its text boxes read after it. */
  inline(node: Element, boxes: Element[]): string {
    let out = "";
    for (const part of Array.from(node.childNodes)) {
      if (part.nodeType === 3) out += part.nodeValue ?? "";
      if (part.nodeType !== 1) continue;
      const element = part as Element;
      const name = element.localName ?? "";
      // One space for any run (text:c): runs of spaces collapse to one anyway, and a count of a billion would not fit a string.
      if (name === "s") out += " ";
      else if (name === "tab") out += "\t";
      else if (name === "line-break") out += "\n";
      else if (name === "note") out += this.note(element);
      else if (name === "frame") boxes.push(...children(element, "text-box", "object"));
      else if (!NOT_TEXT.has(name)) out += this.inline(element, boxes);
    }
    return out;
  }

  note(note: Element): string {
    const citation = collapseSpaces(child(note, "note-citation")?.textContent ?? "") || String(this.notes.length + 1);
    const body = child(note, "note-body");
    const text = body ? this.textOf(body) : "";
    if (text !== "") this.notes.push(`${citation}. ${text}`);
    return `[${citation}]`;
  }

  /** All the text inside `container`, paragraphs a line each (a list item, a table cell, a note). */
  textOf(container: Element): string {
    const reader = new Reader(this.charts);
    reader.body(container);
    this.notes.push(...reader.notes);
    return reader.blocks.map((block) => block.text).join("\n");
  }

  paragraph(node: Element, heading: number | undefined): void {
    const boxes: Element[] = [];
    const text = collapseSpaces(this.inline(node, boxes));
    if (text !== "") this.blocks.push(heading === undefined ? { kind: "text", text } : { kind: "heading", level: heading, text: text.replace(/\s+/g, " ") });
    for (const box of boxes) {
      const chart = box.localName === "object" ? this.charts.get(objectName(attribute(box, "href"))) : undefined;
      if (chart) this.blocks.push(...odfChartBlocks(chart));
      else if (box.localName !== "object") this.body(box);
    }
  }

  table(table: Element): void {
    const rows: string[] = [];
    const visit = (node: Element) => {
      for (const part of elements(node)) {
        if (part.localName === "table-row") {
          const cells = children(part, "table-cell")
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
        const items = children(node, "list-item", "list-header");
        const lines = items.map((item) => this.textOf(item)).filter((line) => line !== "");
        if (lines.length > 0) this.blocks.push({ kind: "text", text: lines.join("\n") });
      } else if (name === "table") this.table(node);
      else if (!GENERATED.has(name) && !NOT_TEXT.has(name)) this.body(node);
    }
  }
}

/** The text inside an OpenDocument container (a text box, a shape, a table cell): a paragraph or list item a line, its notes last. */
export function odfTextOf(container: Element): string {
  const reader = new Reader();
  reader.body(container);
  return [...reader.blocks.map((block) => block.text), ...reader.notes].join("\n");
}

/**
 * OpenDocument text (.odt, LibreOffice's and OpenOffice's format) → headings from their outline
 * level, paragraphs, lists (an item a line), tables (a row a line, cells apart), text boxes and
 * charts (see odfChartBlocks) after their paragraph, then footnotes and endnotes ("1. …", cited
 * as "[1]" where they stood). Tables of contents and indexes, comments, and tracked deletions are
 * left out; headers and footers (in styles.xml) are not read. A document of pictures and no text
 * is explained in `warnings` (see picturesOnlyWarning).
 */
export async function parseOdt(bytes: Uint8Array, maxExpandedBytes?: number, warnings: string[] = []): Promise<Block[]> {
  const { body, charts } = await readOdfBody(bytes, "ODT", maxExpandedBytes, { warnings });
  const reader = new Reader(charts);
  reader.body(body);
  const blocks = [...reader.blocks, ...reader.notes.map((note) => ({ kind: "text" as const, text: note }))];
  // A frame's draw:image is a picture, unless it stands in for the frame's object (a chart's replacement).
  const pictures = descendants(body, "frame").filter((frame) => child(frame, "image") && !child(frame, "object")).length;
  if (blocks.length === 0 && pictures > 0) warnings.push(picturesOnlyWarning(pictures));
  return blocks;
}

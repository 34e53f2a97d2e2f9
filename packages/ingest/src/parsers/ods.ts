import type { Element } from "@xmldom/xmldom";
import { DocumentTooLargeError, type Block } from "../blocks.js";
import { rowBlocks } from "./csv.js";
import { readOdfBody } from "./odf.js";
import { attribute, children, elements } from "./xml.js";

/** LibreOffice's and Excel's widest sheet: a cell past it is no spreadsheet's. */
const MAX_COLUMNS = 16_384;
/**
 * Most rows with content one spreadsheet may expand to (Excel's row limit). A row or cell written
 * once with "repeated N times" costs a few bytes in the file: 40 bytes can say a million rows.
 */
export const MAX_ODS_ROWS = 1_048_576;

const repeated = (node: Element, name: string) => Math.max(1, Math.floor(Number(attribute(node, name) ?? 1)) || 1);

/** A cell as text: dates as ISO dates (with their time when they have one), the rest as displayed. */
function cellText(cell: Element): string {
  if (attribute(cell, "value-type") === "date") {
    const date = attribute(cell, "date-value");
    if (date) return date.endsWith("T00:00:00") ? date.slice(0, 10) : date;
  }
  return children(cell, "p")
    .map((paragraph) => paragraph.textContent ?? "")
    .join(" ");
}

/** A row's cells by column; repeated empty cells only move the column, never fill memory. */
function rowCells(row: Element): string[] {
  const cells: string[] = [];
  let column = 0;
  for (const cell of elements(row)) {
    if (cell.localName !== "table-cell" && cell.localName !== "covered-table-cell") continue;
    const count = Math.min(repeated(cell, "number-columns-repeated"), MAX_COLUMNS - column);
    const text = cell.localName === "table-cell" ? cellText(cell).replace(/\s+/g, " ").trim() : "";
    if (text !== "") {
      while (cells.length < column) cells.push("");
      for (let i = 0; i < count; i += 1) cells.push(text);
    }
    column += count;
    if (column >= MAX_COLUMNS) break;
  }
  return cells;
}

function sheetRows(table: Element, rows: string[][], budget: { rows: number }): void {
  for (const part of elements(table)) {
    if (part.localName === "table-row") {
      const cells = rowCells(part);
      if (cells.length === 0) continue;
      const count = repeated(part, "number-rows-repeated");
      budget.rows += count;
      if (budget.rows > MAX_ODS_ROWS) throw new DocumentTooLargeError(`the spreadsheet expands to more than ${MAX_ODS_ROWS} rows with content; split it into smaller documents`);
      for (let i = 0; i < count; i += 1) rows.push(cells);
    } else if (part.localName === "table-header-rows" || part.localName === "table-rows" || part.localName === "table-row-group") {
      sheetRows(part, rows, budget);
    }
  }
}

/**
 * OpenDocument spreadsheet (.ods, LibreOffice Calc's format) → each sheet a section under its
 * name, its rows as a table's (rowBlocks: the first row with content is the header), as for .xlsx.
 * Cells show what the sheet displays (formatted numbers, formula results), dates as ISO dates.
 */
export async function parseOds(bytes: Uint8Array, maxExpandedBytes?: number): Promise<Block[]> {
  const { body } = await readOdfBody(bytes, "ODS", maxExpandedBytes);
  const budget = { rows: 0 };
  return children(body, "table").flatMap((table) => {
      const rows: string[][] = [];
      sheetRows(table, rows, budget);
      const blocks = rowBlocks(rows);
      return blocks.length > 0 ? [{ kind: "heading" as const, level: 1, text: attribute(table, "name") ?? "Sheet" }, ...blocks] : [];
    });
}

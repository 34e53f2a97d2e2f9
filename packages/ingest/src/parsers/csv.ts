import { parse } from "csv-parse/sync";
import { CorruptDocumentError, type Block } from "../blocks.js";

/**
 * Rows of a table, the first its header → one block per row, each cell named by its column:
 * "Code: E-411; Fault: grease pump cycle incomplete; Remedy: refill the cartridge". A chunk of a
 * parts list or an error-code table then holds whole rows that say what each value is, without
 * the header row far away in another chunk. Empty cells are left out; a cell beyond the header's
 * columns is named by its place ("column 4").
 */
export function rowBlocks(rows: ReadonlyArray<ReadonlyArray<string>>): Block[] {
  const [header = [], ...records] = rows;
  const column = (index: number) => header[index]?.replace(/\s+/g, " ").trim() || `column ${index + 1}`;
  return records
    .map((record) =>
      record
        .map((cell, index) => {
          const value = cell.replace(/\s+/g, " ").trim();
          return value === "" ? undefined : `${column(index)}: ${value}`;
        })
        .filter((cell) => cell !== undefined)
        .join("; "),
    )
    .filter((line) => line !== "")
    .map((line) => ({ kind: "text" as const, text: line }));
}

/** A CSV (or, with `delimiter` "\t", TSV) table: see rowBlocks. */
export function parseTable(text: string, delimiter: "," | "\t"): Block[] {
  let rows: string[][];
  try {
    rows = parse(text, { delimiter, bom: true, relax_column_count: true, skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new CorruptDocumentError(`could not read the ${delimiter === "," ? "CSV" : "TSV"}: ${(error as Error).message}`);
  }
  return rowBlocks(rows);
}

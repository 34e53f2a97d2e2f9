import type { Element } from "@xmldom/xmldom";
import type { Block } from "../blocks.js";
import { chartDataBlocks } from "./chart.js";
import { attribute, child, children, collapseSpaces, descendants, elements } from "./xml.js";

/** Cells a repeated run may stand for in a chart's own table: no chart has more, a corrupt count may. */
const MAX_REPEAT = 10_000;

/**
 * An OpenDocument chart object (the chart:chart of an embedded object's content.xml, as
 * LibreOffice writes one in a text document or presentation) as blocks, the same as the same
 * chart in a PowerPoint or Word file gives (see chartDataBlocks). The series, categories and
 * titles name cells of the chart's own table (local-table), read as displayed.
 */
export function odfChartBlocks(chart: Element): Block[] {
  const plotArea = child(chart, "plot-area");
  if (!plotArea) return [];
  const table = children(chart, "table")[0];
  const grid = table ? tableGrid(table) : [];
  const axes = children(plotArea, "axis");
  const axis = (dimension: string) => axes.find((a) => attribute(a, "dimension") === dimension);
  const categories = attribute(child(axis("x"), "categories") ?? plotArea, "cell-range-address");
  return chartDataBlocks({
    title: titleOf(child(chart, "title")),
    categoryAxis: titleOf(child(axis("x"), "title")) || undefined,
    valueAxis: titleOf(child(axis("y"), "title")) || undefined,
    series: children(plotArea, "series").map((series) => ({
      name: cells(grid, attribute(series, "label-cell-address")).join(" "),
      categories: cells(grid, categories),
      values: cells(grid, attribute(series, "values-cell-range-address")),
    })),
  });
}

function titleOf(title: Element | undefined): string {
  return title ? collapseSpaces(children(title, "p").map((p) => p.textContent ?? "").join(" ")).replace(/\s+/g, " ") : "";
}

/** The chart's table as rows of displayed cell text, header rows first (as its addresses count them). */
function tableGrid(table: Element): string[][] {
  return descendants(table, "table-row").map((row) =>
    children(row, "table-cell", "covered-table-cell").flatMap((cell) => {
      const repeat = Math.min(MAX_REPEAT, Math.max(1, Number(attribute(cell, "number-columns-repeated") ?? 1) || 1));
      const text = collapseSpaces(elements(cell).map((p) => p.textContent ?? "").join(" ")).replace(/\s+/g, " ");
      return Array.from({ length: repeat }, () => text);
    }),
  );
}

/**
 * The cells an address names ("local-table.$B$2:.$B$4", "local-table.$B$1"), in order: a column's
 * cells top to bottom, or a row's left to right. An address this table cannot answer gives none.
 */
function cells(grid: string[][], address: string | undefined): string[] {
  if (!address) return [];
  const [start, end = start] = address.split(" ")[0]?.split(":") ?? [];
  const from = cellOf(start);
  const to = cellOf(end);
  if (!from || !to) return [];
  const widest = Math.max(0, ...grid.map((row) => row.length));
  const out: string[] = [];
  for (let row = Math.min(from.row, to.row); row <= Math.max(from.row, to.row) && row < grid.length; row++) {
    for (let column = Math.min(from.column, to.column); column <= Math.min(Math.max(from.column, to.column), widest - 1); column++) out.push(grid[row]?.[column] ?? "");
  }
  return out;
}

/** "local-table.$B$2" or ".$B$2" → zero-based row and column. */
function cellOf(reference: string | undefined): { row: number; column: number } | undefined {
  const match = /\.?\$?([A-Z]{1,3})\$?(\d{1,7})$/.exec(reference ?? "");
  if (!match?.[1] || !match[2]) return undefined;
  const column = [...match[1]].reduce((sum, letter) => sum * 26 + letter.charCodeAt(0) - 64, 0) - 1;
  return { row: Number(match[2]) - 1, column };
}

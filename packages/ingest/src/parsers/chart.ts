import type { Element } from "@xmldom/xmldom";
import type { Block } from "../blocks.js";
import { rowBlocks } from "./csv.js";
import { child, children, descendants, elements } from "./xml.js";

/** What a chart says, whatever format holds it: its titles and each series' points. */
export interface ChartData {
  title: string;
  categoryAxis: string | undefined;
  valueAxis: string | undefined;
  series: Array<{ name: string; categories: string[]; values: string[] }>;
}

/**
 * A chart as blocks: "Chart: <title>" (with its value axis's title; untitled, named by its
 * series), then one line per category naming each series' value, as a table's rows are (see
 * rowBlocks): "Pressure: 2 bar; HX-220: 32; HX-330: 51". A pump curve or a fault-count chart in
 * a service deck holds figures written nowhere else.
 */
export function chartDataBlocks(chart: ChartData): Block[] {
  const series = chart.series.map((s, index) => ({ ...s, name: s.name || `series ${index + 1}` }));
  const title = chart.title || series.map((s) => s.name).join(", ");
  const heading = [title, chart.valueAxis && chart.valueAxis !== title ? `values: ${chart.valueAxis}` : ""].filter((part) => part !== "").join("; ");
  const count = Math.max(0, ...series.map((s) => Math.max(s.categories.length, s.values.length)));
  const categories = series.find((s) => s.categories.length > 0)?.categories ?? [];
  const header = [chart.categoryAxis || (categories.length > 0 ? "category" : "point"), ...series.map((s) => s.name)];
  const rows = Array.from({ length: count }, (_, index) => [categories[index] ?? String(index + 1), ...series.map((s) => s.values[index] ?? "")]);
  const blocks = rowBlocks([header, ...rows]);
  return heading === "" ? blocks : [{ kind: "text", text: `Chart: ${heading}` }, ...blocks];
}

/**
 * A DrawingML chart part (c:chartSpace, as PowerPoint, Word and Excel write it) as blocks (see
 * chartDataBlocks), from the values the part caches, as written.
 */
export function chartBlocks(chartSpace: Element): Block[] {
  const chart = child(chartSpace, "chart");
  const plotArea = child(chart, "plotArea");
  if (!chart || !plotArea) return [];
  const axisTitle = (...kinds: string[]) => children(plotArea, ...kinds).map((axis) => titleText(child(axis, "title"))).find((title) => title !== "");
  return chartDataBlocks({
    title: titleText(child(chart, "title")),
    categoryAxis: axisTitle("catAx", "dateAx"),
    valueAxis: axisTitle("valAx"),
    series: elements(plotArea)
      .filter((plot) => plot.localName?.endsWith("Chart"))
      .flatMap((plot) => children(plot, "ser"))
      .map((ser) => ({
        name: seriesName(ser),
        categories: points(child(ser, "cat") ?? child(ser, "xVal")),
        values: points(child(ser, "val") ?? child(ser, "yVal")),
      })),
  });
}

/** A title's text: rich text (its paragraphs) or a reference's cached string. */
function titleText(title: Element | undefined): string {
  const tx = child(title, "tx");
  if (!tx) return "";
  const rich = child(tx, "rich");
  if (rich) return children(rich, "p").map((p) => descendants(p, "t").map((t) => t.textContent ?? "").join("")).filter((line) => line.trim() !== "").join(" ").replace(/\s+/g, " ").trim();
  return points(tx).join(" ").trim();
}

function seriesName(ser: Element): string {
  const tx = child(ser, "tx");
  if (!tx) return "";
  const literal = child(tx, "v");
  return (literal ? (literal.textContent ?? "") : points(tx).join(" ")).replace(/\s+/g, " ").trim();
}

/**
 * The cached points of a data source (c:cat, c:val, c:tx…): a string or number reference's
 * cache, a literal, or a multi-level category cache, whose outer levels prefix each label
 * ("2025 / Q1"). Points are placed by their idx; a missing one is "".
 */
function points(source: Element | undefined): string[] {
  if (!source) return [];
  const holder = elements(source)[0];
  if (!holder) return [];
  const cache = ["strLit", "numLit"].includes(holder.localName ?? "") ? holder : (children(holder, "strCache", "numCache", "multiLvlStrCache")[0] ?? holder);
  if (cache.localName === "multiLvlStrCache") {
    const count = Number(child(cache, "ptCount")?.getAttribute("val") ?? 0);
    // Level 0 is the innermost labels; an outer level's label spans from its idx to the next one's.
    const levels = children(cache, "lvl").map((level, depth) => (depth === 0 ? placed(level, count) : spread(placed(level, count))));
    return Array.from({ length: Math.max(count, ...levels.map((l) => l.length)) }, (_, index) =>
      levels
        .map((level) => level[index] ?? "")
        .reverse()
        .filter((label) => label !== "")
        .join(" / "),
    );
  }
  return placed(cache, Number(child(cache, "ptCount")?.getAttribute("val") ?? 0));
}

function placed(cache: Element, count: number): string[] {
  const out: string[] = Array.from({ length: count }, () => "");
  for (const pt of children(cache, "pt")) {
    const index = Number(pt.getAttribute("idx"));
    // A corrupt index must not allocate a huge array: points beyond the declared count are kept
    // only up to a bound no real chart reaches.
    if (!Number.isInteger(index) || index < 0 || index > Math.max(count, 100_000)) continue;
    out[index] = (child(pt, "v")?.textContent ?? "").replace(/\s+/g, " ").trim();
  }
  return Array.from(out, (value) => value ?? "");
}

/** An outer category level: each label holds until the next one. */
function spread(labels: string[]): string[] {
  let current = "";
  return labels.map((label) => (current = label === "" ? current : label));
}

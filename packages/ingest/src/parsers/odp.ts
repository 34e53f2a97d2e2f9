import type { Element } from "@xmldom/xmldom";
import type { Block } from "../blocks.js";
import { rowBlocks } from "./csv.js";
import { objectName, readOdfBody } from "./odf.js";
import { odfChartBlocks } from "./odf-chart.js";
import { odfTextOf } from "./odt.js";
import { pictureSlidesWarning, slideBlocks, type SlideText } from "./slides.js";
import { attribute, child, children, descendants, elements } from "./xml.js";

/** Placeholders whose text repeats on every slide: footer, header, date, slide number. */
const BOILERPLATE = new Set(["footer", "header", "date-time", "page-number"]);

/** The drawing-page styles that hide a slide (style:drawing-page-properties presentation:visibility="hidden"). */
function hiddenStyles(root: Element | null | undefined): Set<string> {
  const hidden = new Set<string>();
  if (!root) return hidden;
  for (const style of descendants(root, "style")) {
    const properties = child(style, "drawing-page-properties");
    if (properties && attribute(properties, "visibility") === "hidden") hidden.add(attribute(style, "name") ?? "");
  }
  return hidden;
}

/** A page's (or notes page's) shapes in drawing order: frames with text boxes, tables or charts, other shapes' text, groups. */
function readShapes(container: Element, out: SlideText, charts: Map<string, Element>): void {
  for (const shape of elements(container)) {
    const name = shape.localName ?? "";
    if (name === "g") {
      readShapes(shape, out, charts);
      continue;
    }
    if (name === "notes" || name === "page-thumbnail" || name === "forms" || name === "animations") continue;
    const role = attribute(shape, "class");
    if (role && BOILERPLATE.has(role)) continue;
    let text: string;
    if (name === "frame") {
      for (const table of children(shape, "table")) {
        const rows = descendants(table, "table-row").map((row) => children(row, "table-cell").map((cell) => odfTextOf(cell).replace(/\s+/g, " ").trim()));
        out.blocks.push(...rowBlocks(rows));
      }
      const chart = charts.get(objectName(attribute(child(shape, "object") ?? shape, "href")));
      if (chart) out.blocks.push(...odfChartBlocks(chart));
      // A frame's text is in its text box; a picture or object frame has none.
      const box = child(shape, "text-box");
      text = box ? odfTextOf(box) : "";
    } else {
      text = odfTextOf(shape);
    }
    if (text === "") continue;
    if (role === "title" && out.title === undefined) out.title = text.replace(/\s+/g, " ");
    else out.blocks.push({ kind: "text", text });
  }
}

/**
 * OpenDocument presentation (.odp, LibreOffice Impress's format) → as PowerPoint decks: a slide
 * a section under its title (else "Slide N"), its text boxes, shapes' text, tables (rows as for
 * CSV) and charts (see odfChartBlocks) in drawing order, then its speaker notes as "Notes: …";
 * hidden slides, footers, dates and slide numbers left out; slides that are only pictures named
 * in `warnings`.
 */
export async function parseOdp(bytes: Uint8Array, maxExpandedBytes?: number, warnings: string[] = []): Promise<Block[]> {
  const { body, charts } = await readOdfBody(bytes, "ODP", maxExpandedBytes, { warnings });
  const hidden = hiddenStyles(body.ownerDocument?.documentElement);
  const pages = children(body, "page");
  const pictures: number[] = [];
  const blocks = pages.flatMap((page, index) => {
    if (hidden.has(attribute(page, "style-name") ?? "")) return [];
    const slide: SlideText = { title: undefined, blocks: [], notes: "" };
    readShapes(page, slide, charts);
    const notesPage = child(page, "notes");
    if (notesPage) {
      const notes: SlideText = { title: undefined, blocks: [], notes: "" };
      readShapes(notesPage, notes, charts);
      slide.notes = notes.blocks.map((block) => block.text).join("\n");
    }
    const read = slideBlocks(index + 1, slide, 1);
    const shapes = elements(page).filter((shape) => shape.localName !== "notes");
    if (read.length === 0 && shapes.some((shape) => shape.localName === "image" || descendants(shape, "image").length > 0)) pictures.push(index + 1);
    return read;
  });
  const warning = pictureSlidesWarning(pictures, pages.length);
  if (warning) warnings.push(warning);
  return blocks;
}

import type { Element } from "@xmldom/xmldom";
import JSZip from "jszip";
import { CorruptDocumentError, type Block } from "../blocks.js";
import { rowBlocks } from "./csv.js";
import { chartBlocks } from "./chart.js";
import { diagramBlocks } from "./diagram.js";
import { pictureSlidesWarning, slideBlocks, type SlideText } from "./slides.js";
import { child, children, collapseSpaces, descendants, elements } from "./xml.js";
import { MissingPart, Package, readDrawing, relationshipAttribute } from "./opc.js";
import { checkArchiveSize, MAX_ARCHIVE_EXPANDED_BYTES } from "./zip-size.js";

class NotAPresentation extends Error {}

/**
 * Placeholders whose text repeats on every slide or says nothing of it: slide number, date,
 * footer, header, and the slide picture on a notes page. A footer "Confidential - ACME Service"
 * on each of 80 slides would otherwise sit in every chunk of the deck.
 */
const BOILERPLATE = new Set(["sldNum", "dt", "ftr", "hdr", "sldImg"]);
const TITLES = new Set(["title", "ctrTitle"]);

/** A paragraph's text: its runs and fields (a slide-number field left out), line breaks kept. */
function paragraphText(paragraph: Element): string {
  return elements(paragraph)
    .map((part) => {
      if (part.localName === "br") return "\n";
      if (part.localName === "fld" && part.getAttribute("type") === "slidenum") return "";
      return part.localName === "r" || part.localName === "fld" ? (child(part, "t")?.textContent ?? "") : "";
    })
    .join("");
}

const bodyText = (txBody: Element | undefined) => (txBody ? collapseSpaces(children(txBody, "p").map(paragraphText).filter((p) => p.trim() !== "").join("\n")) : "");
const placeholderType = (shape: Element) => {
  const ph = child(child(child(shape, "nvSpPr"), "nvPr"), "ph");
  return ph ? ph.getAttribute("type") || "body" : undefined;
};

/** Where a slide's charts and SmartArt live: the parts its relationships name. */
interface ShapeContext {
  pkg: Package;
  /** The slide's (or notes page's) part. */
  path: string;
  /** The slide's number, for warnings. */
  slide: number;
  warnings: string[];
}

/** The shapes of a slide (or notes page) in drawing order: text boxes, groups, tables, charts, SmartArt. */
async function readShapes(tree: Element, out: SlideText, context: ShapeContext): Promise<void> {
  for (const shape of elements(tree)) {
    if (shape.localName === "sp") {
      const type = placeholderType(shape);
      if (type && BOILERPLATE.has(type)) continue;
      const text = bodyText(child(shape, "txBody"));
      if (text === "") continue;
      if (type && TITLES.has(type) && out.title === undefined) out.title = text.replace(/\s+/g, " ");
      else out.blocks.push({ kind: "text", text });
    } else if (shape.localName === "grpSp") {
      await readShapes(shape, out, context);
    } else if (shape.localName === "graphicFrame") {
      out.blocks.push(...(await frameBlocks(shape, context)));
    } else if (shape.localName === "AlternateContent") {
      // Markup compatibility: the fallback is the form every reader understands.
      const choice = child(shape, "Fallback") ?? child(shape, "Choice");
      if (choice) await readShapes(choice, out, context);
    }
  }
}

/** A graphic frame's table (rows as for CSV), chart (see chartBlocks) or SmartArt (see diagramBlocks). */
async function frameBlocks(frame: Element, context: ShapeContext): Promise<Block[]> {
  const blocks: Block[] = [];
  for (const table of descendants(frame, "tbl")) {
    const rows = children(table, "tr").map((row) => children(row, "tc").map((cell) => bodyText(child(cell, "txBody")).replace(/\s+/g, " ")));
    blocks.push(...rowBlocks(rows));
  }
  const drawings = [
    ...descendants(frame, "chart").map((chart) => ({ what: "a chart", id: relationshipAttribute(chart, "id"), read: chartBlocks })),
    ...descendants(frame, "relIds").map((ids) => ({ what: "a SmartArt diagram", id: relationshipAttribute(ids, "dm"), read: diagramBlocks })),
  ];
  for (const drawing of drawings) {
    const read = await readDrawing(() => context.pkg.related(context.path, drawing.id), drawing.read, `slide ${context.slide}: ${drawing.what}`, context.warnings);
    blocks.push(...read);
  }
  return blocks;
}

/**
 * PowerPoint (.pptx) → one level-1 heading per slide (its title, else "Slide N"), under a
 * heading for each of the deck's named sections when it has them; the slide's text boxes and
 * tables (rows as for CSV), charts (see chartBlocks) and SmartArt (see diagramBlocks) in drawing
 * order; then its speaker notes, as "Notes: …" (see slideBlocks). Hidden slides, slide numbers,
 * dates, footers and pictures are left out; slides that are only pictures are named in
 * `warnings`. Only the parts holding text are inflated; media never are.
 */
export async function parsePptx(bytes: Uint8Array, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES, warnings: string[] = []): Promise<Block[]> {
  await checkArchiveSize(bytes, "PPTX", maxExpandedBytes);
  try {
    return await readPresentation(new Package(await JSZip.loadAsync(bytes)), warnings);
  } catch (error) {
    const detail = error instanceof NotAPresentation || error instanceof MissingPart ? `${error.message} (not a PowerPoint presentation)` : (error as Error).message;
    throw new CorruptDocumentError(`could not read the PPTX: ${detail}`);
  }
}

async function readPresentation(pkg: Package, warnings: string[]): Promise<Block[]> {
  const main = await pkg.mainPart();
  if (!main) throw new NotAPresentation("no main part in _rels/.rels");
  const presentation = await pkg.xml(main);
  if (presentation.localName !== "presentation") throw new NotAPresentation(`its main part, ${main}, is a "${presentation.localName}"`);
  const parts = await pkg.relationships(main);
  const sectionOf = new Map<string, string>();
  for (const section of descendants(presentation, "section")) for (const slide of descendants(section, "sldId")) sectionOf.set(slide.getAttribute("id") ?? "", section.getAttribute("name") ?? "");
  const slideList = child(presentation, "sldIdLst");
  const slides = slideList ? children(slideList, "sldId") : [];
  const out: Block[] = [];
  const hasSections = sectionOf.size > 0;
  let section: string | undefined;
  const pictures: number[] = [];
  for (const [index, entry] of slides.entries()) {
    const path = parts.get(relationshipAttribute(entry, "id"))?.target;
    if (!path) throw new NotAPresentation(`slide ${index + 1} has no part`);
    const slide = await pkg.xml(path);
    if (slide.getAttribute("show") === "0") continue;
    const text: SlideText = { title: undefined, blocks: [], notes: "" };
    const tree = child(child(slide, "cSld"), "spTree");
    const context = { pkg, path, slide: index + 1, warnings };
    if (tree) await readShapes(tree, text, context);
    const notesPath = [...(await pkg.relationships(path)).values()].find((rel) => rel.type.endsWith("/notesSlide"))?.target;
    const notesTree = notesPath ? child(child(await pkg.xml(notesPath), "cSld"), "spTree") : undefined;
    if (notesTree) {
      const notes: SlideText = { title: undefined, blocks: [], notes: "" };
      await readShapes(notesTree, notes, { ...context, path: notesPath ?? path });
      text.notes = notes.blocks.map((block) => block.text).join("\n");
    }
    const blocks = slideBlocks(index + 1, text, hasSections ? 2 : 1);
    // A picture is a p:pic or a shape filled with one; either way a blipFill.
    if (blocks.length === 0 && tree && descendants(tree, "blipFill").length > 0) pictures.push(index + 1);
    if (blocks.length === 0) continue;
    const name = hasSections ? sectionOf.get(entry.getAttribute("id") ?? "") : undefined;
    if (name && name !== section) out.push({ kind: "heading", level: 1, text: name });
    section = name ?? section;
    out.push(...blocks);
  }
  const warning = pictureSlidesWarning(pictures, slides.length);
  if (warning) warnings.push(warning);
  return out;
}

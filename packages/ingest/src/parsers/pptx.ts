import { posix } from "node:path";
import type { Element } from "@xmldom/xmldom";
import JSZip from "jszip";
import { CorruptDocumentError, type Block } from "../blocks.js";
import { rowBlocks } from "./csv.js";
import { slideBlocks, type SlideText } from "./slides.js";
import { child, children, collapseSpaces, descendants, elements, parseXml } from "./xml.js";
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


/** The shapes of a slide (or notes page) in drawing order: text boxes, groups, tables. */
function readShapes(tree: Element, out: SlideText): void {
  for (const shape of elements(tree)) {
    if (shape.localName === "sp") {
      const type = placeholderType(shape);
      if (type && BOILERPLATE.has(type)) continue;
      const text = bodyText(child(shape, "txBody"));
      if (text === "") continue;
      if (type && TITLES.has(type) && out.title === undefined) out.title = text.replace(/\s+/g, " ");
      else out.blocks.push({ kind: "text", text });
    } else if (shape.localName === "grpSp") {
      readShapes(shape, out);
    } else if (shape.localName === "graphicFrame") {
      for (const table of descendants(shape, "tbl")) {
        const rows = children(table, "tr").map((row) => children(row, "tc").map((cell) => bodyText(child(cell, "txBody")).replace(/\s+/g, " ")));
        out.blocks.push(...rowBlocks(rows));
      }
    } else if (shape.localName === "AlternateContent") {
      // Markup compatibility: the fallback is the form every reader understands.
      const choice = child(shape, "Fallback") ?? child(shape, "Choice");
      if (choice) readShapes(choice, out);
    }
  }
}

class Package {
  constructor(private readonly zip: JSZip) {}

  async xml(path: string): Promise<Element> {
    const file = this.zip.file(path);
    if (!file) throw new NotAPresentation(`no ${path}`);
    return parseXml(await file.async("string"), path);
  }

  /** A part's relationships (Id → target path and type), from its _rels/<name>.rels. */
  async relationships(path: string): Promise<Map<string, { target: string; type: string }>> {
    const relsPath = posix.join(posix.dirname(path), "_rels", `${posix.basename(path)}.rels`);
    const out = new Map<string, { target: string; type: string }>();
    if (!this.zip.file(relsPath)) return out;
    for (const rel of descendants(await this.xml(relsPath), "Relationship")) {
      if (rel.getAttribute("TargetMode") === "External") continue;
      const target = rel.getAttribute("Target") ?? "";
      const resolved = target.startsWith("/") ? target.slice(1) : posix.normalize(posix.join(posix.dirname(path), target));
      out.set(rel.getAttribute("Id") ?? "", { target: resolved, type: rel.getAttribute("Type") ?? "" });
    }
    return out;
  }
}

/** A slide entry's r:id, whatever prefix the file gives the relationships namespace. */
const relationshipId = (element: Element) => Array.from(element.attributes).find((a) => a.localName === "id" && (a.namespaceURI ?? "").endsWith("/relationships"))?.value ?? "";

/**
 * PowerPoint (.pptx) → one level-1 heading per slide (its title, else "Slide N"), under a
 * heading for each of the deck's named sections when it has them; the slide's text boxes and
 * tables (rows as for CSV) in drawing order; then its speaker notes, as "Notes: …" (see slideBlocks). Hidden slides,
 * slide numbers, dates, footers, pictures, charts and SmartArt are left out. Only the parts holding
 * text are inflated; media never are.
 */
export async function parsePptx(bytes: Uint8Array, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES): Promise<Block[]> {
  await checkArchiveSize(bytes, "PPTX", maxExpandedBytes);
  try {
    return await readPresentation(new Package(await JSZip.loadAsync(bytes)));
  } catch (error) {
    const detail = error instanceof NotAPresentation ? `${error.message} (not a PowerPoint presentation)` : (error as Error).message;
    throw new CorruptDocumentError(`could not read the PPTX: ${detail}`);
  }
}

async function readPresentation(pkg: Package): Promise<Block[]> {
  const main = [...(await pkg.relationships("")).values()].find((rel) => rel.type.endsWith("/officeDocument"))?.target;
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
  for (const [index, entry] of slides.entries()) {
    const path = parts.get(relationshipId(entry))?.target;
    if (!path) throw new NotAPresentation(`slide ${index + 1} has no part`);
    const slide = await pkg.xml(path);
    if (slide.getAttribute("show") === "0") continue;
    const text: SlideText = { title: undefined, blocks: [], notes: "" };
    const tree = child(child(slide, "cSld"), "spTree");
    if (tree) readShapes(tree, text);
    const notesPath = [...(await pkg.relationships(path)).values()].find((rel) => rel.type.endsWith("/notesSlide"))?.target;
    const notesTree = notesPath ? child(child(await pkg.xml(notesPath), "cSld"), "spTree") : undefined;
    if (notesTree) {
      const notes: SlideText = { title: undefined, blocks: [], notes: "" };
      readShapes(notesTree, notes);
      text.notes = notes.blocks.map((block) => block.text).join("\n");
    }
    const blocks = slideBlocks(index + 1, text, hasSections ? 2 : 1);
    if (blocks.length === 0) continue;
    const name = hasSections ? sectionOf.get(entry.getAttribute("id") ?? "") : undefined;
    if (name && name !== section) out.push({ kind: "heading", level: 1, text: name });
    section = name ?? section;
    out.push(...blocks);
  }
  return out;
}

import { XMLSerializer, type Document, type Element } from "@xmldom/xmldom";
import JSZip from "jszip";
import type { Block } from "../blocks.js";
import { chartBlocks } from "./chart.js";
import { diagramBlocks } from "./diagram.js";
import { Package, readDrawing, relationshipAttribute } from "./opc.js";
import { elements } from "./xml.js";

const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart";
const DIAGRAM = "http://schemas.openxmlformats.org/drawingml/2006/diagram";

/**
 * A Word document whose charts and SmartArt mammoth would leave out, with their text written in:
 * after the paragraph holding each one, a paragraph per block (see chartBlocks, diagramBlocks),
 * its lines apart. A document with neither (most) is returned as it came, unread beyond its
 * relationships. Only the main part is rewritten; the archive's other entries are copied as they
 * were compressed. A drawing that cannot be read is named in `warnings` (see readDrawing).
 */
export async function withDrawingsAsText(bytes: Uint8Array, warnings: string[] = []): Promise<Uint8Array> {
  const zip = await JSZip.loadAsync(bytes);
  const pkg = new Package(zip);
  const main = await pkg.mainPart();
  if (main === undefined) return bytes; // Not a Word document: mammoth says what is wrong with it.
  const types = [...(await pkg.relationships(main)).values()].map((rel) => rel.type);
  if (!types.some((type) => type.endsWith("/chart") || type.endsWith("/diagramData"))) return bytes;
  const document = await pkg.xml(main);
  const owner = document.ownerDocument;
  if (!owner) return bytes;
  const drawings = graphics(document);
  const seen = new Set<string>();
  const after = new Map<Element, Element>();
  for (const graphic of drawings) {
    const id = relationshipAttribute(graphic, graphic.localName === "chart" ? "id" : "dm");
    // A drawing may sit in both branches of a compatibility choice: its text is written once.
    if (id === "" || seen.has(id)) continue;
    seen.add(id);
    const paragraph = enclosingParagraph(graphic);
    if (!paragraph) continue;
    const chart = graphic.localName === "chart";
    const blocks = await readDrawing(() => pkg.related(main, id), chart ? chartBlocks : diagramBlocks, chart ? "a chart" : "a SmartArt diagram", warnings);
    let cursor = after.get(paragraph) ?? paragraph;
    for (const block of blocks) {
      const written = paragraphOf(owner, block);
      cursor.parentNode?.insertBefore(written, cursor.nextSibling);
      cursor = written;
    }
    after.set(paragraph, cursor);
  }
  if (after.size === 0) return bytes;
  zip.file(main, new XMLSerializer().serializeToString(owner));
  return zip.generateAsync({ type: "uint8array", compression: "DEFLATE" });
}

/** The document's c:chart and dgm:relIds elements, in document order. */
function graphics(node: Element): Element[] {
  return elements(node).flatMap((element) =>
    (element.localName === "chart" && element.namespaceURI === CHART) || (element.localName === "relIds" && element.namespaceURI === DIAGRAM) ? [element] : graphics(element),
  );
}

function enclosingParagraph(node: Element): Element | undefined {
  for (let current = node.parentNode; current; current = current.parentNode) {
    if (current.nodeType === 1 && (current as Element).localName === "p" && (current as Element).namespaceURI === W) return current as Element;
  }
  return undefined;
}

/** A w:p holding a block's text, a line break between its lines. */
function paragraphOf(owner: Document, block: Block): Element {
  const paragraph = owner.createElementNS(W, "w:p");
  const run = owner.createElementNS(W, "w:r");
  for (const [index, line] of block.text.split("\n").entries()) {
    if (index > 0) run.appendChild(owner.createElementNS(W, "w:br"));
    const text = owner.createElementNS(W, "w:t");
    text.setAttributeNS("http://www.w3.org/XML/1998/namespace", "xml:space", "preserve");
    text.appendChild(owner.createTextNode(line));
    run.appendChild(text);
  }
  paragraph.appendChild(run);
  return paragraph;
}

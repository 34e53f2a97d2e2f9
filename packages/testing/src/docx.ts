import JSZip from "jszip";
import { chartPart, CHART_NS, DIAGRAM_NS, smartArtData, type ChartSpec, type SmartArtNode } from "./drawings.js";
import { makePng } from "./png.js";
import { escapeXml } from "./xml.js";

export type DocxBlock =
  | { heading: 1 | 2 | 3; text: string }
  | { text: string; footnote?: string }
  | { table: string[][] }
  /** A chart (pptxgenjs's chart part, see chartPart) in its own paragraph, or after `text` in the same one. */
  | { chart: ChartSpec; text?: string }
  | { smartArt: readonly SmartArtNode[] }
  /** A picture (a grey PNG) alone in its paragraph, as a scanned page pasted in would be. */
  | { picture: true };

const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const run = (text: string) => `<w:r><w:t xml:space="preserve">${escapeXml(text)}</w:t></w:r>`;
const paragraph = (text: string, style?: string) => `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ""}${run(text)}</w:p>`;

/** A drawing as Word writes one inline in a run: its graphic data names the part by relationship. */
const drawing = (id: number, graphicData: string) =>
  `<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><wp:extent cx="5486400" cy="3200400"/><wp:docPr id="${id}" name="Drawing ${id}"/><wp:cNvGraphicFramePr/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">${graphicData}</a:graphic></wp:inline></w:drawing></w:r>`;

/** Parts beside the document (charts, diagram data, pictures): each with its relationship and content type. */
interface ExtraPart {
  id: string;
  path: string;
  relationship: string;
  contentType: string;
  content: string | Buffer;
}

async function body(block: DocxBlock, footnotes: string[], parts: ExtraPart[]): Promise<string> {
  const rId = `rId${parts.length + 3}`;
  const relIds = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`;
  if ("picture" in block) {
    parts.push({ id: rId, path: `media/image${parts.length + 1}.png`, relationship: "image", contentType: "image/png", content: makePng(64, 48) });
    const picture = `<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="${parts.length}" name="Picture ${parts.length}"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip ${relIds} r:embed="${rId}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="5486400" cy="4114800"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>`;
    return `<w:p>${drawing(parts.length, `<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">${picture}</a:graphicData>`)}</w:p>`;
  }
  if ("chart" in block) {
    parts.push({ id: rId, path: `charts/chart${parts.length + 1}.xml`, relationship: "chart", contentType: "application/vnd.openxmlformats-officedocument.drawingml.chart+xml", content: await chartPart(block.chart) });
    const graphic = `<a:graphicData uri="${CHART_NS}"><c:chart xmlns:c="${CHART_NS}" ${relIds} r:id="${rId}"/></a:graphicData>`;
    return `<w:p>${block.text !== undefined ? run(block.text) : ""}${drawing(parts.length, graphic)}</w:p>`;
  }
  if ("smartArt" in block) {
    parts.push({ id: rId, path: `diagrams/data${parts.length + 1}.xml`, relationship: "diagramData", contentType: "application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml", content: smartArtData(block.smartArt) });
    return `<w:p>${drawing(parts.length, `<a:graphicData uri="${DIAGRAM_NS}"><dgm:relIds xmlns:dgm="${DIAGRAM_NS}" ${relIds} r:dm="${rId}"/></a:graphicData>`)}</w:p>`;
  }
  if ("table" in block) return `<w:tbl>${block.table.map((row) => `<w:tr>${row.map((cell) => `<w:tc>${paragraph(cell)}</w:tc>`).join("")}</w:tr>`).join("")}</w:tbl>`;
  if ("footnote" in block && block.footnote !== undefined) {
    footnotes.push(block.footnote);
    return `<w:p>${run(block.text)}<w:r><w:footnoteReference w:id="${footnotes.length}"/></w:r></w:p>`;
  }
  return paragraph(block.text, "heading" in block ? `Heading${block.heading}` : undefined);
}

/**
 * Writes a minimal, valid Word document (.docx: an Office Open XML zip) for test fixtures:
 * headings with Word's built-in "Heading N" styles, paragraphs (with a footnote), tables, charts,
 * SmartArt and pictures.
 */
export async function makeDocx(blocks: readonly DocxBlock[]): Promise<Buffer> {
  const footnotes: string[] = [];
  const parts: ExtraPart[] = [];
  let document = "";
  for (const block of blocks) document += await body(block, footnotes, parts);
  const xml = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`;
  const relationship = (id: string, type: string, target: string) => `<Relationship Id="${id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/${type}" Target="${target}"/>`;
  const part = (name: string, type: string) => `<Override PartName="/word/${name}.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.${type}+xml"/>`;
  const zip = new JSZip();
  zip.file(
    "[Content_Types].xml",
    `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>${part("document", "document.main")}${part("styles", "styles")}${part("footnotes", "footnotes")}${parts.map((extra) => `<Override PartName="/word/${extra.path}" ContentType="${extra.contentType}"/>`).join("")}</Types>`,
  );
  zip.file("_rels/.rels", `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${relationship("rId1", "officeDocument", "word/document.xml")}</Relationships>`);
  zip.file("word/_rels/document.xml.rels", `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${relationship("rId1", "styles", "styles.xml")}${relationship("rId2", "footnotes", "footnotes.xml")}${parts.map((extra) => relationship(extra.id, extra.relationship, extra.path)).join("")}</Relationships>`);
  for (const extra of parts) zip.file(`word/${extra.path}`, extra.content);
  const styles = [1, 2, 3].map((level) => `<w:style w:type="paragraph" w:styleId="Heading${level}"><w:name w:val="heading ${level}"/><w:pPr><w:outlineLvl w:val="${level - 1}"/></w:pPr></w:style>`).join("");
  zip.file("word/styles.xml", `${xml}<w:styles xmlns:w="${W}">${styles}</w:styles>`);
  zip.file("word/footnotes.xml", `${xml}<w:footnotes xmlns:w="${W}">${footnotes.map((note, i) => `<w:footnote w:id="${i + 1}">${paragraph(note)}</w:footnote>`).join("")}</w:footnotes>`);
  zip.file("word/document.xml", `${xml}<w:document xmlns:w="${W}"><w:body>${document}</w:body></w:document>`);
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}

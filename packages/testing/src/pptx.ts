import JSZip from "jszip";
import { addChart, DIAGRAM_NS, PptxGenJS, smartArtData, type ChartSpec, type SmartArtNode } from "./drawings.js";
import { makePng } from "./png.js";
import { escapeXml } from "./xml.js";

export interface PptxSlide {
  /** Written into the layout's title placeholder. */
  title?: string;
  /** Bullet points in the layout's body placeholder. */
  bullets?: readonly string[];
  /** A free text box (not a placeholder). */
  textBox?: string;
  table?: ReadonlyArray<ReadonlyArray<string>>;
  notes?: string;
  hidden?: boolean;
  /** The deck's named section the slide opens or continues. */
  section?: string;
  /** A chart, as pptxgenjs writes one (a chart part with its data cached, and an embedded workbook). */
  chart?: ChartSpec;
  /** A picture (a grey PNG, as a pasted screenshot would be). */
  picture?: boolean;
  /** A SmartArt diagram (see withSmartArt). */
  smartArt?: readonly SmartArtNode[];
}

/** A footer placeholder as PowerPoint writes one on each slide (pptxgenjs makes none). */
const footerShape = (text: string) =>
  `<p:sp><p:nvSpPr><p:cNvPr id="90" name="Footer Placeholder 89"/><p:cNvSpPr><a:spLocks noGrp="1"/></p:cNvSpPr><p:nvPr><p:ph type="ftr" sz="quarter" idx="11"/></p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US"/><a:t>${escapeXml(text)}</a:t></a:r></a:p></p:txBody></p:sp>`;

async function addFooter(pptx: Buffer, text: string): Promise<Buffer> {
  const zip = await JSZip.loadAsync(pptx);
  for (const path of Object.keys(zip.files).filter((name) => /^ppt\/slides\/slide\d+\.xml$/.test(name))) {
    const xml = await zip.file(path)?.async("string");
    if (xml !== undefined) zip.file(path, xml.replace("</p:spTree>", `${footerShape(text)}</p:spTree>`));
  }
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}

/**
 * Writes a PowerPoint deck (.pptx) for test fixtures with pptxgenjs, a real producer of the
 * format: every slide on a layout with title and body placeholders and a slide number, and with
 * `footer`, a footer placeholder holding it on every slide.
 */
export async function makePptx(slides: readonly PptxSlide[], footer?: string): Promise<Buffer> {
  const deck = new PptxGenJS();
  deck.defineSlideMaster({
    title: "TITLE_AND_BODY",
    objects: [
      { placeholder: { options: { name: "title", type: "title", x: 0.5, y: 0.2, w: 9, h: 1 }, text: "" } },
      { placeholder: { options: { name: "body", type: "body", x: 0.5, y: 1.4, w: 9, h: 2.5 }, text: "" } },
    ],
    slideNumber: { x: 9, y: 5.2 },
  });
  const sections = new Set<string>();
  for (const spec of slides) {
    if (spec.section && !sections.has(spec.section)) {
      deck.addSection({ title: spec.section });
      sections.add(spec.section);
    }
    const slide = deck.addSlide({ masterName: "TITLE_AND_BODY", ...(spec.section ? { sectionTitle: spec.section } : {}) });
    slide.hidden = spec.hidden ?? false;
    if (spec.title !== undefined) slide.addText(spec.title, { placeholder: "title" });
    if (spec.bullets) slide.addText(spec.bullets.map((text) => ({ text, options: { bullet: true, breakLine: true } })), { placeholder: "body" });
    if (spec.textBox !== undefined) slide.addText(spec.textBox, { x: 0.5, y: 4, w: 9, h: 0.6 });
    if (spec.table) slide.addTable(spec.table.map((row) => row.map((text) => ({ text }))), { x: 0.5, y: 4.6, w: 9 });
    if (spec.notes !== undefined) slide.addNotes(spec.notes);
    if (spec.chart) addChart(slide, spec.chart);
    if (spec.picture) slide.addImage({ data: `image/png;base64,${makePng(64, 48).toString("base64")}`, x: 1, y: 1.4, w: 8, h: 3.5 });
  }
  let pptx = (await deck.write({ outputType: "nodebuffer" })) as Buffer;
  for (const [index, spec] of slides.entries()) if (spec.smartArt) pptx = await withSmartArt(pptx, index + 1, spec.smartArt);
  return footer === undefined ? pptx : addFooter(pptx, footer);
}

/**
 * A service-training deck: a titled slide with bullets and notes, an untitled one with a text box
 * and a table, a hidden slide, a slide with only its title; every slide has a footer (`footer`).
 * The .pptx test reads it from makePptx, the .odp test from LibreOffice's conversion of it.
 */
export const SERVICE_TRAINING = {
  slides: [
    { title: "Pump maintenance", bullets: ["Check the seal", "Replace the filter every 500 h"], notes: "Explain why the seal fails first." },
    { textBox: "Fault codes of the HX-220", table: [["Code", "Fault"], ["E-411", "Low pressure"], ["E-412", ""]] },
    { title: "Old procedure", bullets: ["Bleed with the cap open"], hidden: true },
    { title: "Always wear gloves with hydraulic fluid" },
  ],
  footer: "ACME Service - confidential",
} as const satisfies { slides: readonly PptxSlide[]; footer: string };

/**
 * Adds a SmartArt diagram to slide `number` as PowerPoint stores one (pptxgenjs cannot make
 * them): a graphic frame whose dgm:relIds names the diagram's data model (see smartArtData).
 */
export async function withSmartArt(pptx: Buffer, number: number, nodes: readonly SmartArtNode[]): Promise<Buffer> {
  const zip = await JSZip.loadAsync(pptx);
  const slidePath = `ppt/slides/slide${number}.xml`;
  const relsPath = `ppt/slides/_rels/slide${number}.xml.rels`;
  const dataPath = `ppt/diagrams/data${number}.xml`;
  const data = smartArtData(nodes);
  const frame = `<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="40" name="Diagram 39"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm><a:off x="457200" y="1600200"/><a:ext cx="8229600" cy="3000000"/></p:xfrm><a:graphic><a:graphicData uri="${DIAGRAM_NS}"><dgm:relIds xmlns:dgm="${DIAGRAM_NS}" r:dm="rIdDiagramData"/></a:graphicData></a:graphic></p:graphicFrame>`;
  const slide = await zip.file(slidePath)?.async("string");
  const rels = await zip.file(relsPath)?.async("string");
  const types = await zip.file("[Content_Types].xml")?.async("string");
  if (slide === undefined || rels === undefined || types === undefined) throw new Error(`the deck has no slide ${number}`);
  zip.file(slidePath, slide.replace("</p:spTree>", `${frame}</p:spTree>`));
  zip.file(relsPath, rels.replace("</Relationships>", `<Relationship Id="rIdDiagramData" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/diagramData" Target="../diagrams/data${number}.xml"/></Relationships>`));
  zip.file("[Content_Types].xml", types.replace("</Types>", `<Override PartName="/${dataPath}" ContentType="application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml"/></Types>`));
  zip.file(dataPath, data);
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}

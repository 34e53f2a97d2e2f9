import JSZip from "jszip";
import { escapeXml } from "./docx.js";
import pptxgenjs from "pptxgenjs";

// Its types declare an ES default export but are read as CommonJS under NodeNext; at run time the
// default import is the class itself (both of its builds export it so).
const PptxGenJS = pptxgenjs as unknown as typeof pptxgenjs.default;

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
  }
  const pptx = (await deck.write({ outputType: "nodebuffer" })) as Buffer;
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

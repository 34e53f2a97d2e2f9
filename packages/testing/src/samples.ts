import type { DocxBlock } from "./docx.js";
import type { ChartSpec } from "./drawings.js";
import type { PptxSlide } from "./pptx.js";

/*
 * Sample documents for the ingestion tests beyond SERVICE_TRAINING: charts, SmartArt and
 * pictures. Each is written by makePptx or makeDocx, and converted by LibreOffice into the
 * committed OpenDocument fixtures (scripts/make-office-fixtures.sh), so a .pptx and its .odp (a
 * .docx and its .odt) can be held to the same text.
 */

const PUMP_FLOW: ChartSpec = {
  type: "line",
  title: "Flow by pressure",
  categoryAxis: "Pressure",
  valueAxis: "Flow (l/min)",
  series: [
    { name: "HX-220", labels: ["1 bar", "2 bar", "3 bar"], values: [40, 32, 21] },
    { name: "HX-330", labels: ["1 bar", "2 bar", "3 bar"], values: [60, 51, 38.5] },
  ],
};

/**
 * A deck with charts (titled with axis titles; untitled, on a slide with bullets) and a SmartArt
 * procedure. The .pptx chart test reads it from makePptx; the .odp one from LibreOffice's
 * conversion of its charts (Impress turns SmartArt into plain shapes, so those slides are left
 * out of the conversion, see scripts/make-office-fixtures.sh).
 */
export const PUMP_CURVES = {
  slides: [
    { title: "Pump curves", chart: PUMP_FLOW, notes: "The HX-330 keeps its flow longer." },
    { title: "Faults in 2025", bullets: ["Most were seals"], chart: { type: "pie", series: [{ name: "Faults by code", labels: ["E-411", "E-412"], values: [12, 3] }] } },
    {
      title: "Bleeding the brakes",
      smartArt: [{ text: "Fill the reservoir" }, { text: "Open the bleed screw", children: [{ text: "Start at the wheel farthest from the master cylinder" }, { text: "Keep the reservoir full" }] }, { text: "Close and check the pedal" }],
    },
  ],
} as const satisfies { slides: readonly PptxSlide[] };

/** A Word document with PUMP_CURVES's first chart after a paragraph's text. */
export const PUMP_CURVES_DOC = [
  { heading: 1, text: "Pump curves" },
  { text: "Measured at 20 °C:", chart: PUMP_FLOW },
  { text: "Dispose of old fluid." },
] as const satisfies readonly DocxBlock[];

/**
 * A deck with slides that are only pictures (2 and 3; 4 has a title beside its picture), for the
 * warning that names them. The .odp test reads LibreOffice's conversion of it.
 */
export const PICTURE_SLIDES = {
  slides: [{ title: "Wiring", bullets: ["Check the fuse first"] }, { picture: true }, { picture: true }, { title: "Control board", picture: true }, { textBox: "Call service if the fault stays." }],
} as const satisfies { slides: readonly PptxSlide[] };

/** A Word document of scanned pages pasted in: pictures and no text. The .odt test reads LibreOffice's conversion of it. */
export const SCANNED_PAGES_DOC = [{ picture: true }, { picture: true }] as const satisfies readonly DocxBlock[];

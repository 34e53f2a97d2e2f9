import type { Element } from "@xmldom/xmldom";
import JSZip from "jszip";
import { CorruptDocumentError } from "../blocks.js";
import { ODP, ODS, ODT } from "../document-types.js";
import { readDrawing } from "./opc.js";
import { attribute, child, descendants, parseXml } from "./xml.js";
import { checkArchiveSize, MAX_ARCHIVE_EXPANDED_BYTES } from "./zip-size.js";

const KINDS = {
  ODT: { mimetype: ODT, body: "text", what: "a text document" },
  ODS: { mimetype: ODS, body: "spreadsheet", what: "a spreadsheet" },
  ODP: { mimetype: ODP, body: "presentation", what: "a presentation" },
} as const;

/** An OpenDocument file's body, and the charts its frames embed (by the href of their draw:object). */
export interface OdfContent {
  body: Element;
  charts: Map<string, Element>;
}

/** The embedded object a draw:object's href names ("./Object 1"), as the charts map keys it. */
export const objectName = (href: string | undefined) => (href ?? "").replace(/^\.\//, "").replace(/\/$/, "");

/**
 * The body of an OpenDocument file's content.xml (office:text, office:spreadsheet, office:presentation), after the
 * same archive-size check as Office files, with the charts of its embedded objects (each an
 * "Object N/content.xml" holding office:chart) when `withCharts` (a chart that cannot be read
 * is named in its warnings, see readDrawing). Styles, headers and footers
 * (styles.xml), pictures, other objects and the thumbnail are never inflated.
 */
export async function readOdfBody(bytes: Uint8Array, format: keyof typeof KINDS, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES, withCharts?: { warnings: string[] }): Promise<OdfContent> {
  await checkArchiveSize(bytes, format, maxExpandedBytes);
  const kind = KINDS[format];
  let root: Element;
  const charts = new Map<string, Element>();
  try {
    const zip = await JSZip.loadAsync(bytes);
    const mimetype = (await zip.file("mimetype")?.async("string"))?.trim();
    if (mimetype !== undefined && mimetype !== kind.mimetype) throw new Error(`it holds "${mimetype}", not ${kind.what}`);
    const content = zip.file("content.xml");
    if (!content) throw new Error("no content.xml (not an OpenDocument file)");
    root = parseXml(await content.async("string"), "content.xml");
    if (withCharts) {
      for (const object of descendants(root, "object")) {
        const name = objectName(attribute(object, "href"));
        const part = zip.file(`${name}/content.xml`);
        if (name === "" || charts.has(name) || !part) continue;
        const [chart] = await readDrawing(async () => child(child(child(parseXml(await part.async("string"), `${name}/content.xml`), "body"), "chart"), "chart"), (found) => [found], `a chart (${name})`, withCharts.warnings);
        if (chart) charts.set(name, chart);
      }
    }
  } catch (error) {
    throw new CorruptDocumentError(`could not read the ${format}: ${(error as Error).message}`);
  }
  const body = child(child(root, "body") ?? root, kind.body);
  if (!body) throw new CorruptDocumentError(`could not read the ${format}: content.xml has no office:${kind.body} body`);
  return { body, charts };
}

import type { Element } from "@xmldom/xmldom";
import JSZip from "jszip";
import { CorruptDocumentError } from "../blocks.js";
import { ODP, ODS, ODT } from "../document-types.js";
import { child, parseXml } from "./xml.js";
import { checkArchiveSize, MAX_ARCHIVE_EXPANDED_BYTES } from "./zip-size.js";

const KINDS = {
  ODT: { mimetype: ODT, body: "text", what: "a text document" },
  ODS: { mimetype: ODS, body: "spreadsheet", what: "a spreadsheet" },
  ODP: { mimetype: ODP, body: "presentation", what: "a presentation" },
} as const;

/**
 * The body of an OpenDocument file's content.xml (office:text, office:spreadsheet, office:presentation), after the
 * same archive-size check as Office files. Styles, headers and footers (styles.xml), pictures and
 * the thumbnail are never inflated.
 */
export async function readOdfBody(bytes: Uint8Array, format: keyof typeof KINDS, maxExpandedBytes = MAX_ARCHIVE_EXPANDED_BYTES): Promise<Element> {
  await checkArchiveSize(bytes, format, maxExpandedBytes);
  const kind = KINDS[format];
  let root: Element;
  try {
    const zip = await JSZip.loadAsync(bytes);
    const mimetype = (await zip.file("mimetype")?.async("string"))?.trim();
    if (mimetype !== undefined && mimetype !== kind.mimetype) throw new Error(`it holds "${mimetype}", not ${kind.what}`);
    const content = zip.file("content.xml");
    if (!content) throw new Error("no content.xml (not an OpenDocument file)");
    root = parseXml(await content.async("string"), "content.xml");
  } catch (error) {
    throw new CorruptDocumentError(`could not read the ${format}: ${(error as Error).message}`);
  }
  const body = child(child(root, "body") ?? root, kind.body);
  if (!body) throw new CorruptDocumentError(`could not read the ${format}: content.xml has no office:${kind.body} body`);
  return body;
}

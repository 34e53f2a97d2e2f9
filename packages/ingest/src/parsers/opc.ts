import { posix } from "node:path";
import type { Element } from "@xmldom/xmldom";
import type { Block } from "../blocks.js";
import type JSZip from "jszip";
import { descendants, parseXml } from "./xml.js";

/** A part the package's relationships promise is not in the archive. */
export class MissingPart extends Error {}

/** An Office Open XML package (a .pptx, .docx…): its parts, parsed, and the relationships between them. */
export class Package {
  constructor(private readonly zip: JSZip) {}

  /** The main part (word/document.xml, ppt/presentation.xml…), from the package's own relationships. */
  async mainPart(): Promise<string | undefined> {
    return [...(await this.relationships("")).values()].find((rel) => rel.type.endsWith("/officeDocument"))?.target;
  }

  async xml(path: string): Promise<Element> {
    const file = this.zip.file(path);
    if (!file) throw new MissingPart(`no ${path}`);
    return parseXml(await file.async("string"), path);
  }

  private readonly relationshipsOf = new Map<string, Promise<Map<string, { target: string; type: string }>>>();

  /** A part's relationships (Id → target path and type), from its _rels/<name>.rels; read once. */
  relationships(path: string): Promise<Map<string, { target: string; type: string }>> {
    let read = this.relationshipsOf.get(path);
    if (!read) {
      read = this.readRelationships(path);
      this.relationshipsOf.set(path, read);
    }
    return read;
  }

  private async readRelationships(path: string): Promise<Map<string, { target: string; type: string }>> {
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

  /**
   * The part `from`'s relationship `id` names, parsed; undefined when the relationship or its part
   * is missing (a chart whose part was stripped leaves the slide's text readable).
   */
  async related(from: string, id: string): Promise<Element | undefined> {
    const target = (await this.relationships(from)).get(id)?.target;
    return target !== undefined && this.zip.file(target) ? this.xml(target) : undefined;
  }
}

/** An r:<name> attribute (r:id, r:dm), whatever prefix the file gives the relationships namespace. */
export const relationshipAttribute = (element: Element, name: string) => Array.from(element.attributes).find((a) => a.localName === name && (a.namespaceURI ?? "").endsWith("/relationships"))?.value ?? "";

/**
 * A chart's or SmartArt diagram's blocks, read from the part `load` gives (none when it is
 * missing). Such a drawing is the document's extra, not its body: one that cannot be read is left
 * out and named in `warnings` ("slide 3: a chart could not be read (…)"), where failing would
 * lose a whole document that was ingested whole before drawings were read.
 */
export async function readDrawing<T = Block>(load: () => Promise<Element | undefined>, read: (part: Element) => T[], what: string, warnings: string[]): Promise<T[]> {
  try {
    const part = await load();
    return part ? read(part) : [];
  } catch (error) {
    warnings.push(`${what} could not be read (${(error as Error).message.split("\n")[0] ?? ""}); its text is left out`);
    return [];
  }
}

import type { Element } from "@xmldom/xmldom";
import type { Block } from "../blocks.js";
import { attribute, child, children, collapseSpaces, descendants } from "./xml.js";

/** Points that are a diagram's text; the rest (doc, pres, parTrans, sibTrans) are its scaffolding. */
const TEXT_POINTS = new Set(["node", "asst"]);

/**
 * A SmartArt diagram's data model (dgm:dataModel, the part a graphic frame's r:dm names) as one
 * text block: its points' text in the diagram's order, one per line, a point under another
 * marked "› " per level ("Bleed the brakes", "› Open the bleed screw": not "- ", which Markdown, the
 * path a Word document's text takes, would read as a new list). A procedure drawn as a
 * SmartArt process in a training deck is otherwise not searchable at all. The order is the
 * parent-of connections' (by srcOrd) from the document point down; points no connection reaches
 * (a hand-edited or partial model) follow in the order the model lists them.
 */
export function diagramBlocks(dataModel: Element): Block[] {
  const pointList = child(dataModel, "ptLst");
  if (!pointList) return [];
  const points = children(pointList, "pt").map((pt) => ({
    id: pt.getAttribute("modelId") ?? "",
    type: pt.getAttribute("type") || "node",
    text: pointText(child(pt, "t")),
  }));
  const byId = new Map(points.map((point) => [point.id, point]));
  const childrenOf = new Map<string, Array<{ id: string; order: number }>>();
  for (const cxn of descendants(child(dataModel, "cxnLst") ?? dataModel, "cxn")) {
    if ((cxn.getAttribute("type") || "parOf") !== "parOf") continue;
    const source = cxn.getAttribute("srcId") ?? "";
    const list = childrenOf.get(source) ?? [];
    list.push({ id: cxn.getAttribute("destId") ?? "", order: Number(attribute(cxn, "srcOrd") ?? 0) || 0 });
    childrenOf.set(source, list);
  }
  const lines: string[] = [];
  const visited = new Set<string>();
  const visit = (id: string, depth: number) => {
    if (visited.has(id)) return; // A cycle in a corrupt model must not loop.
    visited.add(id);
    const point = byId.get(id);
    const shown = point !== undefined && TEXT_POINTS.has(point.type) && point.text !== "";
    if (shown) lines.push(`${"› ".repeat(depth)}${point.text.replace(/\n/g, " / ")}`);
    const next = [...(childrenOf.get(id) ?? [])].sort((a, b) => a.order - b.order);
    for (const { id: childId } of next) visit(childId, shown ? depth + 1 : depth);
  };
  for (const root of points.filter((point) => point.type === "doc")) visit(root.id, 0);
  for (const point of points) visit(point.id, 0);
  return lines.length === 0 ? [] : [{ kind: "text", text: lines.join("\n") }];
}

function pointText(t: Element | undefined): string {
  if (!t) return "";
  const paragraphs = children(t, "p").map((p) =>
    descendants(p, "t")
      .map((run) => run.textContent ?? "")
      .join(""),
  );
  return collapseSpaces(paragraphs.filter((p) => p.trim() !== "").join("\n"));
}

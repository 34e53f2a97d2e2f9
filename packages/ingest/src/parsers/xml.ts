import { DOMParser, type Element } from "@xmldom/xmldom";

/** Reading the XML parts of Office Open XML and OpenDocument files, by local name so any namespace prefix reads. */
export const elements = (node: Element): Element[] => Array.from(node.childNodes).filter((child): child is Element => child.nodeType === 1);
export const child = (node: Element | undefined, name: string) => (node ? elements(node).find((e) => e.localName === name) : undefined);
/** The child elements with one of `names`, in document order. */
export const children = (node: Element, ...names: string[]): Element[] => elements(node).filter((e) => names.includes(e.localName ?? ""));
export const descendants = (node: Element, name: string): Element[] => elements(node).flatMap((e) => (e.localName === name ? [e] : descendants(e, name)));
/** Runs of spaces and tabs as one space, lines kept, each line trimmed. */
export const collapseSpaces = (text: string) => text.replace(/[^\S\n]+/g, " ").replace(/ *\n */g, "\n").trim();
/** An attribute by local name, whatever its prefix. */
export const attribute = (node: Element, name: string) => Array.from(node.attributes).find((a) => a.localName === name)?.value;

export function parseXml(xml: string, part: string): Element {
  // Errors stop the parse (a warning is a recovered quirk, not a broken part). xmldom wraps what
  // onError throws ('Reporting error "…" caused Error: …'): the reason is rethrown as it was made.
  let failure: Error | undefined;
  const onError = (level: string, message: string) => {
    if (level === "warning") return;
    failure ??= new Error(`${part}: ${message}`);
    throw failure;
  };
  let root;
  try {
    root = new DOMParser({ onError }).parseFromString(xml, "text/xml").documentElement;
  } catch (error) {
    throw failure ?? error;
  }
  if (!root) throw new Error(`${part}: no root element`);
  return root;
}

import { convert, type FormatCallback } from "html-to-text";
import type { Block } from "../blocks.js";
import { parseMarkdown } from "./markdown.js";

/** Renders h1–h6 as Markdown headings so the Markdown path can keep sections together. */
const markdownHeading: FormatCallback = (elem, walk, builder, formatOptions) => {
  const level = Number((elem as { name?: string }).name?.slice(1) ?? 1);
  builder.openBlock({ leadingLineBreaks: formatOptions.leadingLineBreaks ?? 2 });
  builder.addInline(`${"#".repeat(Math.min(6, Math.max(1, level)))} `);
  walk(elem.children ?? [], builder);
  builder.closeBlock({ trailingLineBreaks: formatOptions.trailingLineBreaks ?? 2 });
};

/** HTML → text with html-to-text (scripts, styles and images dropped, links without URLs). */
export function parseHtml(source: string): Block[] {
  const text = convert(source, {
    wordwrap: false,
    // html-to-text cuts longer input at 16 MiB (telling only stderr): the rest of a big manual
    // would be lost without a word. The upload limit bounds an HTML file; parseDocx bounds its own.
    limits: { maxInputLength: undefined },
    formatters: { markdownHeading },
    selectors: [
      ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({ selector, format: "markdownHeading" })),
      { selector: "a", options: { ignoreHref: true } },
      { selector: "img", format: "skip" },
      { selector: "script", format: "skip" },
      { selector: "style", format: "skip" },
      { selector: "nav", format: "skip" },
      // Tables as aligned text rows, so cells do not run into each other ("force2200 kN").
      { selector: "table", format: "dataTable", options: { uppercaseHeaderCells: false, maxColumnWidth: 80 } },
    ],
  });
  return parseMarkdown(text);
}

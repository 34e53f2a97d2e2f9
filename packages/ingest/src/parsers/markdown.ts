import { marked, type Token, type Tokens } from "marked";
import type { Block } from "../blocks.js";

function textOf(token: Token): string {
  switch (token.type) {
    case "paragraph":
    case "text":
      return (token as Tokens.Paragraph).text;
    case "code":
      return (token as Tokens.Code).text;
    default:
      return token.raw;
  }
}

/** Markdown → headings and blocks, via marked's lexer (paragraphs, lists, tables, code stay whole). */
export function parseMarkdown(source: string): Block[] {
  const blocks: Block[] = [];
  for (const token of marked.lexer(source.replace(/\r\n?/g, "\n"))) {
    if (token.type === "space" || token.type === "hr" || token.type === "html" && token.raw.trim().startsWith("<!--")) continue;
    if (token.type === "heading") {
      const heading = token as Tokens.Heading;
      blocks.push({ kind: "heading", level: heading.depth, text: heading.text.trim() });
      continue;
    }
    const text = textOf(token).trim();
    if (text) blocks.push({ kind: "text", text });
  }
  return blocks;
}

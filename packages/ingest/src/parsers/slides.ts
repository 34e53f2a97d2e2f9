import type { Block } from "../blocks.js";
import { pageRanges } from "./ranges.js";

/** What one slide says: its title, its text in drawing order, its speaker notes. */
export interface SlideText {
  title: string | undefined;
  blocks: Block[];
  notes: string;
}

/**
 * A slide as blocks: a heading (its title, else "Slide N"), its text, then "Notes: …". A slide
 * with nothing but its title (a section divider, a one-line statement) keeps the title as its
 * text under "Slide N", so it is still found; a slide with no text at all gives nothing.
 */
export function slideBlocks(number: number, slide: SlideText, level: number): Block[] {
  const blocks: Block[] = [...slide.blocks, ...(slide.notes !== "" ? [{ kind: "text" as const, text: `Notes: ${slide.notes}` }] : [])];
  if (blocks.length === 0 && slide.title !== undefined) return [{ kind: "heading", level, text: `Slide ${number}` }, { kind: "text", text: slide.title }];
  if (blocks.length === 0) return [];
  return [{ kind: "heading", level, text: slide.title ?? `Slide ${number}` }, ...blocks];
}

/**
 * The warning for a deck's slides that hold pictures and no text at all (screenshots, scanned
 * pages pasted in): they give nothing to search, and without a word nobody would know.
 */
export function pictureSlidesWarning(slides: readonly number[], total: number): string | undefined {
  if (slides.length === 0) return undefined;
  const which = slides.length === 1 ? `slide ${slides[0]} of ${total} has` : `slides ${pageRanges(slides, 20, "slides")} of ${total} have`;
  return `${which} only pictures and no text (screenshots, scans?): not searchable until their text is typed in or read with OCR`;
}

import { createHash } from "node:crypto";
import { boundedParts, decode, tokenCount, tokenize } from "./tokens.js";
import type { Block } from "./blocks.js";

export interface ChunkSettings {
  /** Target size of a chunk in tokens (a BPE count; embedding tokenizers differ a little). */
  chunkTokens: number;
  /** Tokens repeated from the end of a chunk at the start of the next one in the same section. */
  chunkOverlap: number;
}

export interface Chunk {
  ordinal: number;
  /** Heading path of the section(s) the chunk comes from, e.g. "Pump > Maintenance". */
  heading: string | null;
  text: string;
  tokenCount: number;
  /** What gets embedded: the heading path, then the text. */
  embeddingText: string;
  /** sha256 of embeddingText: what chunks are upserted and cached by. */
  contentHash: string;
}

interface Unit {
  text: string;
  tokens: number;
}

interface Section {
  path: string[];
  units: Unit[];
}

// A sentence ends at any of Unicode's sentence terminals: besides . ! ? the full-width 。！？ of
// Chinese and Japanese, the danda । of Hindi, ။ of Burmese, ។ of Khmer, ؟ and ۔ of Arabic and Urdu,
// each perhaps followed by a closing bracket or quote; without them a long paragraph was cut by
// token count, mid-sentence. A run of terminals with nothing before it ("..." opening a line) is a
// sentence of its own rather than dropped.
const SENTENCE = /[^\p{Sentence_Terminal}\n]*(?:\p{Sentence_Terminal}+["')\]」』）〕】]*|\n|$)\s*/gu;
const WORD = /\S+\s*/g;

function unit(text: string): Unit {
  return { text, tokens: tokenCount(text) };
}

function tokenWindows(text: string, max: number): Unit[] {
  const tokens = tokenize(text);
  const units: Unit[] = [];
  for (let start = 0; start < tokens.length; start += max) units.push(unit(decode(tokens.slice(start, start + max)).trim()));
  return units;
}

/**
 * A sentence over the budget, cut between words: as many whole words as fit in each piece.
 * Thai and Lao end no sentence with a mark (a space parts them, as it parts phrases), so their
 * paragraphs come here whole; token windows cut words in two, in every script. Only a "word"
 * longer than the budget alone (a run of Chinese without punctuation, a long URL) is cut by
 * token windows.
 */
function splitSentence(text: string, max: number): Unit[] {
  const units: Unit[] = [];
  let words: string[] = [];
  let tokens = 0;
  const flush = () => {
    const joined = words.join("").trim();
    words = [];
    tokens = 0;
    if (!joined) return;
    const piece = unit(joined);
    // Tokens counted word by word can undercount the joined text by a merge across a space.
    units.push(...(piece.tokens <= max ? [piece] : tokenWindows(joined, max)));
  };
  // A run too long for the tokenizer to take whole (see tokens.ts) is words of about 32 characters, cut where no character is split.
  for (const word of (text.match(WORD) ?? []).flatMap(boundedParts)) {
    const size = tokenCount(word);
    if (size > max) {
      flush();
      units.push(...tokenWindows(word.trim(), max));
      continue;
    }
    if (tokens + size > max) flush();
    words.push(word);
    tokens += size;
  }
  flush();
  return units;
}

/** Splits a block that exceeds the budget: by sentences, and sentences between words. */
function splitBlock(text: string, max: number): Unit[] {
  const whole = unit(text);
  if (whole.tokens <= max) return [whole];
  const units: Unit[] = [];
  for (const sentence of text.match(SENTENCE) ?? [text]) {
    const piece = unit(sentence.trim());
    if (!piece.text) continue;
    units.push(...(piece.tokens <= max ? [piece] : splitSentence(piece.text, max)));
  }
  return units;
}

function sections(blocks: readonly Block[], max: number): Section[] {
  const out: Section[] = [];
  const stack: Array<{ level: number; text: string }> = [];
  let current: Section | undefined;
  for (const block of blocks) {
    if (block.kind === "heading") {
      while (stack.length > 0 && (stack.at(-1)?.level ?? 0) >= block.level) stack.pop();
      stack.push({ level: block.level, text: block.text });
      current = undefined;
      continue;
    }
    if (!current) {
      current = { path: stack.map((entry) => entry.text), units: [] };
      out.push(current);
    }
    current.units.push(...splitBlock(block.text, max));
  }
  return out;
}

function commonPrefix(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.min(a.length, b.length) && a[i] === b[i]; i += 1) out.push(a[i] as string);
  return out;
}

interface Draft {
  path: string[];
  parts: Array<{ path: string[]; unit: Unit }>;
  tokens: number;
}

function render(draft: Draft): { heading: string | null; text: string } {
  const lines: string[] = [];
  let lastPath: string[] | undefined;
  for (const part of draft.parts) {
    // A merged sub-section keeps its own heading as a line, below the chunk's common heading.
    const extra = part.path.slice(draft.path.length);
    if (extra.length > 0 && extra.join("\u0000") !== lastPath?.slice(draft.path.length).join("\u0000")) lines.push(extra.join(" > "));
    lines.push(part.unit.text);
    lastPath = part.path;
  }
  return { heading: draft.path.length > 0 ? draft.path.join(" > ") : null, text: lines.join("\n\n") };
}

/**
 * Token-aware chunking that keeps sections together: a section's blocks go into the same chunk
 * while they fit; a long section continues in the next chunk, which starts with the last
 * `chunkOverlap` tokens' worth of blocks; whole small sections that fit are merged into one
 * chunk under their common heading.
 */
export function chunkBlocks(blocks: readonly Block[], settings: ChunkSettings): Chunk[] {
  const max = Math.max(16, settings.chunkTokens);
  const drafts: Draft[] = [];
  let draft: Draft | undefined;
  for (const section of sections(blocks, max)) {
    const sectionTokens = section.units.reduce((sum, part) => sum + part.tokens, 0);
    const fitsWhole = draft !== undefined && draft.tokens + sectionTokens <= max;
    if (draft && fitsWhole) {
      draft.path = commonPrefix(draft.path, section.path);
    } else {
      draft = { path: [...section.path], parts: [], tokens: 0 };
      drafts.push(draft);
    }
    for (const piece of section.units) {
      if (draft.tokens + piece.tokens > max && draft.parts.length > 0) {
        const overlap: Draft["parts"] = [];
        let overlapTokens = 0;
        for (let i = draft.parts.length - 1; i >= 0; i -= 1) {
          const previous = draft.parts[i];
          if (!previous || previous.path.join() !== section.path.join() || overlapTokens + previous.unit.tokens > settings.chunkOverlap) break;
          overlap.unshift(previous);
          overlapTokens += previous.unit.tokens;
        }
        if (overlapTokens + piece.tokens > max) {
          overlap.length = 0;
          overlapTokens = 0;
        }
        draft = { path: [...section.path], parts: overlap, tokens: overlapTokens };
        drafts.push(draft);
      }
      draft.parts.push({ path: section.path, unit: piece });
      draft.tokens += piece.tokens;
    }
  }
  return drafts
    .filter((entry) => entry.parts.length > 0)
    .map((entry, ordinal) => {
      const { heading, text } = render(entry);
      const embeddingText = heading ? `${heading}\n\n${text}` : text;
      return { ordinal, heading, text, tokenCount: tokenCount(embeddingText), embeddingText, contentHash: createHash("sha256").update(embeddingText).digest("hex") };
    });
}

import { countTokens, decode, encode } from "gpt-tokenizer";

/**
 * The longest run of non-space characters handed to the tokenizer at once. BPE merges within one
 * pre-token (a run of letters, of CJK characters, of emoji) at a cost that grows with the square
 * of its length: gpt-tokenizer counted 10,000 Chinese characters without punctuation in 0.4 s and
 * 20,000 in 1.5 s, so one such megabyte held a parse thread (and every ingestion behind it) for
 * minutes. Text without such runs is counted and cut exactly as before.
 */
export const MAX_RUN = 200;
const PIECE = 32;

const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}`, "gu");
const MARK = /^\p{M}/u;

/** `run` in pieces of about PIECE characters (fine enough to fill a chunk), never cutting a surrogate pair or before a combining mark. */
function cutRun(run: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (run.length - start > PIECE) {
    let end = start + PIECE;
    while (end < run.length && (isLowSurrogate(run.charCodeAt(end)) || MARK.test(run.slice(end, end + 2)))) end += 1;
    pieces.push(run.slice(start, end));
    start = end;
  }
  if (start < run.length) pieces.push(run.slice(start));
  return pieces;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** `text` in consecutive parts (joined, they are `text`): a run of non-space characters longer than MAX_RUN is cut in pieces. */
export function boundedParts(text: string): string[] {
  if (text.length <= MAX_RUN) return [text];
  const parts: string[] = [];
  let start = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    const [head, ...rest] = cutRun(match[0]);
    parts.push(text.slice(start, match.index) + (head ?? ""), ...rest);
    start = match.index + match[0].length;
  }
  if (parts.length === 0) return [text];
  const tail = text.slice(start);
  if (tail) parts.push(tail);
  return parts;
}

/** The text's BPE token count; a long run is counted in pieces (see MAX_RUN). */
export function tokenCount(text: string): number {
  const parts = boundedParts(text);
  return parts.length === 1 ? countTokens(text) : parts.reduce((sum, part) => sum + countTokens(part), 0);
}

/** The text as BPE tokens; a long run is encoded in pieces (see MAX_RUN). */
export function tokenize(text: string): number[] {
  const parts = boundedParts(text);
  return parts.length === 1 ? encode(text) : parts.flatMap((part) => encode(part));
}

export { decode };

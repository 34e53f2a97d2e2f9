/**
 * A stand-in tokenizer: words, numbers and single punctuation marks, and each Han, kana or
 * Hangul character alone (Chinese and Japanese put no spaces between words, and a model's
 * tokenizer spends about a token per character on these scripts). Real BPE counts differ, but counts grow with text
 * the same way, which is all latency and truncation need.
 */
export const CJK = String.raw`[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}]`;
const TOKEN_PATTERN = new RegExp(String.raw`${CJK}|(?:(?!${CJK})[\p{L}\p{N}_])+|[^\s\p{L}\p{N}_]`, "gu");

export function tokenize(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}

/** `text` cut into its tokens' texts, each with the spacing before it: they join back into `text`. */
export function tokenTexts(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const match of text.matchAll(TOKEN_PATTERN)) {
    const end = match.index + match[0].length;
    out.push(text.slice(start, end));
    start = end;
  }
  const rest = text.slice(start);
  if (rest !== "") {
    if (out.length > 0) out[out.length - 1] += rest;
    else out.push(rest);
  }
  return out;
}

export function countTokens(text: string): number {
  let count = 0;
  TOKEN_PATTERN.lastIndex = 0;
  while (TOKEN_PATTERN.exec(text) !== null) count += 1;
  return count;
}

/** Keeps the first `maxTokens` tokens of `text`, preserving the original spacing. */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (maxTokens <= 0) return "";
  let seen = 0;
  TOKEN_PATTERN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = TOKEN_PATTERN.exec(text)) !== null) {
    seen += 1;
    if (seen === maxTokens) return text.slice(0, match.index + match[0].length);
  }
  return text;
}

/** 32-bit FNV-1a, seeded: fast and stable across runs and machines. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|(?<=[。！？])|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

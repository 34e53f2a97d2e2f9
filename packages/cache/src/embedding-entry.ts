/**
 * A cached embedding: Ollama's token count for its input, then the vector's JSON text as the
 * instance sent it, `<tokens>|[…]`. The count lets a cache hit answer `prompt_eval_count` (and
 * OpenAI's `usage`) as Ollama would; the vector stays raw text so a hit is spliced into the
 * response without parsing it. Entries of this shape live under keys of their own version (see
 * embeddingCacheKey), so a process that knows only bare vectors never reads one.
 */
const SEPARATOR = 0x7c; // "|"
/** Digits of a count: more than any context length. */
const MAX_COUNT_DIGITS = 10;

export function encodeEmbeddingEntry(vectorText: string, tokens: number): string {
  return `${tokens}|${vectorText}`;
}

export interface EmbeddingEntry<T> {
  vector: T;
  /** Undefined for an entry without a count (not written by this version). */
  tokens: number | undefined;
}

/** Where the vector starts: after the separator, or 0 when the entry has no count. */
function split(byteAt: (index: number) => number | undefined, length: number): { start: number; tokens: number | undefined } {
  let tokens = 0;
  for (let index = 0; index < Math.min(length, MAX_COUNT_DIGITS + 1); index += 1) {
    const byte = byteAt(index);
    if (byte === SEPARATOR) return index === 0 ? { start: 1, tokens: undefined } : { start: index + 1, tokens };
    if (byte === undefined || byte < 0x30 || byte > 0x39) break;
    tokens = tokens * 10 + (byte - 0x30);
  }
  return { start: 0, tokens: undefined };
}

export function decodeEmbeddingEntry(value: Buffer): EmbeddingEntry<Buffer> {
  const { start, tokens } = split((index) => value[index], value.length);
  return { vector: start === 0 ? value : value.subarray(start), tokens };
}

export function decodeEmbeddingText(value: string): EmbeddingEntry<string> {
  const { start, tokens } = split((index) => value.charCodeAt(index), value.length);
  return { vector: start === 0 ? value : value.slice(start), tokens };
}

/**
 * Shares one Ollama call's token count among its inputs: Ollama reports only the call's sum, so
 * each input gets a share by its length, largest remainders first, and the shares add up to the
 * count exactly. A call of one input (every interactive request) gets its exact count.
 */
export function shareTokens(total: number, texts: readonly string[]): number[] {
  if (texts.length === 1) return [total];
  const weights = texts.map((text) => Math.max(1, text.length));
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((weight) => (total * weight) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left <= 0) break;
    shares[index] = (shares[index] ?? 0) + 1;
    left -= 1;
  }
  return shares;
}

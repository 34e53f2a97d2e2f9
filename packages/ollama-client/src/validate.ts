import { OllamaError } from "./errors.js";

/** Rejects vectors an instance should never send: wrong count, ragged or wrong length, NaN/Inf/null. */
export function validateVectors(vectors: unknown[][], expectedCount: number, expectedLength: number | undefined, instance: string): number[][] {
  if (vectors.length !== expectedCount) {
    throw new OllamaError("invalid_response", `expected ${expectedCount} embeddings, got ${vectors.length}`, instance);
  }
  const length = expectedLength ?? vectors[0]?.length ?? 0;
  for (const [index, vector] of vectors.entries()) {
    if (vector.length !== length || length === 0) {
      throw new OllamaError("invalid_response", `embedding ${index} has ${vector.length} dimensions, expected ${length}`, instance);
    }
    for (const value of vector) {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new OllamaError("invalid_response", `embedding ${index} contains a non-finite value`, instance);
      }
    }
  }
  return vectors as number[][];
}

const EMBEDDINGS_KEY = '"embeddings"';

/**
 * The JSON text of each vector exactly as the instance sent it, cut from the response body
 * `text` whose parsed `vectors` were validated. Storing that text saves serialising every number
 * again (JSON.stringify of a dense 768-dimension vector: about 75 µs; the cut: about 6). Falls back to
 * JSON.stringify whenever the body is not laid out as one `"embeddings"` array of those vectors.
 */
export function vectorTexts(text: string, vectors: readonly number[][]): string[] {
  return cutVectorTexts(text, vectors) ?? vectors.map((vector) => JSON.stringify(vector));
}

function cutVectorTexts(text: string, vectors: readonly number[][]): string[] | undefined {
  const key = text.indexOf(EMBEDDINGS_KEY);
  // JSON.parse keeps the last of duplicate keys; only a single one is surely the validated array.
  if (key < 0 || text.indexOf(EMBEDDINGS_KEY, key + 1) >= 0) return undefined;
  let at = skipSpace(text, key + EMBEDDINGS_KEY.length);
  if (text[at] !== ":") return undefined;
  at = skipSpace(text, at + 1);
  if (text[at] !== "[") return undefined;
  at += 1;
  const cut: string[] = [];
  for (const vector of vectors) {
    at = skipSpace(text, at);
    if (cut.length > 0) {
      if (text[at] !== ",") return undefined;
      at = skipSpace(text, at + 1);
    }
    if (text[at] !== "[") return undefined;
    // A vector holds only numbers, so its first "]" closes it.
    const end = text.indexOf("]", at);
    if (end < 0 || commas(text, at, end) !== Math.max(0, vector.length - 1)) return undefined;
    cut.push(text.slice(at, end + 1));
    at = end + 1;
  }
  return text[skipSpace(text, at)] === "]" ? cut : undefined;
}

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i += 1;
  return i;
}

function commas(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf(",", from); i >= 0 && i < to; i = text.indexOf(",", i + 1)) count += 1;
  return count;
}

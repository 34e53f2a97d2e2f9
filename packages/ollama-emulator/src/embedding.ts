import { CJK, fnv1a } from "./text.js";

/**
 * Words, with each Han, kana or Hangul character a word of its own: these scripts put no spaces
 * between words (or glue particles onto them), so a whole run would be one "word" that no other
 * text shares. Single characters and their bigrams (below) are how search engines index them.
 */
const WORD_PATTERN = new RegExp(String.raw`${CJK}|(?:(?!${CJK})[\p{L}\p{N}])+`, "gu");

function addFeature(vector: Float64Array, feature: string, weight: number, seed: number): void {
  const hash = fnv1a(feature, seed);
  const bucket = hash % vector.length;
  // The sign bit comes from a different part of the hash so collisions cancel out instead of piling up.
  const sign = (hash >>> 31) === 1 ? -1 : 1;
  vector[bucket] = (vector[bucket] ?? 0) + sign * weight;
}

/** Norm of the background relative to the features' (see embedText). */
const BACKGROUND = 0.05;

/**
 * Fills every dimension with a small pseudo-random value drawn from the text (xorshift32), at
 * `scale` times the features' norm. A real model's vector has no zeros; without this, a
 * feature-hashed vector is mostly zeros, and its JSON a fifth of the size of Ollama's, which
 * would flatter every benchmark that moves vectors around.
 */
function addBackground(vector: Float64Array, text: string, seed: number, scale: number): void {
  let featureNorm = 0;
  for (let i = 0; i < vector.length; i += 1) featureNorm += (vector[i] ?? 0) ** 2;
  // Uniform in [-1, 1) has a mean square of 1/3: this makes the background's norm `scale` × features'.
  const amplitude = (scale * Math.sqrt(featureNorm)) / Math.sqrt(vector.length / 3);
  let state = fnv1a(text, seed) || 1;
  for (let i = 0; i < vector.length; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    vector[i] = (vector[i] ?? 0) + amplitude * ((state >>> 0) / 2 ** 31 - 1);
  }
}

/**
 * Deterministic embedding by feature hashing of words (a Han, kana or Hangul character being one),
 * word bigrams and character trigrams, over a
 * faint dense background (every value non-zero, as in a real model's output). Texts that share
 * words and word pieces get a high cosine similarity, so retrieval built on the emulator ranks
 * documents sensibly; the background, unrelated between texts, moves a similarity by well under
 * a hundredth. The model name seeds the hash: models disagree, like real ones.
 */
export function embedText(text: string, model: string, length: number): number[] {
  const seed = fnv1a(model);
  const vector = new Float64Array(length);
  const words = (text.toLowerCase().match(WORD_PATTERN) ?? []) as string[];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] as string;
    addFeature(vector, `w:${word}`, 1, seed);
    if (i + 1 < words.length) addFeature(vector, `b:${word} ${words[i + 1]}`, 0.5, seed);
    const padded = `<${word}>`;
    for (let j = 0; j + 3 <= padded.length; j += 1) addFeature(vector, `c:${padded.slice(j, j + 3)}`, 0.25, seed);
  }
  if (words.length === 0) addFeature(vector, `empty:${text}`, 1, seed);
  addBackground(vector, text, seed, BACKGROUND);
  return normalize(vector);
}

function normalize(vector: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < vector.length; i += 1) sum += (vector[i] ?? 0) ** 2;
  const norm = Math.sqrt(sum) || 1;
  const out = new Array<number>(vector.length);
  // Ollama returns float32 values; nine significant digits round-trip a float32 exactly.
  for (let i = 0; i < vector.length; i += 1) out[i] = Number(Math.fround((vector[i] ?? 0) / norm).toPrecision(9));
  return out;
}

/** Ollama's `dimensions`: cut the vector and re-normalise; a larger or zero value is ignored. */
export function applyDimensions(vector: number[], dimensions: number | undefined): number[] {
  if (dimensions === undefined || dimensions <= 0 || dimensions >= vector.length) return vector;
  return normalize(vector.slice(0, dimensions));
}

/** The legacy /api/embeddings endpoint returns float64 values that are not normalised. */
export function legacyEmbedding(text: string, model: string, length: number): number[] {
  const unit = embedText(text, model, length);
  const scale = 1 + (fnv1a(text) % 1000) / 100;
  return unit.map((value) => value * scale);
}

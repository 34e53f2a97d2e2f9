import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const CORPUS = fileURLToPath(new URL("../../../corpus/manuals/", import.meta.url));

const CODE_PREFIXES = ["HX", "E", "V", "P", "SKU"] as const;

/** A small seeded PRNG (mulberry32) so every run generates the same documents. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The words of the repository's technical corpus, most frequent first. */
function corpusVocabulary(): string[] {
  const counts = new Map<string, number>();
  for (const file of readdirSync(CORPUS)) {
    const text = readFileSync(`${CORPUS}${file}`, "utf8").replace(/<[^>]+>/g, " ").toLowerCase();
    for (const word of text.match(/[a-z][a-z-]{2,}/g) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([word]) => word);
}

/**
 * Text that reads like the corpus as far as search is concerned: its words, drawn with a
 * Zipf-like skew (a few very common words, a long tail), plus part numbers and error codes from
 * a space of ~50,000, so that queries can have exact keyword matches as in real manuals.
 */
export class TextGenerator {
  readonly #random: () => number;
  readonly #vocabulary = corpusVocabulary();

  constructor(seed: number) {
    this.#random = seeded(seed);
  }

  word(): string {
    const index = Math.floor(this.#vocabulary.length * this.#random() ** 2.5);
    return this.#vocabulary[index] ?? "pump";
  }

  sentence(): string {
    const length = 8 + Math.floor(this.#random() * 12);
    const words = Array.from({ length }, () => this.word());
    // Technical text is full of identifiers (part numbers, error codes): a large, rare vocabulary.
    if (this.#random() < 0.3) words.push(`${this.pick(CODE_PREFIXES)}-${100 + Math.floor(this.#random() * 9900)}`);
    const [first = "the", ...rest] = words;
    return `${first[0]?.toUpperCase()}${first.slice(1)} ${rest.join(" ")}.`;
  }

  paragraph(sentences = 4): string {
    return Array.from({ length: sentences }, () => this.sentence()).join(" ");
  }

  /** A Markdown manual of `sections` sections, each a heading and `paragraphs` paragraphs. */
  markdown(title: string, sections: number, paragraphs: number): string {
    const parts = [`# ${title}`];
    for (let s = 0; s < sections; s += 1) {
      parts.push(`## ${this.word()} ${this.word()} ${s + 1}`);
      for (let p = 0; p < paragraphs; p += 1) parts.push(this.paragraph());
    }
    return parts.join("\n\n");
  }

  /**
   * A query about `text` the way a user writes one: the passage's three most distinctive words
   * (rarest in the vocabulary) plus two of its other words, shuffled.
   */
  queryFrom(text: string): string {
    const rank = new Map(this.#vocabulary.map((word, index) => [word, index]));
    const words = [...new Set(text.toLowerCase().match(/[a-z][a-z0-9-]{2,}/g) ?? ["pump"])];
    // Identifiers are not in the vocabulary: they count as the rarest words.
    const rarity = (word: string) => rank.get(word) ?? Number.MAX_SAFE_INTEGER;
    const byRarity = [...words].sort((a, b) => rarity(b) - rarity(a));
    const distinctive = byRarity.slice(0, 3);
    const others = byRarity.slice(3);
    const picked = [...distinctive, ...Array.from({ length: Math.min(2, others.length) }, () => this.pick(others))];
    return picked.sort(() => this.#random() - 0.5).join(" ");
  }

  pick<T>(values: readonly T[]): T {
    const value = values[Math.floor(this.#random() * values.length)];
    if (value === undefined) throw new Error("pick from an empty list");
    return value;
  }
}

import { fnv1a, splitSentences, tokenize } from "./text.js";

const FILLER = (
  "the system responds with a clear and careful answer based on what it knows about the topic " +
  "and it keeps each sentence short so that readers can follow the reasoning from start to finish"
).split(" ");

export interface GenerationInput {
  /** Everything the model sees, in order (system, context, history, question). */
  context: string;
  /** The part to answer: the prompt's last sentence or the last user message. */
  question: string;
  seed: number;
  maxTokens: number | undefined;
  format: "json" | Record<string, unknown> | undefined;
  /** What the model saw in the request's images (see describeImages), said before the answer. */
  seen?: string;
  /** Fill-in-the-middle: the text after the insertion point (the context is then the prompt before it). */
  suffix?: string;
}

export interface GenerationOutput {
  pieces: string[];
  doneReason: "stop" | "length";
}

const STOPWORDS = new Set(
  "the and for are but not you all any can had her was one our out has him his how its may new now old see two who did get got let put say she too use what when where which while with why does this that from have into than then them they will your about there their would could should answer question context only".split(" "),
);

export function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => word.length > 2 && !STOPWORDS.has(word));
}

function overlapScore(sentence: string, questionWords: Set<string>): number {
  let score = 0;
  for (const word of new Set(contentWords(sentence))) if (questionWords.has(word)) score += 1;
  return score;
}

/** A line like `[2] (manual.md, Heading)` opens numbered source 2 in a RAG prompt. */
const SOURCE_LABEL = /^\[(\d+)\] \([^\n]*\)$/m;

/** The context's sentences, each with the number of the source it belongs to, if any. */
function sourcedSentences(context: string): Array<{ sentence: string; source?: string }> {
  const parts = context.split(SOURCE_LABEL);
  const out: Array<{ sentence: string; source?: string }> = splitSentences(parts[0] ?? "").map((sentence) => ({ sentence }));
  for (let i = 1; i < parts.length; i += 2) {
    const source = parts[i] as string;
    for (const sentence of splitSentences(parts[i + 1] ?? "")) out.push({ sentence, source });
  }
  return out;
}

/**
 * Deterministic text: when the prompt carries context sentences, the answer is made of the
 * sentences that best match the question (so a RAG demo on the emulator answers from its
 * sources, citing numbered ones like [1]); otherwise a seeded pseudo-sentence. Same input and seed, same output.
 */
function composeText(input: GenerationInput): string {
  if (input.suffix !== undefined) return fillInTheMiddle(input.context, input.suffix, input.seed);
  const questionWords = new Set(contentWords(input.question));
  const candidates = sourcedSentences(input.context).filter((entry) => entry.sentence !== input.question.trim());
  const ranked = candidates
    .map((entry, index) => ({ ...entry, index, score: overlapScore(entry.sentence, questionWords) }))
    .filter((entry) => entry.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, 2)
    .sort((a, b) => a.index - b.index);
  if (ranked.length > 0) return ranked.map((entry) => (entry.source ? `${entry.sentence} [${entry.source}]` : entry.sentence)).join(" ");
  let state = fnv1a(input.question, input.seed >>> 0) || 1;
  const words: string[] = [];
  const length = 12 + (state % 12);
  for (let i = 0; i < length; i += 1) {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) >>> 0;
    words.push(FILLER[state % FILLER.length] as string);
  }
  const sentence = words.join(" ");
  return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`;
}

/**
 * What a code model puts between `before` and `after`: seeded by the last line of text before
 * the insertion point and the first after it, so another suffix gets another middle.
 */
function fillInTheMiddle(before: string, after: string, seed: number): string {
  const lineBefore = before.trimEnd().split("\n").at(-1) ?? "";
  const lineAfter = after.trimStart().split("\n", 1)[0] ?? "";
  let state = fnv1a(`${lineBefore}\u0000${lineAfter}`, seed >>> 0) || 1;
  const words: string[] = [];
  const length = 4 + (state % 8);
  for (let i = 0; i < length; i += 1) {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) >>> 0;
    words.push(FILLER[state % FILLER.length] as string);
  }
  return words.join("_");
}

function fillSchema(schema: Record<string, unknown>, text: string): unknown {
  const properties = schema["properties"];
  if (schema["type"] !== "object" || typeof properties !== "object" || properties === null) return { response: text };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties as Record<string, { type?: string }>)) {
    switch (value.type) {
      case "number":
      case "integer":
        out[key] = text.length % 100;
        break;
      case "boolean":
        out[key] = text.length % 2 === 0;
        break;
      case "array":
        out[key] = [];
        break;
      case "object":
        out[key] = {};
        break;
      default:
        out[key] = text;
    }
  }
  return out;
}

/** How hard a thinking model was asked to think. */
export type ThinkLevel = "low" | "medium" | "high";

/**
 * A thinking model's deterministic thinking about `question`: one sentence at "low", two at
 * "medium" (what `think: true` gets), three at "high".
 */
export function thinkAbout(question: string, level: ThinkLevel): string[] {
  const words = [...new Set(contentWords(question))];
  const topic = words.length > 0 ? words.join(", ") : "this";
  const sentences = [
    `The user asks about ${topic}.`,
    " I should answer from what the conversation gives me and keep it short.",
    ` Let me check which sentences mention ${topic} before I answer.`,
  ];
  return toPieces(sentences.slice(0, level === "low" ? 1 : level === "medium" ? 2 : 3).join(""));
}

/** Splits text into stream pieces the way a tokenizer would: each word keeps its leading space. */
export function toPieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** Splits compact JSON into stream pieces: punctuation apart, words inside strings as in toPieces. */
function jsonPieces(json: string): string[] {
  return json.match(/\s*(?:[{}[\]:,"]|[^\s{}[\]:,"]+)|\s+$/g) ?? [];
}

export function generate(input: GenerationInput): GenerationOutput {
  const text = input.seen ? `${input.seen} ${composeText(input)}` : composeText(input);
  const finalText = input.format === undefined ? text : JSON.stringify(input.format === "json" ? { response: text } : fillSchema(input.format, text));
  // JSON streams token by token too, and num_predict cuts it wherever it stands, as Ollama does:
  // the text is then no longer valid JSON.
  const pieces = input.format === undefined ? toPieces(finalText) : jsonPieces(finalText);
  if (input.maxTokens !== undefined && input.maxTokens >= 0) {
    let tokens = 0;
    const kept: string[] = [];
    for (const piece of pieces) {
      const count = Math.max(1, tokenize(piece).length);
      if (tokens + count > input.maxTokens) return { pieces: kept, doneReason: "length" };
      tokens += count;
      kept.push(piece);
    }
  }
  return { pieces, doneReason: "stop" };
}

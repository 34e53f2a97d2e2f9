import type { SearchHit } from "@herd/store";
import { ApiError } from "./errors.js";

export const SYSTEM_PROMPT =
  "You answer questions about technical documents. Use only the numbered sources given with the question. " +
  "If they do not contain the answer, say that the documents do not cover it. Cite the sources you use like [1].";

/** How much of the previous question a follow-up is searched with: a question, not a pasted document. */
const PREVIOUS_QUESTION_CHARS = 1000;

export interface Turn {
  role: "user" | "assistant";
  content: string;
}

/**
 * What a question is searched with: the question, and for a follow-up the user's previous
 * question before it, so that "and how often?" finds the passages of the topic under discussion.
 */
export function retrievalQuery(question: string, history: ReadonlyArray<{ role: string; content: string }> = []): string {
  const previous = history.findLast((turn) => turn.role === "user")?.content.trim().slice(0, PREVIOUS_QUESTION_CHARS);
  return previous ? `${previous}\n${question}` : question;
}

function source(hit: SearchHit, number: number): string {
  return `[${number}] (${hit.documentId}${hit.heading ? `, ${hit.heading}` : ""})\n${hit.text}`;
}

/** The prompt of a RAG answer: numbered sources, then the question last. */
export function answerPrompt(question: string, hits: readonly SearchHit[]): string {
  return `Sources:\n\n${hits.map((hit, i) => source(hit, i + 1)).join("\n\n")}\n\nQuestion: ${question}`;
}

/** A character of a script written without spaces, which tokenizers spend about a token on. */
const UNSPACED = String.raw`[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}]`;
const PIECES = new RegExp(String.raw`${UNSPACED}|(?:(?!${UNSPACED})[\p{L}\p{M}\p{N}_])+|[^\s\p{L}\p{M}\p{N}_]`, "gu");
/** Characters of a word per token in the estimate: fewer than real tokenizers take, so it errs high. */
const WORD_CHARS_PER_TOKEN = 4;

function piecesOf(text: string): IterableIterator<RegExpMatchArray> {
  return text.matchAll(PIECES);
}

function pieceTokens(piece: string): number {
  return piece.length === 1 ? 1 : Math.ceil(piece.length / WORD_CHARS_PER_TOKEN);
}

/**
 * A generous estimate of the tokens a model's tokenizer makes of `text`: a token per four
 * characters of a word (at least one), per punctuation mark and per CJK or Thai character. Herd
 * does not know the model's tokenizer; on English manuals this counts about 1.35 times what a
 * 200k-vocabulary BPE does, 1.07 times on German and Russian, the same on Chinese.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const match of piecesOf(text)) tokens += pieceTokens(match[0]);
  return tokens;
}

/** The start of `text` that the estimate puts at `tokens` or fewer. */
function cutToTokens(text: string, tokens: number): string {
  let used = 0;
  for (const match of piecesOf(text)) {
    used += pieceTokens(match[0]);
    if (used > tokens) return text.slice(0, match.index).trimEnd();
  }
  return text;
}

/** What the prompt may take of a context: the rest (a quarter, at most 1024 tokens) is the answer's room. */
export function promptBudget(contextLength: number): number {
  return contextLength - Math.min(1024, Math.floor(contextLength / 4));
}

/** What a chat template adds around each message (role markers, separators). */
const TEMPLATE_TOKENS = 8;
/** Below this much room for sources an answer cannot be grounded: the question is refused instead. */
const MIN_SOURCE_TOKENS = 64;

/**
 * What the question and the answer's instructions take of the prompt; a 400 question_too_long
 * when that leaves no room for sources (checked before the search, which it would waste).
 */
export function questionTokens(question: string, contextLength: number, model: string): number {
  const budget = promptBudget(contextLength);
  const used = estimateTokens(SYSTEM_PROMPT) + estimateTokens(answerPrompt(question, [])) + 2 * TEMPLATE_TOKENS;
  if (used + MIN_SOURCE_TOKENS <= budget) return used;
  throw new ApiError(
    400,
    "question_too_long",
    `question: about ${used} tokens with the answer's instructions, leaving no room for sources in the ${budget} tokens a prompt may take of ${model}'s ${contextLength}-token context (pin a larger num_ctx for it in HERD_MODEL_OPTIONS, or set HERD_OLLAMA_CONTEXT_LENGTH to what your Ollama servers use)`,
  );
}

export interface FittedAnswer {
  /** The sources that fit, best first; the first may be cut when even it alone does not fit. */
  hits: SearchHit[];
  /** Retrieved sources left out for want of room. */
  omitted: number;
  /** The latest turns of the conversation that fit, in order. */
  history: Turn[];
}

/**
 * The sources and turns of an answer's prompt that fit the model's context. Ollama does not refuse
 * a longer prompt: its runner keeps the first 4 tokens and the end, silently dropping the
 * instructions and the sources listed first, the best ones. So: the question and instructions,
 * then the latest turns (up to a quarter of the room left), then sources best first while they
 * fit, then older turns.
 */
export function fitAnswer(question: string, hits: readonly SearchHit[], history: readonly Turn[], contextLength: number, model: string): FittedAnswer {
  const budget = promptBudget(contextLength);
  let used = questionTokens(question, contextLength, model);
  const turns: Turn[] = [];
  let next = history.length - 1;
  const takeTurns = (limit: number) => {
    for (let turn = history[next]; turn !== undefined; turn = history[next]) {
      const cost = estimateTokens(turn.content) + TEMPLATE_TOKENS;
      if (used + cost > limit) return;
      used += cost;
      turns.unshift(turn);
      next -= 1;
    }
  };
  takeTurns(used + Math.floor((budget - used) / 4));
  const kept: SearchHit[] = [];
  for (const hit of hits) {
    const cost = estimateTokens(source(hit, kept.length + 1)) + 1;
    if (used + cost <= budget) {
      used += cost;
      kept.push(hit);
      continue;
    }
    const room = budget - used - estimateTokens(source({ ...hit, text: "" }, 1)) - 1;
    if (kept.length === 0 && room >= MIN_SOURCE_TOKENS) {
      kept.push({ ...hit, text: cutToTokens(hit.text, room) });
      used = budget;
    }
    break;
  }
  takeTurns(budget);
  return { hits: kept, omitted: hits.length - kept.length, history: turns };
}

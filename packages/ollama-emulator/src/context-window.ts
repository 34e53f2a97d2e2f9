import { HttpError } from "./http.js";
import { countTokens, tokenTexts } from "./text.js";

export interface ChatTurn {
  role: string;
  content: string;
}

/** The runner's refusal of a prompt longer than num_ctx when the request turned truncation off. */
export const INPUT_TOO_LONG = "the input length exceeds the context length";

/** The text a chat's prompt is made of, in order (the system prompt, then each message). */
export function chatContext(system: string, turns: readonly ChatTurn[]): string {
  return [system, ...turns.map((turn) => turn.content)].join("\n");
}

/**
 * The messages of a chat that Ollama's chatPrompt keeps with `truncate` (the default): the oldest
 * are dropped, system messages excepted and the last one always kept, until the prompt fits
 * num_ctx. Without `truncate` every message stays (and the runner may refuse the prompt).
 */
export function fitChat(system: string, turns: readonly ChatTurn[], numCtx: number): ChatTurn[] {
  for (let start = 0; start < turns.length - 1; start += 1) {
    const kept = [...turns.slice(0, start).filter((turn) => turn.role === "system"), ...turns.slice(start)];
    if (countTokens(chatContext(system, kept)) <= numCtx) return kept;
  }
  return [...turns.slice(0, -1).filter((turn) => turn.role === "system"), ...turns.slice(-1)];
}

/**
 * The prompt tokens the runner evaluates: a prompt longer than num_ctx is cut to it, or refused
 * (400) when the request turned truncation off, as Ollama's runner does.
 */
export function promptTokensIn(promptTokens: number, numCtx: number, truncate: boolean): number {
  if (promptTokens <= numCtx) return promptTokens;
  if (!truncate) throw new HttpError(400, INPUT_TOO_LONG);
  return numCtx;
}

/**
 * The most tokens a generation may produce: `num_predict` when given, and with `shift` off, what
 * is left of num_ctx after the prompt (Ollama's runner stops there with done_reason "length"
 * instead of shifting the context).
 */
export function generationBudget(numPredict: number | undefined, promptTokens: number, numCtx: number, shift: boolean): number | undefined {
  if (shift) return numPredict;
  const room = Math.max(0, numCtx - promptTokens);
  return numPredict === undefined ? room : Math.min(numPredict, room);
}

/** Ollama's default `num_keep` (api.DefaultOptions): the tokens at a prompt's start that a cut keeps. */
export const NUM_KEEP = 4;

/**
 * What the runner evaluates of a prompt longer than num_ctx (with `truncate`): its first
 * `num_keep` tokens and its last num_ctx - num_keep ("truncating input prompt ... keep=4" in
 * Ollama's log). Everything between is lost: the system prompt, and in a RAG prompt the sources
 * listed first, usually the best ones.
 */
export function keptOfPrompt(text: string, numCtx: number, numKeep: number): string {
  const tokens = tokenTexts(text);
  if (tokens.length <= numCtx) return text;
  const keep = Math.max(0, Math.min(numKeep, numCtx - 1));
  return tokens.slice(0, keep).join("") + tokens.slice(tokens.length - (numCtx - keep)).join("");
}

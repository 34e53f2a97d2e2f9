import type { Logprob, TokenLogprob } from "@herd/jobs";

/** A token's UTF-8 bytes, as OpenAI lists them (Ollama sends them only sometimes). */
function bytesOf(entry: TokenLogprob): number[] {
  return entry.bytes ?? [...Buffer.from(entry.token, "utf8")];
}

/** Chat completions' `choices[].logprobs` for these tokens: each with its bytes and top alternatives. */
export function chatLogprobs(entries: readonly Logprob[]): { content: unknown[]; refusal: null } {
  return {
    content: entries.map((entry) => ({
      token: entry.token,
      logprob: entry.logprob,
      bytes: bytesOf(entry),
      top_logprobs: (entry.top_logprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob, bytes: bytesOf(top) })),
    })),
    refusal: null,
  };
}

/**
 * Legacy completions' `choices[].logprobs`: parallel lists of the tokens, their log probabilities,
 * their alternatives as token → log probability, and where each token starts in the text
 * (`offset`: how much text came before these tokens).
 */
export function legacyLogprobs(entries: readonly Logprob[], offset: number): { tokens: string[]; token_logprobs: number[]; top_logprobs: Array<Record<string, number>> | null; text_offset: number[] } {
  const textOffset: number[] = [];
  let at = offset;
  for (const entry of entries) {
    textOffset.push(at);
    at += entry.token.length;
  }
  const withTop = entries.some((entry) => entry.top_logprobs !== undefined);
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: withTop ? entries.map((entry) => Object.fromEntries((entry.top_logprobs ?? []).map((top) => [top.token, top.logprob]))) : null,
    text_offset: textOffset,
  };
}

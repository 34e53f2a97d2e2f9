import { HttpError } from "./http.js";
import { fnv1a, tokenTexts } from "./text.js";

/** Ollama's TokenLogprob and Logprob: a token's text and log probability, and the likeliest at its position. */
export interface TokenLogprob {
  token: string;
  logprob: number;
}
export interface Logprob extends TokenLogprob {
  top_logprobs?: TokenLogprob[];
}

/** What a request asks for: off, or on with this many alternatives per position (0 to 20). */
export interface LogprobsRequest {
  top: number;
}

/** Words the model "considered" at a position instead of the one it wrote. */
const ALTERNATIVES = "the a it this that and of to in is for on with as was at by an be or".split(" ");

/**
 * Deterministic log probabilities for a model that writes `piece` at `position`, as a greedy
 * sampler would see them: the written token is the likeliest (probability 0.5 to 0.99) and the
 * alternatives share what is left, each half as likely as the one before, so the listed
 * probabilities never add up to more than 1 and come in descending order.
 */
export function logprobFor(piece: string, position: number, asked: LogprobsRequest): Logprob {
  const hash = fnv1a(piece, position >>> 0);
  const chosen = 0.5 + (hash % 490) / 1000;
  const logprob = Math.log(chosen);
  if (asked.top === 0) return { token: piece, logprob };
  const leading = /^\s*/.exec(piece)?.[0] ?? "";
  const top: TokenLogprob[] = [{ token: piece, logprob }];
  let share = (1 - chosen) * 0.5;
  for (let i = 0; top.length < asked.top && i < ALTERNATIVES.length; i += 1) {
    const word = `${leading}${ALTERNATIVES[(hash + i * 7) % ALTERNATIVES.length] as string}`;
    if (top.some((entry) => entry.token === word)) continue;
    top.push({ token: word, logprob: Math.log(share) });
    share /= 2;
  }
  return { token: piece, logprob, top_logprobs: top };
}

/**
 * Ollama's `logprobs` and `top_logprobs` as the runner reads them (only with logprobs on); a
 * top_logprobs outside 0 to 20 is refused in Ollama's words before anything else.
 */
export function readLogprobs(body: Record<string, unknown>, struct: string): LogprobsRequest | undefined {
  const top = typeof body["top_logprobs"] === "number" ? body["top_logprobs"] : 0;
  // Go decodes it into an int: a fraction fails the request's decoding.
  if (!Number.isInteger(top)) throw new HttpError(400, `json: cannot unmarshal number ${top} into Go struct field ${struct}.top_logprobs of type int`);
  if (top < 0 || top > 20) throw new HttpError(400, "top_logprobs must be between 0 and 20");
  return body["logprobs"] === true ? { top } : undefined;
}

/** Numbers the tokens a request generates, so each gets its own log probability. */
export class LogprobCounter {
  #position = 0;

  constructor(private readonly asked: LogprobsRequest) {}

  /** One entry per token of `piece` (its text split as the stand-in tokenizer splits it). */
  entries(piece: string): Logprob[] {
    return tokenTexts(piece).map((token) => logprobFor(token, this.#position++, this.asked));
  }
}

import { TokenProgress, type Logprob } from "@herd/jobs";

/** Sends a new piece of text (or thinking), with the log probabilities of the tokens that came with it. */
export type EmitPiece = (text: string, logprobs?: Logprob[]) => void;

/** What has been sent of one part of the stream (the text, or a thinking model's thinking). */
class Part {
  sent = "";
  attempt = "";

  constructor(readonly emit: EmitPiece | undefined) {}
}

/**
 * Turns a streamed job's progress events into the text a client sees, exactly once and in order,
 * and a thinking model's thinking beside it (each piece's thinking goes out before its text, as
 * the model produced it). A retried job streams again from its first piece: pieces that repeat
 * what was already sent are dropped, and a retry that says something different is reported
 * (`diverged`), because what a client has received cannot be taken back. A missed piece (events
 * lost while reconnecting) stops the live stream; `finish` then sends the rest from the job's result.
 * Log probabilities (jobs that asked for them) go out with the piece they came with, each token's
 * once: a retry's entries are counted like its text.
 */
export class StreamAssembler {
  readonly #text: Part;
  readonly #thinking: Part;
  #attemptLogprobs: Logprob[] = [];
  #sentLogprobs = 0;
  #nextSeq = 0;
  #broken = false;
  diverged = false;

  constructor(emit: EmitPiece, emitThinking?: EmitPiece) {
    this.#text = new Part(emit);
    this.#thinking = new Part(emitThinking);
  }

  get sent(): string {
    return this.#text.sent;
  }

  piece(data: unknown): void {
    const parsed = TokenProgress.safeParse(data);
    if (!parsed.success || this.diverged) return;
    const { seq, text, thinking, logprobs } = parsed.data;
    if (seq === 0 && this.#nextSeq > 0) {
      // A new attempt (the job was retried): it starts over.
      this.#text.attempt = "";
      this.#thinking.attempt = "";
      this.#attemptLogprobs = [];
      this.#broken = false;
    } else if (seq !== this.#nextSeq) {
      this.#broken = true;
    }
    this.#nextSeq = seq + 1;
    if (this.#broken) return;
    if (thinking) this.#thinking.attempt += thinking;
    this.#text.attempt += text;
    if (logprobs) this.#attemptLogprobs.push(...logprobs);
    this.#release(this.#thinking.attempt, this.#text.attempt, this.#attemptLogprobs);
  }

  /**
   * Sends whatever of the final thinking, then text (and log probabilities), the stream has not;
   * false if either contradicts what was sent.
   */
  finish(finalText: string, finalThinking = "", finalLogprobs: Logprob[] = []): boolean {
    if (!this.diverged) this.#release(finalThinking, finalText, finalLogprobs);
    return !this.diverged;
  }

  #release(thinkingSoFar: string, textSoFar: string, logprobsSoFar: Logprob[]): void {
    const thinking = this.#fresh(this.#thinking, thinkingSoFar);
    const text = this.diverged ? undefined : this.#fresh(this.#text, textSoFar);
    if (this.diverged) return;
    const entries = logprobsSoFar.slice(this.#sentLogprobs);
    this.#sentLogprobs = Math.max(this.#sentLogprobs, logprobsSoFar.length);
    // A model thinks before it answers, so the thinking's tokens come first: they go out with the
    // thinking piece, the rest with the text, as each line of Ollama's own stream carries its own.
    // Thinking nobody listens for is still followed (a retry that thinks differently is caught);
    // its entries then ride on the text piece.
    const forThinking = thinking === undefined || this.#thinking.emit === undefined ? 0 : text === undefined ? entries.length : entriesSpanning(entries, thinking.length);
    const thinkingEntries = entries.slice(0, forThinking);
    const textEntries = entries.slice(forThinking);
    if (thinking !== undefined) this.#thinking.emit?.(thinking, thinkingEntries.length > 0 ? thinkingEntries : undefined);
    // With no fresh text for them, entries still go out, on an empty piece.
    if (text !== undefined || textEntries.length > 0) this.#text.emit?.(text ?? "", textEntries.length > 0 ? textEntries : undefined);
  }

  /** The part's text not yet sent (undefined when nothing is new); marks it sent. */
  #fresh(part: Part, text: string): string | undefined {
    if (text.length <= part.sent.length) {
      if (!part.sent.startsWith(text)) this.diverged = true;
      return undefined;
    }
    if (!text.startsWith(part.sent)) {
      this.diverged = true;
      return undefined;
    }
    const fresh = text.slice(part.sent.length);
    part.sent = text;
    return fresh;
  }
}

/** How many of `entries`, from the first, spell the first `length` characters of their tokens. */
function entriesSpanning(entries: readonly Logprob[], length: number): number {
  let spelled = 0;
  let count = 0;
  for (const entry of entries) {
    if (spelled >= length) break;
    spelled += entry.token.length;
    count += 1;
  }
  return count;
}

import { TokenProgress } from "@herd/jobs";

/** What has been sent of one part of the stream (the text, or a thinking model's thinking). */
class Part {
  sent = "";
  attempt = "";

  constructor(readonly emit: ((text: string) => void) | undefined) {}
}

/**
 * Turns a streamed job's progress events into the text a client sees, exactly once and in order,
 * and a thinking model's thinking beside it (each piece's thinking goes out before its text, as
 * the model produced it). A retried job streams again from its first piece: pieces that repeat
 * what was already sent are dropped, and a retry that says something different is reported
 * (`diverged`), because what a client has received cannot be taken back. A missed piece (events
 * lost while reconnecting) stops the live stream; `finish` then sends the rest from the job's result.
 */
export class StreamAssembler {
  readonly #text: Part;
  readonly #thinking: Part;
  #nextSeq = 0;
  #broken = false;
  diverged = false;

  constructor(emit: (text: string) => void, emitThinking?: (thinking: string) => void) {
    this.#text = new Part(emit);
    this.#thinking = new Part(emitThinking);
  }

  get sent(): string {
    return this.#text.sent;
  }

  piece(data: unknown): void {
    const parsed = TokenProgress.safeParse(data);
    if (!parsed.success || this.diverged) return;
    const { seq, text, thinking } = parsed.data;
    if (seq === 0 && this.#nextSeq > 0) {
      // A new attempt (the job was retried): it starts over.
      this.#text.attempt = "";
      this.#thinking.attempt = "";
      this.#broken = false;
    } else if (seq !== this.#nextSeq) {
      this.#broken = true;
    }
    this.#nextSeq = seq + 1;
    if (this.#broken) return;
    if (thinking) {
      this.#thinking.attempt += thinking;
      this.#advance(this.#thinking, this.#thinking.attempt);
    }
    this.#text.attempt += text;
    this.#advance(this.#text, this.#text.attempt);
  }

  /**
   * Sends whatever of the final thinking, then text, the stream has not; false if either
   * contradicts what was sent.
   */
  finish(finalText: string, finalThinking = ""): boolean {
    if (!this.diverged) this.#advance(this.#thinking, finalThinking);
    if (!this.diverged) this.#advance(this.#text, finalText);
    return !this.diverged;
  }

  #advance(part: Part, text: string): void {
    if (text.length <= part.sent.length) {
      if (!part.sent.startsWith(text)) this.diverged = true;
      return;
    }
    if (!text.startsWith(part.sent)) {
      this.diverged = true;
      return;
    }
    const fresh = text.slice(part.sent.length);
    part.sent = text;
    // Thinking nobody listens for is still followed, so a retry that thinks differently is caught.
    part.emit?.(fresh);
  }
}

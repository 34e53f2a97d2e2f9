import { TokenProgress } from "@herd/jobs";

/**
 * Turns a streamed job's progress events into the text a client sees, exactly once and in order.
 * A retried job streams again from its first piece: pieces that repeat what was already sent are
 * dropped, and a retry that says something different is reported (`diverged`), because text a
 * client has received cannot be taken back. A missed piece (events lost while reconnecting) stops
 * the live stream; `finish` then sends the rest from the job's result.
 */
export class StreamAssembler {
  #sent = "";
  #attempt = "";
  #nextSeq = 0;
  #broken = false;
  diverged = false;

  /** `field`: which part of each piece this assembler follows (a thinking model's thinking has its own). */
  constructor(
    private readonly emit: (text: string) => void,
    private readonly field: "text" | "thinking" = "text",
  ) {}

  get sent(): string {
    return this.#sent;
  }

  piece(data: unknown): void {
    const parsed = TokenProgress.safeParse(data);
    if (!parsed.success || this.diverged) return;
    const { seq } = parsed.data;
    const text = this.field === "text" ? parsed.data.text : (parsed.data.thinking ?? "");
    if (seq === 0 && this.#nextSeq > 0) {
      // A new attempt (the job was retried): it starts over.
      this.#attempt = "";
      this.#broken = false;
    } else if (seq !== this.#nextSeq) {
      this.#broken = true;
    }
    this.#nextSeq = seq + 1;
    if (this.#broken) return;
    this.#attempt += text;
    this.#advance(this.#attempt);
  }

  /** Sends whatever of the final text the stream has not; false if it contradicts what was sent. */
  finish(finalText: string): boolean {
    if (!this.diverged) this.#advance(finalText);
    return !this.diverged;
  }

  #advance(text: string): void {
    if (text.length <= this.#sent.length) {
      if (!this.#sent.startsWith(text)) this.diverged = true;
      return;
    }
    if (!text.startsWith(this.#sent)) {
      this.diverged = true;
      return;
    }
    const fresh = text.slice(this.#sent.length);
    this.#sent = text;
    this.emit(fresh);
  }
}

import type { Job } from "bullmq";
import type { Logprob, TokenProgress } from "@herd/jobs";

/**
 * Sends a streamed generation's pieces to the API as job progress. At most one write is in flight:
 * pieces that arrive meanwhile go out together in the next one, so a fast model costs fewer Redis
 * writes while the first token still leaves at once. What one Ollama chunk brings (its thinking,
 * text and log probabilities, pushed one after another) leaves together: the write is made once
 * the pushes of the moment are done.
 */
export class TokenPublisher {
  #pending = "";
  /** A thinking model's thinking, sent beside the text (it comes first, so the API emits it first). */
  #pendingThinking = "";
  /** The log probabilities of the pending thinking and text, in order (jobs that asked for them). */
  #pendingLogprobs: Logprob[] = [];
  #seq = 0;
  #inFlight: Promise<void> | undefined;
  #scheduled = false;

  constructor(
    private readonly job: Job,
    private readonly onError: (error: unknown) => void,
  ) {}

  push(piece: string): void {
    this.#pending += piece;
    this.#schedule();
  }

  pushThinking(piece: string): void {
    this.#pendingThinking += piece;
    this.#schedule();
  }

  /** A chunk's log probabilities (they leave with its thinking and text). */
  pushLogprobs(entries: Logprob[]): void {
    this.#pendingLogprobs.push(...entries);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#inFlight || this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#inFlight) this.#flush();
    });
  }

  #flush(): void {
    const progress: TokenProgress = {
      seq: this.#seq,
      text: this.#pending,
      ...(this.#pendingThinking ? { thinking: this.#pendingThinking } : {}),
      ...(this.#pendingLogprobs.length > 0 ? { logprobs: this.#pendingLogprobs } : {}),
    };
    this.#seq += 1;
    this.#pending = "";
    this.#pendingThinking = "";
    this.#pendingLogprobs = [];
    this.#inFlight = this.job
      .updateProgress(progress)
      // A lost piece is repaired by the API from the final result; it must not fail the job.
      .catch(this.onError)
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#pending || this.#pendingThinking || this.#pendingLogprobs.length > 0) this.#flush();
      });
  }

  /** Waits until every piece is written, so they all precede the job's completion event. */
  async drain(): Promise<void> {
    // A flush scheduled by the last pushes starts at the next microtask: let it, then wait for it.
    while (this.#scheduled || this.#inFlight) await (this.#inFlight ?? Promise.resolve());
  }
}

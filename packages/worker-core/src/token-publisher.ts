import type { Job } from "bullmq";
import type { TokenProgress } from "@herd/jobs";

/**
 * Sends a streamed generation's pieces to the API as job progress. At most one write is in flight:
 * pieces that arrive meanwhile go out together in the next one, so a fast model costs fewer Redis
 * writes while the first token still leaves at once.
 */
export class TokenPublisher {
  #pending = "";
  /** A thinking model's thinking, sent beside the text (it comes first, so the API emits it first). */
  #pendingThinking = "";
  #seq = 0;
  #inFlight: Promise<void> | undefined;

  constructor(
    private readonly job: Job,
    private readonly onError: (error: unknown) => void,
  ) {}

  push(piece: string): void {
    this.#pending += piece;
    if (!this.#inFlight) this.#flush();
  }

  pushThinking(piece: string): void {
    this.#pendingThinking += piece;
    if (!this.#inFlight) this.#flush();
  }

  #flush(): void {
    const progress: TokenProgress = { seq: this.#seq, text: this.#pending, ...(this.#pendingThinking ? { thinking: this.#pendingThinking } : {}) };
    this.#seq += 1;
    this.#pending = "";
    this.#pendingThinking = "";
    this.#inFlight = this.job
      .updateProgress(progress)
      // A lost piece is repaired by the API from the final result; it must not fail the job.
      .catch(this.onError)
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#pending || this.#pendingThinking) this.#flush();
      });
  }

  /** Waits until every piece is written, so they all precede the job's completion event. */
  async drain(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }
}

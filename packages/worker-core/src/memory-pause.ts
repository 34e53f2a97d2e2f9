import type { Job } from "bullmq";
import type { Logger } from "@herd/logger";

const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 30_000;

/**
 * How long a binding stops pulling after Redis refused to store a result for want of memory:
 * 1 s, doubling while Redis stays full, at most 30 s, and back to nothing once a result is
 * stored. Without it, every queued job would be fetched, run on Ollama and refused in turn, each
 * spending its attempts until it failed for good; with it, a full Redis costs each binding one
 * repeated call per pause and the queue waits.
 */
export class MemoryPause {
  #pauseMs = 0;

  /**
   * Redis refused `job`'s result: puts the job back (delayed until the pause ends) and gives the
   * time until which the binding pulls nothing.
   */
  async handBack(job: Job, token: string, logger: Logger): Promise<number> {
    this.#pauseMs = this.#pauseMs === 0 ? FIRST_PAUSE_MS : Math.min(LONGEST_PAUSE_MS, this.#pauseMs * 2);
    const until = Date.now() + this.#pauseMs;
    logger.warn({ jobId: job.id, pauseMs: this.#pauseMs }, "Redis is out of memory and refused a result: job handed back without spending an attempt, pulling paused");
    await job.moveToDelayed(until, token);
    return until;
  }

  /** A result was stored: Redis has room again. */
  reset(): void {
    this.#pauseMs = 0;
  }
}

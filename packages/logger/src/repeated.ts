import type { Logger } from "pino";
import { coerceError } from "./coerce.js";

/**
 * For a fault that repeats with every request or scrape: lets a log line through at most once per
 * `intervalMs` and drops the ones between (the fault is counted elsewhere).
 */
export function atMostEvery(intervalMs: number): (log: () => void) => void {
  let loggedAt = Number.NEGATIVE_INFINITY;
  return (log) => {
    const now = Date.now();
    if (now - loggedAt < intervalMs) return;
    loggedAt = now;
    log();
  };
}

/**
 * For an operation repeated on a timer (a heartbeat, a refresh): one warning when it starts
 * failing, debug while it keeps failing, one info line when it works again.
 */
export class OutageLog {
  #failing = false;

  constructor(
    private readonly logger: Logger,
    private readonly messages: { failed: string; recovered: string },
  ) {}

  failed(error: unknown): void {
    this.logger[this.#failing ? "debug" : "warn"]({ err: coerceError(error) }, this.messages.failed);
    this.#failing = true;
  }

  succeeded(): void {
    if (this.#failing) this.logger.info(this.messages.recovered);
    this.#failing = false;
  }
}

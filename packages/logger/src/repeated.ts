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
 * For errors a library emits on each of its retries while a service is down (BullMQ's workers and
 * queues while Redis is unreachable): a warning at most once per `intervalMs`, the rest at debug,
 * so an outage reads as a few lines, not dozens a second, and nothing is dropped.
 */
export function warnAtMostEvery(logger: Logger, intervalMs = 10_000): (fields: object, message: string) => void {
  const gate = atMostEvery(intervalMs);
  return (fields, message) => {
    let warned = false;
    gate(() => {
      warned = true;
      logger.warn(fields, message);
    });
    if (!warned) logger.debug(fields, message);
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

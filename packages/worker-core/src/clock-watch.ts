import { clockSkewed, describeOffset, readClockOffset, CLOCK_SKEW_WARN_MS, type RedisClient } from "@herd/redis";
import { coerceError, type Logger } from "@herd/logger";

/** How often a worker compares its clock with Redis's: clocks drift over hours, not seconds. */
const CLOCK_READ_INTERVAL_MS = 60_000;

/**
 * This worker's clock against Redis's, read now and then, for the heartbeat (`clockOffsetMs`, so
 * `herd doctor` and /v1/fleet show every worker's) and for one warning when it drifts beyond
 * CLOCK_SKEW_WARN_MS: BullMQ's retry delays and Herd's queue-wait timings compare timestamps of
 * different processes, which only works while their machines agree on the time.
 */
export class ClockWatch {
  #reading: { offsetMs: number } | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #skewed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly intervalMs = CLOCK_READ_INTERVAL_MS,
  ) {}

  /** The last reading, rounded; undefined until one succeeded. */
  get offsetMs(): number | undefined {
    return this.#reading === undefined ? undefined : Math.round(this.#reading.offsetMs);
  }

  /** Reads the clock again once the interval has passed since the last attempt. */
  async refresh(): Promise<void> {
    if (performance.now() - this.#readAt < this.intervalMs) return;
    this.#readAt = performance.now();
    let reading;
    try {
      reading = await readClockOffset(this.redis);
    } catch (error) {
      // Redis is away: the heartbeat that follows fails too, and says so.
      this.logger.debug({ err: coerceError(error) }, "could not compare this machine's clock with Redis's");
      return;
    }
    this.#reading = reading;
    const skewed = clockSkewed(reading);
    if (skewed && !this.#skewed) {
      this.logger.warn(
        { clockOffsetMs: Math.round(reading.offsetMs), limitMs: CLOCK_SKEW_WARN_MS },
        `this machine's clock is ${describeOffset(reading.offsetMs)}: retry delays and queue-wait timings compare clocks of different machines; keep them in sync (NTP)`,
      );
    } else if (!skewed && this.#skewed) {
      this.logger.info({ clockOffsetMs: Math.round(reading.offsetMs) }, "this machine's clock agrees with Redis's again");
    }
    this.#skewed = skewed;
  }
}

import type { Queue } from "bullmq";

/** What QueueDepth needs of a BullMQ Queue. */
export type CountedQueue = Pick<Queue, "name" | "getJobCountByTypes">;

interface Reading {
  count: number;
  /** When `count` was read from Redis (0: never, or the last refresh failed). */
  at: number;
  refreshing: Promise<number> | undefined;
}

/**
 * Approximate number of jobs waiting per queue, for backpressure. Reading Redis on every submit
 * would add a round trip to every request, so a reading is reused for `maxAgeMs` and bumped by
 * this process's own adds in between (it over-counts rather than under-counts). Other API
 * processes' adds show up at the next refresh.
 *
 * Once a reading is older than `maxAgeMs` it is refreshed in the background while requests go on
 * with it, up to `maxStaleMs`; only a reading older than that (or none, or one whose refresh
 * failed) makes the request wait for Redis, so a Redis outage still reaches the client as 503.
 */
export class QueueDepth {
  readonly #readings = new Map<string, Reading>();

  constructor(
    private readonly maxAgeMs = 100,
    private readonly maxStaleMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  async waiting(queue: CountedQueue): Promise<number> {
    let reading = this.#readings.get(queue.name);
    if (!reading) {
      reading = { count: 0, at: 0, refreshing: undefined };
      this.#readings.set(queue.name, reading);
    }
    const age = this.now() - reading.at;
    if (age <= this.maxAgeMs) return reading.count;
    const refresh = this.#refresh(queue, reading);
    if (age <= this.maxStaleMs) {
      // The failure is not lost: `at` is reset, so the next request waits for Redis and hears it.
      refresh.catch(() => undefined);
      return reading.count;
    }
    return refresh;
  }

  /** Reads the count unless a read is already on its way (then shares it). */
  #refresh(queue: CountedQueue, reading: Reading): Promise<number> {
    reading.refreshing ??= queue
      .getJobCountByTypes("waiting", "prioritized")
      .then(
        (count) => {
          reading.count = count;
          reading.at = this.now();
          return count;
        },
        (error: unknown) => {
          reading.at = 0;
          throw error;
        },
      )
      .finally(() => {
        reading.refreshing = undefined;
      });
    return reading.refreshing;
  }

  added(queue: CountedQueue): void {
    const reading = this.#readings.get(queue.name);
    if (reading) reading.count += 1;
  }
}

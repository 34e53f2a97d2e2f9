import type { Queue } from "bullmq";

interface Reading {
  count: number;
  at: number;
  refreshing: Promise<number> | undefined;
}

/**
 * Approximate number of jobs waiting per queue, for backpressure. Reading Redis on every submit
 * would add a command to the cache-hit path, so a reading is reused for `maxAgeMs` and bumped by
 * this process's own adds in between (it over-counts rather than under-counts). Other API
 * processes' adds show up at the next refresh.
 */
export class QueueDepth {
  readonly #readings = new Map<string, Reading>();

  constructor(private readonly maxAgeMs = 100) {}

  async waiting(queue: Queue): Promise<number> {
    let reading = this.#readings.get(queue.name);
    if (!reading) {
      reading = { count: 0, at: 0, refreshing: undefined };
      this.#readings.set(queue.name, reading);
    }
    if (Date.now() - reading.at <= this.maxAgeMs) return reading.count;
    const current = reading;
    current.refreshing ??= queue
      .getJobCountByTypes("waiting", "prioritized")
      .then((count) => {
        current.count = count;
        current.at = Date.now();
        return count;
      })
      .finally(() => {
        current.refreshing = undefined;
      });
    return current.refreshing;
  }

  added(queue: Queue): void {
    const reading = this.#readings.get(queue.name);
    if (reading) reading.count += 1;
  }
}

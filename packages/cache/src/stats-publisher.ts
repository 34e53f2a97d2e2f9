import { execAll, type RedisClient } from "@herd/redis";
import { atMostEvery, coerceError, type Logger } from "@herd/logger";
import { CACHE_LAYERS, type HerdCache } from "./cache.js";

const COUNTERS = ["hits", "misses", "errors"] as const;

/**
 * Adds this process's cache counters to fleet-wide totals in Redis (one hash, HINCRBY of what
 * changed since the last flush), so the stats endpoint shows every API and worker process
 * together. Totals survive restarts; a process that dies loses at most one interval of counts.
 */
export class CacheStatsPublisher {
  readonly #flushed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  readonly #errorLog = atMostEvery(60_000);

  constructor(
    private readonly cache: HerdCache,
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly logger: Logger,
    private readonly intervalMs = 2000,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.#timer.unref();
  }

  async flush(): Promise<void> {
    const stats = this.cache.stats();
    const deltas: Array<[string, number]> = [];
    for (const layer of CACHE_LAYERS) {
      for (const counter of COUNTERS) {
        const field = `${layer}:${counter}`;
        const delta = stats[layer][counter] - (this.#flushed.get(field) ?? 0);
        if (delta > 0) deltas.push([field, delta]);
      }
    }
    if (deltas.length === 0) return;
    try {
      const pipeline = this.redis.pipeline();
      for (const [field, delta] of deltas) pipeline.hincrby(this.key, field, delta);
      await execAll(pipeline);
      for (const [field, delta] of deltas) this.#flushed.set(field, (this.#flushed.get(field) ?? 0) + delta);
    } catch (error) {
      // The counts stay pending and go out with the next flush.
      this.#errorLog(() => this.logger.warn({ err: coerceError(error) }, "could not publish cache statistics; will retry"));
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

/** Fleet-wide totals per layer, as published by every process. */
export async function readCacheTotals(redis: RedisClient, key: string): Promise<Record<(typeof CACHE_LAYERS)[number], { hits: number; misses: number; errors: number }>> {
  const raw = await redis.hgetall(key);
  const value = (field: string) => Number(raw[field] ?? 0);
  return Object.fromEntries(
    CACHE_LAYERS.map((layer) => [layer, { hits: value(`${layer}:hits`), misses: value(`${layer}:misses`), errors: value(`${layer}:errors`) }]),
  ) as Record<(typeof CACHE_LAYERS)[number], { hits: number; misses: number; errors: number }>;
}

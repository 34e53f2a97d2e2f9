import type { Redis } from "ioredis";
import { herdKeys } from "@herd/jobs";
import { coerceError, type Logger } from "@herd/logger";

export const CACHE_LAYERS = ["embedding", "inference", "chunk"] as const;
export type CacheLayer = (typeof CACHE_LAYERS)[number];

export interface LayerStats {
  enabled: boolean;
  ttlSeconds: number;
  hits: number;
  misses: number;
  errors: number;
}

export interface CacheOptions {
  /** The cache Redis (an LRU-configured one in production; the queue Redis by default). */
  redis: Redis;
  prefix: string;
  /** TTL per layer in seconds; 0 disables the layer. */
  ttlSeconds: Record<CacheLayer, number>;
  logger: Logger;
}

const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Three cache layers in Redis. A cache failure is never the request's failure: lookups that
 * fail are misses and writes that fail are dropped, each logged (rate-limited) and counted.
 */
export class HerdCache {
  readonly #redis: Redis;
  readonly #keys: ReturnType<typeof herdKeys>;
  readonly #ttl: Record<CacheLayer, number>;
  readonly #logger: Logger;
  readonly #stats: Record<CacheLayer, LayerStats>;
  #lastErrorLog = 0;

  constructor(options: CacheOptions) {
    this.#redis = options.redis;
    this.#keys = herdKeys(options.prefix);
    this.#ttl = options.ttlSeconds;
    this.#logger = options.logger;
    this.#stats = Object.fromEntries(
      CACHE_LAYERS.map((layer) => [layer, { enabled: options.ttlSeconds[layer] > 0, ttlSeconds: options.ttlSeconds[layer], hits: 0, misses: 0, errors: 0 }]),
    ) as Record<CacheLayer, LayerStats>;
  }

  enabled(layer: CacheLayer): boolean {
    return this.#ttl[layer] > 0;
  }

  key(layer: CacheLayer, hash: string): string {
    return this.#keys.cache(layer, hash);
  }

  /** Values in order, `null` for a miss. A disabled layer or a Redis error answers all misses. */
  async getMany(layer: CacheLayer, hashes: readonly string[]): Promise<Array<string | null>> {
    if (!this.enabled(layer) || hashes.length === 0) return hashes.map(() => null);
    try {
      const values = await this.#redis.mget(hashes.map((hash) => this.key(layer, hash)));
      let hits = 0;
      for (const value of values) if (value !== null) hits += 1;
      this.#stats[layer].hits += hits;
      this.#stats[layer].misses += values.length - hits;
      return values;
    } catch (error) {
      this.#recordError(layer, "read", error);
      this.#stats[layer].misses += hashes.length;
      return hashes.map(() => null);
    }
  }

  async get(layer: CacheLayer, hash: string): Promise<string | null> {
    const [value] = await this.getMany(layer, [hash]);
    return value ?? null;
  }

  /** Stores values with the layer's TTL. Never throws. */
  async setMany(layer: CacheLayer, entries: ReadonlyArray<readonly [hash: string, value: string]>): Promise<void> {
    if (!this.enabled(layer) || entries.length === 0) return;
    const ttl = this.#ttl[layer];
    try {
      const pipeline = this.#redis.pipeline();
      for (const [hash, value] of entries) pipeline.set(this.key(layer, hash), value, "EX", ttl);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed?.[0]) throw failed[0];
    } catch (error) {
      this.#recordError(layer, "write", error);
    }
  }

  async set(layer: CacheLayer, hash: string, value: string): Promise<void> {
    await this.setMany(layer, [[hash, value]]);
  }

  /** Approximate number of keys of a layer (SCAN-based, bounded); for stats pages, not hot paths. */
  async approximateKeys(layer: CacheLayer, maxScan = 10_000): Promise<number | undefined> {
    try {
      let cursor = "0";
      let count = 0;
      let scanned = 0;
      do {
        const [next, keys] = await this.#redis.scan(cursor, "MATCH", `${this.key(layer, "")}*`, "COUNT", 1000);
        cursor = next;
        count += keys.length;
        scanned += 1000;
      } while (cursor !== "0" && scanned < maxScan);
      return count;
    } catch (error) {
      this.#recordError(layer, "read", error);
      return undefined;
    }
  }

  stats(): Record<CacheLayer, LayerStats> {
    return Object.fromEntries(CACHE_LAYERS.map((layer) => [layer, { ...this.#stats[layer] }])) as Record<CacheLayer, LayerStats>;
  }

  #recordError(layer: CacheLayer, operation: "read" | "write", error: unknown): void {
    this.#stats[layer].errors += 1;
    const now = Date.now();
    if (now - this.#lastErrorLog >= ERROR_LOG_INTERVAL_MS) {
      this.#lastErrorLog = now;
      this.#logger.warn({ err: coerceError(error), layer, operation }, "cache unavailable; serving without it");
    }
  }
}

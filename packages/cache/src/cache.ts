import { execAll, writeTogether, type RedisClient } from "@herd/redis";
import { LRUCache } from "lru-cache";
import { herdKeys } from "@herd/jobs";
import { atMostEvery, coerceError, type Logger } from "@herd/logger";

export const CACHE_LAYERS = ["embedding", "inference", "chunk"] as const;
export type CacheLayer = (typeof CACHE_LAYERS)[number];

export interface LayerStats {
  enabled: boolean;
  ttlSeconds: number;
  hits: number;
  /** Hits answered from this process's memory without asking Redis (included in `hits`). */
  memoryHits: number;
  misses: number;
  errors: number;
}

export interface MemoryTier {
  /** Bytes of values kept in process memory; 0 turns the tier off. */
  maxBytes: number;
  /** How long a value stays in memory (never longer than the layer's TTL). */
  ttlMs: number;
}

export interface CacheOptions {
  /** The cache Redis (an LRU-configured one in production; the queue Redis by default). */
  redis: RedisClient;
  prefix: string;
  /** TTL per layer in seconds; 0 disables the layer. */
  ttlSeconds: Record<CacheLayer, number>;
  /** Small in-process tier in front of Redis for hot keys; values are immutable, so no invalidation. */
  memory?: MemoryTier;
  logger: Logger;
}

const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Three cache layers in Redis. A cache failure is never the request's failure: lookups that
 * fail are misses and writes that fail are dropped, each logged (rate-limited) and counted.
 */
export class HerdCache {
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof herdKeys>;
  readonly #ttl: Record<CacheLayer, number>;
  readonly #logger: Logger;
  readonly #stats: Record<CacheLayer, LayerStats>;
  readonly #memory: LRUCache<string, Buffer> | undefined;
  readonly #errorLog = atMostEvery(ERROR_LOG_INTERVAL_MS);

  constructor(options: CacheOptions) {
    this.#redis = options.redis;
    this.#keys = herdKeys(options.prefix);
    this.#ttl = options.ttlSeconds;
    this.#logger = options.logger;
    this.#stats = Object.fromEntries(
      CACHE_LAYERS.map((layer) => [layer, { enabled: options.ttlSeconds[layer] > 0, ttlSeconds: options.ttlSeconds[layer], hits: 0, memoryHits: 0, misses: 0, errors: 0 }]),
    ) as Record<CacheLayer, LayerStats>;
    const memory = options.memory;
    this.#memory =
      memory && memory.maxBytes > 0
        ? new LRUCache<string, Buffer>({ maxSize: memory.maxBytes, sizeCalculation: (value, key) => value.length + key.length, ttl: memory.ttlMs, ttlAutopurge: false })
        : undefined;
  }

  #memoryTtl(layer: CacheLayer): number {
    return Math.min(this.#ttl[layer] * 1000, this.#memoryTtlMs);
  }

  get #memoryTtlMs(): number {
    return this.#memory?.ttl ?? 0;
  }

  enabled(layer: CacheLayer): boolean {
    return this.#ttl[layer] > 0;
  }

  key(layer: CacheLayer, hash: string): string {
    return this.#keys.cache(layer, hash);
  }

  /** Values in order, `null` for a miss. A disabled layer or a Redis error answers all misses. */
  async getMany(layer: CacheLayer, hashes: readonly string[]): Promise<Array<string | null>> {
    return (await this.getManyBuffers(layer, hashes)).map((value) => (value === null ? null : value.toString("utf8")));
  }

  /**
   * Every value from the memory tier, synchronously, or undefined unless all are there. Lets the
   * hottest requests skip the asynchronous path entirely.
   */
  peekMemory(layer: CacheLayer, hashes: readonly string[]): Buffer[] | undefined {
    if (!this.#memory || !this.enabled(layer) || hashes.length === 0) return undefined;
    const values: Buffer[] = [];
    for (const hash of hashes) {
      const value = this.#memory.get(this.key(layer, hash));
      if (value === undefined) return undefined;
      values.push(value);
    }
    this.#stats[layer].hits += values.length;
    this.#stats[layer].memoryHits += values.length;
    return values;
  }

  /**
   * Like getMany, as raw bytes: a hit can be spliced into a response without decoding it. Hot
   * keys come from the memory tier; only the rest are asked of Redis.
   */
  async getManyBuffers(layer: CacheLayer, hashes: readonly string[]): Promise<Array<Buffer | null>> {
    if (!this.enabled(layer) || hashes.length === 0) return hashes.map(() => null);
    const stats = this.#stats[layer];
    const keys = hashes.map((hash) => this.key(layer, hash));
    const values: Array<Buffer | null> = keys.map((key) => this.#memory?.get(key) ?? null);
    const missing = keys.flatMap((key, index) => (values[index] === null ? [index] : []));
    stats.memoryHits += keys.length - missing.length;
    stats.hits += keys.length - missing.length;
    if (missing.length === 0) return values;
    try {
      const fetched = await this.#redis.mgetBuffer(missing.map((index) => keys[index] as string));
      fetched.forEach((value, i) => {
        const index = missing[i] as number;
        values[index] = value;
        if (value === null) stats.misses += 1;
        else {
          stats.hits += 1;
          this.#memory?.set(keys[index] as string, value, { ttl: this.#memoryTtl(layer) });
        }
      });
      return values;
    } catch (error) {
      this.#recordError(layer, "read", error);
      stats.misses += missing.length;
      return values;
    }
  }

  async get(layer: CacheLayer, hash: string): Promise<string | null> {
    const [value] = await this.getMany(layer, [hash]);
    return value ?? null;
  }

  /**
   * Holds the cache connection's writes until the end of this turn of the event loop, to leave in
   * one write (see writeTogether): a worker writes the cache's copy of a result with its reply.
   */
  writeTogether(): void {
    writeTogether(this.#redis);
  }

  /** Stores values with the layer's TTL. Never throws. */
  async setMany(layer: CacheLayer, entries: ReadonlyArray<readonly [hash: string, value: string]>): Promise<void> {
    if (!this.enabled(layer) || entries.length === 0) return;
    const ttl = this.#ttl[layer];
    try {
      const [only] = entries;
      let written: Promise<unknown>;
      if (entries.length === 1 && only) {
        // One value (every interactive job): a plain command, without building a pipeline.
        written = this.#redis.set(this.key(layer, only[0]), only[1], "EX", ttl);
      } else {
        const pipeline = this.#redis.pipeline();
        for (const [hash, value] of entries) pipeline.set(this.key(layer, hash), value, "EX", ttl);
        written = execAll(pipeline);
      }
      // After the command is issued: a worker writes this copy ahead of its reply (see storeResult).
      if (this.#memory) for (const [hash, value] of entries) this.#memory.set(this.key(layer, hash), Buffer.from(value), { ttl: this.#memoryTtl(layer) });
      await written;
    } catch (error) {
      this.#recordError(layer, "write", error);
    }
  }

  async set(layer: CacheLayer, hash: string, value: string): Promise<void> {
    await this.setMany(layer, [[hash, value]]);
  }

  /**
   * Keys of a layer: counted exactly by SCAN when the cache Redis is small, else estimated from
   * the share of matching keys in the first `maxScan` keys scanned times DBSIZE. Bounded work,
   * for stats pages only.
   */
  async approximateKeys(layer: CacheLayer, maxScan = 10_000): Promise<{ keys: number; exact: boolean } | undefined> {
    try {
      let cursor = "0";
      let matched = 0;
      let scanned = 0;
      const pattern = `${this.key(layer, "")}*`;
      do {
        // Without MATCH, so the keys examined are counted too (SCAN's COUNT is only a hint).
        const [next, keys] = await this.#redis.scan(cursor, "COUNT", 1000);
        cursor = next;
        scanned += keys.length;
        matched += keys.filter((key) => key.startsWith(pattern.slice(0, -1))).length;
      } while (cursor !== "0" && scanned < maxScan);
      if (cursor === "0") return { keys: matched, exact: true };
      const total = await this.#redis.dbsize();
      return { keys: Math.round((matched / Math.max(1, scanned)) * total), exact: false };
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
    this.#errorLog(() => this.#logger.warn({ err: coerceError(error), layer, operation }, "cache unavailable; serving without it"));
  }
}

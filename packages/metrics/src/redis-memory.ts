import { Gauge, type Registry } from "prom-client";
import { sharedPerScrape } from "./registry.js";

/** Gives a Redis's `INFO memory` text. */
export type RedisMemorySource = () => Promise<string>;

interface MemoryReading {
  redis: string;
  used: number;
  max: number;
}

function field(info: string, name: string): number | undefined {
  const value = new RegExp(`^${name}:(\\d+)\\s*$`, "m").exec(info)?.[1];
  return value === undefined ? undefined : Number(value);
}

async function read(redis: string, source: RedisMemorySource, timeoutMs: number): Promise<MemoryReading | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([source(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), timeoutMs)))]);
    const used = field(info, "used_memory");
    const max = field(info, "maxmemory");
    return used === undefined || max === undefined ? undefined : { redis, used, max };
  } catch {
    // An unreachable Redis shows in herd_dependency_up; its memory is simply not reported.
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Memory of each Redis (queue, cache) against its `maxmemory`, read with INFO on each scrape. The
 * queue Redis runs `noeviction`: at its limit it refuses writes, so new jobs answer 503
 * redis_out_of_memory and workers cannot store results. These gauges let an alert come first.
 */
export function redisMemoryMetrics(registry: Registry, sources: Readonly<Record<string, RedisMemorySource>>, timeoutMs = 1000): void {
  const readAll = sharedPerScrape(async () => (await Promise.all(Object.entries(sources).map(([redis, source]) => read(redis, source, timeoutMs)))).filter((reading) => reading !== undefined));
  const gauge = (name: string, help: string, value: (reading: MemoryReading) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["redis"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const reading of await readAll()) this.set({ redis: reading.redis }, value(reading));
      },
    });
  gauge("herd_redis_memory_used_bytes", "Memory the Redis uses (INFO used_memory), read on each scrape.", (reading) => reading.used);
  gauge("herd_redis_maxmemory_bytes", "The Redis's maxmemory setting (0: no limit), read on each scrape.", (reading) => reading.max);
}

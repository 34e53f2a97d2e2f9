import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

describe("fleet and cache stats endpoints", () => {
  let stack: Stack;
  // A cache Redis of its own (LRU, as production runs one): the key count below is exact whatever
  // else the shared test Redis holds.
  let cacheRedis: RedisServer;
  beforeAll(async () => {
    cacheRedis = await RedisServer.start(undefined, ["--maxmemory-policy", "allkeys-lru"]);
    stack = await Stack.start({ prefix: uniquePrefix("stats"), fleet: { instances: 2, preload: true, latency: { embedMs: 2 } }, env: { HERD_CACHE_REDIS_URL: cacheRedis.url } });
    await Promise.all(Array.from({ length: 6 }, (_, i) => stack.run({ type: "embed", model: "nomic-embed-text", input: `stats ${i}` })));
    expect((await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: "stats 0" })).body.cached).toBe(true);
  });
  afterAll(async () => {
    await stack?.close();
    await cacheRedis?.close();
  });

  it("GET /api/load-balancer-stats: per instance health, slots, in flight, counts, latency and last probe", async () => {
    const stats = await waitFor(async () => {
      const { body } = await stack.get("/api/load-balancer-stats");
      return body.totals.completed >= 6 ? body : undefined;
    }, { message: "heartbeats carrying the completed jobs" });
    expect(stats).toMatchObject({ strategy: "queue-pull", workers: 1, totals: { instances: 2, healthyInstances: 2, inFlight: 0, failed: 0 } });
    for (const instance of stats.instances) {
      expect(instance).toMatchObject({ name: expect.stringMatching(/^ollama-\d$/), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), healthy: true, lastProbe: { at: expect.any(String) } });
      expect(instance.models.map((model: { model: string }) => model.model)).toContain("nomic-embed-text:latest");
      expect(instance.slots).toBeGreaterThan(0);
    }
    const busy = stats.instances.filter((instance: { completed: number }) => instance.completed > 0);
    expect(busy.length).toBeGreaterThan(0);
    for (const instance of busy) expect(instance.latencyMs.p95).toBeGreaterThanOrEqual(instance.latencyMs.mean * 0.5);
  });

  it("GET /api/advanced-cache-stats: fleet-wide hits, misses, hit rate, TTL and keys per layer", async () => {
    const stats = await waitFor(async () => {
      const { body } = await stack.get("/api/advanced-cache-stats");
      return body.layers.embedding.hits >= 1 && body.layers.embedding.misses >= 6 ? body : undefined;
    }, { timeoutMs: 10_000, message: "published cache counters" });
    expect(stats.layers.embedding).toMatchObject({ enabled: true, ttlSeconds: 7 * 86_400, errors: 0, approximateKeys: 6, keysExact: true });
    expect(stats.layers.embedding.hitRate).toBeCloseTo(stats.layers.embedding.hits / (stats.layers.embedding.hits + stats.layers.embedding.misses), 3);
    expect(stats.layers.inference).toMatchObject({ enabled: true, ttlSeconds: 86_400, hits: 0, hitRate: null });
    expect(stats.layers.chunk).toMatchObject({ ttlSeconds: 30 * 86_400 });
  });

  it("GET /api/ollama-health probes every instance now, and shows one that stopped answering", async () => {
    const healthy = (await stack.get("/api/ollama-health")).body;
    expect(healthy.healthy).toBe(true);
    expect(healthy.instances).toHaveLength(2);
    for (const instance of healthy.instances) expect(instance).toMatchObject({ healthy: true, version: expect.any(String), latencyMs: expect.any(Number), pulling: true });
    const victim = stack.fleet.instances[1];
    await victim?.setFault({ mode: "refuse", rate: 1, factor: 10, status: 500, scope: "all" });
    try {
      const report = (await stack.get("/api/ollama-health")).body;
      expect(report.healthy).toBe(false);
      const down = report.instances.find((instance: { url: string }) => instance.url === victim?.url);
      expect(down).toMatchObject({ healthy: false, error: expect.stringMatching(/^connection/) });
    } finally {
      await victim?.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
  });
});

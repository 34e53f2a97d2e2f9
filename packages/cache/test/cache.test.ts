import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@herd/logger";
import { Redis } from "ioredis";
import { deletePrefix, freePort, testRedis, uniquePrefix } from "@herd/testing";
import { HerdCache, chunkCacheKey, embeddingCacheKey, inferenceCacheKey, isCacheableGeneration } from "../src/index.js";

describe("HerdCache on real Redis", () => {
  const prefix = uniquePrefix("cache");
  let redis: Redis;
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("stores per layer with the layer's TTL and counts hits and misses", async () => {
    const cache = new HerdCache({ redis, prefix, ttlSeconds: { embedding: 600, inference: 60, chunk: 0 }, logger: silentLogger() });
    await cache.setMany("embedding", [["k1", "[1,2]"]]);
    expect(await cache.getMany("embedding", ["k1", "k2"])).toEqual(["[1,2]", null]);
    const ttl = await redis.ttl(cache.key("embedding", "k1"));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(cache.stats().embedding).toMatchObject({ hits: 1, misses: 1, errors: 0, enabled: true });
  });

  it("treats a disabled layer as always missing and never writes it", async () => {
    const cache = new HerdCache({ redis, prefix, ttlSeconds: { embedding: 600, inference: 60, chunk: 0 }, logger: silentLogger() });
    await cache.set("chunk", "c1", "x");
    expect(await redis.exists(cache.key("chunk", "c1"))).toBe(0);
    expect(await cache.get("chunk", "c1")).toBeNull();
    expect(cache.stats().chunk.enabled).toBe(false);
  });

  it("never fails a caller when the cache Redis is down: it misses and counts errors", async () => {
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    dead.on("error", () => undefined);
    const cache = new HerdCache({ redis: dead, prefix, ttlSeconds: { embedding: 600, inference: 60, chunk: 60 }, logger: silentLogger() });
    expect(await cache.getMany("embedding", ["a", "b"])).toEqual([null, null]);
    await expect(cache.set("inference", "a", "{}")).resolves.toBeUndefined();
    expect(cache.stats().embedding).toMatchObject({ errors: 1, misses: 2 });
    expect(cache.stats().inference.errors).toBe(1);
    dead.disconnect();
  });
});

describe("cache keys", () => {
  it("change with everything that changes the output", () => {
    const base = { model: "m:latest", text: "hello" };
    const key = embeddingCacheKey(base);
    expect(embeddingCacheKey({ ...base })).toBe(key);
    expect(embeddingCacheKey({ ...base, dimensions: 64 })).not.toBe(key);
    expect(embeddingCacheKey({ ...base, truncate: false })).not.toBe(key);
    expect(embeddingCacheKey({ ...base, options: { num_ctx: 512 } })).not.toBe(key);
    expect(embeddingCacheKey({ ...base, model: "other:latest" })).not.toBe(key);
    const generation = { model: "m:latest", mode: "generate" as const, prompt: "p", options: { temperature: 0, seed: 1 } };
    expect(inferenceCacheKey(generation)).toBe(inferenceCacheKey({ ...generation, options: { seed: 1, temperature: 0 } }));
    expect(inferenceCacheKey(generation)).not.toBe(inferenceCacheKey({ ...generation, system: "s" }));
    // Tools change a chat's answer, so its key; a chat without tools keeps the key it had before tools existed.
    const chat = { model: "m:latest", mode: "chat" as const, messages: [{ role: "user" as const, content: "hi" }], options: { temperature: 0 } };
    const tool = { type: "function" as const, function: { name: "f", parameters: { type: "object" } } };
    expect(inferenceCacheKey(chat)).toBe("70cc348746a810fb74321b34975837f76e886e9651223bee9053757067beb445");
    expect(inferenceCacheKey({ ...chat, tools: [] })).toBe(inferenceCacheKey(chat));
    expect(inferenceCacheKey({ ...chat, tools: [tool] })).not.toBe(inferenceCacheKey(chat));
    expect(inferenceCacheKey({ ...chat, tools: [tool] })).not.toBe(inferenceCacheKey({ ...chat, tools: [{ ...tool, function: { ...tool.function, name: "g" } }] }));
    // So does think: on, off (a thinking model's default may be either) and each level apart.
    const thinkKeys = [undefined, true, false, "low", "high"].map((think) => inferenceCacheKey({ ...chat, ...(think !== undefined ? { think: think as boolean | "low" | "high" } : {}) }));
    expect(new Set(thinkKeys).size).toBe(5);
    // And images: a prompt's and a message's, each image and their order; none keeps the old key.
    expect(inferenceCacheKey({ ...generation, images: [] })).toBe(inferenceCacheKey(generation));
    const imageKeys = [["AAAA"], ["AAAB"], ["AAAA", "AAAB"], ["AAAB", "AAAA"]].map((images) => inferenceCacheKey({ ...generation, images }));
    expect(new Set([...imageKeys, inferenceCacheKey(generation)]).size).toBe(5);
    expect(inferenceCacheKey({ ...chat, messages: [{ ...chat.messages[0]!, images: ["AAAA"] }] })).not.toBe(inferenceCacheKey(chat));
    // A suffix (fill-in-the-middle) and raw: each suffix apart, raw apart; without them, the key of before they existed.
    expect(inferenceCacheKey(generation)).toBe("cb2427bb4bf8611ee34d7a2286c70606fbd507b0209255894a9048be21663ad1");
    const fimKeys = [{ suffix: "a" }, { suffix: "b" }, { raw: true as const }, { suffix: "a", raw: true as const }].map((extra) => inferenceCacheKey({ ...generation, ...extra }));
    expect(new Set([...fimKeys, inferenceCacheKey(generation)]).size).toBe(5);
    // truncate and shift turned off change the answer (a refusal, a shorter one): keys of their own.
    const windowKeys = [{ truncate: false as const }, { shift: false as const }, { truncate: false as const, shift: false as const }].map((extra) => inferenceCacheKey({ ...chat, ...extra }));
    expect(new Set([...windowKeys, inferenceCacheKey(chat)]).size).toBe(4);
    // A NUL inside a suffix does not pass for the separator before the raw part.
    expect(inferenceCacheKey({ ...generation, suffix: "a\u0000raw" })).not.toBe(inferenceCacheKey({ ...generation, suffix: "a", raw: true }));
  });

  it("keep scopes (tenants) apart, and a scoped key never equals an unscoped one", () => {
    const base = { model: "m:latest", text: "hello" };
    const a = embeddingCacheKey({ ...base, scope: "team-a" });
    expect(embeddingCacheKey({ ...base, scope: "team-a" })).toBe(a);
    expect(embeddingCacheKey({ ...base, scope: "team-b" })).not.toBe(a);
    expect(embeddingCacheKey(base)).not.toBe(a);
    // Unscoped keys are those of earlier versions: upgrading with a shared cache keeps its entries.
    expect(embeddingCacheKey(base)).toBe(embeddingCacheKey({ ...base, scope: undefined }));
    const generation = { model: "m:latest", mode: "generate" as const, prompt: "p" };
    expect(inferenceCacheKey({ ...generation, scope: "team-a" })).not.toBe(inferenceCacheKey({ ...generation, scope: "team-b" }));
    expect(inferenceCacheKey({ ...generation, scope: "team-a" })).not.toBe(inferenceCacheKey(generation));
    expect(chunkCacheKey("c0ffee", undefined)).toBe("c0ffee");
    expect(chunkCacheKey("c0ffee", "team-a")).not.toBe(chunkCacheKey("c0ffee", "team-b"));
  });

  it("cache generations only when deterministic unless told otherwise", () => {
    expect(isCacheableGeneration(undefined, undefined)).toBe(false);
    expect(isCacheableGeneration({ temperature: 0.7 }, undefined)).toBe(false);
    expect(isCacheableGeneration({ temperature: 0 }, undefined)).toBe(true);
    expect(isCacheableGeneration({ seed: 42 }, undefined)).toBe(true);
    expect(isCacheableGeneration({ temperature: 0 }, false)).toBe(false);
    expect(isCacheableGeneration({ temperature: 1 }, true)).toBe(true);
  });
});

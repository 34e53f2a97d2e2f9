import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deletePrefix, RedisServer, testRedis, uniquePrefix } from "@herd/testing";
import { causeOfAbort, execAll, isOutOfMemory } from "../src/index.js";

/** ioredis resolves exec() with each command's error beside it; execAll must not let one pass. */
describe("execAll on real Redis", () => {
  const prefix = uniquePrefix("exec-all");
  const redis = testRedis();
  const text = `{${prefix}}:text`;
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("gives each command's reply in order", async () => {
    await redis.set(text, "a");
    expect(await execAll(redis.pipeline().get(text).strlen(text).exists(`{${prefix}}:missing`))).toEqual(["a", 1, 0]);
    expect(await execAll(redis.multi().append(text, "b").get(text))).toEqual([2, "ab"]);
  });

  it("throws the error of a command that failed in a pipeline or a MULTI, which exec() itself resolves", async () => {
    await redis.set(text, "a");
    // What the callers used to see: the failure tucked in the results, the other reply intact.
    const raw = await redis.multi().zrange(text, 0, -1).get(text).exec();
    expect(raw?.[0]?.[0]).toBeInstanceOf(Error);
    expect(raw?.[1]).toEqual([null, "a"]);
    await expect(execAll(redis.multi().zrange(text, 0, -1).get(text))).rejects.toThrow(/^WRONGTYPE/);
    await expect(execAll(redis.pipeline().get(text).hset(text, "field", "1"))).rejects.toThrow(/^WRONGTYPE/);
  });
});

/** A MULTI refused while queueing fails as EXECABORT; callers must see why (out of memory here). */
describe("execAll and isOutOfMemory when Redis is full", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
    await redis.set("held", "x".repeat(1000));
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  it("throws the OOM refusal itself, not EXECABORT, for a MULTI; isOutOfMemory knows both", async () => {
    await redis.config("SET", "maxmemory", "1");
    try {
      const raw = await redis.multi().set("a", "1").set("b", "2").exec().catch((error: unknown) => error);
      expect(raw).toBeInstanceOf(Error);
      expect((raw as Error).message).toMatch(/^EXECABORT /);
      expect(isOutOfMemory(raw)).toBe(true);
      const thrown = await execAll(redis.multi().set("a", "1").set("b", "2")).catch((error: unknown) => error);
      expect((thrown as Error).message).toMatch(/^OOM /);
      expect(isOutOfMemory(thrown)).toBe(true);
      await expect(execAll(redis.pipeline().set("a", "1"))).rejects.toThrow(/^OOM /);
    } finally {
      await redis.config("SET", "maxmemory", "0");
    }
    expect(await execAll(redis.multi().set("a", "1").get("a"))).toEqual(["OK", "1"]);
  });

  it("leaves other failures of a MULTI as they are", () => {
    expect(causeOfAbort(new Error("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBeInstanceOf(Error);
    const aborted = Object.assign(new Error("EXECABORT Transaction discarded because of previous errors."), { previousErrors: [] });
    expect(causeOfAbort(aborted)).toBe(aborted);
    expect(isOutOfMemory(aborted)).toBe(false);
  });
});

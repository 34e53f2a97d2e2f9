import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { countSocketWrites, deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { Redis } from "ioredis";
import { writeTogether } from "../src/index.js";

describe("writeTogether on real Redis", () => {
  const prefix = uniquePrefix("write-together");
  let redis: Redis;
  beforeAll(async () => {
    redis = testRedis();
    await redis.ping();
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("sends the commands of one event-loop turn in one socket write, in order", async () => {
    const key = `{${prefix}}:a`;
    const writes = countSocketWrites(redis);
    try {
      writeTogether(redis);
      writeTogether(redis); // A second call in the same turn changes nothing.
      const results = Promise.all([redis.set(key, "1"), redis.incr(key), redis.get(key)]);
      // Even a command issued after a few awaits (as BullMQ's completion is) joins the batch.
      await Promise.resolve();
      await Promise.resolve();
      const late = redis.incr(key);
      expect(await results).toEqual(["OK", 2, "2"]);
      expect(await late).toBe(3);
      expect(writes.counts.single).toBe(0);
      expect(writes.counts.batched).toEqual([4]);
      expect((redis.stream as Socket).writableCorked).toBe(0);
    } finally {
      writes.restore();
    }
    // Later turns write as usual.
    expect(await redis.incr(key)).toBe(4);
  });

  it("does nothing to a client that is not connected (its commands wait in the offline queue)", async () => {
    const client = new Redis({ port: redis.options.port ?? 6379, host: redis.options.host ?? "127.0.0.1", lazyConnect: true });
    try {
      writeTogether(client);
      expect(client.status).toBe("wait");
      const key = `{${prefix}}:b`;
      expect(await client.set(key, "x")).toBe("OK");
      expect(await client.get(key)).toBe("x");
    } finally {
      client.disconnect();
    }
  });
});

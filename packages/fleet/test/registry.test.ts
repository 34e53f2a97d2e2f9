import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer } from "@herd/testing";
import { FleetRegistry, type WorkerHeartbeat } from "../src/index.js";

function heartbeat(updatedAt: string): WorkerHeartbeat {
  return { workerId: "w1", host: "gpu-box", pid: 1, startedAt: "2026-12-05T00:00:00.000Z", updatedAt, instances: [] };
}

/** A full Redis refuses ordinary writes; a worker's heartbeat must still get through. */
describe("FleetRegistry while the queue Redis is out of memory", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  it("publishes the heartbeat anyway, lists the fleet and lets a worker leave it", async () => {
    const registry = new FleetRegistry(redis, "fleet-oom");
    await registry.publish(heartbeat("2026-12-05T00:00:01.000Z"), 60_000);
    await redis.config("SET", "maxmemory", "1");
    try {
      // The condition holds: a plain write is refused.
      await expect(redis.set("other", "x")).rejects.toThrow(/^OOM /);
      await registry.publish(heartbeat("2026-12-05T00:00:02.000Z"), 60_000);
      const listed = await registry.list();
      expect(listed.map((entry) => entry.updatedAt)).toEqual(["2026-12-05T00:00:02.000Z"]);
      // And a worker that shuts down meanwhile leaves the fleet.
      await registry.remove("w1");
      expect(await registry.list()).toEqual([]);
    } finally {
      await redis.config("SET", "maxmemory", "0");
    }
  });
});

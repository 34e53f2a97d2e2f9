import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { deletePrefix, RedisServer, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { herdKeys } from "@herd/jobs";
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
      await registry.leave(heartbeat("2026-12-05T00:00:02.000Z"));
      expect(await registry.list()).toEqual([]);
    } finally {
      await redis.config("SET", "maxmemory", "0");
    }
  });
});

/**
 * Workers and the API run on different machines, whose clocks differ: a process's clock must not
 * decide whether a heartbeat has lapsed (here a clock is skewed in this process around one call).
 */
describe("FleetRegistry across machines whose clocks differ", () => {
  const prefix = uniquePrefix("fleet-clocks");
  const redis = testRedis();
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  /** Runs `call` while this process's clock is `offsetMs` off. */
  async function withClockOff<T>(offsetMs: number, call: () => Promise<T>): Promise<T> {
    const realNow = Date.now.bind(Date);
    const spy = vi.spyOn(Date, "now").mockImplementation(() => realNow() + offsetMs);
    try {
      return await call();
    } finally {
      spy.mockRestore();
    }
  }

  it("keeps a live worker in the fleet when the worker's clock lags the API's, or the API's runs ahead, by more than the heartbeat's lifetime", async () => {
    const registry = new FleetRegistry(redis, prefix);
    await withClockOff(-60_000, () => registry.publish(heartbeat("2026-12-05T00:00:01.000Z"), 6000));
    expect((await registry.list()).map((entry) => entry.workerId)).toEqual(["w1"]);
    await registry.publish(heartbeat("2026-12-05T00:00:02.000Z"), 6000);
    expect((await withClockOff(60_000, () => registry.list())).map((entry) => entry.updatedAt)).toEqual(["2026-12-05T00:00:02.000Z"]);
    await registry.leave(heartbeat("2026-12-05T00:00:02.000Z"));
  });

  it("drops a worker whose heartbeat lapsed from the fleet's index even when the worker's clock ran ahead", async () => {
    const registry = new FleetRegistry(redis, prefix);
    const index = herdKeys(prefix).workers;
    await withClockOff(60_000, () => registry.publish(heartbeat("2026-12-05T00:00:03.000Z"), 300));
    expect(await redis.zcard(index)).toBe(1);
    // The worker stopped: once its heartbeat lapsed on Redis's clock, listing removes its entry.
    await waitFor(async () => (await registry.list()).length === 0 && (await redis.zcard(index)) === 0, { timeoutMs: 5000, message: "the lapsed worker's index entry to be pruned" });
  });
});

/** Two worker processes given one id (a copied HERD_WORKER_ID, or two `herd start`s of old). */
describe("FleetRegistry with two runs under one worker id", () => {
  const prefix = uniquePrefix("fleet-shared-id");
  const redis = testRedis();
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const run = (pid: number): WorkerHeartbeat => ({ ...heartbeat("2026-12-05T00:00:01.000Z"), pid });

  it("says whose heartbeat each one replaced, and a leaving run takes only its own out of the fleet", async () => {
    const registry = new FleetRegistry(redis, prefix);
    expect(await registry.publish(run(1), 60_000)).toBeUndefined();
    expect(await registry.publish(run(1), 60_000)).toMatchObject({ workerId: "w1", pid: 1 });
    expect(await registry.publish(run(2), 60_000)).toMatchObject({ workerId: "w1", pid: 1, host: "gpu-box" });
    // Run 1 leaves while run 2's heartbeat is the one published: run 2 stays in the fleet.
    await registry.leave(run(1));
    expect((await registry.list()).map((entry) => entry.pid)).toEqual([2]);
    await registry.leave(run(2));
    expect(await registry.list()).toEqual([]);
    expect(await redis.zrange(herdKeys(prefix).workers, 0, -1)).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { RedisClusterServer, RedisServer } from "@herd/testing";
import { redisFailure } from "../src/errors.js";

/** Redis's own refusals, from a real redis-server, and the answer the API gives each. */
describe("redisFailure on real Redis replies", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start(undefined, ["--appendonly", "no"]);
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  const refusal = (command: Promise<unknown>) => command.then(() => expect.unreachable("Redis accepted the write"), (error: unknown) => error);

  it("out of memory under noeviction: 503 redis_out_of_memory with Retry-After", async () => {
    await redis.config("SET", "maxmemory", "1");
    try {
      const error = await refusal(redis.set("herd-test:key", "value"));
      expect(redisFailure(error)).toMatchObject({ status: 503, code: "redis_out_of_memory", extra: { headers: { "Retry-After": "5" } } });
    } finally {
      await redis.config("SET", "maxmemory", "0");
    }
  });

  it("a read-only replica (a primary demoted by a failover): 503 redis_unavailable", async () => {
    // A replica of a primary that does not exist: it serves reads and refuses writes.
    await redis.replicaof("127.0.0.1", "1");
    try {
      const error = await refusal(redis.set("herd-test:key", "value"));
      expect((error as Error).message).toMatch(/^READONLY /);
      expect(redisFailure(error)).toMatchObject({ status: 503, code: "redis_unavailable" });
    } finally {
      await redis.replicaof("NO", "ONE");
    }
  });

  it("too few replicas for min-replicas-to-write: 503 redis_unavailable", async () => {
    await redis.config("SET", "min-replicas-to-write", "1");
    try {
      const error = await refusal(redis.set("herd-test:key", "value"));
      expect((error as Error).message).toMatch(/^NOREPLICAS /);
      expect(redisFailure(error)).toMatchObject({ status: 503, code: "redis_unavailable" });
    } finally {
      await redis.config("SET", "min-replicas-to-write", "0");
    }
  });

  it("a replica cut off from its primary that serves no stale data: 503 redis_unavailable", async () => {
    await redis.config("SET", "replica-serve-stale-data", "no");
    await redis.replicaof("127.0.0.1", "1");
    try {
      const error = await refusal(redis.get("herd-test:key"));
      expect((error as Error).message).toMatch(/^MASTERDOWN /);
      expect(redisFailure(error)).toMatchObject({ status: 503, code: "redis_unavailable" });
    } finally {
      await redis.replicaof("NO", "ONE");
      await redis.config("SET", "replica-serve-stale-data", "yes");
    }
  });

  it("anything else is a bug, not the deployment's state: no mapping (the API answers 500 and logs it)", async () => {
    await redis.set("herd-test:text", "a");
    const error = await refusal(redis.zadd("herd-test:text", 1, "m"));
    expect((error as Error).message).toMatch(/^WRONGTYPE /);
    expect(redisFailure(error)).toBeUndefined();
  });
});

/**
 * A cluster node answers MOVED for a key another node owns. ioredis follows it for a lone command,
 * but not inside a pipeline once one of its commands succeeded (see waitForReplicas): a slot that
 * moved during a failover then reaches the route as this reply.
 */
describe("redisFailure on a cluster's redirection", () => {
  let cluster: RedisClusterServer;
  beforeAll(async () => {
    cluster = await RedisClusterServer.start({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("MOVED from a node that does not own the slot: 503 redis_unavailable", async () => {
    const key = "herd-test:moved";
    const owner = await cluster.ownerOf(key);
    const other = cluster.ports.find((port) => port !== owner) ?? 0;
    const node = new Redis({ port: other, host: "127.0.0.1" });
    try {
      const error = await node.get(key).then(() => expect.unreachable("a node that does not own the slot answered"), (caught: unknown) => caught);
      expect((error as Error).message).toMatch(/^MOVED /);
      expect(redisFailure(error)).toMatchObject({ status: 503, code: "redis_unavailable" });
    } finally {
      node.disconnect();
    }
  });
});

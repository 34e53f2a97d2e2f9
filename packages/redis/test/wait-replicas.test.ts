import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@herd/logger";
import { RedisClusterServer, testEnv, uniquePrefix, waitFor } from "@herd/testing";
import { closeRedis, createRedisClient, hashTag, waitForReplicas, type RedisClient } from "../src/index.js";

const waitCalls = (commandstats: string) => Number(/cmdstat_wait:calls=(\d+)/.exec(commandstats)?.[1] ?? 0);

describe("waitForReplicas", () => {
  it("on a single Redis without replicas answers 0 once the timeout passes", async () => {
    const client = createRedisClient({ url: testEnv.TEST_REDIS_URL, role: "command", logger: silentLogger() });
    try {
      await waitFor(() => client.status === "ready");
      const key = `${hashTag(uniquePrefix("wait"))}:k`;
      await client.set(key, "1", "PX", 1000);
      expect(await waitForReplicas(client, key, 1, 50)).toBe(0);
    } finally {
      await closeRedis(client);
    }
  });

  describe("on a Redis Cluster with a replica per master", () => {
    let cluster: RedisClusterServer;
    let client: RedisClient;
    beforeAll(async () => {
      cluster = await RedisClusterServer.start({ masters: 3, replicas: 1 });
      client = createRedisClient({ url: cluster.urlOf(cluster.ports[0] ?? 0), cluster: true, role: "command", logger: silentLogger() });
      await waitFor(() => client.status === "ready", { message: "cluster client ready" });
    }, 60_000);
    afterAll(async () => {
      if (client) await closeRedis(client);
      await cluster?.close();
    });

    it("sends WAIT to the node that holds the key (where the writes went), which has its replica", async () => {
      const prefix = uniquePrefix("wait");
      const key = `${hashTag(prefix)}:job`;
      const owner = await cluster.ownerOf(hashTag(prefix));
      const masters = (await Promise.all(cluster.ports.map(async (port) => ((await cluster.info(port, "replication")).includes("role:master") ? port : undefined)))).filter((port) => port !== undefined);
      const before = new Map(await Promise.all(masters.map(async (port) => [port, waitCalls(await cluster.info(port, "commandstats"))] as const)));
      // Six rounds: a client that sent WAIT to any node would hit only the owner with odds of 1 in 729.
      for (let round = 0; round < 6; round += 1) {
        await client.set(key, `queued ${round}`);
        expect(await waitForReplicas(client, key, 1, 5000)).toBe(1);
      }
      for (const port of masters) {
        expect(waitCalls(await cluster.info(port, "commandstats")) - (before.get(port) ?? 0)).toBe(port === owner ? 6 : 0);
      }
    });

    it("follows the key's slot to its new owner when it moved unannounced, instead of failing with MOVED", async () => {
      const prefix = uniquePrefix("moved");
      const key = `${hashTag(prefix)}:job`;
      await client.exists(key); // the client knows the slot's owner now
      const source = await cluster.ownerOf(hashTag(prefix));
      const masters = (await Promise.all(cluster.ports.map(async (port) => ((await cluster.info(port, "replication")).includes("role:master") ? port : undefined)))).filter((port) => port !== undefined);
      const target = masters.find((port) => port !== source) ?? 0;
      const slot = Number(await cluster.call(source, "CLUSTER", "KEYSLOT", key));
      const sourceId = String(await cluster.call(source, "CLUSTER", "MYID"));
      const targetId = String(await cluster.call(target, "CLUSTER", "MYID"));
      // Resharding an empty slot, as redis-cli --cluster reshard does (the same MOVED a failover gives).
      await cluster.call(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
      await cluster.call(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", targetId);
      for (const port of [target, source, ...masters.filter((port) => port !== source && port !== target)]) await cluster.call(port, "CLUSTER", "SETSLOT", slot, "NODE", targetId);
      await waitFor(async () => (await cluster.ownerOf(hashTag(prefix), target)) === target, { message: "the slot's new owner known" });
      const before = waitCalls(await cluster.info(target, "commandstats"));

      expect(await waitForReplicas(client, key, 1, 5000)).toBe(1);
      expect(waitCalls(await cluster.info(target, "commandstats")) - before).toBe(1);
    });
  });
});

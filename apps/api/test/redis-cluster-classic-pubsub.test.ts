import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisClusterServer, uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

// A cluster of Redis 6.2 has no sharded pub/sub (SPUBLISH/SSUBSCRIBE came in 7.0). Redis 6.2 is
// not on this machine, so the nodes here have those commands taken away, and answer "unknown
// command" for them as 6.2 does: replies and cancellations fall back to PUBLISH/SUBSCRIBE.
describe("Herd on a Redis Cluster without sharded pub/sub", () => {
  const prefix = uniquePrefix("cluster-classic");
  let cluster: RedisClusterServer;
  let stack: Stack;

  beforeAll(async () => {
    cluster = await RedisClusterServer.start({ masters: 3, serverArgs: ["--rename-command", "SPUBLISH", "", "--rename-command", "SSUBSCRIBE", ""] });
    stack = await Stack.start({
      prefix,
      redisUrl: cluster.urlOf(cluster.ports[0] ?? 0),
      ownRedis: true,
      env: { HERD_REDIS_CLUSTER: "true" },
      fleet: { instances: 1, preload: true, latency: { embedMs: 2 } },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it("answers a waiting client through the worker's PUBLISH, and subscribes the classic way", async () => {
    const waits = async (via: string) => (await stack.api.metrics.jobs.waits.get()).values.find((value) => value.labels["via"] === via)?.value ?? 0;
    const replies = await waits("reply");
    const done = await stack.post("/v1/jobs?wait=10000", { type: "embed", model: "nomic-embed-text", input: "classic pub/sub pump seal" });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: "completed", attempts: 1 });
    expect(await waits("reply")).toBe(replies + 1);

    const channel = stack.api.queues.replies?.channel as string;
    const cancels = `{${prefix}}:cancel`;
    let subscribers = 0;
    let published = 0;
    for (const port of cluster.ports) {
      // Classic subscriptions live on whichever node the client picked; the counts are per node.
      const [, replyCount, , cancelCount] = (await cluster.call(port, "PUBSUB", "NUMSUB", channel, cancels)) as [string, number, string, number];
      subscribers += replyCount + cancelCount;
      published += Number(/^cmdstat_publish:calls=(\d+)/m.exec(await cluster.info(port, "commandstats"))?.[1] ?? 0);
    }
    expect(subscribers).toBe(2);
    expect(published).toBeGreaterThan(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@herd/logger";
import { closeRedis, createRedisClient } from "@herd/redis";
import { RedisClusterServer, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

// Herd on a Redis Cluster of three masters, given the address of a node that does NOT own the
// prefix's slot: every command has to follow the cluster's redirection to the owner.
describe("Herd on a Redis Cluster (HERD_REDIS_CLUSTER=true)", () => {
  const prefix = uniquePrefix("cluster");
  let cluster: RedisClusterServer;
  let owner: number;
  let entry: number;
  let stack: Stack;

  beforeAll(async () => {
    cluster = await RedisClusterServer.start({ masters: 3 });
    owner = await cluster.ownerOf(`{${prefix}}`);
    entry = cluster.ports.find((port) => port !== owner) ?? 0;
    stack = await Stack.start({
      prefix,
      redisUrl: cluster.urlOf(entry),
      ownRedis: true,
      env: { HERD_REDIS_CLUSTER: "true" },
      // Tokens take time, so a streamed generation is still running when its client leaves.
      fleet: { instances: 2, preload: true, latency: { embedMs: 2, evalTokenMs: 5 } },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it("the entry node redirects a single-node client (what Herd did before the setting)", async () => {
    const single = createRedisClient({ url: cluster.urlOf(entry), role: "command", logger: silentLogger() });
    try {
      await waitFor(() => single.status === "ready", { message: "single-node client ready" });
      await expect(single.set(`{${prefix}}:probe`, "1")).rejects.toThrow(/MOVED/);
    } finally {
      await closeRedis(single);
    }
  });

  it("is ready, queues, runs, caches and long-polls through the cluster", async () => {
    const ready = await stack.get("/ready");
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ redis: "ok", workers: 1, healthyInstances: 2 });

    const waits = async (via: string) => (await stack.api.metrics.jobs.waits.get()).values.find((value) => value.labels["via"] === via)?.value ?? 0;
    const replies = await waits("reply");
    const first = await stack.post("/v1/jobs?wait=10000", { type: "embed", model: "nomic-embed-text", input: ["cluster pump seal", "cluster relief valve"] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "completed", attempts: 1 });
    // The worker's reply reached the API's subscriber: sharded, so it went out with SPUBLISH on the
    // slot's master, where the API's subscription lives, and no node saw a PUBLISH (which a cluster
    // relays to every node). The worker's cancellation channel is sharded the same way.
    expect(await waits("reply")).toBe(replies + 1);
    const channel = stack.api.queues.replies?.channel as string;
    const cancels = `{${prefix}}:cancel`;
    expect(await cluster.call(owner, "PUBSUB", "SHARDNUMSUB", channel, cancels)).toEqual([channel, 1, cancels, 1]);
    for (const port of cluster.ports) {
      const stats = await cluster.info(port, "commandstats");
      expect(stats).not.toMatch(/^cmdstat_publish:/m);
      if (port === owner) expect(stats).toMatch(/^cmdstat_spublish:calls=[1-9]/m);
      else expect(stats).not.toMatch(/^cmdstat_spublish:/m);
    }
    expect(first.body.result.embeddings).toHaveLength(2);
    const calls = stack.emulatorRequests("nomic-embed-text:latest");

    const again = await stack.post("/v1/jobs?wait=10000", { type: "embed", model: "nomic-embed-text", input: ["cluster pump seal", "cluster relief valve"] });
    expect(again.body).toMatchObject({ status: "completed", cached: true });
    expect(again.body.result.embeddings).toEqual(first.body.result.embeddings);
    expect(stack.emulatorRequests("nomic-embed-text:latest")).toBe(calls);

    // Submitted without waiting, then long-polled: the API reads the queue's events stream.
    const queued = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", prompt: "How is the relief valve adjusted?" });
    expect(queued.status).toBe(202);
    const done = await stack.get(`/v1/jobs/${queued.body.id}?wait=10000`);
    expect(done.body).toMatchObject({ status: "completed", attempts: 1 });
    expect(typeof done.body.result.response).toBe("string");
  });

  it("a client leaving a streamed generation cancels it on the instance (sharded cancellation)", async () => {
    const executing = () => stack.fleet.instances.reduce((sum, instance) => sum + (instance.stats().models["llama3.2:latest"]?.executing ?? 0), 0);
    const canceled = () => stack.fleet.instances.reduce((sum, instance) => sum + (instance.stats().models["llama3.2:latest"]?.canceled ?? 0), 0);
    // 0.5 s a token: left alone, the answer would take over 10 s.
    const setSlow = (mode: "slow" | "none") => Promise.all(stack.fleet.instances.map((instance) => instance.setFault({ mode, rate: 1, factor: 100, status: 500, scope: "inference" })));
    const canceledBefore = canceled();
    await setSlow("slow");
    const controller = new AbortController();
    try {
      const response = await fetch(`${stack.url}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "Walk me through bleeding the hydraulic pump, step by step." }], stream: true }),
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const first = await response.body?.getReader().read();
      expect(first?.done).toBe(false);
      await waitFor(() => executing() === 1, { message: "the instance generating" });
      controller.abort();
      await waitFor(() => executing() === 0, { message: "the instance stopped generating" });
      expect(canceled()).toBe(canceledBefore + 1);
    } finally {
      controller.abort();
      await setSlow("none");
    }
  });

  it("ingests a document as a BullMQ flow and searches it", async () => {
    expect((await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text" })).status).toBe(201);
    const accepted = await stack.post("/v1/collections/manuals/documents", {
      documents: [{ id: "pump.md", text: "# Hydraulic pump\n\nBleed the hydraulic pump before first use: open the bleed screw until oil flows without bubbles." }],
    });
    expect(accepted.status).toBe(202);
    const summary = await stack.ingestionSettled(accepted.body.ingestionId);
    expect(summary).toMatchObject({ status: "completed", documents: { done: 1, failed: 0 } });
    const search = await stack.post("/v1/collections/manuals/search", { query: "how do I bleed the pump?", k: 1 });
    expect(search.body.results[0]).toMatchObject({ documentId: "pump.md" });
  });

  it("keeps every key on the node that owns the prefix's slot", async () => {
    expect(await cluster.dbsize(owner)).toBeGreaterThan(0);
    for (const port of cluster.ports.filter((candidate) => candidate !== owner)) expect(await cluster.dbsize(port)).toBe(0);
  });
});

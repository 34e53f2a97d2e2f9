import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const waitCalls = (commandstats: string) => Number(/cmdstat_wait:calls=(\d+)/.exec(commandstats)?.[1] ?? 0);

// HERD_REDIS_WAIT_REPLICAS=1 against a primary with one replica: a job is answered for once the
// replica holds it; with the replica gone, submits wait out the timeout and go on.
describe("HERD_REDIS_WAIT_REPLICAS on a Redis with a replica", () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let probe: Redis;
  let stack: Stack;

  beforeAll(async () => {
    primary = await RedisServer.start();
    replica = await RedisServer.start(undefined, ["--replicaof", "127.0.0.1", String(primary.port)]);
    probe = new Redis(primary.url, { maxRetriesPerRequest: 1 });
    await waitFor(async () => /connected_slaves:1/.test(await probe.info("replication")), { message: "replica attached" });
    stack = await Stack.start({
      prefix: uniquePrefix("wait-replicas"),
      redisUrl: primary.url,
      ownRedis: true,
      env: { HERD_REDIS_WAIT_REPLICAS: "1", HERD_REDIS_WAIT_TIMEOUT: "400ms" },
      fleet: { instances: 1, preload: true },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    probe?.disconnect();
    await replica?.close();
    await primary?.close();
  });

  it("waits for the replica on every new job, and answers without it after the timeout", async () => {
    const before = waitCalls(await probe.info("commandstats"));
    const replicated = await stack.post("/v1/jobs?wait=5000", { type: "embed", model: "nomic-embed-text", input: "replicated before the answer" });
    expect(replicated.body).toMatchObject({ status: "completed", attempts: 1 });
    expect(waitCalls(await probe.info("commandstats"))).toBe(before + 1);
    const queued = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: "replicated before the 202" });
    expect(queued.status).toBe(202);
    expect(waitCalls(await probe.info("commandstats"))).toBe(before + 2);
    expect((await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text" })).status).toBe(201);
    const ingestion = await stack.post("/v1/collections/manuals/documents", { documents: [{ id: "pump.md", text: "Bleed the hydraulic pump before first use." }] });
    expect(ingestion.status).toBe(202);
    // One WAIT for the whole upload (its progress record and every document's job).
    expect(waitCalls(await probe.info("commandstats"))).toBe(before + 3);

    await replica.stop();
    await waitFor(async () => /connected_slaves:0/.test(await probe.info("replication")), { message: "replica gone" });
    const started = performance.now();
    const alone = await stack.post("/v1/jobs?wait=5000", { type: "embed", model: "nomic-embed-text", input: "no replica to wait for" });
    expect(alone.body).toMatchObject({ status: "completed" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });
});

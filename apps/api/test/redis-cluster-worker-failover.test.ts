import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor, type RedisClusterServer } from "@herd/testing";
import { herdOnCluster, promotedOwner } from "./cluster-failover.js";
import type { Stack } from "./stack.js";

const MODEL = "nomic-embed-text";

// The master owning Herd's slot fails while a worker's Ollama call is under way, and its replica
// takes a few seconds to be promoted: the worker's writes of the finished job must wait for it,
// as a single Redis's offline queue waits out a restart, instead of failing the attempt with
// nowhere to record it (the job then sat "running" until its lock lapsed and ran again).
describe("a worker finishing a job while the Redis Cluster fails over", () => {
  const prefix = uniquePrefix("wfailover");
  let cluster: RedisClusterServer;
  let stack: Stack;
  let owner: number;

  beforeAll(async () => {
    // A 3 s node timeout: the promotion takes longer than ioredis's default patience (16
    // redirections 100 ms apart) for a command that meets CLUSTERDOWN.
    ({ cluster, stack, owner } = await herdOnCluster(prefix, {
      nodeTimeoutMs: 3000,
      env: { HERD_REDIS_WAIT_REPLICAS: "1", HERD_REDIS_WAIT_TIMEOUT: "500ms" },
      // Heartbeats outlive the failover (3 intervals).
      workerEnv: { HERD_HEARTBEAT_INTERVAL: "4s" },
      fleet: { instances: 1, preload: true, latency: { embedMs: 1500 } },
    }));
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it("completes the job once a replica is promoted, with one Ollama call", async () => {
    const submitted = await stack.post("/v1/jobs", { type: "embed", model: MODEL, input: "a pump manual, embedded across a failover" });
    expect(submitted.status).toBe(202);
    const instance = stack.fleet.instances[0];
    await waitFor(() => (instance?.stats().models[`${MODEL}:latest`]?.executing ?? 0) === 1, { intervalMs: 5, message: "the Ollama call under way" });
    await cluster.kill(owner);
    await promotedOwner(cluster, prefix, owner);

    const done = await waitFor(async () => {
      const response = await stack.get(`/v1/jobs/${submitted.body.id}?wait=5000`).catch(() => undefined);
      return response?.status === 200 && response.body.status !== "queued" && response.body.status !== "running" ? response.body : undefined;
    }, { timeoutMs: 20_000, message: "the job finished (well before its 30 s lock could lapse)" });
    expect(done.status).toBe("completed");
    expect(done.result.embeddings).toHaveLength(1);
    expect(done.attempts).toBe(1);
    expect(stack.emulatorRequests(`${MODEL}:latest`)).toBe(1);
  }, 90_000);
});

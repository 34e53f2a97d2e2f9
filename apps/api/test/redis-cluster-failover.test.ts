import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor, type RedisClusterServer } from "@herd/testing";
import { herdOnCluster, promotedOwner } from "./cluster-failover.js";
import type { Stack } from "./stack.js";

interface Answer {
  status: number;
  code?: string;
  retryAfter?: string | null;
  id?: string;
}

// A Redis Cluster with a replica per master loses the master that owns Herd's slot mid-load: Herd
// answers 503 (never 500) while the replica takes over, then serves again.
describe.each([
  { waitReplicas: 0, mayLose: true },
  { waitReplicas: 1, mayLose: false },
])("Herd on a Redis Cluster when the slot's master fails (HERD_REDIS_WAIT_REPLICAS=$waitReplicas)", ({ waitReplicas, mayLose }) => {
  const prefix = uniquePrefix("failover");
  let cluster: RedisClusterServer;
  let stack: Stack;
  let owner: number;
  // The API's error-level log: an unexpected answer (a 500 seen in CI runs) shows its cause.
  const errorLog: string[] = [];

  beforeAll(async () => {
    ({ cluster, stack, owner } = await herdOnCluster(prefix, {
      nodeTimeoutMs: 1000,
      env: { HERD_REDIS_WAIT_REPLICAS: String(waitReplicas), HERD_REDIS_WAIT_TIMEOUT: "200ms" },
      // Heartbeats outlive the failover (3 intervals), as the default 5 s interval does in production.
      workerEnv: { HERD_HEARTBEAT_INTERVAL: "2s" },
      fleet: { instances: 2, preload: true, latency: { embedMs: 2 } },
      errorLog,
    }));
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it("answers 503 with Retry-After, never 500, during the failover and completes jobs after it", async () => {
    const answers: Answer[] = [];
    let stop = false;
    let sent = 0;
    const client = async () => {
      while (!stop) {
        const response = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: `failover ${sent++}` });
        answers.push({ status: response.status, code: response.body?.error?.code ?? response.body?.status, retryAfter: response.headers.get("retry-after"), id: response.body?.id });
        if (response.status === 503) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const clients = Array.from({ length: 4 }, client);
    let newOwner: number;
    try {
      await waitFor(() => answers.length >= 50, { message: "50 answers before the failure" });
      await cluster.kill(owner);
      const killedAt = answers.length;
      newOwner = await promotedOwner(cluster, prefix, owner);
      // After the failover the promoted replica has no replica of its own: with
      // HERD_REDIS_WAIT_REPLICAS=1 each submit then waits out HERD_REDIS_WAIT_TIMEOUT and goes on.
      await waitFor(() => answers.slice(killedAt).filter((answer) => answer.status === 200).length >= 30, { timeoutMs: 30_000, message: "30 completed jobs after the failure" });
    } finally {
      stop = true;
      await Promise.all(clients);
    }

    expect(newOwner).not.toBe(owner);
    // Redis replicates asynchronously: a job the failed master took but had not yet passed to its
    // replica is gone, and its request answers 404 job_not_found. At most the requests in flight
    // at the failure (one per client) can be such; none when the API waits for a replica.
    const lost = answers.filter((answer) => answer.status === 404 && answer.code === "job_not_found");
    expect(lost.length).toBeLessThanOrEqual(mayLose ? clients.length : 0);
    const unexpected = answers.filter(
      (answer) =>
        !(answer.status === 200 && answer.code === "completed") &&
        !(answer.status === 503 && answer.code === "redis_unavailable" && answer.retryAfter === "1") &&
        // Heartbeats that lapsed during a slow failover: a retryable answer too.
        !(answer.status === 503 && answer.code === "no_live_workers" && answer.retryAfter === "2") &&
        answer.status !== 202 &&
        !lost.includes(answer),
    );
    expect(unexpected, errorLog.join("\n")).toEqual([]);
    // Whatever was still running at the end (202 after its wait) completes.
    for (const answer of answers.filter((candidate) => candidate.status === 202)) {
      const done = await stack.get(`/v1/jobs/${answer.id}?wait=20000`);
      expect(done.body.status).toBe("completed");
      expect(done.body.result.embeddings).toHaveLength(1);
    }
  }, 90_000);
});

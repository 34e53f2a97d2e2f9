import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerEnv, loadConfig, toWorkerConfig } from "@herd/config";
import { createJobId, herdKeys, jobOptions, queueName, type EmbedJobData } from "@herd/jobs";
import { silentLogger } from "@herd/logger";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { deletePrefix, testEnv, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { WorkerRuntime } from "@herd/worker-core";

const WORKER = fileURLToPath(new URL("../dist/main.js", import.meta.url));

describe("a worker process killed with SIGKILL mid-job", () => {
  const prefix = uniquePrefix("kill9");
  const redis = testRedis();
  let ollama: EmulatorInstance;
  let queue: Queue;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ preload: true, latency: { embedMs: 1500 } }).listen();
    queue = new Queue(queueName("embed", "nomic-embed-text"), { connection: redis, prefix: `{${prefix}}` });
  });
  afterAll(async () => {
    await queue.close();
    await ollama.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("loses no job: after the lock expires another worker runs it to completion", async () => {
    const env = {
      PATH: process.env["PATH"],
      REDIS_URL: testEnv.TEST_REDIS_URL,
      HERD_PREFIX: prefix,
      HERD_INSTANCES: ollama.url,
      HERD_LOCK_DURATION: "2s",
      HERD_STALLED_INTERVAL: "500ms",
      HERD_METRICS_PORT: "0",
      LOG_LEVEL: "silent",
    };
    const victim = spawn(process.execPath, [WORKER], { env, stdio: "ignore" });
    const id = createJobId("embed", "nomic-embed-text");
    const data: EmbedJobData = { model: "nomic-embed-text:latest", requestModel: "nomic-embed-text", inputs: ["survives a kill -9"], cache: false };
    await queue.add("embed", data, { ...jobOptions({ retentionMs: 600_000, retentionCount: 100, attempts: 3, backoffMs: 50 }, "interactive"), jobId: id });
    await waitFor(async () => (await queue.getJobState(id)) === "active", { message: "the victim to take the job" });
    const exited = new Promise((resolve) => victim.once("exit", resolve));
    victim.kill("SIGKILL");
    await exited;

    const config = loadConfig(WorkerEnv, toWorkerConfig, { ...env, HERD_WORKER_ID: `${prefix}-rescuer`, HERD_PROBE_INTERVAL: "100ms" });
    const rescuer = new WorkerRuntime({ config, logger: silentLogger() });
    await rescuer.start();
    try {
      const state = await waitFor(async () => {
        const current = await queue.getJobState(id);
        return current === "completed" || current === "failed" ? current : undefined;
      }, { timeoutMs: 20_000, message: "the stalled job to be recovered and completed" });
      expect(state).toBe("completed");
      const job = await queue.getJob(id);
      expect(job?.attemptsStarted).toBe(2);
      const result = JSON.parse((await redis.get(herdKeys(prefix).result(id))) ?? "{}") as { embeddings: number[][] };
      expect(result.embeddings[0]).toHaveLength(768);
    } finally {
      await rescuer.close(2000);
    }
  }, 40_000);
});

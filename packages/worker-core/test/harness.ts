import { Queue } from "bullmq";
import { WorkerEnv, loadConfig, toWorkerConfig, type WorkerConfig } from "@herd/config";
import { createJobId, herdKeys, jobOptions, queueName, type EmbedJobData } from "@herd/jobs";
import { createLogger } from "@herd/logger";
import type { EmulatorInstance } from "@herd/ollama-emulator";
import { testEnv, testRedis } from "@herd/testing";
import { WorkerRuntime } from "../src/index.js";

export function workerConfig(prefix: string, instances: EmulatorInstance[], extra: Record<string, string> = {}): WorkerConfig {
  return loadConfig(WorkerEnv, toWorkerConfig, {
    REDIS_URL: testEnv.TEST_REDIS_URL,
    HERD_PREFIX: prefix,
    HERD_INSTANCES: JSON.stringify(instances.map((instance) => ({ url: instance.url, name: instance.ctx.name }))),
    HERD_PROBE_INTERVAL: "100ms",
    HERD_PROBE_TIMEOUT: "250ms",
    HERD_HEARTBEAT_INTERVAL: "200ms",
    HERD_JOB_BACKOFF: "50ms",
    HERD_WORKER_ID: `${prefix}-${Math.random().toString(16).slice(2, 8)}`,
    ...extra,
  });
}

export async function startWorker(config: WorkerConfig): Promise<WorkerRuntime> {
  const runtime = new WorkerRuntime({ config, logger: createLogger({ name: "test-worker", level: testEnv.TEST_LOG_LEVEL, format: "json" }) });
  await runtime.start();
  return runtime;
}

/** Enqueues embed jobs the way the API does, straight into BullMQ. */
export class Producer {
  readonly queue: Queue;
  readonly redis = testRedis();

  constructor(readonly prefix: string, model = "nomic-embed-text:latest") {
    this.queue = new Queue(queueName("embed", model), { connection: this.redis, prefix: `{${prefix}}` });
  }

  async embed(text: string): Promise<string> {
    const id = createJobId("embed", "nomic-embed-text");
    const data: EmbedJobData = { model: "nomic-embed-text:latest", requestModel: "nomic-embed-text", inputs: [text], cache: false };
    await this.queue.add("embed", data, { ...jobOptions({ retentionMs: 600_000, retentionCount: 1000, attempts: 5, backoffMs: 50 }, "interactive"), jobId: id });
    return id;
  }

  async state(id: string): Promise<string> {
    return this.queue.getJobState(id);
  }

  async result(id: string): Promise<string | null> {
    return this.redis.get(herdKeys(this.prefix).result(id));
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

import { Queue } from "bullmq";
import { WorkerEnv, loadConfig, toWorkerConfig, type WorkerConfig } from "@herd/config";
import { createJobId, herdKeys, jobOptions, queueName, type EmbedJobData } from "@herd/jobs";
import { createLogger } from "@herd/logger";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { deletePrefix, testEnv, testRedis } from "@herd/testing";
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

const EMBED = "nomic-embed-text:latest";

/**
 * A fast instance and one 4× slower (each recording its inputs) and a producer for `prefix`, for
 * tests of where jobs run. `cleanups` gets what closes them, in the order they must run reversed.
 */
export async function fastAndSlowFleet(prefix: string, cleanups: Array<() => Promise<unknown>>, options: { fastStartsCold?: boolean } = {}) {
  const fast = await new EmulatorInstance({ name: "fast", preload: options.fastStartsCold !== true, speed: 1, recordInputs: true, latency: { embedMs: 10, loadMs: 400 } }).listen();
  const slow = await new EmulatorInstance({ name: "slow", preload: true, speed: 0.25, recordInputs: true, latency: { embedMs: 10 } }).listen();
  cleanups.push(async () => Promise.all([fast.close(), slow.close()]));
  const producer = new Producer(prefix);
  cleanups.push(async () => {
    await deletePrefix(producer.redis, prefix);
    await producer.close();
  });
  const requests = (instance: EmulatorInstance) => instance.stats().models[EMBED]?.requests ?? 0;
  /** Which instance computed `text` (from the emulators' input records). */
  const ranOn = (text: string) => (fast.inputCounts().has(text) ? "fast" : slow.inputCounts().has(text) ? "slow" : undefined);
  return { fast, slow, producer, requests, ranOn };
}

/**
 * A Redis connection and a worker on `instances`, its warnings captured as parsed JSON lines;
 * `cleanups` closes the worker, then deletes the prefix's keys and disconnects.
 */
export async function startCapturedWorker<Line>(prefix: string, instances: EmulatorInstance[], cleanups: Array<() => Promise<unknown>>, adjust: (config: WorkerConfig) => WorkerConfig = (config) => config): Promise<{ runtime: WorkerRuntime; lines: Line[]; redis: ReturnType<typeof testRedis> }> {
  const redis = testRedis();
  cleanups.push(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });
  const lines: Line[] = [];
  const logger = createLogger({ name: "captured-worker", level: "warn", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
  const runtime = new WorkerRuntime({ config: adjust(workerConfig(prefix, instances)), logger });
  await runtime.start();
  cleanups.push(() => runtime.close());
  return { runtime, lines, redis };
}

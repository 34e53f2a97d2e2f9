import { ApiEnv, WorkerEnv, loadConfig, toApiConfig, toWorkerConfig, type ApiConfig, type WorkerConfig } from "@herd/config";
import { createLogger, type Logger } from "@herd/logger";
import { completeModelSpec, DEFAULT_MODELS, EmulatorFleet, type FleetOptions } from "@herd/ollama-emulator";
import { queueName, type GenerateJobData } from "@herd/jobs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, deletePrefix, testEnv, testRedis, waitFor, type TestDatabase } from "@herd/testing";
import { WorkerRuntime } from "@herd/worker-core";
import { createApiRuntime, type ApiRuntime } from "../src/runtime.js";

/** The default models plus a thinking model (qwen3, with tools) and a vision model (gemma3), for the drop-in APIs' tests. */
export const CAPABLE_MODELS = [
  ...DEFAULT_MODELS,
  completeModelSpec({ name: "qwen3", capabilities: ["completion", "tools", "thinking"] }),
  completeModelSpec({ name: "gemma3", capabilities: ["completion", "vision"] }),
];

export interface StackOptions {
  prefix: string;
  fleet: FleetOptions;
  /** Extra environment for both API and worker (e.g. HERD_MAX_WAITING_PER_MODEL). */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  redisUrl?: string;
  /** The Redis is the test's own and goes away with it: close() deletes no keys. */
  ownRedis?: boolean;
  /** Collects the API's and worker's error-level log lines (for a failing assertion to show). */
  errorLog?: string[];
  /** Wait until the API sees every emulated instance as healthy. */
  waitHealthy?: boolean;
  /** A fresh database on the native test server (default), or the embedded PGlite server. */
  database?: "native" | "embedded";
}

/** A whole Herd in one process: emulated fleet, one worker runtime, the API on a free port. */
export class Stack {
  readonly #extraWorkers: WorkerRuntime[] = [];

  private constructor(
    readonly fleet: EmulatorFleet,
    readonly worker: WorkerRuntime,
    readonly api: ApiRuntime,
    readonly apiConfig: ApiConfig,
    readonly workerConfig: WorkerConfig,
    readonly url: string,
    private readonly options: StackOptions,
    private readonly releaseDatabase: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  static async start(options: StackOptions): Promise<Stack> {
    const errorLog = options.errorLog;
    const logger = errorLog
      ? createLogger({ name: "test", level: "error", format: "json", destination: { write: (line: string) => void errorLog.push(line) } })
      : createLogger({ name: "test", level: testEnv.TEST_LOG_LEVEL, format: "json" });
    const fleet = await EmulatorFleet.start(options.fleet);
    const redisUrl = options.redisUrl ?? testEnv.TEST_REDIS_URL;
    const common = { REDIS_URL: redisUrl, HERD_PREFIX: options.prefix, ...options.env };
    const workerConfig = loadConfig(WorkerEnv, toWorkerConfig, {
      ...common,
      HERD_INSTANCES: JSON.stringify(fleet.instances.map((instance) => ({ url: instance.url, name: instance.ctx.name, slots: instance.slots }))),
      HERD_PROBE_INTERVAL: "100ms",
      HERD_PROBE_TIMEOUT: "300ms",
      // Heartbeats expire after 3 intervals: 1.5 s leaves room for a busy CI machine.
      HERD_HEARTBEAT_INTERVAL: "500ms",
      HERD_JOB_BACKOFF: "50ms",
      HERD_WORKER_ID: `${options.prefix}-worker`,
      ...options.workerEnv,
    });
    let database: TestDatabase | undefined;
    let dataDir: string | undefined;
    if (options.database === "embedded") dataDir = mkdtempSync(join(tmpdir(), "herd-stack-"));
    else database = await createTestDatabase(options.prefix);
    const apiConfig = loadConfig(ApiEnv, toApiConfig, {
      // Tests that exercise API keys set HERD_AUTH=keys in `env`.
      HERD_AUTH: "open",
      ...common,
      PORT: "0",
      HERD_FLEET_REFRESH: "100ms",
      ...(database ? { DATABASE_URL: database.url } : { HERD_DATA_DIR: dataDir }),
    });
    const releaseDatabase = async () => {
      await database?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    };
    const worker = new WorkerRuntime({ config: workerConfig, logger });
    await worker.start();
    const api = await createApiRuntime(apiConfig, logger);
    const { url } = await api.listen(0, "127.0.0.1");
    const stack = new Stack(fleet, worker, api, apiConfig, workerConfig, url, options, releaseDatabase, logger);
    if (options.waitHealthy !== false) {
      await waitFor(async () => {
        const ready = (await (await fetch(`${url}/ready`)).json()) as { healthyInstances: number };
        return ready.healthyInstances === fleet.instances.length;
      }, { message: "all emulated instances healthy in /ready" });
    }
    return stack;
  }

  async post(path: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(`${this.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  }

  async get(path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(`${this.url}${path}`, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  }

  /** Submits and long-polls until the job is finished. */
  async run(body: unknown): Promise<any> {
    const submitted = await this.post("/v1/jobs?wait=20000", body);
    if (submitted.status === 200) return submitted.body;
    if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
    return waitFor(async () => {
      const polled = await this.get(`/v1/jobs/${submitted.body.id}?wait=5000`);
      return polled.body.status === "completed" || polled.body.status === "failed" ? polled.body : undefined;
    }, { timeoutMs: 60_000, message: `job ${submitted.body.id} to finish` });
  }

  /** Starts another worker with this stack's worker config (e.g. once `worker` has left); closed with the stack. */
  async startWorker(): Promise<WorkerRuntime> {
    const worker = new WorkerRuntime({ config: this.workerConfig, logger: this.logger });
    this.#extraWorkers.push(worker);
    await worker.start();
    return worker;
  }

  /**
   * The data of a finished generate job of `model` that `matches`, as BullMQ holds it. Waited
   * for: a waiting client gets the worker's reply before BullMQ records the completion.
   */
  finishedGenerateJob(model: string, matches: (data: GenerateJobData) => boolean): Promise<GenerateJobData> {
    return waitFor(async () => (await this.api.queues.queue(queueName("generate", model)).getCompleted()).map((job) => job.data as GenerateJobData).find(matches), { message: `a finished ${model} job` });
  }

  /** The tally of an ingestion (GET /v1/ingestions/:id) once it has stopped running. */
  ingestionSettled(id: string): Promise<any> {
    return waitFor(async () => {
      const response = await this.get(`/v1/ingestions/${id}`);
      return response.body.status !== "running" ? response.body : undefined;
    }, { timeoutMs: 30_000, message: `ingestion ${id}` });
  }

  /**
   * After a client went away from a generation: waits until no instance is generating `model` and
   * every slot is free again, then returns how many jobs the worker counts as canceled.
   */
  async generationStopped(model: string): Promise<number | undefined> {
    await waitFor(() => this.fleet.instances.every((instance) => (instance.stats().models[model]?.executing ?? 0) === 0), { message: "the instances stopped generating" });
    await waitFor(() => this.worker.bindings.every((binding) => binding.gate.inFlight === 0), { message: "the slots were released" });
    const failed = await this.worker.metrics.registry.getSingleMetric("herd_jobs_failed_total")?.get();
    return failed?.values.find((value) => value.labels["code"] === "canceled")?.value;
  }

  /** Sum of Ollama requests the emulated fleet received for a model. */
  emulatorRequests(model: string): number {
    return this.fleet.instances.reduce((sum, instance) => sum + (instance.stats().models[model]?.requests ?? 0), 0);
  }

  async close(): Promise<void> {
    await this.api.close();
    await Promise.all(this.#extraWorkers.map((worker) => worker.close(2000)));
    await this.worker.close(2000);
    await this.fleet.close();
    await this.releaseDatabase();
    if (this.options.ownRedis) return;
    const redis = testRedis(this.options.redisUrl);
    try {
      await deletePrefix(redis, this.options.prefix);
    } finally {
      redis.disconnect();
    }
  }
}

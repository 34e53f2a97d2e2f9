import { hostname } from "node:os";
import { z } from "zod";
import { InstancesEnv, type ResolvedInstance } from "./instances.js";
import { durationMsEnv, enumEnv, intEnv, optionalPortEnv, optionalSecretEnv, stringEnv } from "./primitives.js";
import { sharedEnvShape, toSharedConfig, type SharedConfig } from "./shared.js";

const claimEnv = z
  .string()
  .optional()
  .transform((raw, ctx): number | undefined => {
    const word = (raw ?? "").trim().toLowerCase();
    if (word === "" || word === "off" || word === "false") return undefined;
    const value = Number(word);
    if (!Number.isInteger(value) || value < 1 || value > 1024) {
      ctx.addIssue({ code: "custom", message: `expected "off" or how many instances to claim (1 to 1024), got "${raw}"` });
      return z.NEVER;
    }
    return value;
  });

export const WorkerEnv = z
  .object({
    ...sharedEnvShape,
    HERD_INSTANCES: InstancesEnv.refine((instances) => instances.length > 0, {
      message: "at least one Ollama instance is required, e.g. HERD_INSTANCES=http://127.0.0.1:11434",
    }),
    /** Slots per model when an instance sets none: Ollama's own OLLAMA_NUM_PARALLEL default is 1. */
    HERD_DEFAULT_SLOTS: intEnv(1, { min: 1, max: 256 }),
    HERD_WORKER_ID: stringEnv(""),
    HERD_PROBE_INTERVAL: durationMsEnv(2000, { min: 50, max: 600_000 }),
    HERD_PROBE_TIMEOUT: durationMsEnv(1500, { min: 10, max: 60_000 }),
    /** Consecutive failed probes or calls before an instance stops pulling. */
    HERD_UNHEALTHY_AFTER: intEnv(2, { min: 1, max: 100 }),
    HERD_HEARTBEAT_INTERVAL: durationMsEnv(2000, { min: 50, max: 60_000 }),
    /** How often instances are asked for their model list again. */
    HERD_DISCOVERY_INTERVAL: durationMsEnv(30_000, { min: 100, max: 3_600_000 }),
    HERD_EMBED_TIMEOUT: durationMsEnv(120_000, { min: 100 }),
    HERD_GENERATE_TIMEOUT: durationMsEnv(600_000, { min: 100 }),
    /** BullMQ lock duration: a worker that vanishes releases its jobs after about this long. */
    HERD_LOCK_DURATION: durationMsEnv(30_000, { min: 1000 }),
    HERD_STALLED_INTERVAL: durationMsEnv(30_000, { min: 500 }),
    HERD_SHUTDOWN_TIMEOUT: durationMsEnv(25_000, { min: 100 }),
    /** "auto": fetch one job ahead of a free slot while there is an interactive backlog; "off": never. */
    HERD_PREFETCH: enumEnv(["auto", "off"] as const, "auto"),
    /**
     * Prefetch only where a fetched job would wait at most about this long for a slot (average
     * call time / slots): fast, many-slot instances gain throughput, slow ones keep no jobs back.
     */
    HERD_PREFETCH_MAX_WAIT: durationMsEnv(15, { min: 0, max: 60_000 }),
    /**
     * "fastest-idle": a job fetched for one instance runs on another instance of this worker when
     * that one is idle and clearly faster for the model; "off": a job runs where it was fetched.
     */
    HERD_ROUTING: enumEnv(["fastest-idle", "off"] as const, "fastest-idle"),
    /**
     * Batch (ingestion) embeddings go to Ollama in calls sized to take about this long, so an
     * interactive job waits for at most one of them; 0 sends each batch job as one call.
     */
    HERD_BATCH_SLICE_TARGET: durationMsEnv(50, { min: 0, max: 600_000 }),
    /** Most inputs in one batch embedding call. */
    HERD_BATCH_SLICE_MAX: intEnv(64, { min: 1, max: 2048 }),
    /** Port of this worker's GET /metrics (Prometheus); "off" for none, 0 for any free port. */
    HERD_METRICS_PORT: optionalPortEnv(9464),
    HERD_METRICS_HOST: stringEnv("127.0.0.1"),
    /**
     * "off": bind every instance in HERD_INSTANCES. A number N: bind at most N of them, each
     * claimed exclusively in Redis, so replicas sharing one list split the instances and spare
     * replicas stand by to take over an instance whose worker stops.
     */
    HERD_CLAIM_INSTANCES: claimEnv,
    /** When set, GET /metrics needs these admin credentials (HTTP basic auth), as on the API. */
    HERD_ADMIN_USER: stringEnv("admin"),
    HERD_ADMIN_PASSWORD: optionalSecretEnv(12),
  });


export interface WorkerConfig extends SharedConfig {
  workerId: string;
  instances: ResolvedInstance[];
  defaultSlots: number;
  probe: { intervalMs: number; timeoutMs: number; unhealthyAfter: number };
  heartbeatIntervalMs: number;
  discoveryIntervalMs: number;
  timeouts: { embedMs: number; generateMs: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  shutdownTimeoutMs: number;
  prefetch: { mode: "auto" | "off"; maxWaitMs: number };
  routing: "fastest-idle" | "off";
  batchSlice: { targetMs: number; maxInputs: number };
  metrics: { port: number; host: string; credentials: { user: string; password: string } | undefined } | undefined;
  /** Most instances to claim exclusively; undefined binds all of them without claims. */
  claimInstances: number | undefined;
}

export function toWorkerConfig(env: z.output<typeof WorkerEnv>): WorkerConfig {
  return {
    ...toSharedConfig(env),
    workerId: env.HERD_WORKER_ID || `${hostname()}-${process.pid}`,
    instances: env.HERD_INSTANCES,
    defaultSlots: env.HERD_DEFAULT_SLOTS,
    probe: { intervalMs: env.HERD_PROBE_INTERVAL, timeoutMs: env.HERD_PROBE_TIMEOUT, unhealthyAfter: env.HERD_UNHEALTHY_AFTER },
    heartbeatIntervalMs: env.HERD_HEARTBEAT_INTERVAL,
    discoveryIntervalMs: env.HERD_DISCOVERY_INTERVAL,
    timeouts: { embedMs: env.HERD_EMBED_TIMEOUT, generateMs: env.HERD_GENERATE_TIMEOUT },
    lockDurationMs: env.HERD_LOCK_DURATION,
    stalledIntervalMs: env.HERD_STALLED_INTERVAL,
    shutdownTimeoutMs: env.HERD_SHUTDOWN_TIMEOUT,
    prefetch: { mode: env.HERD_PREFETCH, maxWaitMs: env.HERD_PREFETCH_MAX_WAIT },
    routing: env.HERD_ROUTING,
    batchSlice: { targetMs: env.HERD_BATCH_SLICE_TARGET, maxInputs: env.HERD_BATCH_SLICE_MAX },
    metrics:
      env.HERD_METRICS_PORT === undefined
        ? undefined
        : { port: env.HERD_METRICS_PORT, host: env.HERD_METRICS_HOST, credentials: env.HERD_ADMIN_PASSWORD === undefined ? undefined : { user: env.HERD_ADMIN_USER, password: env.HERD_ADMIN_PASSWORD } },
    claimInstances: env.HERD_CLAIM_INSTANCES,
  };
}

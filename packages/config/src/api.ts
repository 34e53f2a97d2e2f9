import { z } from "zod";
import { ModelOptionsEnv, type PinnedModelOptions } from "./model-options.js";
import { databaseEnvShape, toDatabaseConfig, type DatabaseConfig } from "./database.js";
import { boolEnv, bytesEnv, durationMsEnv, enumEnv, intEnv, optionalSecretEnv, stringEnv } from "./primitives.js";
import { sharedEnvShape, toSharedConfig, type SharedConfig } from "./shared.js";

/** "20/s", "600/m", "10000/h" (also "20/sec", "600/minute"…) → requests per window; undefined if malformed. */
export function parseRate(text: string): { requests: number; perSeconds: number } | undefined {
  const match = /^\s*(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/i.exec(text);
  const requests = Number(match?.[1]);
  if (!match || !Number.isInteger(requests) || requests < 1) return undefined;
  const unit = (match[2] as string).toLowerCase()[0];
  return { requests, perSeconds: unit === "s" ? 1 : unit === "m" ? 60 : 3600 };
}

const rateEnv = z
  .string()
  .optional()
  .transform((raw, ctx): { requests: number; perSeconds: number } | undefined => {
    const text = (raw ?? "").trim().toLowerCase();
    if (text === "" || text === "off") return undefined;
    const rate = parseRate(text);
    if (!rate) {
      ctx.addIssue({ code: "custom", message: `expected "off" or a rate like 20/s, 600/m or 10000/h, got "${raw}"` });
      return z.NEVER;
    }
    return rate;
  });

export const ApiEnv = z
  .object({
    ...sharedEnvShape,
    PORT: intEnv(8008, { min: 0, max: 65_535 }),
    HOST: stringEnv("127.0.0.1"),
    /** Largest accepted request body. */
    HERD_MAX_BODY_BYTES: intEnv(8 * 1024 * 1024, { min: 1024 }),
    /** Most inputs in one embed request. */
    HERD_MAX_INPUTS: intEnv(2048, { min: 1 }),
    /** Longest single prompt, message or input, in characters. */
    HERD_MAX_INPUT_CHARS: intEnv(1_000_000, { min: 1 }),
    /** Upper bound for `?wait=`; larger values are clamped to it. */
    HERD_MAX_WAIT: durationMsEnv(30_000, { min: 0, max: 600_000 }),
    /** Jobs waiting per queue before submits get 429. */
    HERD_MAX_WAITING_PER_MODEL: intEnv(10_000, { min: 1 }),
    /** How often the API re-reads worker heartbeats. */
    HERD_FLEET_REFRESH: durationMsEnv(1000, { min: 50, max: 60_000 }),
    HERD_SHUTDOWN_TIMEOUT: durationMsEnv(10_000, { min: 100 }),
    /**
     * Replicas that must hold a new job before the API answers for it (Redis WAIT): with 1, a
     * failover to a replica cannot lose an accepted job. 0 (default): Redis replicates in the
     * background, and the last writes before a primary dies may be lost.
     */
    HERD_REDIS_WAIT_REPLICAS: intEnv(0, { min: 0, max: 16 }),
    /** How long the API waits for those replicas before answering anyway (and logging it). */
    HERD_REDIS_WAIT_TIMEOUT: durationMsEnv(1000, { min: 10, max: 60_000 }),
    ...databaseEnvShape,
    /** Largest document upload request (JSON or multipart). */
    HERD_MAX_UPLOAD_BYTES: bytesEnv(64 * 1024 * 1024),
    /** Documents this process parses and stores at the same time. */
    HERD_INGEST_CONCURRENCY: intEnv(2, { min: 1, max: 64 }),
    /** Worker threads for parsing and chunking. */
    HERD_PARSE_THREADS: intEnv(1, { min: 1, max: 32 }),
    HERD_PARSE_MEMORY: bytesEnv(1024 * 1024 * 1024),
    /** Most time one document's parsing and chunking may take. */
    HERD_PARSE_TIMEOUT: durationMsEnv(10 * 60_000, { min: 10, max: 86_400_000 }),
    /** Chunks per embedding job (one /api/embed call each). */
    HERD_EMBED_BATCH: intEnv(32, { min: 1, max: 512 }),
    /** Lock on an ingest step; if this process dies, its documents resume elsewhere after about this long. */
    HERD_INGEST_LOCK_DURATION: durationMsEnv(60_000, { min: 1000 }),
    HERD_STALLED_INTERVAL: durationMsEnv(30_000, { min: 500 }),
    /** How often the API looks for pending documents whose ingest job is gone or failed for good. */
    HERD_INGEST_RECOVERY_INTERVAL: durationMsEnv(60_000, { min: 1000, max: 86_400_000 }),
    /** How long a document must have been pending before that look considers it. */
    HERD_INGEST_RECOVERY_AFTER: durationMsEnv(300_000, { min: 1000 }),
    /** Bull Board at /admin/queues (HTTP basic auth); unset password = the admin UI is off. */
    HERD_ADMIN_USER: stringEnv("admin"),
    HERD_ADMIN_PASSWORD: optionalSecretEnv(12),
    /** Lets the admin UI retry, promote, clean and remove jobs; read-only otherwise. */
    HERD_ADMIN_WRITE: boolEnv(false),
    /**
     * How long the drop-in Ollama and OpenAI endpoints wait for a job before answering 504 (and
     * canceling it); they answer synchronously, like Ollama.
     */
    HERD_SYNC_TIMEOUT: durationMsEnv(600_000, { min: 100, max: 3_600_000 }),
    /** Runner options (num_ctx…) every request for a model is sent with, so clients cannot make Ollama reload it. */
    HERD_MODEL_OPTIONS: ModelOptionsEnv,
    /**
     * The context Ollama gives a model whose requests set no num_ctx (Ollama's own
     * OLLAMA_CONTEXT_LENGTH): a RAG answer's prompt is fitted to it, since Ollama silently cuts a
     * longer prompt's beginning, where the instructions and the best sources are.
     */
    HERD_OLLAMA_CONTEXT_LENGTH: intEnv(4096, { min: 512, max: 16_777_216 }),
    /**
     * "keys": every route but /health and /ready needs an API key (`herd keys create`). "open": no
     * keys, for local development only: refused unless HOST is a loopback address.
     */
    HERD_AUTH: enumEnv(["keys", "open"] as const, "keys"),
    /**
     * Who shares cached results: "tenant" (default) keeps each tenant's cache apart, so a cache
     * hit never reveals what another tenant asked; "shared" lets every tenant hit every entry
     * (more hits, for deployments whose tenants trust each other).
     */
    HERD_CACHE_SCOPE: enumEnv(["tenant", "shared"] as const, "tenant"),
    /** How long a process trusts a verified key before asking Redis again (a revocation's delay). */
    HERD_KEY_CACHE: durationMsEnv(5000, { min: 0, max: 300_000 }),
    /** Requests per key ("20/s", "600/m", "10000/h") for keys created without --rate; "off": none. */
    HERD_DEFAULT_RATE: rateEnv,
    /** Jobs a key may have queued or running at once, for keys created without --concurrency; "off": no limit. */
    HERD_DEFAULT_CONCURRENCY: z
      .string()
      .optional()
      .transform((raw, ctx): number | undefined => {
        const text = (raw ?? "").trim().toLowerCase();
        if (text === "" || text === "off") return undefined;
        const value = Number(text);
        if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
          ctx.addIssue({ code: "custom", message: `expected "off" or a whole number of jobs (1 or more), got "${raw}"` });
          return z.NEVER;
        }
        return value;
      }),
  })
  .superRefine((env, ctx) => {
    if (env.HERD_AUTH === "open" && !isLoopback(env.HOST)) {
      ctx.addIssue({ code: "custom", path: ["HERD_AUTH"], message: `"open" (no API keys) only works while the API listens on a loopback address, not HOST=${env.HOST}; create keys with herd keys create` });
    }
  });

/** Whether `host` (a listen address or a URL's host name) is this machine's loopback interface. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}



export interface ApiConfig extends SharedConfig {
  port: number;
  host: string;
  limits: { maxBodyBytes: number; maxInputs: number; maxInputChars: number; maxWaitMs: number; maxWaitingPerModel: number };
  fleetRefreshMs: number;
  shutdownTimeoutMs: number;
  /** Replicas a new job must reach before the API answers (0: none), and how long to wait for them. */
  replication: { waitReplicas: number; timeoutMs: number };
  database: DatabaseConfig;
  ingest: {
    maxUploadBytes: number;
    concurrency: number;
    parseThreads: number;
    /** Most JavaScript heap one parse thread may use; a document that needs more fails instead of the process. */
    parseMemoryBytes: number;
    /** Most time one document's parsing may take; a document that needs more fails instead of holding a parse thread. */
    parseTimeoutMs: number;
    embedBatch: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    recovery: { intervalMs: number; pendingForMs: number };
  };
  admin: { user: string; password: string | undefined; write: boolean };
  syncTimeoutMs: number;
  /** Runner options pinned per model (normalised name): they replace what a request asks for. */
  modelOptions: PinnedModelOptions;
  /** Ollama's context for a model when no num_ctx is pinned (HERD_OLLAMA_CONTEXT_LENGTH). */
  ollamaContextLength: number;
  auth: { mode: "keys" | "open"; cacheMs: number; defaultRate: { requests: number; perSeconds: number } | undefined; defaultConcurrency: number | undefined };
  /** "tenant": cache entries are keyed by tenant; "shared": one cache for all tenants. */
  cacheScope: "tenant" | "shared";
}

export function toApiConfig(env: z.output<typeof ApiEnv>): ApiConfig {
  return {
    ...toSharedConfig(env),
    port: env.PORT,
    host: env.HOST,
    limits: {
      maxBodyBytes: env.HERD_MAX_BODY_BYTES,
      maxInputs: env.HERD_MAX_INPUTS,
      maxInputChars: env.HERD_MAX_INPUT_CHARS,
      maxWaitMs: env.HERD_MAX_WAIT,
      maxWaitingPerModel: env.HERD_MAX_WAITING_PER_MODEL,
    },
    fleetRefreshMs: env.HERD_FLEET_REFRESH,
    shutdownTimeoutMs: env.HERD_SHUTDOWN_TIMEOUT,
    replication: { waitReplicas: env.HERD_REDIS_WAIT_REPLICAS, timeoutMs: env.HERD_REDIS_WAIT_TIMEOUT },
    database: toDatabaseConfig(env),
    admin: { user: env.HERD_ADMIN_USER, password: env.HERD_ADMIN_PASSWORD, write: env.HERD_ADMIN_WRITE },
    syncTimeoutMs: env.HERD_SYNC_TIMEOUT,
    modelOptions: env.HERD_MODEL_OPTIONS,
    ollamaContextLength: env.HERD_OLLAMA_CONTEXT_LENGTH,
    auth: { mode: env.HERD_AUTH, cacheMs: env.HERD_KEY_CACHE, defaultRate: env.HERD_DEFAULT_RATE, defaultConcurrency: env.HERD_DEFAULT_CONCURRENCY },
    cacheScope: env.HERD_CACHE_SCOPE,
    ingest: {
      maxUploadBytes: env.HERD_MAX_UPLOAD_BYTES,
      concurrency: env.HERD_INGEST_CONCURRENCY,
      parseThreads: env.HERD_PARSE_THREADS,
      parseMemoryBytes: env.HERD_PARSE_MEMORY,
      parseTimeoutMs: env.HERD_PARSE_TIMEOUT,
      embedBatch: env.HERD_EMBED_BATCH,
      lockDurationMs: env.HERD_INGEST_LOCK_DURATION,
      stalledIntervalMs: env.HERD_STALLED_INTERVAL,
      recovery: { intervalMs: env.HERD_INGEST_RECOVERY_INTERVAL, pendingForMs: env.HERD_INGEST_RECOVERY_AFTER },
    },
  };
}

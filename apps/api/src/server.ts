import express, { type ErrorRequestHandler, type Express } from "express";
import type { RedisClient } from "@herd/redis";
import type { ApiConfig } from "@herd/config";
import type { HerdCache } from "@herd/cache";
import type { HerdKeys, RetentionPolicy } from "@herd/jobs";
import { atMostEvery, coerceError, type Logger } from "@herd/logger";
import { hasCredentials, httpMetrics } from "@herd/metrics";
import { isDatabaseUnavailable, isUnstorableText, type Database } from "@herd/store";
import { ApiError, databaseUnavailable, redisFailure } from "./errors.js";
import type { FleetView } from "./fleet-view.js";
import type { JobStore } from "./job-store.js";
import { ADMIN_PATH, routeLabel, type ApiMetrics } from "./metrics.js";
import { securityHeaders } from "./security-headers.js";
import { NUL_MESSAGE } from "./storable.js";
import type { IngestionProgress } from "./ingest/progress.js";
import type { QueueDepth } from "./queue-depth.js";
import type { QueueRegistry } from "./queues.js";
import type { AdminBoard } from "./admin.js";
import type { InstanceProber } from "./instance-prober.js";
import { fleetRouter } from "./routes/fleet.js";
import { statsRouter } from "./routes/stats.js";
import { healthRouter } from "./routes/health.js";
import { collectionsRouter } from "./routes/collections.js";
import { jobsRouter } from "./routes/jobs.js";
import { retrievalRouter } from "./routes/retrieval.js";
import { OLLAMA_PATHS, ollamaRouter } from "./routes/ollama.js";
import { OPENAI_PATHS, openAiRouter } from "./routes/openai.js";
import { ANTHROPIC_PATHS, anthropicRouter } from "./routes/anthropic.js";
import type { FleetInstances } from "./dropin/instances.js";
import { dialectError } from "./dropin/dialects.js";
import type { ApiKeys, ConcurrencyQuota } from "@herd/access";
import { authenticate } from "./auth.js";
import { rateLimit } from "./rate-limit.js";

export interface ServerDeps {
  config: ApiConfig;
  redis: RedisClient;
  cache: HerdCache;
  queues: QueueRegistry;
  fleet: FleetView;
  store: JobStore;
  depth: QueueDepth;
  db: Database;
  progress: IngestionProgress;
  metrics: ApiMetrics;
  jobMetrics: ApiMetrics["jobs"];
  keys: HerdKeys;
  prober: InstanceProber;
  admin: AdminBoard;
  instances: FleetInstances;
  /** API keys, or undefined in open mode. */
  apiKeys: ApiKeys | undefined;
  /** Jobs each key has queued or running (keys mode). */
  quota?: ConcurrencyQuota | undefined;
  logger: Logger;
}

/** Routes and the methods they accept, for 405 answers with an Allow header. */
const KNOWN_ROUTES: Array<[path: string, methods: string]> = [
  ["/v1/jobs", "POST"],
  ["/v1/jobs/:id", "GET, DELETE"],
  ["/v1/fleet", "GET"],
  ["/health", "GET"],
  ["/ready", "GET"],
  ["/v1/collections", "GET, POST"],
  ["/v1/collections/:name", "GET, DELETE"],
  ["/v1/collections/:name/documents", "GET, POST"],
  ["/v1/collections/:name/documents/*id", "GET, DELETE"],
  ["/v1/collections/:name/search", "POST"],
  ["/v1/collections/:name/answer", "POST"],
  ["/v1/ingestions/:id", "GET, DELETE"],
  ["/metrics", "GET"],
  ["/api/load-balancer-stats", "GET"],
  ["/api/advanced-cache-stats", "GET"],
  ["/api/ollama-health", "GET"],
  ["/api/generate", "POST"],
  ["/api/chat", "POST"],
  ["/api/embed", "POST"],
  ["/api/embeddings", "POST"],
  ["/api/tags", "GET"],
  ["/api/ps", "GET"],
  ["/api/show", "POST"],
  ["/api/version", "GET"],
  ["/v1/embeddings", "POST"],
  ["/v1/chat/completions", "POST"],
  ["/v1/completions", "POST"],
  ["/v1/responses", "POST"],
  ["/v1/messages", "POST"],
  ["/v1/messages/count_tokens", "POST"],
  ["/v1/models", "GET"],
];

/** Document uploads have their own (larger) limit and may be multipart; the general parser skips them. */
const UPLOAD_PATH = /^\/v1\/collections\/[^/]+\/documents\/?$/;

const BODY_PARSER_ERRORS: Record<string, [number, string]> = {
  "entity.parse.failed": [400, "invalid_json"],
  "entity.too.large": [413, "payload_too_large"],
  "encoding.unsupported": [415, "unsupported_media_type"],
  "charset.unsupported": [415, "unsupported_media_type"],
  "request.aborted": [400, "request_aborted"],
  "request.size.invalid": [400, "invalid_request"],
};

const MULTER_ERRORS: Record<string, [number, string]> = {
  LIMIT_FILE_SIZE: [413, "payload_too_large"],
  LIMIT_FILE_COUNT: [413, "too_many_inputs"],
  LIMIT_PART_COUNT: [413, "too_many_inputs"],
};

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if ((error as { name?: unknown } | null)?.name === "MulterError") {
    const [status, code] = MULTER_ERRORS[String((error as { code?: unknown }).code)] ?? [400, "invalid_request"];
    return new ApiError(status, code, `upload: ${(error as Error).message}`);
  }
  if (error instanceof Error && /Unexpected end of form|Malformed part header|Multipart: Boundary not found/i.test(error.message)) {
    return new ApiError(400, "invalid_request", `upload: ${error.message}`);
  }
  const type = (error as { type?: unknown } | null)?.type;
  // express.json's strict mode refuses a top-level string, number or null with a JSON.parse-like
  // message ("\"null\" is not valid JSON"): such a body is valid JSON, just not an object.
  if (type === "entity.parse.failed" && isJsonScalar((error as { body?: unknown }).body)) {
    return new ApiError(400, "invalid_request", "body: must be a JSON object");
  }
  if (typeof type === "string" && BODY_PARSER_ERRORS[type]) {
    const [status, code] = BODY_PARSER_ERRORS[type];
    const message = code === "invalid_json" ? `body: invalid JSON (${(error as Error).message})` : (error as Error).message;
    return new ApiError(status, code, message);
  }
  // Postgres first: its errors carry SQLSTATE codes (08xxx, 57P0x) or pg's own messages, while
  // ioredis reports an outage as a closed stream or exhausted retries.
  if (isDatabaseUnavailable(error)) return databaseUnavailable();
  // Every field that reaches the database is checked for U+0000 (storable.ts); this is the net under a field that is not.
  if (isUnstorableText(error)) return new ApiError(400, "invalid_request", `body: ${NUL_MESSAGE}`);
  return redisFailure(error);
}

function isJsonScalar(body: unknown): boolean {
  if (typeof body !== "string") return false;
  try {
    const value: unknown = JSON.parse(body);
    return value === null || typeof value !== "object";
  } catch {
    return false; // Not JSON at all: the parser's own message says where.
  }
}

/** The express app; `listen()` is the caller's business (see runtime.ts). */
export function createServer(deps: ServerDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(httpMetrics(deps.metrics.registry, routeLabel));
  // Security headers; Bull Board's pages run their own scripts and styles, so they skip the CSP.
  app.use(securityHeaders({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }, ADMIN_PATH, { contentSecurityPolicy: false }));
  app.use(authenticate(deps.apiKeys));
  app.use(rateLimit(deps.redis, deps.config.prefix, deps.config.auth.defaultRate));
  // Compressed request bodies are refused (415): no client of ours sends them, and skipping the
  // decompression branch is measurably cheaper on the cache-hit path.
  const json = express.json({ limit: deps.config.limits.maxBodyBytes, type: "application/json", inflate: false });
  // Ollama reads a JSON body whatever its Content-Type (curl -d sends a form type): so do its drop-ins.
  const anyJson = express.json({ limit: deps.config.limits.maxBodyBytes, type: () => true, inflate: false });
  app.use((req, res, next) => {
    if (req.method === "POST" && UPLOAD_PATH.test(req.path)) return next();
    return (OLLAMA_PATHS.test(req.path) || OPENAI_PATHS.test(req.path) ? anyJson : json)(req, res, next);
  });
  // Job routes first: they carry nearly all traffic, and every router a request passes costs time.
  app.use(jobsRouter(deps));
  app.use(ollamaRouter(deps));
  app.use(openAiRouter(deps));
  app.use(anthropicRouter(deps));
  const retention: RetentionPolicy = deps.config.jobs;
  const collectionDeps = {
    ...deps,
    retention,
    embedBatch: deps.config.ingest.embedBatch,
    limits: { maxUploadBytes: deps.config.ingest.maxUploadBytes, maxDocuments: deps.config.limits.maxInputs },
  };
  app.use(collectionsRouter(collectionDeps));
  app.use(retrievalRouter({ ...collectionDeps, config: deps.config }));
  app.use(healthRouter(deps));
  app.get("/metrics", async (req, res) => {
    const { user, password } = deps.config.admin;
    // Metrics are the operator's: behind the admin login, never an API key. Keys mode without an
    // admin password keeps them closed rather than open to every network peer.
    if (password === undefined && deps.config.auth.mode === "keys") {
      throw new ApiError(404, "metrics_disabled", "set HERD_ADMIN_PASSWORD: /metrics then answers with the admin login (HTTP basic auth)");
    }
    if (password !== undefined && !hasCredentials(req, { user, password })) {
      throw new ApiError(401, "unauthorized", "admin credentials required (HTTP basic auth)", { headers: { "WWW-Authenticate": 'Basic realm="Herd metrics"' } });
    }
    res.setHeader("Content-Type", deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  app.use(fleetRouter(deps));
  app.use(statsRouter(deps));
  app.use(deps.admin.router);

  for (const [path, methods] of KNOWN_ROUTES) {
    app.all(path, (req, res) => {
      res.setHeader("Allow", methods);
      res.status(405).json({ error: { code: "method_not_allowed", message: `${req.method} is not allowed on ${path}; use ${methods}` } });
    });
  }
  app.use((req, res) => {
    res.status(404).json({ error: { code: "not_found", message: `no route for ${req.method} ${req.path}` } });
  });

  // While Redis is full, every submit is refused: one line per 10 s.
  const outOfMemoryLog = atMostEvery(10_000);
  const reportOutOfMemory = () =>
    outOfMemoryLog(() => deps.logger.warn("the queue Redis is out of memory (maxmemory under noeviction): new jobs are refused with 503 redis_out_of_memory until memory is freed or the limit raised"));
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const apiError = toApiError(error);
    if (!apiError) deps.logger.error({ err: coerceError(error) }, "unhandled error in request");
    if (apiError?.code === "redis_out_of_memory") reportOutOfMemory();
    const status = apiError?.status ?? 500;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(apiError?.extra.headers ?? {})) res.setHeader(name, value);
    const dialect = OLLAMA_PATHS.test(req.path) ? "ollama" : OPENAI_PATHS.test(req.path) ? "openai" : ANTHROPIC_PATHS.test(req.path) ? "anthropic" : undefined;
    if (dialect) {
      const shaped = dialectError(dialect, apiError, req.body);
      res.status(shaped.status).json(shaped.body);
      return;
    }
    res.status(status).json({
      error: {
        code: apiError?.code ?? "internal",
        message: apiError?.message ?? "internal error; see the server log",
        ...(apiError?.extra.details ?? {}),
      },
    });
  };
  app.use(onError);
  return app;
}

import type { RedisClient } from "@herd/redis";
import type { ApiConfig } from "@herd/config";
import type { HerdCache } from "@herd/cache";
import type { FleetSnapshot } from "@herd/fleet";
import { countImages, createJobId, jobOptions, ownedJobName, PRIORITIES, queueName, type AnswerSources, type JobKind, type JobRequest } from "@herd/jobs";
import { ApiError, isConnectionError, noLiveWorkers, redisFailure, redisUnavailable } from "./errors.js";
import type { FleetView } from "./fleet-view.js";
import { renderJobView, type JsonChunks } from "./job-store.js";
import { confirmReplicated } from "./replication.js";
import { cacheScopeOf, prepareEmbed, prepareGenerate, type Prepared } from "./prepare-job.js";
import type { QueueDepth } from "./queue-depth.js";
import type { QueueRegistry } from "./queues.js";
import { coerceError, type Logger } from "@herd/logger";
import type { ApiJobMetrics } from "@herd/metrics";
import type { ConcurrencyQuota } from "@herd/access";

export interface SubmitDeps {
  config: ApiConfig;
  jobMetrics: ApiJobMetrics;
  redis: RedisClient;
  cache: HerdCache;
  queues: QueueRegistry;
  fleet: FleetView;
  depth: QueueDepth;
  logger: Logger;
  /** Per-key concurrency quota; absent in tests that build a bare submit path. */
  quota?: ConcurrencyQuota;
}

export type SubmitOutcome =
  | { kind: "cached"; body: JsonChunks; model: string; type: JobKind }
  | {
      kind: "queued";
      id: string;
      queue: string;
      type: JobKind;
      model: string;
      /** The request joined an identical job already queued, running or just completed (coalescing). */
      joined: boolean;
    };

function cachedOutcome(prepared: Prepared<JobKind>, result: string | JsonChunks): SubmitOutcome {
  const body = renderJobView(
    { id: null, type: prepared.kind, model: prepared.model, status: "completed", attempts: 0, cached: true, timings: { queuedMs: 0, runMs: 0, totalMs: 0 } },
    result,
  );
  return { kind: "cached", body, model: prepared.model, type: prepared.kind };
}

/**
 * The served model that `model` (normalised) names for `kind`, written as the fleet serves it
 * (Ollama matches names whatever their case; see FleetSnapshot.spelling). Throws unless a live
 * worker serves it (see notServed).
 */
export async function ensureServed(deps: Pick<SubmitDeps, "fleet">, model: string, kind: JobKind): Promise<string> {
  const cached = deps.fleet.snapshot.spelling(model, kind);
  if (cached !== undefined) return cached;
  const snapshot = await deps.fleet.fresh();
  const served = snapshot.spelling(model, kind);
  if (served !== undefined) return served;
  throw notServed(snapshot, model, kind);
}

/**
 * Why `model` cannot be served for `kind`. With live workers, the fleet does not serve it: 404
 * with the models it does serve. With none (every worker restarting at once, or their heartbeats
 * lapsing while Redis failed over), whether it will be served is unknown until they are back: 503
 * with Retry-After, which clients retry, where a 404 would tell them to give up.
 */
export function notServed(snapshot: FleetSnapshot, model: string, kind: JobKind): ApiError {
  if (snapshot.workers.length === 0) return noLiveWorkers(model);
  const served = snapshot.modelsFor(kind);
  return new ApiError(404, "model_not_served", `model "${model}" is not served for ${kind} by any live worker; served: ${served.join(", ") || "none"}`, { details: { served } });
}

/** How a request asks for a capability, where the capability's name does not say it. */
const ASKED_AS: Partial<Record<string, string>> = { vision: "images (no vision)", insert: "suffix (no insert: fill-in-the-middle)" };

/**
 * Refuses a generation that asks for what the model's instances say it cannot do (their
 * /api/show capabilities): Ollama would refuse tools, thinking and a suffix too, but only after the job's
 * trip through the queue, and an image only once the model is loaded (a load that may evict
 * another model from the GPU). Where an instance does not list capabilities, the instance decides.
 */
export function ensureCapable(snapshot: FleetSnapshot, model: string, request: Extract<JobRequest, { type: "generate" }>): void {
  const needs = [
    ...(request.tools && request.tools.length > 0 ? (["tools"] as const) : []),
    ...(request.think !== undefined && request.think !== false ? (["thinking"] as const) : []),
    ...(countImages(request) > 0 ? (["vision"] as const) : []),
    ...(request.suffix ? (["insert"] as const) : []),
  ];
  const capability = needs.find((needed) => snapshot.lacks(model, needed));
  if (capability === undefined) return;
  const listed = [...(snapshot.models.get(model)?.capabilities ?? [])].sort().join(", ");
  const what = ASKED_AS[capability] ?? capability;
  throw new ApiError(400, "unsupported_capability", `"${model}" does not support ${what}: its instances list ${listed || "no capabilities"}`, { details: { capability } });
}

/** Owner of the jobs Herd submits for itself (a search query's embedding). */
export const INTERNAL_TENANT = "herd";

export interface SubmitOptions {
  /**
   * Called with the new job's id and queue just before it is added (to subscribe to its outcome);
   * the add waits for the promise it returns (until no event of the job can be missed).
   */
  beforeEnqueue?: (id: string, queue: string) => void | Promise<void>;
  /** For RAG answers: the generation's result carries these citations (and caches apart). */
  answer?: AnswerSources;
  /** The client family for metrics (see clientFamily); "internal" for Herd's own requests. */
  client?: string;
  /**
   * The tenant the job belongs to (recorded in its name, checked on reads). Identical requests
   * coalesce only within one tenant, so a shared job never reveals another tenant's request.
   */
  tenant?: string;
  /** The API key submitting, with its concurrency limit (jobs queued or running at once). */
  key?: { id: string; concurrency: number | undefined } | undefined;
  /**
   * A client waits for the tokens: the worker publishes them as they come. Such a job is never
   * coalesced with another request (each stream belongs to one client, who may cancel it).
   */
  stream?: boolean;
  /** The reply channel of this process (see replies.ts), when a client here waits for the result. */
  replyTo?: string | undefined;
  /** Answer from the cache or not at all (503 not_cached, nothing queued): for when no instance could run the job. */
  cachedOnly?: boolean;
}

/**
 * Validate → answer from the cache → or enqueue (coalescing identical in-flight requests).
 * Shared by /v1/jobs and the drop-in endpoints.
 */
export async function submitJob(deps: SubmitDeps, request: JobRequest, options: SubmitOptions = {}): Promise<SubmitOutcome> {
  const tenant = options.tenant ?? INTERNAL_TENANT;
  const scope = cacheScopeOf(deps.config, tenant);
  const prepare = (model?: string): Prepared<JobKind> =>
    request.type === "embed" ? prepareEmbed(deps, request, scope, model) : prepareGenerate(deps, request, options.answer, options.stream === true, scope, model);
  let prepared = prepare();
  const served = deps.fleet.snapshot.serves(prepared.model, prepared.kind);
  const hot = served || options.cachedOnly ? prepared.peek() : undefined;
  const count = (outcome: "cached" | "coalesced" | "queued" | "rejected") => deps.jobMetrics.requests.inc({ kind: prepared.kind, model: prepared.model, outcome, client: options.client ?? "internal" });
  if (hot) {
    count("cached");
    return cachedOutcome(prepared, hot);
  }
  if (deps.redis.status !== "ready") throw redisUnavailable();
  if (!served && !options.cachedOnly) {
    // Written in another case than the fleet's ("LLAMA3.2"), it is the same model: the same queue,
    // cache entries and coalescing, while results still echo the name as the request wrote it.
    const spelled = await ensureServed(deps, prepared.model, prepared.kind);
    if (spelled !== prepared.model) prepared = prepare(spelled);
  }
  if (request.type === "generate") ensureCapable(deps.fleet.snapshot, prepared.model, request);
  const name = queueName(prepared.kind, prepared.model);
  const queue = deps.queues.queue(name);
  try {
    const cached = await prepared.lookup();
    if (cached !== undefined) {
      count("cached");
      return cachedOutcome(prepared, cached);
    }
    if (options.cachedOnly) throw new ApiError(503, "not_cached", `no cached ${prepared.kind} result for this ${prepared.model} request`);
    const waiting = await deps.depth.waiting(queue);
    if (waiting >= deps.config.limits.maxWaitingPerModel) {
      count("rejected");
      throw new ApiError(429, "queue_full", `${waiting} jobs are already waiting for ${prepared.model}; retry later`, { headers: { "Retry-After": "1" } });
    }
    const priorityClass = request.priority ?? "interactive";
    const id = createJobId(prepared.kind, prepared.model);
    const jobOpts = {
      ...jobOptions(deps.config.jobs, priorityClass),
      jobId: id,
      ...(prepared.coalesceKey ? { deduplication: { id: `${tenant}:${prepared.coalesceKey}` } } : {}),
    };
    const quota = options.key?.concurrency !== undefined && deps.quota ? { store: deps.quota, keyId: options.key.id, limit: options.key.concurrency } : undefined;
    if (quota && !(await quota.store.admit(quota.keyId, id, quota.limit))) {
      count("rejected");
      throw new ApiError(429, "concurrency_limited", `this API key already has ${quota.limit} jobs queued or running; retry when one finishes`, { headers: { "Retry-After": "1" } });
    }
    await options.beforeEnqueue?.(id, name);
    let job;
    try {
      // A streamed generation's client assembles its text from the progress events, which must all
      // arrive before it hears of the end: it waits for the completion event, never a reply.
      const data = options.replyTo !== undefined && options.stream !== true ? { ...prepared.data, replyTo: options.replyTo } : prepared.data;
      job = await queue.add(ownedJobName(prepared.kind, tenant, quota?.keyId), data, jobOpts);
    } catch (error) {
      // The add failed, so nothing runs under this reservation; if even the release fails, it lapses.
      if (quota) await quota.store.release(quota.keyId, id).catch((releaseError: unknown) => deps.logger.warn({ err: coerceError(releaseError), jobId: id }, "could not release a quota reservation"));
      throw error;
    }
    deps.depth.added(queue);
    const jobId = job.id ?? id;
    await confirmReplicated(deps, queue.toKey(jobId), { jobId });
    if (jobId === id) {
      count("queued");
      deps.jobMetrics.submitted.inc({ kind: prepared.kind, model: prepared.model, priority: priorityClass });
      deps.logger.debug({ jobId, queue: name, priority: priorityClass }, "job queued");
    } else {
      count("coalesced");
      // Joined a job already counted (against the key that created it): the reservation is not needed.
      if (quota) await quota.store.release(quota.keyId, id);
      deps.logger.debug({ jobId, queue: name, priority: priorityClass }, "request joined an identical queued job");
    }
    if (jobId !== id && priorityClass === "interactive") await promote(queue, jobId, deps.logger);
    return { kind: "queued", id: jobId, queue: name, type: prepared.kind, model: prepared.model, joined: jobId !== id };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw redisFailure(error) ?? error;
  }
}

/** An interactive request that joined a queued batch job lifts it to interactive priority. */
async function promote(queue: ReturnType<QueueRegistry["queue"]>, jobId: string, logger: Logger): Promise<void> {
  const existing = await queue.getJob(jobId);
  if (!existing || existing.priority === PRIORITIES.interactive) return;
  try {
    await existing.changePriority({ priority: PRIORITIES.interactive });
  } catch (error) {
    // Usually the job started or finished in the meantime (nothing left to promote). Either way the
    // request has joined the job, which runs at its old priority: not a reason to fail the request.
    const level = isConnectionError(error) ? "warn" : "debug";
    logger[level]({ err: coerceError(error), jobId }, "could not promote a joined job to interactive priority");
  }
}

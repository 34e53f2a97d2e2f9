import type { z } from "zod";
import { causeOfAbort, isOutOfMemory } from "@herd/redis";
/** An error with an HTTP status and a stable machine-readable code: `{ "error": { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * 400 invalid_request for a body (or query) a schema refused, naming the field: its first issue
 * as "field: message"; an unknown field as `unknown field "limit"`, with the field meant when
 * `aliases` knows the name from another API (`(did you mean "k"?)`), since most unknown fields
 * are another API's name for one of ours. `whole`: what a problem of no single field is a problem
 * of (the body, or the query string).
 */
export function invalidRequest(error: z.ZodError, aliases: Readonly<Record<string, string>> = {}, whole = "body"): ApiError {
  // A field known by another name explains the rest too ("query" sent for "question", which is then missing).
  const issue = error.issues.find((candidate) => candidate.code === "unrecognized_keys" && candidate.keys.some((key) => Object.hasOwn(aliases, key))) ?? error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : whole;
  if (issue?.code !== "unrecognized_keys") return new ApiError(400, "invalid_request", `${field}: ${issue?.message ?? "invalid"}`);
  const named = issue.keys.map((key) => (Object.hasOwn(aliases, key) ? `"${key}" (did you mean "${aliases[key]}"?)` : `"${key}"`));
  return new ApiError(400, "invalid_request", `${field}: unknown field${named.length > 1 ? "s" : ""} ${named.join(", ")}`);
}

export function redisUnavailable(): ApiError {
  return new ApiError(503, "redis_unavailable", "the job queue is unavailable; retry shortly", { headers: { "Retry-After": "1" } });
}

export function databaseUnavailable(): ApiError {
  return new ApiError(503, "database_unavailable", "the document database is unavailable; retry shortly", { headers: { "Retry-After": "2" } });
}

/**
 * The queue Redis reached `maxmemory` under `noeviction` (the policy BullMQ needs): it refuses
 * every write that needs memory, so nothing new can be queued until memory is freed or the limit
 * raised. Jobs already accepted stay in Redis and are retried (see the worker's storeResult).
 */
export function redisOutOfMemory(): ApiError {
  return new ApiError(503, "redis_out_of_memory", "the job queue's Redis is out of memory (maxmemory reached); nothing new can be queued until memory is freed or its limit raised; retry later", { headers: { "Retry-After": "5" } });
}

/** No worker is live at all, so whether `model` is served cannot be told yet (see notServed). */
export function noLiveWorkers(model: string): ApiError {
  return new ApiError(503, "no_live_workers", `no worker is live to serve "${model}"; retry shortly`, { headers: { "Retry-After": "2" } });
}

/**
 * The answer for a Redis failure that is the deployment's state rather than a bug: unreachable
 * (503 redis_unavailable) or out of memory (503 redis_out_of_memory); undefined for anything else.
 */
export function redisFailure(error: unknown): ApiError | undefined {
  // BullMQ's own MULTIs (addBulk, flows) fail as EXECABORT: what Redis refused is the cause.
  const cause = causeOfAbort(error);
  if (isConnectionError(cause)) return redisUnavailable();
  if (isOutOfMemory(cause)) return redisOutOfMemory();
  return undefined;
}

/** True for errors that mean "Redis is not reachable right now" rather than a bug. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    /Connection is closed|enableOfflineQueue|ECONNREFUSED|ECONNRESET|EPIPE|Stream isn't writeable|Reached the max retries|connect ETIMEDOUT|LOADING|Command timed out/i.test(error.message) ||
    // A Redis Cluster between a master's failure and its replica's promotion.
    /CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available/i.test(error.message) ||
    // A primary demoted by a failover behind one endpoint (managed Redis), until the client reconnects.
    /^READONLY /.test(error.message) ||
    // A slot that moved under a pipeline (ioredis follows a lone command's redirection, not a
    // pipeline's once part of it ran), a replica cut off from its primary, or too few replicas for
    // min-replicas-to-write: all states of a failover, over in seconds.
    /^(MOVED|ASK|MASTERDOWN|NOREPLICAS) /.test(error.message)
  );
}

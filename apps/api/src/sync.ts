import type { HerdKeys, JobRequest, JobView } from "@herd/jobs";
import { ApiError } from "./errors.js";
import { runInteractive } from "./interactive.js";
import type { JobStore } from "./job-store.js";
import type { QueueRegistry } from "./queues.js";
import type { SubmitDeps } from "./submit.js";

/** Herd's own requests have no client that could go away. */
const NEVER = new AbortController().signal;

export interface SyncDeps extends SubmitDeps {
  store: JobStore;
  queues: QueueRegistry;
  keys: HerdKeys;
}

/**
 * Runs a job to completion for the API's own use (a search query's embedding): cache first,
 * then the queue at interactive priority, waiting at most `timeoutMs`.
 */
export function runJob(deps: SyncDeps, request: JobRequest, timeoutMs: number, cachedOnly = false): Promise<JobView> {
  return runInteractive(deps, request, { timeoutMs, signal: NEVER, client: "internal", ...(cachedOnly ? { cachedOnly } : {}) });
}

/** The query's vector, or an API error naming why there is none; `cachedOnly`: from the embedding cache or not at all. */
export async function embedQuery(deps: SyncDeps, model: string, text: string, dimensions: number | undefined, timeoutMs: number, cachedOnly = false): Promise<number[]> {
  const view = await runJob(deps, { type: "embed", model, input: text, priority: "interactive", ...(dimensions ? { dimensions } : {}) }, timeoutMs, cachedOnly);
  if (view.status !== "completed") throw new ApiError(502, "upstream_failed", `embedding the query failed: ${view.error?.message ?? view.status}`);
  const vector = (view.result as { embeddings?: number[][] }).embeddings?.[0];
  if (!vector) throw new ApiError(502, "upstream_failed", "embedding the query returned no vector");
  return vector;
}

import type { JobRequest, JobView } from "@herd/jobs";
import { ApiError } from "./errors.js";
import { chunksToString, type JobStore } from "./job-store.js";
import type { QueueRegistry, Subscription } from "./queues.js";
import { submitJob, type SubmitDeps } from "./submit.js";

export interface SyncDeps extends SubmitDeps {
  store: JobStore;
  queues: QueueRegistry;
}

/**
 * Runs a job to completion for the API's own use (a search query's embedding): cache first,
 * then the queue at the request's priority, waiting at most `timeoutMs`.
 */
export async function runJob(deps: SyncDeps, request: JobRequest, timeoutMs: number): Promise<JobView> {
  let subscription: Subscription | undefined;
  try {
    const outcome = await submitJob(deps, request, { beforeEnqueue: (id, queue) => (subscription = deps.queues.subscribe(queue, id)) });
    if (outcome.kind === "cached") return JSON.parse(chunksToString(outcome.body)) as JobView;
    const fresh = subscription?.id === outcome.id;
    if (!fresh) {
      subscription?.cancel();
      subscription = deps.queues.subscribe(outcome.queue, outcome.id);
    }
    const parsed = deps.store.parse(outcome.id);
    if (!parsed) throw new Error(`unparseable job id ${outcome.id}`);
    const finished = await deps.queues.waitFor(subscription as Subscription, timeoutMs, () => deps.store.isFinished(parsed, outcome.id), { checkFirst: !fresh });
    if (!finished) throw new ApiError(504, "upstream_timeout", `the ${request.type} job did not finish within ${timeoutMs}ms; the fleet may be saturated`);
    const view = await deps.store.read(outcome.id, finished === "finished" ? undefined : finished);
    if (!view) throw new ApiError(502, "upstream_failed", `the ${request.type} job's result expired before it was read`);
    return JSON.parse(chunksToString(view)) as JobView;
  } finally {
    subscription?.cancel();
  }
}

/** The query's vector, or an API error naming why there is none. */
export async function embedQuery(deps: SyncDeps, model: string, text: string, dimensions: number | undefined, timeoutMs: number): Promise<number[]> {
  const view = await runJob(deps, { type: "embed", model, input: text, priority: "interactive", ...(dimensions ? { dimensions } : {}) }, timeoutMs);
  if (view.status !== "completed") throw new ApiError(502, "upstream_failed", `embedding the query failed: ${view.error?.message ?? view.status}`);
  const vector = (view.result as { embeddings?: number[][] }).embeddings?.[0];
  if (!vector) throw new ApiError(502, "upstream_failed", "embedding the query returned no vector");
  return vector;
}

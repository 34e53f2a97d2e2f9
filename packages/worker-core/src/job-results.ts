import type { Job } from "bullmq";
import type { CacheLayer } from "@herd/cache";
import { publishOn, writeTogether } from "@herd/redis";
import { encodeReply, type ReplyHeader, type ReplyTiming } from "@herd/jobs";
import { keepJoinable } from "./coalesce-grace.js";
import { trimResults } from "./result-retention.js";
import { roundMs } from "./latency-window.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * Where one attempt of a job spends its time in this worker, for its reply (the API shows it in
 * Server-Timing): waiting for a slot of the instance, in Ollama calls, and everything else.
 */
export class JobClock {
  readonly #startedAt = performance.now();
  #slotWaitMs = 0;
  #ollamaMs = 0;

  addSlotWait(ms: number): void {
    this.#slotWaitMs += ms;
  }

  /** An Ollama call held its slot `ms`: request sent to answer (to the end of a stream). */
  addCall(ms: number): void {
    this.#ollamaMs += ms;
  }

  /** The split so far: the worker's own time is what the slot waits and calls leave of it. */
  timing(): ReplyTiming {
    const elapsed = performance.now() - this.#startedAt;
    return { slotWaitMs: roundMs(this.#slotWaitMs), ollamaMs: roundMs(this.#ollamaMs), workerMs: roundMs(Math.max(0, elapsed - this.#slotWaitMs - this.#ollamaMs)) };
  }
}

/** What storing a job's result needs of the processor's dependencies. */
export type ResultDeps = Pick<ProcessorDeps, "redis" | "cache" | "keys" | "resultTtlMs" | "resultKeep" | "onStoreError" | "onTrimError" | "onReplyError"> & { monitor: { instance: { name: string } } };

/** The cache's copy of a job's result: entries (hash, value) of one layer. */
export interface CacheCopy {
  layer: CacheLayer;
  entries: ReadonlyArray<readonly [hash: string, value: string]>;
}

/**
 * Stores the result and resolves once Redis has: BullMQ's completion, which follows when the
 * processor returns, must never record a job whose result was refused. A refused write need not
 * take the connection down: Redis out of memory (`maxmemory` under `noeviction`) answers this SET
 * with an error and still runs BullMQ's completion script sent behind it, which would leave a
 * completed job without a result (the API then reads it as unknown: an accepted job lost). A
 * failure here fails the processor instead; for want of memory the binding hands the job back
 * without spending an attempt (see MemoryPause). A waiting client may already have its result
 * from the reply, which Redis does not refuse: the job runs again anyway.
 *
 * With `replyTo`, a client waits for this job in that API process: the result goes there too, in
 * the same write (see @herd/jobs replies.ts), so waiting for Redis's answer costs that client
 * nothing. `cacheCopy` is written first. When the cache lives in
 * the queue Redis (the default) it leaves in the same write and Redis stores it before it sends
 * the reply, so a client that repeats the request the moment it has the answer hits the cache;
 * no write of its own delays the reply. A separate cache Redis gets its copy in a write of its
 * own, sent right after this one (so not before the reply either). The trim of the queue's
 * stored results (see trimResults) and the commands the processor issues once this resolves (a
 * progress count) leave in one write with BullMQ's completion.
 */
export async function storeResult(deps: ResultDeps, job: Job, text: string, replyTo: string | undefined, clock: JobClock, cacheCopy?: CacheCopy): Promise<void> {
  const jobId = job.id ?? "";
  writeTogether(deps.redis);
  if (cacheCopy) {
    deps.cache.writeTogether();
    // Fire and forget: the cache never holds a job up, and HerdCache counts its own failures.
    void deps.cache.setMany(cacheCopy.layer, cacheCopy.entries);
  }
  const stored = deps.redis.set(deps.keys.result(jobId), text, "PX", deps.resultTtlMs);
  // A lost reply costs the waiting client only speed (it still finds the completion by its state
  // checks), so a failure here is logged with the job, never failing it.
  if (replyTo !== undefined) {
    publishOn(deps.redis, replyTo, encodeReply({ ...replyHeader(job, deps.monitor.instance.name, job.attemptsMade + 1, Date.now()), timing: clock.timing() }, text)).catch((error: unknown) => deps.onReplyError(job, error));
  }
  // Without the grace, a request at the completion's edge may start a second identical call: no
  // loss, so a failure is logged with the job, never failing it.
  const joinable = keepJoinable(deps.redis, job)?.catch((error: unknown) => deps.onStoreError(job, error));
  await Promise.all([stored, joinable]);
  writeTogether(deps.redis);
  // In the second write, with BullMQ's completion: off the way of the reply.
  trimResults(deps.redis, deps.keys, job, deps.resultTtlMs, deps.resultKeep)?.catch((error: unknown) => deps.onTrimError(job, error));
}

/** `attempts`: including the one that just ended (BullMQ counts it only once it recorded it). */
function replyHeader(job: Job, instance: string, attempts: number, finishedOn: number): ReplyHeader {
  return { jobId: job.id ?? "", attempts, instance, timestamp: job.timestamp, processedOn: job.processedOn ?? finishedOn, finishedOn };
}

/**
 * Tells the API process whose client waits for `job` (its `replyTo`) that the job failed for
 * good. Sent after BullMQ recorded the failure (job.finishedOn is then set), so the read the API
 * makes next finds it; `attemptsMade` already counts the failed attempt.
 */
export function sendFailureReply(deps: Pick<ResultDeps, "redis" | "monitor" | "onReplyError">, job: Job): void {
  const replyTo = (job.data as { replyTo?: unknown } | undefined)?.replyTo;
  if (typeof replyTo !== "string" || job.finishedOn === undefined) return;
  const header: ReplyHeader = { ...replyHeader(job, deps.monitor.instance.name, job.attemptsMade, job.finishedOn), failed: true };
  publishOn(deps.redis, replyTo, encodeReply(header, "")).catch((error: unknown) => deps.onReplyError(job, error));
}

import type { Job } from "bullmq";
import { failsInOrder, publishOn, sendHeldNow, writeTogether } from "@herd/redis";
import { encodeReply, type ReplyHeader, type ReplyTiming } from "@herd/jobs";
import { keepJoinable } from "./coalesce-grace.js";
import { roundMs } from "./latency-window.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * Where one attempt of a job spends its time in this worker, for its reply (the API shows it in
 * Server-Timing): waiting for a slot of the instance, in Ollama calls, and everything else. It
 * also notes whether the attempt's slot went straight to a waiting job, which decides how the
 * reply is sent (storeResult).
 */
export class JobClock {
  readonly #startedAt = performance.now();
  #slotWaitMs = 0;
  #ollamaMs = 0;
  #slotHandedOn = false;

  addSlotWait(ms: number): void {
    this.#slotWaitMs += ms;
  }

  /** An Ollama call held its slot `ms`: request sent to answer (to the end of a stream). */
  addCall(ms: number): void {
    this.#ollamaMs += ms;
  }

  /** A job already waiting at the gate took the slot the moment this attempt's call freed it. */
  markSlotHandedOn(): void {
    this.#slotHandedOn = true;
  }

  /** Whether the binding had a backlog as this attempt's call ended (see storeResult). */
  get slotHandedOn(): boolean {
    return this.#slotHandedOn;
  }

  /** The split so far: the worker's own time is what the slot waits and calls leave of it. */
  timing(): ReplyTiming {
    const elapsed = performance.now() - this.#startedAt;
    return { slotWaitMs: roundMs(this.#slotWaitMs), ollamaMs: roundMs(this.#ollamaMs), workerMs: roundMs(Math.max(0, elapsed - this.#slotWaitMs - this.#ollamaMs)) };
  }
}

/** What storing a job's result needs of the processor's dependencies. */
export type ResultDeps = Pick<ProcessorDeps, "redis" | "keys" | "resultTtlMs" | "onStoreError" | "onReplyError"> & { monitor: { instance: { name: string } } };

/**
 * Writes the result without waiting for the reply. It goes out on the same connection as the
 * job's completion, which BullMQ sends next, so Redis stores the result before it marks the job
 * completed; and whatever makes this write fail (connection loss, out of memory) fails the
 * completion too, so the job is retried rather than completed without a result. The result
 * and the completion (issued in this same event-loop turn) leave in one socket write, as do
 * commands a processor issues after this call in the same turn on the same connection (a progress
 * count; the cache's copy when the cache shares the queue's Redis, the default).
 *
 * With `replyTo`, a client waits for this job in that API process: the result goes there too,
 * right behind the write that stores it (see @herd/jobs replies.ts). The reply carries `clock`'s
 * timing, read as the reply is written. When the binding is idle, those writes leave at once,
 * ahead of the rest of the turn (sendHeldNow), and the completion and what else the turn issues
 * follow in a second write: the client then hears about 0.25 ms sooner. Under a backlog (a job
 * already waiting at the gate took this call's slot, see JobClock.slotHandedOn) everything leaves
 * in one write: one socket write fewer for the worker and for Redis per job (each wakes another
 * process), which the fleet's throughput feels, against a reply later by Redis's run of the
 * completion script, small next to the time such a job waited in the queue. In the balancing
 * benchmark (2026-12-04) Redis went from about 4.2 to 3.5 writes per job, and of 14 interleaved
 * pairs of runs, 11 had a shorter makespan with it, 2 the same and 1 a longer (about 0.3% on average).
 */
export async function storeResult(deps: ResultDeps, job: Job, text: string, replyTo: string | undefined, clock: JobClock): Promise<void> {
  const jobId = job.id ?? "";
  writeTogether(deps.redis);
  const stored = deps.redis.set(deps.keys.result(jobId), text, "PX", deps.resultTtlMs);
  // A lost reply costs the waiting client only speed (it still finds the completion by its state
  // checks), so a failure here is logged with the job, never failing it.
  if (replyTo !== undefined) {
    publishOn(deps.redis, replyTo, encodeReply({ ...replyHeader(job, deps.monitor.instance.name, job.attemptsMade + 1, Date.now()), timing: clock.timing() }, text)).catch((error: unknown) => deps.onReplyError(job, error));
  }
  // Without the grace, a request at the completion's edge may start a second identical call: no
  // loss, so a failure is logged with the job, never failing it.
  const joinable = keepJoinable(deps.redis, job)?.catch((error: unknown) => deps.onStoreError(job, error));
  // An idle binding's waiting client gets its reply now; the completion and the cache's copy follow.
  if (replyTo !== undefined && !clock.slotHandedOn) sendHeldNow(deps.redis);
  // The completion BullMQ sends next must not succeed where this write failed (a completed job
  // without its result): on one connection it cannot, elsewhere the job waits for the write.
  if (!failsInOrder(deps.redis)) return Promise.all([stored, joinable]).then(() => undefined);
  stored.catch((error: unknown) => deps.onStoreError(job, error));
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

import { DelayedError, WaitingError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { decodeFailure, ownerOfJobName, PRIORITIES, queueName, type FailureCode, type JobKind } from "@herd/jobs";
import type { ModelBindingStatus } from "@herd/fleet";
import { coerceError, type Logger } from "@herd/logger";
import type { DiscoveredModel } from "./discovery.js";
import type { InstanceMonitor } from "./instance-monitor.js";
import { processEmbed, processGenerate, type ProcessorDeps } from "./processors.js";
import { PullLoop, type FetchDecision } from "./pull-loop.js";
import { BatchSlicer } from "./batch-slicer.js";
import { LatencyWindow } from "./latency-window.js";
import { JobTracker, type WorkerMetrics } from "./metrics.js";
import { SlotGate } from "./slot-gate.js";

export interface PrefetchPolicy {
  /** "auto" fetches one job just before a slot is expected to free, under a backlog; "off" never. */
  mode: "auto" | "off";
  /** Only where average call time / slots is at most this (a held job waits about that long). */
  maxWaitMs: number;
}

export interface BindingOptions {
  monitor: InstanceMonitor;
  model: DiscoveredModel;
  connection: Redis;
  bullPrefix: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  prefetch: PrefetchPolicy;
  /** Target duration of one batch embedding call (0: no slicing) and its most inputs. */
  batchSlice: { targetMs: number; maxInputs: number };
  metrics: WorkerMetrics;
  deps: Omit<ProcessorDeps, "gate" | "monitor" | "embeddingLength" | "onCall" | "onStoreError" | "yieldSlot" | "slicer">;
  logger: Logger;
  /** Whether another instance of this worker, healthy and pulling, serves `model` for `kind`. */
  peerServes?: (model: string, kind: JobKind, except: string) => boolean;
}

/** A fetched job that sat in the queue at least this long means there is a backlog. */
const BACKLOG_WAIT_MS = 5;
/** Weight of the newest sample in the moving averages. */
const EWMA_WEIGHT = 0.1;
/** Extra lead on top of the measured fetch time, for timer and scheduling jitter. */
const PREFETCH_MARGIN_MS = 2;
/** Longest a batch job waits between slices for the binding to look at the queue. */
const YIELD_WAIT_MS = 50;
/** Failures that say something about the instance rather than the request. */
const INSTANCE_FAULTS = new Set<FailureCode>(["instance_unavailable", "timeout", "invalid_response"]);
/** How long a retry this instance passes on stays out of the queue (lets a healthy peer take it). */
const RETRY_ELSEWHERE_DELAY_MS = 25;

function ewma(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current + EWMA_WEIGHT * (sample - current);
}

/**
 * One (instance, model): a PullLoop per job kind the model serves, all sharing one SlotGate so
 * the instance never runs more than `slots` requests for this model.
 *
 * When to fetch (decide()):
 * - a slot is free (counting jobs already fetched or being fetched) → fetch, blocking on an
 *   empty queue;
 * - no slot is free but one is expected to free within the time a fetch takes (moving averages
 *   of call and fetch times), the queue has a backlog, and this binding is fast enough that a held
 *   job waits only briefly (average call / slots ≤ maxWaitMs) → fetch one job ahead, without
 *   blocking. It waits at the gate, in this process, and starts the instant a slot frees;
 * - otherwise sleep until a slot frees, health changes, or the prefetch moment comes.
 */
export class Binding {
  readonly gate: SlotGate;
  readonly model: DiscoveredModel;
  readonly slicer: BatchSlicer;
  readonly #loops = new Map<JobKind, PullLoop>();
  #completed = 0;
  #failed = 0;
  #pulling = false;
  /** After passing a retry on: no fetching until then (see #failedHereLast). */
  #holdOffUntil = 0;
  #closed = false;
  /** Non-blocking fetches ahead of a free slot, in flight. */
  #prefetching = 0;
  /** Jobs fetched that have not reached the gate yet (parsing, cache lookups). */
  #pending = 0;
  /** Per queue: did the last fetch show jobs waiting? */
  readonly #backlog = new Map<JobKind, boolean>();
  #avgCallMs: number | undefined;
  readonly #latencies = new LatencyWindow(512);
  #avgFetchMs: number | undefined;
  /** Set by a batch job between slices: fetch once, without blocking, even though no slot is free. */
  #yieldRequests: Array<() => void> = [];
  /** Jobs fetched for a yield: when one reaches the gate, the yielding batch jobs go on. */
  readonly #yieldingFor = new Set<string>();

  constructor(private readonly options: BindingOptions) {
    this.model = options.model;
    this.gate = new SlotGate(options.model.slots, () => this.#wakeAll());
    this.slicer = new BatchSlicer(options.batchSlice.targetMs, options.batchSlice.maxInputs);
  }

  get key(): string {
    return `${this.options.monitor.instance.name}/${this.model.model}`;
  }

  /** Whether this binding takes jobs now (its instance healthy, the worker not closing). */
  get pulling(): boolean {
    return this.#pulling && !this.#closed;
  }

  get instanceName(): string {
    return this.options.monitor.instance.name;
  }

  start(): void {
    const deps: ProcessorDeps = {
      ...this.options.deps,
      gate: this.gate,
      slicer: this.slicer,
      monitor: this.options.monitor,
      embeddingLength: this.model.embeddingLength,
      yieldSlot: (kind, held, priority) => this.#yieldSlot(kind, held, priority),
      onStoreError: (job, error) => this.options.logger.error({ err: coerceError(error), jobId: job.id }, "could not store a job result"),
      onCall: () => undefined,
    };
    for (const kind of this.model.kinds) {
      const process = kind === "embed" ? processEmbed : processGenerate;
      const queue = queueName(kind, this.model.model);
      const instance = this.options.monitor.instance.name;
      const tracker = new JobTracker(this.options.metrics, this.options.logger, { kind, model: this.model.model, instance, queue });
      const onCall = (outcome: "completed" | "failed", durationMs: number, errorClass?: string) => {
        if (outcome === "completed") {
          this.#completed += 1;
          this.#latencies.record(durationMs);
        } else this.#failed += 1;
        this.#avgCallMs = ewma(this.#avgCallMs, durationMs);
        this.options.metrics.instances.requestDuration.observe({ ollama: instance, model: this.model.model, kind, outcome }, durationMs / 1000);
        if (errorClass) this.options.metrics.instances.errors.inc({ ollama: instance, class: errorClass });
      };
      const loop = new PullLoop({
        queue,
        connection: this.options.connection,
        bullPrefix: this.options.bullPrefix,
        workerName: this.options.monitor.instance.name,
        lockDurationMs: this.options.lockDurationMs,
        stalledIntervalMs: this.options.stalledIntervalMs,
        logger: this.options.logger.child({ binding: this.key, kind }),
        decide: () => this.#decide(kind),
        onFetched: (job, fetchMs, blocking) => this.#onFetched(kind, job, fetchMs, blocking),
        process: async (job: Job, token: string) => {
          const startedAt = tracker.started(job);
          this.#pending += 1;
          let pending = true;
          const reachedGate = () => {
            if (!pending) return;
            pending = false;
            this.#pending -= 1;
            if (job.id && this.#yieldingFor.delete(job.id)) this.#resolveYields();
          };
          try {
            if (!this.#pulling) {
              // Fetched just as the instance went unhealthy: give it back without spending an attempt.
              await job.moveToWait(token);
              throw new WaitingError();
            }
            if (this.#failedHereLast(job, kind)) {
              // A sick instance answers at once, so its slot is the first free one and it would
              // take the job's retries too, burning every attempt before it is quarantined. Pass
              // the retry on (no attempt spent) while a healthy peer here serves the model.
              await job.moveToDelayed(Date.now() + RETRY_ELSEWHERE_DELAY_MS, token);
              // Stay out of the queue a little longer than the job, so the peer is the one to get it.
              this.#holdOffUntil = Date.now() + 2 * RETRY_ELSEWHERE_DELAY_MS;
              throw new DelayedError();
            }
            const gate = { acquire: (priority?: number) => (reachedGate(), this.gate.acquire(priority)) };
            const result = await process({ ...deps, gate, onCall }, job, token);
            if (tracker.finished(job, startedAt)) this.#releaseQuota(job);
            return result;
          } catch (error) {
            if (tracker.finished(job, startedAt, error)) this.#releaseQuota(job);
            throw error;
          } finally {
            reachedGate();
            this.#wakeAll();
          }
        },
      });
      this.#loops.set(kind, loop);
      loop.start();
    }
    if (this.options.monitor.healthy) void this.setPulling(true);
  }

  /** The job's last attempt failed on this instance, through its fault, and a peer could run it. */
  #failedHereLast(job: Job, kind: JobKind): boolean {
    if (job.attemptsMade === 0 || !job.failedReason) return false;
    const failure = decodeFailure(job.failedReason);
    if (failure.instance !== this.instanceName || !INSTANCE_FAULTS.has(failure.code)) return false;
    return this.options.peerServes?.(this.model.model, kind, this.instanceName) ?? false;
  }

  /** A job that ended frees a place in its API key's concurrency quota (see @herd/access). */
  #releaseQuota(job: Job): void {
    const keyId = ownerOfJobName(job.name)?.keyId;
    if (!keyId || !job.id) return;
    this.options.deps.redis
      .zrem(this.options.deps.keys.keyInflight(keyId), job.id)
      .catch((error: unknown) => this.options.logger.warn({ err: coerceError(error), jobId: job.id }, "could not release the key's concurrency quota; it lapses on its own"));
  }

  /**
   * A batch job between two slices, holding the slot. When interactive jobs wait in its queue, it
   * asks for one non-blocking fetch and waits (at most YIELD_WAIT_MS) until the fetched job stands
   * at the gate. Then, if a job of higher priority waits there, the slot goes to it.
   */
  async #yieldSlot(kind: JobKind, held: () => void, priority: number): Promise<(() => void) | undefined> {
    const loop = this.#loops.get(kind);
    if (loop && !this.#closed && this.#pulling && (await loop.waitingAt(PRIORITIES.interactive)) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, YIELD_WAIT_MS);
        this.#yieldRequests.push(() => {
          clearTimeout(timer);
          resolve();
        });
        this.#wakeAll();
      });
    }
    return this.gate.handOver(held, priority);
  }

  #decide(kind: JobKind): FetchDecision {
    if (this.#closed || !this.#pulling) return { action: "wait" };
    const holdOff = this.#holdOffUntil - Date.now();
    if (holdOff > 0) return { action: "wait", timeoutMs: holdOff };
    if (this.#yieldRequests.length > 0 && this.#prefetching === 0) {
      this.#prefetching += 1;
      return { action: "fetch", block: false };
    }
    // Another kind's loop may be blocked on its own (empty) queue, so fetches in flight do not
    // count against free slots; a binding serving two kinds can hold one extra job at the gate.
    const held = this.gate.waiting + this.#pending;
    if (this.gate.inFlight + held < this.model.slots) return { action: "fetch", block: true };
    const { mode, maxWaitMs } = this.options.prefetch;
    const avgCall = this.#avgCallMs;
    if (mode === "off" || !this.#backlog.get(kind) || avgCall === undefined || avgCall / this.model.slots > maxWaitMs) return { action: "wait" };
    // Fetch one job ahead for every slot expected to free within the time a fetch takes. A call
    // running far past the average says nothing about when it ends: it gets no job ahead.
    const lead = (this.#avgFetchMs ?? 1) + PREFETCH_MARGIN_MS;
    const now = performance.now();
    const ends = this.gate.holderStarts().map((since) => since + avgCall).filter((end) => end > now - avgCall / 2);
    const due = ends.filter((end) => end - lead <= now).length;
    if (held + this.#prefetching < due) {
      this.#prefetching += 1;
      return { action: "fetch", block: false };
    }
    const next = ends.find((end) => end - lead > now);
    return next === undefined ? { action: "wait" } : { action: "wait", timeoutMs: next - lead - now };
  }

  #onFetched(kind: JobKind, job: Job | undefined, fetchMs: number, blocking: boolean): void {
    // A yielding batch job resumes once the job fetched for it waits at the gate (so that job,
    // if interactive, is served first), or at once when the fetch found nothing.
    if (!blocking && this.#yieldRequests.length > 0) {
      if (job?.id) this.#yieldingFor.add(job.id);
      else this.#resolveYields();
    }
    if (!blocking) {
      this.#prefetching -= 1;
      // Only non-blocking fetches measure the round trip; a blocking one also waited for a job.
      this.#avgFetchMs = ewma(this.#avgFetchMs, fetchMs);
    }
    if (!job) {
      this.#backlog.set(kind, false);
      return;
    }
    if (job.attemptsMade === 0) this.#backlog.set(kind, (job.processedOn ?? Date.now()) - job.timestamp >= BACKLOG_WAIT_MS);
  }

  #resolveYields(): void {
    for (const resolve of this.#yieldRequests.splice(0)) resolve();
  }

  #wakeAll(): void {
    for (const loop of this.#loops.values()) loop.wake();
  }

  /** Starts or stops pulling. Stopping hands jobs that wait for a slot back to the queue. */
  async setPulling(pulling: boolean): Promise<void> {
    if (this.#closed) return;
    this.#pulling = pulling;
    if (!pulling) this.gate.rejectWaiters("instance stopped pulling");
    this.#wakeAll();
  }

  status(): ModelBindingStatus {
    const latency = this.#latencies.summary();
    return {
      model: this.model.model,
      kinds: [...this.model.kinds],
      slots: this.model.slots,
      inFlight: this.gate.inFlight,
      completed: this.#completed,
      failed: this.#failed,
      ...(this.model.embeddingLength !== undefined ? { embeddingLength: this.model.embeddingLength } : {}),
      ...(latency ? { latencyMs: { mean: latency.meanMs, p95: latency.p95Ms } } : {}),
    };
  }

  /**
   * Stops fetching and waits for running jobs. Jobs still waiting for a slot go back to the queue
   * at once; running ones finish, or are handed back when the caller's deadline aborts them.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#resolveYields();
    this.gate.rejectWaiters("worker shutting down");
    await Promise.all([...this.#loops.values()].map((loop) => loop.close()));
  }
}

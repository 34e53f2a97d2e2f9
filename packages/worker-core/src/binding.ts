import { DelayedError, WaitingError, type Job } from "bullmq";
import { isOutOfMemory, type RedisClient } from "@herd/redis";
import { decodeFailure, PRIORITIES, queueName, type FailureCode, type JobKind } from "@herd/jobs";
import type { ModelBindingStatus } from "@herd/fleet";
import type { Logger } from "@herd/logger";
import type { DiscoveredModel } from "./discovery.js";
import type { RouteCandidate } from "./job-router.js";
import type { InstanceMonitor } from "./instance-monitor.js";
import { processEmbed, processGenerate, type ProcessorDeps } from "./processors.js";
import { processorDeps, releaseKeyQuota } from "./binding-deps.js";
import { sendFailureReply } from "./job-results.js";
import { releaseImages } from "./image-release.js";
import { PullLoop, type FetchDecision } from "./pull-loop.js";
import { BatchSlicer } from "./batch-slicer.js";
import { FetchDecider } from "./fetch-decider.js";
import { CallStats } from "./call-stats.js";
import { MemoryPause } from "./memory-pause.js";
import { JobTracker, type WorkerMetrics } from "./metrics.js";
import type { PrefetchPolicy } from "./prefetch.js";
import { SlotGate, type SlotRelease } from "./slot-gate.js";

export type { PrefetchPolicy };

export interface BindingOptions {
  monitor: InstanceMonitor;
  model: DiscoveredModel;
  connection: RedisClient;
  bullPrefix: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  prefetch: PrefetchPolicy;
  /** Target duration of one batch embedding call (0: no slicing) and its most inputs. */
  batchSlice: { targetMs: number; maxInputs: number };
  metrics: WorkerMetrics;
  deps: Omit<ProcessorDeps, "gate" | "monitor" | "model" | "servedElsewhere" | "embeddingLength" | "onCall" | "onHeld" | "onLoad" | "onStoreError" | "onTrimError" | "onReplyError" | "yieldSlot" | "slicer">;
  logger: Logger;
  /** Whether another instance of this worker, healthy and pulling, serves `model` for `kind`. */
  peerServes?: (model: string, kind: JobKind, except: string) => boolean;
  /** Whether an instance other than this one (this worker's or another's) serves `model` for `kind` (see handedBack). */
  servedElsewhere?: (model: string, kind: JobKind) => boolean;
  /** Another binding of this worker that should run `job`, which this one fetched (see fasterIdlePeer). */
  routeTo?: (from: Binding, kind: JobKind, job: Job) => Binding | undefined;
}

/** Failures that say something about the instance rather than the request. */
const INSTANCE_FAULTS = new Set<FailureCode>(["instance_unavailable", "timeout", "invalid_response"]);
/** How long a retry this instance passes on stays out of the queue (lets a healthy peer take it). */
const RETRY_ELSEWHERE_DELAY_MS = 25;

/**
 * One (instance, model): a PullLoop per job kind the model serves, all sharing one SlotGate so
 * the instance never runs more than `slots` requests for this model. While the instance is
 * healthy, its FetchDecider says when each loop fetches.
 */
export class Binding implements RouteCandidate<Job> {
  readonly gate: SlotGate;
  readonly model: DiscoveredModel;
  readonly slicer: BatchSlicer;
  readonly #loops = new Map<JobKind, PullLoop>();
  readonly #calls = new CallStats();
  #pulling = false;
  /** After passing a retry on or a refused result: no fetching until then. */
  #holdOffUntil = 0;
  readonly #memoryPause = new MemoryPause();
  #closed = false;
  readonly #fetch: FetchDecider;

  constructor(private readonly options: BindingOptions) {
    this.model = options.model;
    this.gate = new SlotGate(options.model.slots, () => this.#wakeAll());
    this.#fetch = new FetchDecider(this.gate, options.prefetch);
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

  get slots(): number {
    return this.model.slots;
  }

  get occupied(): number {
    return this.#fetch.occupied;
  }

  /** See CallStats.typicalCallMs. */
  get typicalCallMs(): number | undefined {
    return this.#calls.typicalCallMs;
  }

  /** Whether the instance had the model loaded at its last probe (undefined: unknown). */
  get loaded(): boolean | undefined {
    return this.options.monitor.loaded?.has(this.model.model);
  }

  /** Whether this binding leaves jobs to another worker's instance, clearly faster or with the model loaded (see FetchDecider.deferring). */
  get deferring(): boolean {
    return this.#fetch.deferring;
  }

  setDeferring(deferring: boolean): void {
    if (this.#fetch.deferring === deferring) return;
    this.#fetch.deferring = deferring;
    this.options.logger.info({ binding: this.key, deferring }, deferring ? "another worker's instance serves this model clearly faster, or has it loaded while this one has not: leaving it the jobs it can take" : "no faster or warmer instance elsewhere: waiting for jobs again");
    this.#wakeAll();
  }

  get acceptsNow(): boolean {
    return this.pulling && Date.now() >= this.#holdOffUntil;
  }

  /** The pull loop of `kind`, when this binding serves it. */
  loop(kind: JobKind): PullLoop | undefined {
    return this.#loops.get(kind);
  }

  start(): void {
    const deps = processorDeps(this.options, this.gate, this.slicer, (kind, held, priority) => this.#yieldSlot(kind, held, priority));
    for (const kind of this.model.kinds) {
      const process = kind === "embed" ? processEmbed : processGenerate;
      const queue = queueName(kind, this.model.model);
      const instance = this.options.monitor.instance.name;
      const tracker = new JobTracker(this.options.metrics, this.options.logger, { kind, model: this.model.model, instance, queue });
      const onCall = (outcome: "completed" | "failed", durationMs: number, errorClass?: string, size?: number) => {
        if (outcome === "completed") {
          this.#calls.completed(durationMs);
          this.#fetch.recordCall(durationMs, size);
        } else this.#calls.failed();
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
        route: (job) => this.options.routeTo?.(this, kind, job)?.loop(kind),
        onLooked: (waiting) => this.#fetch.onLooked(kind, waiting),
        onListened: (woke) => this.#fetch.onListened(kind, woke),
        onFetched: (job, fetchMs, blocking) => this.#fetch.onFetched(kind, job, fetchMs, blocking),
        onFailedForGood: (job) => {
          sendFailureReply(deps, job);
          releaseImages(job, this.options.logger);
        },
        onCompleted: (job) => releaseImages(job, this.options.logger),
        onSettled: (job) => {
          this.#fetch.settled(job);
          this.#wakeAll();
        },
        process: async (job: Job, token: string) => {
          const startedAt = tracker.started(job);
          const reachedGate = this.#fetch.jobStarted(job);
          try {
            // Given back without spending an attempt when it was fetched just as the instance went
            // unhealthy, or by a fetch left waiting from before this binding deferred to a warmer
            // or faster instance elsewhere (run here, it would load the model, seconds on a GPU,
            // while that instance sits ready): that instance's worker takes it; if nobody does,
            // this binding's counts see it waiting and fetch it after all.
            if (!this.#pulling || this.#fetch.fetchedBeforeDeferring(job)) {
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
            const slots = this.gate;
            const gate = { acquire: (priority?: number, size?: number) => (reachedGate(true), slots.acquire(priority, this.#fetch.expectedMs(size))), get inFlight() { return slots.inFlight; } };
            const result = await process({ ...deps, gate, onCall }, job, token).catch((error: unknown) => this.#handBackIfRedisFull(error, job, token));
            this.#memoryPause.reset();
            if (tracker.finished(job, startedAt)) releaseKeyQuota(this.options.deps, job, this.options.logger);
            return result;
          } catch (error) {
            if (tracker.finished(job, startedAt, error)) releaseKeyQuota(this.options.deps, job, this.options.logger);
            throw error;
          } finally {
            reachedGate(false);
            this.#wakeAll();
          }
        },
      });
      this.#loops.set(kind, loop);
      loop.start();
    }
    if (this.options.monitor.healthy) void this.setPulling(true);
  }

  /** The job's last attempt failed on this instance, through the instance's fault. */
  lastFailedHere(job: Job): boolean {
    if (job.attemptsMade === 0 || !job.failedReason) return false;
    const failure = decodeFailure(job.failedReason);
    return failure.instance === this.instanceName && INSTANCE_FAULTS.has(failure.code);
  }

  /** The job's last attempt failed here, through this instance's fault, and a peer could run it. */
  #failedHereLast(job: Job, kind: JobKind): boolean {
    return this.lastFailedHere(job) && (this.options.peerServes?.(this.model.model, kind, this.instanceName) ?? false);
  }

  /** Redis refused to store the job's result (see MemoryPause): back to the queue, no attempt spent. */
  async #handBackIfRedisFull(error: unknown, job: Job, token: string): Promise<never> {
    if (!isOutOfMemory(error)) throw error;
    this.#holdOffUntil = await this.#memoryPause.handBack(job, token, this.options.logger);
    throw new DelayedError();
  }

  /**
   * A batch job between two slices, holding the slot. When interactive jobs wait in its queue, it
   * asks for one non-blocking fetch and waits (briefly, see FetchDecider.requestYield) until the
   * fetched job stands at the gate. Then, if a job of higher priority waits there, it gets the slot.
   */
  async #yieldSlot(kind: JobKind, held: SlotRelease, priority: number): Promise<SlotRelease | undefined> {
    const loop = this.#loops.get(kind);
    if (loop && !this.#closed && this.#pulling && (await loop.waitingAt(PRIORITIES.interactive)) > 0) {
      const yielded = this.#fetch.requestYield();
      this.#wakeAll();
      await yielded;
    }
    return this.gate.handOver(held, priority);
  }

  #decide(kind: JobKind): FetchDecision {
    if (this.#closed || !this.#pulling) return { action: "wait" };
    const holdOff = this.#holdOffUntil - Date.now();
    if (holdOff > 0) return { action: "wait", timeoutMs: holdOff };
    return this.#fetch.decide(kind);
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
    const { completed, failed, ...timing } = this.#calls.status();
    return {
      model: this.model.model,
      kinds: [...this.model.kinds],
      slots: this.model.slots,
      inFlight: this.gate.inFlight,
      completed,
      failed,
      ...(this.model.embeddingLength !== undefined ? { embeddingLength: this.model.embeddingLength } : {}),
      ...(this.model.contextLength !== undefined ? { contextLength: this.model.contextLength } : {}),
      ...(this.model.capabilities ? { capabilities: this.model.capabilities } : {}),
      ...timing,
      ...(this.loaded !== undefined ? { loaded: this.loaded } : {}),
    };
  }

  /**
   * Stops fetching and waits for running jobs. Jobs still waiting for a slot go back to the queue
   * at once; running ones finish, or are handed back when the caller's deadline aborts them.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#fetch.resolveYields();
    this.gate.rejectWaiters("worker shutting down");
    await Promise.all([...this.#loops.values()].map((loop) => loop.close()));
  }
}

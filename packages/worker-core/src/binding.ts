import { MetricsTime, WaitingError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { PRIORITIES, queueName, type JobKind, type JobReturnValue } from "@herd/jobs";
import type { ModelBindingStatus } from "@herd/fleet";
import { coerceError, type Logger } from "@herd/logger";
import type { DiscoveredModel } from "./discovery.js";
import type { InstanceMonitor } from "./instance-monitor.js";
import { processEmbed, processGenerate, type ProcessorDeps } from "./processors.js";
import { SlotGate } from "./slot-gate.js";

export interface BindingOptions {
  monitor: InstanceMonitor;
  model: DiscoveredModel;
  connection: Redis;
  bullPrefix: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** "auto" fetches one job ahead while the queue has an interactive backlog; "off" never does. */
  prefetch: "auto" | "off";
  deps: Omit<ProcessorDeps, "gate" | "monitor" | "embeddingLength" | "onCall">;
  logger: Logger;
}

/** A job that sat in the queue at least this long means there is a backlog worth prefetching for. */
const BACKLOG_WAIT_MS = 5;

/**
 * One (instance, model): a BullMQ Worker per job kind the model serves, all sharing one SlotGate
 * so the instance never runs more than `slots` requests for this model.
 *
 * Prefetch: BullMQ fetches the next job only after the previous one is completed in Redis, which
 * leaves the slot idle for a round trip per job. While the queue has an interactive backlog the
 * Worker's concurrency is slots + 1: one job waits at the gate, in this process, and starts the
 * instant a slot frees. When the backlog is gone (jobs arrive to an empty queue) it drops back to
 * `slots`, so an idle instance elsewhere is never beaten to a fresh job by a busy one.
 */
export class Binding {
  readonly gate: SlotGate;
  readonly model: DiscoveredModel;
  readonly #workers = new Map<JobKind, Worker>();
  #completed = 0;
  #failed = 0;
  #prefetching = false;
  #pulling = false;
  #closed = false;

  constructor(private readonly options: BindingOptions) {
    this.model = options.model;
    this.gate = new SlotGate(options.model.slots);
  }

  get key(): string {
    return `${this.options.monitor.instance.name}/${this.model.model}`;
  }

  start(): void {
    const deps: ProcessorDeps = {
      ...this.options.deps,
      gate: this.gate,
      monitor: this.options.monitor,
      embeddingLength: this.model.embeddingLength,
      onCall: (outcome) => {
        if (outcome === "completed") this.#completed += 1;
        else this.#failed += 1;
      },
    };
    for (const kind of this.model.kinds) {
      const process = kind === "embed" ? processEmbed : processGenerate;
      const worker = new Worker<unknown, JobReturnValue>(
        queueName(kind, this.model.model),
        async (job: Job, token?: string) => {
          if (!this.#pulling && token) {
            // A fetch already blocking in Redis when the worker paused still takes one job; give it back.
            await job.moveToWait(token);
            throw new WaitingError();
          }
          this.#adaptPrefetch(job);
          return process(deps, job, token);
        },
        {
          connection: this.options.connection,
          prefix: this.options.bullPrefix,
          concurrency: this.model.slots,
          name: this.options.monitor.instance.name,
          autorun: false,
          lockDuration: this.options.lockDurationMs,
          stalledInterval: this.options.stalledIntervalMs,
          metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
        },
      );
      worker.on("error", (error) => this.options.logger.error({ err: coerceError(error), binding: this.key }, "worker error"));
      this.#workers.set(kind, worker);
    }
    if (this.options.monitor.healthy) void this.setPulling(true);
  }

  #adaptPrefetch(job: Job): void {
    if (this.options.prefetch === "off" || job.attemptsMade > 0) return;
    const waited = (job.processedOn ?? Date.now()) - job.timestamp;
    const backlog = waited >= BACKLOG_WAIT_MS && job.opts.priority === PRIORITIES.interactive;
    if (backlog === this.#prefetching) return;
    this.#prefetching = backlog;
    for (const worker of this.#workers.values()) worker.concurrency = this.model.slots + (backlog ? 1 : 0);
  }

  /** Starts or stops pulling. Stopping hands jobs that wait for a slot back to the queue. */
  async setPulling(pulling: boolean): Promise<void> {
    if (this.#closed) return;
    this.#pulling = pulling;
    if (pulling) {
      for (const worker of this.#workers.values()) await worker.resume();
    } else {
      await Promise.all([...this.#workers.values()].map((worker) => worker.pause(true)));
      this.gate.rejectWaiters("instance stopped pulling");
    }
  }

  status(): ModelBindingStatus {
    return {
      model: this.model.model,
      kinds: [...this.model.kinds],
      slots: this.model.slots,
      inFlight: this.gate.inFlight,
      completed: this.#completed,
      failed: this.#failed,
      ...(this.model.embeddingLength !== undefined ? { embeddingLength: this.model.embeddingLength } : {}),
    };
  }

  /**
   * Stops fetching and waits for running jobs. Jobs still waiting for a slot go back to the
   * queue at once; running ones finish, or are handed back when the caller's deadline aborts them.
   */
  async close(force = false): Promise<void> {
    this.#closed = true;
    // close() marks each Worker as closing synchronously, so nothing new is fetched after this line.
    const closing = [...this.#workers.values()].map((worker) => worker.close(force));
    this.gate.rejectWaiters("worker shutting down");
    await Promise.all(closing);
  }
}

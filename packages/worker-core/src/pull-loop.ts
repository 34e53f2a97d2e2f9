import { randomUUID } from "node:crypto";
import { DelayedError, MetricsTime, Queue, WaitingChildrenError, WaitingError, Worker, type Job } from "bullmq";
import type { RedisClient } from "@herd/redis";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import { QueueActivity } from "./queue-activity.js";

/** What the binding wants the loop to do next. */
export type FetchDecision =
  | { action: "fetch"; block: boolean }
  /** Sleep until woken, or until `timeoutMs` passes when given. */
  | { action: "wait"; timeoutMs?: number }
  /**
   * Count the jobs waiting in the queue (for onLooked), without taking one; with `listenMs`, when
   * none is waiting, then wait up to that long for one to become waiting (for onListened).
   */
  | { action: "look"; listenMs?: number };

export interface PullLoopOptions {
  queue: string;
  /** The worker's connection, with the blocking role's options (BullMQ and the events listener duplicate it). */
  connection: RedisClient;
  bullPrefix: string;
  /** Stored on each job as `processedBy` (the instance's name). */
  workerName: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  logger: Logger;
  decide: () => FetchDecision;
  /** Called once per look decision with the number of jobs waiting (0 when the count failed). */
  onLooked?: (waiting: number) => void;
  /** After a look that listened: whether a job became waiting (false: the time ran out). */
  onListened?: (woke: boolean) => void;
  /** Called once per fetch decision with the job (undefined: none, failed or shutting down) and its duration. */
  onFetched: (job: Job | undefined, fetchMs: number, blocking: boolean) => void;
  process: (job: Job, token: string) => Promise<unknown>;
  /** A job failed for good (no retry follows), after BullMQ recorded it. */
  onFailedForGood?: (job: Job) => void;
  /** BullMQ recorded the job's completion. */
  onCompleted?: (job: Job) => void;
  /** A fetched job is done with: its outcome recorded, or handed back. Called before the loop re-decides. */
  onSettled?: (job: Job) => void;
  /**
   * For a job a blocking fetch returned: another loop of the same queue (another instance's) that
   * should run it instead, or undefined to run it here.
   */
  route?: (job: Job) => PullLoop | undefined;
}

const SPECIAL = new Set([WaitingError.name, DelayedError.name, WaitingChildrenError.name]);
const FINISH_ATTEMPTS = 3;

/**
 * Fetches jobs from one BullMQ queue with BullMQ's manual API (getNextJob, moveToCompleted,
 * moveToFailed, extendLock, the stalled-job checker), so the binding decides exactly when to
 * fetch: the moment a slot frees, or just before. A BullMQ Worker's own loop only fetches after a
 * job has been completed in Redis, which leaves every slot idle for a round trip per job.
 *
 * Invariants: at most one getNextJob call in flight per loop (BullMQ's blocking fetch is not
 * re-entrant); every fetched job is completed, failed or handed back exactly once; its lock is
 * renewed while it runs.
 */
export class PullLoop {
  readonly worker: Worker;
  /** For looking at the queue without taking jobs from it. */
  readonly queue: Queue;
  readonly #options: PullLoopOptions;
  readonly #tokenPrefix = randomUUID();
  #tokens = 0;
  #wake: (() => void) | undefined;
  #closing = false;
  #running: Promise<void> | undefined;
  readonly #active = new Set<Promise<void>>();
  #activity: QueueActivity | undefined;
  #listening = false;

  constructor(options: PullLoopOptions) {
    this.#options = options;
    this.worker = new Worker(options.queue, null, {
      connection: options.connection,
      prefix: options.bullPrefix,
      name: options.workerName,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
      autorun: false,
    });
    const warnWorker = warnAtMostEvery(options.logger);
    this.worker.on("error", (error) => warnWorker({ err: coerceError(error), queue: options.queue }, "queue worker error"));
    this.queue = new Queue(options.queue, { connection: options.connection, prefix: options.bullPrefix });
    const warnQueue = warnAtMostEvery(options.logger);
    this.queue.on("error", (error) => warnQueue({ err: coerceError(error), queue: options.queue }, "queue error"));
  }

  /** Jobs waiting at one priority (e.g. interactive ones a batch job should step aside for). */
  async waitingAt(priority: number): Promise<number> {
    const counts = await this.queue.getCountsPerPriority([priority]);
    return counts[String(priority)] ?? 0;
  }

  get active(): number {
    return this.#active.size;
  }

  /** Waiting for a job to become waiting in the queue (a look with `listenMs`). */
  get listening(): boolean {
    return this.#listening;
  }

  /** The queue's events, heard on a connection of their own, opened only if a look ever listens. */
  #listener(): QueueActivity {
    this.#activity ??= new QueueActivity(() => {
      // The worker's connection has the blocking role's options (offline queue, no command timeout).
      const client = this.#options.connection.duplicate();
      const warn = warnAtMostEvery(this.#options.logger);
      client.on("error", (error: unknown) => warn({ err: coerceError(error), queue: this.#options.queue }, "queue events connection error"));
      return client;
    }, this.queue.keys.events ?? this.queue.toKey("events"));
    return this.#activity;
  }

  start(): void {
    this.#running ??= (async () => {
      await this.worker.startStalledCheckTimer();
      await this.#loop();
    })().catch((error: unknown) => this.#options.logger.error({ err: coerceError(error), queue: this.#options.queue }, "pull loop stopped"));
  }

  /** Re-evaluates the fetch decision now (a slot freed, health changed, a timer fired). */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #sleep(timeoutMs: number | undefined): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, Math.max(0, timeoutMs));
      this.#wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#closing) {
      const decision = this.#options.decide();
      if (decision.action === "wait") {
        await this.#sleep(decision.timeoutMs);
        continue;
      }
      if (decision.action === "look") {
        let waiting = 0;
        let woke: boolean | undefined;
        try {
          // The mark comes first: a job that becomes waiting after it is either counted or heard.
          const listen = decision.listenMs === undefined ? undefined : { since: await this.#listener().mark(), ms: decision.listenMs };
          waiting = await this.queue.getJobCountByTypes("waiting", "prioritized");
          if (listen && waiting === 0 && !this.#closing) {
            this.#listening = true;
            woke = await this.#listener().waitAfter(listen.since, listen.ms);
          }
          failures = 0;
        } catch (error) {
          if (this.#closing) break;
          failures += 1;
          if (failures === 1) this.#options.logger.warn({ err: coerceError(error), queue: this.#options.queue }, "looking at the queue failed; retrying");
          await this.#sleep(Math.min(2000, 100 * failures));
        } finally {
          this.#listening = false;
        }
        this.#options.onLooked?.(waiting);
        if (woke !== undefined) this.#options.onListened?.(woke);
        continue;
      }
      const token = `${this.#tokenPrefix}:${this.#tokens++}`;
      const started = performance.now();
      let job: Job | undefined;
      try {
        job = await this.worker.getNextJob(token, { block: decision.block });
        failures = 0;
      } catch (error) {
        this.#options.onFetched(undefined, performance.now() - started, decision.block);
        if (this.#closing) break;
        failures += 1;
        if (failures === 1) this.#options.logger.warn({ err: coerceError(error), queue: this.#options.queue }, "fetching jobs failed; retrying");
        await this.#sleep(Math.min(2000, 100 * failures));
        continue;
      }
      if (job && this.#closing) {
        this.#options.onFetched(undefined, performance.now() - started, decision.block);
        // Fetched while shutting down: hand it straight back.
        await job.moveToWait(token).catch((error: unknown) => this.#options.logger.warn({ err: coerceError(error), jobId: job.id }, "could not hand a job back"));
        break;
      }
      this.#options.onFetched(job, performance.now() - started, decision.block);
      if (!job) continue;
      const target = decision.block ? this.#options.route?.(job) : undefined;
      if (target && target !== this && !target.#closing && target.#options.queue === this.#options.queue) this.#handOff(job, token, target);
      else this.#track(job, this.#run(job, token));
    }
  }

  /**
   * Runs a job this loop fetched on `target`'s instance. Both loops track the run: this one's
   * close() must also wait for it, since the job was fetched through this loop's BullMQ worker.
   */
  #handOff(job: Job, token: string, target: PullLoop): void {
    const instance = target.#options.workerName;
    job.processedBy = instance;
    if (job.id !== undefined) {
      // BullMQ keeps a job's processedBy in the hash field "pb".
      this.#options.connection.hset(this.queue.toKey(job.id), "pb", instance).catch((error: unknown) =>
        this.#options.logger.warn({ err: coerceError(error), jobId: job.id }, "could not record which instance runs a handed-off job"),
      );
    }
    const run = target.#run(job, token);
    target.#track(job, run);
    this.#track(job, run);
  }

  #track(job: Job, run: Promise<void>): void {
    this.#active.add(run);
    void run.finally(() => {
      this.#active.delete(run);
      this.#options.onSettled?.(job);
      this.wake();
    });
  }

  async #run(job: Job, token: string): Promise<void> {
    const { lockDurationMs, logger, queue } = this.#options;
    const renew = setInterval(() => {
      job.extendLock(token, lockDurationMs).catch((error: unknown) => logger.warn({ err: coerceError(error), jobId: job.id, queue }, "could not extend a job lock"));
    }, lockDurationMs / 2);
    try {
      let outcome: { ok: true; value: unknown } | { ok: false; error: Error };
      try {
        outcome = { ok: true, value: await this.#options.process(job, token) };
      } catch (error) {
        outcome = { ok: false, error: coerceError(error) };
      }
      if (!outcome.ok && SPECIAL.has(outcome.error.name)) return; // The processor already moved the job.
      await this.#finish(job, token, outcome);
    } finally {
      clearInterval(renew);
    }
  }

  /** Completes or fails the job, retrying Redis hiccups; a job left behind is recovered as stalled. */
  async #finish(job: Job, token: string, outcome: { ok: true; value: unknown } | { ok: false; error: Error }): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (outcome.ok) {
          await job.moveToCompleted(outcome.value, token, false);
          this.#options.onCompleted?.(job);
        } else {
          const finishedBefore = job.finishedOn;
          await job.moveToFailed(outcome.error, token, false);
          // BullMQ sets finishedOn only when it failed the job instead of scheduling a retry.
          if (job.finishedOn !== undefined && job.finishedOn !== finishedBefore) this.#options.onFailedForGood?.(job);
        }
        return;
      } catch (error) {
        if (attempt >= FINISH_ATTEMPTS) {
          this.#options.logger.error({ err: coerceError(error), jobId: job.id, queue: this.#options.queue }, "could not record a job's outcome; it will be retried as stalled");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /**
   * Stops fetching and waits for running jobs to record their outcome, then closes the BullMQ
   * worker (which also ends a blocking fetch still waiting for a job).
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.wake();
    this.#activity?.close();
    await Promise.allSettled([...this.#active]);
    // Every job this loop fetched has recorded its outcome by now, so the worker has nothing to
    // wait for; force-closing just ends a blocking fetch instead of letting it run its timeout.
    await this.worker.close(true);
    await this.#running;
    await this.queue.close();
  }
}

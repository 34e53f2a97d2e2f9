import { Queue, QueueEvents } from "bullmq";
import { parseJobId, type JobReply } from "@herd/jobs";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import { closeRedis, createRedisClient, hashTag, type RedisClient, type RedisTarget } from "@herd/redis";
import type { Replies } from "./replies.js";

export type Outcome = "completed" | "failed";

/** A wait for one job's end; `viaReply`: the job carries this process's reply channel (see subscribe). */
interface Waiter {
  wake: (outcome: Outcome | JobReply) => void;
  viaReply: boolean;
}

export interface Subscription {
  id: string;
  /** Resolves when the job's completed or failed event arrives, or its outcome is sent to this process. */
  finished: Promise<Outcome | JobReply>;
  /** Resolves once no event of the job can be missed any more (at once for a reply-only subscription). */
  listening: Promise<void>;
  cancel: () => void;
}

/** How a wait ended: an event, a reply carrying the result, a state read ("finished"), or undefined (timeout, abort). */
export type WaitOutcome = Outcome | JobReply | "finished" | undefined;

/** The state a wait's outcome proves, for the read that follows (undefined: the read finds out). */
export function knownState(outcome: WaitOutcome): Outcome | undefined {
  if (typeof outcome === "object") return outcome.header.failed ? "failed" : "completed";
  return outcome === "completed" || outcome === "failed" ? outcome : undefined;
}

/** The `via` label of herd_job_waits_total for a wait's outcome. */
export function waitVia(outcome: WaitOutcome): "reply" | "event" | "state" | "timeout" {
  if (outcome === undefined) return "timeout";
  if (typeof outcome === "object") return "reply";
  return outcome === "finished" ? "state" : "event";
}

/**
 * The API's BullMQ objects: one Queue per (kind, model) on the shared fail-fast connection, and
 * one QueueEvents per queue (its own blocking connection) feeding waiters that need events.
 *
 * A queue's events are read only from the first time a waiter needs them: a long poll, a request
 * that joined another's job, a streamed generation, or any wait while replies cannot reach this
 * process. A client that submits and waits hears from the worker's reply alone, so an API that
 * only serves such clients never reads the events stream, which costs it CPU for every event of
 * every job (about a fifth of its CPU per job, measured).
 */
export class QueueRegistry {
  readonly #queues = new Map<string, Queue>();
  readonly #events = new Map<string, { events: QueueEvents; connection: RedisClient }>();
  readonly #listening = new Map<string, Promise<void>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #progress = new Map<string, (data: unknown) => void>();
  readonly bullPrefix: string;

  constructor(
    private readonly connection: RedisClient,
    /** Where each queue's events reader opens its own blocking connection. */
    private readonly eventsRedis: RedisTarget,
    prefix: string,
    private readonly logger: Logger,
    /** This process's reply channel; without it, waiters hear of completions from events only. */
    readonly replies?: Replies,
  ) {
    this.bullPrefix = hashTag(prefix);
    replies?.onReply((reply) => {
      const queue = parseJobId(reply.header.jobId)?.queue;
      if (queue) this.#notify(queue, reply.header.jobId, reply);
    });
  }

  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.bullPrefix });
      const warn = warnAtMostEvery(this.logger);
      queue.on("error", (error) => warn({ err: coerceError(error), queue: name }, "queue error"));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  get queueNames(): string[] {
    return [...this.#queues.keys()];
  }

  /** Queues whose events this process reads. */
  get eventQueues(): string[] {
    return [...this.#listening.keys()];
  }

  /**
   * Starts reading a queue's events (idempotent). Resolves once every event from then on will be
   * delivered: the reader starts at the stream position of Redis's clock now, however long its
   * first XREAD takes to go out.
   */
  listen(name: string): Promise<void> {
    let listening = this.#listening.get(name);
    if (!listening) {
      listening = this.#startEvents(name);
      this.#listening.set(name, listening);
    }
    return listening;
  }

  async #startEvents(name: string): Promise<void> {
    let lastEventId: string | undefined;
    try {
      const [seconds, micros] = await this.connection.time();
      // Stream ids are <ms>-<seq>: from the millisecond before, so nothing of this one is skipped.
      lastEventId = `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`;
    } catch (error) {
      // Redis is unreachable: this request fails on its own; the reader starts at the stream's end.
      this.logger.warn({ err: coerceError(error), queue: name }, "could not read Redis's clock; queue events start from now");
    }
    // Its own connection: XREAD BLOCK holds it. BullMQ leaves a connection it is given open, so close() closes it.
    const connection = createRedisClient({ ...this.eventsRedis, role: "blocking", logger: this.logger, connectionName: "herd-api-events" });
    const events = new QueueEvents(name, { connection, prefix: this.bullPrefix, ...(lastEventId ? { lastEventId } : {}) });
    events.on("error", (error) => this.logger.debug({ err: coerceError(error), queue: name }, "queue events error"));
    events.on("completed", ({ jobId }) => this.#onEvent(name, jobId, "completed"));
    events.on("failed", ({ jobId }) => this.#onEvent(name, jobId, "failed"));
    events.on("progress", ({ jobId, data }) => this.#progress.get(`${name}/${jobId}`)?.(data));
    this.#events.set(name, { events, connection });
  }

  /**
   * An event wakes only waiters that do not expect a reply: the worker publishes the reply before
   * it records the completion, yet this process can receive the event first (seen: the event
   * 0.8 ms ahead of a 22 KB reply), and an idle process acts on whichever arrives first. A waiter
   * woken by the event would read the job back from Redis, which the reply spares. The others (a
   * request that joined another's job, a long poll) may share a socket read with the reply: their
   * event waits one turn of the event loop, so that the reply, which carries the result, still
   * wins when it came in that read.
   */
  #onEvent(queue: string, jobId: string, outcome: Outcome): void {
    if (!this.#waiters.has(`${queue}/${jobId}`)) return;
    if (this.replies) setImmediate(() => this.#notify(queue, jobId, outcome));
    else this.#notify(queue, jobId, outcome);
  }

  /** Wakes the job's waiters: all of them for a reply, those that do not expect one for an event. */
  #notify(queue: string, jobId: string, outcome: Outcome | JobReply): void {
    const waiters = this.#waiters.get(`${queue}/${jobId}`);
    if (!waiters) return;
    const fromEvent = typeof outcome === "string";
    for (const waiter of waiters) if (!(fromEvent && waiter.viaReply)) waiter.wake(outcome);
  }

  /**
   * Starts listening for one job's completion. Subscribing (and awaiting `listening`) before the
   * job is added means its outcome cannot be missed, so a fresh job needs no extra state check.
   * With `viaReply`, the job carries this process's reply channel and the worker's reply alone
   * will say how it ended: no events are read for it, and none wakes it (see #onEvent).
   */
  subscribe(queue: string, jobId: string, options: { viaReply?: boolean } = {}): Subscription {
    const listening = options.viaReply === true ? Promise.resolve() : this.listen(queue);
    const key = `${queue}/${jobId}`;
    let waiters = this.#waiters.get(key);
    if (!waiters) {
      waiters = new Set();
      this.#waiters.set(key, waiters);
    }
    let resolve: (outcome: Outcome | JobReply) => void = () => undefined;
    const finished = new Promise<Outcome | JobReply>((done) => {
      resolve = done;
    });
    const waiter: Waiter = { wake: (outcome) => resolve(outcome), viaReply: options.viaReply === true };
    waiters.add(waiter);
    const set = waiters;
    return {
      id: jobId,
      finished,
      listening,
      cancel: () => {
        set.delete(waiter);
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
      },
    };
  }

  /**
   * Calls `listener` with each progress event of one job (a streamed generation's pieces), from
   * whichever worker runs it. Like subscribe(), await listen() before the job is added to miss
   * nothing. One listener per job: streamed jobs are never shared between requests.
   */
  onProgress(queue: string, jobId: string, listener: (data: unknown) => void): () => void {
    void this.listen(queue);
    const key = `${queue}/${jobId}`;
    this.#progress.set(key, listener);
    return () => {
      if (this.#progress.get(key) === listener) this.#progress.delete(key);
    };
  }

  /**
   * Resolves with how the job finished ("finished" when only a state read saw it), or undefined
   * when `timeoutMs` passes or `signal` aborts.
   * With `checkFirst`, the current state is read after subscribing (for jobs that may already be
   * done); the state is also re-read every second as a safety net for events missed during a
   * reconnect.
   */
  async waitFor(
    subscription: Subscription,
    timeoutMs: number,
    isFinished: () => Promise<boolean>,
    options: { signal?: AbortSignal; checkFirst: boolean },
  ): Promise<WaitOutcome> {
    if (timeoutMs <= 0) return undefined;
    let wake: (finished: WaitOutcome) => void = () => undefined;
    const done = new Promise<WaitOutcome>((resolve) => {
      wake = resolve;
    });
    void subscription.finished.then((outcome) => wake(outcome));
    const onAbort = () => wake(undefined);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const timeout = setTimeout(() => wake(undefined), timeoutMs);
    const recheck = setInterval(() => {
      isFinished().then((finished) => finished && wake("finished"), () => undefined);
    }, 1000);
    try {
      await subscription.listening;
      if (options.checkFirst && (await isFinished())) return "finished";
      return await done;
    } finally {
      clearTimeout(timeout);
      clearInterval(recheck);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#listening.values()]);
    await Promise.allSettled([...this.#events.values()].map(async ({ events, connection }) => {
      await events.close();
      await closeRedis(connection);
    }));
    await Promise.allSettled([...this.#queues.values()].map((queue) => queue.close()));
  }
}

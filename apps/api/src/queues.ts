import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { coerceError, type Logger } from "@herd/logger";
import { hashTag } from "@herd/redis";

type Outcome = "completed" | "failed";

/**
 * The API's BullMQ objects: one Queue per (kind, model) on the shared fail-fast connection, and
 * one QueueEvents per queue (its own blocking connection) feeding long-poll waiters.
 */
export class QueueRegistry {
  readonly #queues = new Map<string, Queue>();
  readonly #events = new Map<string, QueueEvents>();
  readonly #waiters = new Map<string, Set<(outcome: Outcome) => void>>();
  readonly bullPrefix: string;

  constructor(
    private readonly connection: Redis,
    private readonly redisUrl: string,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.bullPrefix = hashTag(prefix);
  }

  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.bullPrefix });
      queue.on("error", (error) => this.logger.warn({ err: coerceError(error), queue: name }, "queue error"));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  get queueNames(): string[] {
    return [...this.#queues.keys()];
  }

  /** Starts listening for a queue's events (idempotent). */
  listen(name: string): void {
    if (this.#events.has(name)) return;
    const events = new QueueEvents(name, {
      connection: { url: this.redisUrl, maxRetriesPerRequest: null, enableOfflineQueue: true },
      prefix: this.bullPrefix,
    } as ConstructorParameters<typeof QueueEvents>[1]);
    events.on("error", (error) => this.logger.debug({ err: coerceError(error), queue: name }, "queue events error"));
    events.on("completed", ({ jobId }) => this.#notify(name, jobId, "completed"));
    events.on("failed", ({ jobId }) => this.#notify(name, jobId, "failed"));
    this.#events.set(name, events);
  }

  #notify(queue: string, jobId: string, outcome: Outcome): void {
    const waiters = this.#waiters.get(`${queue}/${jobId}`);
    if (!waiters) return;
    for (const wake of waiters) wake(outcome);
  }

  /**
   * Resolves when the job finishes, when `timeoutMs` passes, or when `signal` aborts.
   * `isFinished` is re-checked after subscribing (no lost wake-up) and every second as a safety
   * net for events missed during a reconnect.
   */
  async waitFor(queue: string, jobId: string, timeoutMs: number, isFinished: () => Promise<boolean>, signal?: AbortSignal): Promise<boolean> {
    if (timeoutMs <= 0) return false;
    this.listen(queue);
    const key = `${queue}/${jobId}`;
    let waiters = this.#waiters.get(key);
    if (!waiters) {
      waiters = new Set();
      this.#waiters.set(key, waiters);
    }
    let wake: (finished: boolean) => void = () => undefined;
    const done = new Promise<boolean>((resolve) => {
      wake = resolve;
    });
    const onEvent = () => wake(true);
    const onAbort = () => wake(false);
    waiters.add(onEvent);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timeout = setTimeout(() => wake(false), timeoutMs);
    const recheck = setInterval(() => {
      isFinished().then((finished) => finished && wake(true), () => undefined);
    }, 1000);
    try {
      if (await isFinished()) return true;
      return await done;
    } finally {
      clearTimeout(timeout);
      clearInterval(recheck);
      signal?.removeEventListener("abort", onAbort);
      waiters.delete(onEvent);
      if (waiters.size === 0) this.#waiters.delete(key);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#events.values()].map((events) => events.close()));
    await Promise.allSettled([...this.#queues.values()].map((queue) => queue.close()));
  }
}

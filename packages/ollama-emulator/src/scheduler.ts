import { canComplete, type ModelSpec } from "./catalog.js";
import { FifoSemaphore } from "./semaphore.js";
import type { StatsBook } from "./stats.js";

/** Ollama's 503 when more than OLLAMA_MAX_QUEUE requests wait for a model (re)load. */
export class ServerBusyError extends Error {
  constructor() {
    super("server busy, please try again.  maximum pending requests exceeded");
    this.name = "ServerBusyError";
  }
}

export interface SchedulerOptions {
  /** Parallel requests for generation models (OLLAMA_NUM_PARALLEL); embedding models get 1. */
  numParallel: number;
  maxQueue: number;
  maxLoadedModels: number;
  defaultKeepAliveMs: number;
  loadMs: () => number;
  stats: StatsBook;
}

export interface Runner {
  spec: ModelSpec;
  numCtx: number;
  semaphore: FifoSemaphore;
  refCount: number;
  expiresAt: number;
  expiryTimer: NodeJS.Timeout | undefined;
  sessionMs: number;
}

interface Pending {
  spec: ModelSpec;
  numCtx: number;
  keepAliveMs: number;
  signal: AbortSignal;
  resolve: (lease: RunnerLease) => void;
  reject: (error: Error) => void;
}

export interface RunnerLease {
  runner: Runner;
  /** Time spent in the scheduler, including a cold load. */
  loadDurationMs: number;
  release: () => void;
}

/**
 * Ollama's two-level wait (server/sched.go): a loaded model with matching runner options is
 * handed out at once, so excess requests pile up on its runner semaphore (unbounded, no 503);
 * only requests that need a load go through the bounded pending queue, one load at a time.
 */
export class Scheduler {
  readonly runners = new Map<string, Runner>();
  readonly #pending: Pending[] = [];
  #processing = false;
  readonly #idleWaiters: Array<() => void> = [];

  constructor(private readonly options: SchedulerOptions) {}

  slotsFor(spec: ModelSpec): number {
    // server/sched.go forces parallel=1 for embedding-only models.
    return canComplete(spec) ? this.options.numParallel : 1;
  }

  acquire(spec: ModelSpec, numCtx: number | undefined, keepAliveMs: number | undefined, signal: AbortSignal): Promise<RunnerLease> {
    const ctx = numCtx ?? spec.contextLength;
    const keepAlive = keepAliveMs ?? this.options.defaultKeepAliveMs;
    const started = performance.now();
    const loaded = this.runners.get(spec.name);
    if (loaded && loaded.numCtx === ctx) {
      return Promise.resolve(this.#lease(loaded, keepAlive, started));
    }
    if (this.#pending.length >= this.options.maxQueue) return Promise.reject(new ServerBusyError());
    return new Promise((resolve, reject) => {
      this.#pending.push({
        spec,
        numCtx: ctx,
        keepAliveMs: keepAlive,
        signal,
        resolve: (lease) => resolve({ ...lease, loadDurationMs: performance.now() - started }),
        reject,
      });
      void this.#processPending();
    });
  }

  #lease(runner: Runner, keepAliveMs: number, started: number): RunnerLease {
    runner.refCount += 1;
    runner.sessionMs = keepAliveMs;
    if (runner.expiryTimer) clearTimeout(runner.expiryTimer);
    runner.expiryTimer = undefined;
    let released = false;
    return {
      runner,
      loadDurationMs: performance.now() - started,
      release: () => {
        if (released) return;
        released = true;
        this.#releaseRunner(runner);
      },
    };
  }

  #releaseRunner(runner: Runner): void {
    runner.refCount -= 1;
    if (runner.refCount > 0) return;
    if (runner.sessionMs === 0) {
      this.#unload(runner);
    } else if (runner.sessionMs > 0) {
      runner.expiresAt = Date.now() + runner.sessionMs;
      runner.expiryTimer = setTimeout(() => this.#unload(runner), runner.sessionMs);
      runner.expiryTimer.unref();
    } else {
      runner.expiresAt = Number.MAX_SAFE_INTEGER;
    }
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #unload(runner: Runner): void {
    if (runner.refCount > 0 || this.runners.get(runner.spec.name) !== runner) return;
    if (runner.expiryTimer) clearTimeout(runner.expiryTimer);
    this.runners.delete(runner.spec.name);
  }

  async #processPending(): Promise<void> {
    if (this.#processing) return;
    this.#processing = true;
    try {
      for (let next = this.#pending.shift(); next; next = this.#pending.shift()) {
        if (next.signal.aborted) {
          next.reject(new Error("request canceled"));
          continue;
        }
        try {
          const runner = await this.#ensureLoaded(next.spec, next.numCtx);
          next.resolve(this.#lease(runner, next.keepAliveMs, performance.now()));
        } catch (error) {
          next.reject(error as Error);
        }
      }
    } finally {
      this.#processing = false;
    }
  }

  async #ensureLoaded(spec: ModelSpec, numCtx: number): Promise<Runner> {
    const existing = this.runners.get(spec.name);
    if (existing && existing.numCtx === numCtx) return existing;
    if (existing) {
      // Different runner options force a reload once the current requests finish.
      await this.#waitUntil(() => existing.refCount === 0);
      this.#unload(existing);
    }
    while (this.runners.size >= this.options.maxLoadedModels) {
      const idle = [...this.runners.values()].filter((runner) => runner.refCount === 0).sort((a, b) => a.expiresAt - b.expiresAt)[0];
      if (idle) this.#unload(idle);
      else await this.#waitUntil(() => [...this.runners.values()].some((runner) => runner.refCount === 0));
    }
    const loadMs = this.options.loadMs();
    if (loadMs > 0) await new Promise((resolve) => setTimeout(resolve, loadMs));
    this.options.stats.model(spec.name).loads += 1;
    const runner = this.#newRunner(spec, numCtx);
    this.runners.set(spec.name, runner);
    return runner;
  }

  /**
   * Ollama's expireRunner (an empty request with keep_alive 0): a loaded model is unloaded now, or
   * as soon as its running requests end; one that is not loaded is not loaded for it.
   */
  expire(spec: ModelSpec): void {
    const runner = this.runners.get(spec.name);
    if (!runner) return;
    runner.sessionMs = 0;
    if (runner.refCount === 0) this.#unload(runner);
  }

  /** Marks a model as already loaded (kept until evicted), as if it had been used before. */
  preload(spec: ModelSpec): void {
    if (this.runners.has(spec.name) || this.runners.size >= this.options.maxLoadedModels) return;
    const runner = this.#newRunner(spec, spec.contextLength);
    runner.expiresAt = Number.MAX_SAFE_INTEGER;
    this.runners.set(spec.name, runner);
  }

  #newRunner(spec: ModelSpec, numCtx: number): Runner {
    return {
      spec,
      numCtx,
      semaphore: new FifoSemaphore(this.slotsFor(spec)),
      refCount: 0,
      expiresAt: Date.now(),
      expiryTimer: undefined,
      sessionMs: this.options.defaultKeepAliveMs,
    };
  }

  #waitUntil(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) resolve();
        else this.#idleWaiters.push(check);
      };
      this.#idleWaiters.push(check);
    });
  }

  close(): void {
    for (const runner of this.runners.values()) if (runner.expiryTimer) clearTimeout(runner.expiryTimer);
    this.runners.clear();
    for (const pending of this.#pending.splice(0)) pending.reject(new Error("server shutting down"));
  }
}

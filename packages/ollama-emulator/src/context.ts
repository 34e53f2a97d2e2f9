import type { ModelSpec } from "./catalog.js";
import { withLatestTag } from "./catalog.js";
import type { FaultState } from "./faults.js";
import type { LatencyProfile } from "./latency.js";
import type { Runner, Scheduler } from "./scheduler.js";
import type { StatsBook } from "./stats.js";

/** Everything one emulated instance's handlers share. */
export interface InstanceContext {
  name: string;
  version: string;
  models: ReadonlyMap<string, ModelSpec>;
  scheduler: Scheduler;
  faults: FaultState;
  stats: StatsBook;
  latency: LatencyProfile;
  /** Work durations are divided by this: 2 means twice as fast. */
  speed: number;
  /**
   * How many times each embedding input was computed, when recording is on (fault tests count
   * work that ran twice). Off by default: a long-running emulator must not grow without bound.
   */
  inputLedger: Map<string, number> | undefined;
  /** Every embedding call as it starts computing, when recording is on (same reason for "off"). */
  embedCalls: EmbedCall[] | undefined;
}

/** An /api/embed call's start (Date.now(), when its slot is granted) and its inputs. */
export interface EmbedCall {
  model: string;
  startedAt: number;
  inputs: readonly string[];
}

/**
 * Ollama finds a request's model whatever the case of its name (getExistingName in its
 * server/routes.go: "LLAMA3.2" runs llama3.2:latest) on every route but the legacy
 * /api/embeddings, which takes the name as written (`exact`).
 */
export function findModel(ctx: InstanceContext, name: string, exact = false): ModelSpec | undefined {
  const wanted = withLatestTag(name.trim());
  const spec = ctx.models.get(wanted);
  if (spec || exact) return spec;
  const folded = wanted.toLowerCase();
  for (const [candidate, found] of ctx.models) if (candidate.toLowerCase() === folded) return found;
  return undefined;
}

/** Converts nominal milliseconds of work into this instance's wall-clock milliseconds. */
export function scaledMs(ctx: InstanceContext, nominalMs: number): number {
  if (nominalMs <= 0) return 0;
  return (nominalMs * ctx.faults.slowdown()) / ctx.speed;
}

/**
 * Holds one slot of `runner` around `work`. Only real waits are counted, so a balancer that
 * never oversubscribes the instance leaves `maxWaiting` and `totalQueueWaitMs` at zero.
 */
export async function withSlot<T>(ctx: InstanceContext, runner: Runner, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  const model = runner.spec.name;
  let release = runner.semaphore.tryAcquire();
  if (!release) {
    const started = performance.now();
    ctx.stats.waitStarted(model);
    try {
      release = await runner.semaphore.acquire(signal);
    } finally {
      ctx.stats.waitEnded(model, performance.now() - started);
    }
  }
  ctx.stats.slotTaken(model);
  const taken = performance.now();
  try {
    return await work();
  } finally {
    ctx.stats.slotReleased(model, performance.now() - taken, runner.semaphore.size);
    release();
  }
}

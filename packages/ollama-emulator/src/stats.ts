/** Counters of one model on one instance, as reported by GET /_emulator/stats. */
export interface ModelStats {
  requests: number;
  inputs: number;
  errors: number;
  loads: number;
  /** Requests currently inside the server for this model (waiting or executing). */
  inFlight: number;
  maxInFlight: number;
  /** Slot holders right now / at most: never above the model's slots. */
  executing: number;
  maxExecuting: number;
  /** Work waiting for a slot of a loaded model right now / at most. */
  waiting: number;
  maxWaiting: number;
  /** Sum of time spent waiting for a slot, over all slot acquisitions. */
  totalQueueWaitMs: number;
  /** Sum of time slots were held (slot-milliseconds of work). */
  busyMs: number;
  completed: number;
  canceled: number;
  /**
   * Slots freed while every slot of the model was busy, then taken again: straight away by a
   * request already waiting inside (a gap of 0), or by the next request to arrive.
   */
  refills: number;
  /** Sum of the time those slots sat free before the next request took them. */
  refillGapMs: number;
  /** Median and 90th percentile of those gaps (over the last 10 000), null before the first. */
  refillGapP50Ms: number | null;
  refillGapP90Ms: number | null;
  /** Prompts longer than num_ctx that the runner cut (see keptOfPrompt): what a client should never cause. */
  promptsTruncated: number;
}

function emptyStats(): ModelStats {
  return {
    requests: 0,
    inputs: 0,
    errors: 0,
    loads: 0,
    inFlight: 0,
    maxInFlight: 0,
    executing: 0,
    maxExecuting: 0,
    waiting: 0,
    maxWaiting: 0,
    totalQueueWaitMs: 0,
    busyMs: 0,
    completed: 0,
    canceled: 0,
    refills: 0,
    refillGapMs: 0,
    refillGapP50Ms: null,
    refillGapP90Ms: null,
    promptsTruncated: 0,
  };
}

/** Gaps kept for the refill percentiles. */
const GAP_SAMPLES = 10_000;

/** When each saturated slot freed without a taker (oldest first), and the recent refill gaps. */
interface RefillTracker {
  freedAt: number[];
  /** A ring of the last GAP_SAMPLES gaps; `next` is where the next one goes. */
  gaps: number[];
  next: number;
}

function percentileOf(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

export class StatsBook {
  readonly #models = new Map<string, ModelStats>();
  readonly #refills = new Map<string, RefillTracker>();
  #startedAt = Date.now();

  model(name: string): ModelStats {
    let stats = this.#models.get(name);
    if (!stats) {
      stats = emptyStats();
      this.#models.set(name, stats);
    }
    return stats;
  }

  requestStarted(model: string): void {
    const stats = this.model(model);
    stats.requests += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  }

  requestEnded(model: string, outcome: "completed" | "error" | "canceled"): void {
    const stats = this.model(model);
    stats.inFlight -= 1;
    if (outcome === "completed") stats.completed += 1;
    else if (outcome === "error") stats.errors += 1;
    else stats.canceled += 1;
  }

  promptTruncated(model: string): void {
    this.model(model).promptsTruncated += 1;
  }

  waitStarted(model: string): void {
    const stats = this.model(model);
    stats.waiting += 1;
    stats.maxWaiting = Math.max(stats.maxWaiting, stats.waiting);
  }

  waitEnded(model: string, waitedMs: number): void {
    const stats = this.model(model);
    stats.waiting -= 1;
    stats.totalQueueWaitMs += waitedMs;
  }

  slotTaken(model: string): void {
    const stats = this.model(model);
    stats.executing += 1;
    stats.maxExecuting = Math.max(stats.maxExecuting, stats.executing);
    const freedAt = this.#refills.get(model)?.freedAt.shift();
    if (freedAt !== undefined) this.#recordRefill(model, performance.now() - freedAt);
  }

  /** Called before the slot goes back to the model's `slots`, so `executing` still counts it. */
  slotReleased(model: string, heldMs: number, slots: number): void {
    const stats = this.model(model);
    if (stats.executing >= slots) {
      // A request already waiting takes the slot at once; otherwise it stays free until one arrives.
      if (stats.waiting > 0) this.#recordRefill(model, 0);
      else this.#tracker(model).freedAt.push(performance.now());
    }
    stats.executing -= 1;
    stats.busyMs += heldMs;
  }

  #tracker(model: string): RefillTracker {
    let tracker = this.#refills.get(model);
    if (!tracker) {
      tracker = { freedAt: [], gaps: [], next: 0 };
      this.#refills.set(model, tracker);
    }
    return tracker;
  }

  #recordRefill(model: string, gapMs: number): void {
    const stats = this.model(model);
    stats.refills += 1;
    stats.refillGapMs += gapMs;
    const tracker = this.#tracker(model);
    tracker.gaps[tracker.next] = gapMs;
    tracker.next = (tracker.next + 1) % GAP_SAMPLES;
  }

  /** Zeroes the counters but keeps live gauges (in-flight work is still in flight). */
  reset(): void {
    for (const [name, stats] of this.#models) {
      const fresh = emptyStats();
      fresh.inFlight = stats.inFlight;
      fresh.maxInFlight = stats.inFlight;
      fresh.executing = stats.executing;
      fresh.maxExecuting = stats.executing;
      fresh.waiting = stats.waiting;
      fresh.maxWaiting = stats.waiting;
      this.#models.set(name, fresh);
    }
    this.#refills.clear();
    this.#startedAt = Date.now();
  }

  snapshot(): { since: string; models: Record<string, ModelStats> } {
    const models = [...this.#models].map(([name, stats]): [string, ModelStats] => {
      const sorted = [...(this.#refills.get(name)?.gaps ?? [])].sort((a, b) => a - b);
      return [name, { ...stats, refillGapP50Ms: percentileOf(sorted, 50), refillGapP90Ms: percentileOf(sorted, 90) }];
    });
    return { since: new Date(this.#startedAt).toISOString(), models: Object.fromEntries(models) };
  }
}

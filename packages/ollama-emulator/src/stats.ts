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
  };
}

export class StatsBook {
  readonly #models = new Map<string, ModelStats>();
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
  }

  slotReleased(model: string, heldMs: number): void {
    const stats = this.model(model);
    stats.executing -= 1;
    stats.busyMs += heldMs;
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
    this.#startedAt = Date.now();
  }

  snapshot(): { since: string; models: Record<string, ModelStats> } {
    return { since: new Date(this.#startedAt).toISOString(), models: Object.fromEntries([...this.#models].map(([k, v]) => [k, { ...v }])) };
  }
}

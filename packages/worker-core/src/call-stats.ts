import { LatencyWindow, roundMs } from "./latency-window.js";

/** Calls kept for the typical call time, and how many it needs before routing trusts it. */
const ROUTING_SAMPLES = 32;
const ROUTING_MIN_SAMPLES = 3;

/** What one (instance, model)'s Ollama calls tell about the instance: counts, latency, speed. */
export class CallStats {
  #completed = 0;
  #failed = 0;
  readonly #latencies = new LatencyWindow(512);
  /** The last calls' slot times, for comparing this instance's speed with its peers' (routing). */
  readonly #recentCalls = new LatencyWindow(ROUTING_SAMPLES);
  #typicalCallMs: number | undefined;

  completed(durationMs: number): void {
    this.#completed += 1;
    this.#latencies.record(durationMs);
    this.#recentCalls.record(durationMs);
    if (this.#recentCalls.count >= ROUTING_MIN_SAMPLES) this.#typicalCallMs = this.#recentCalls.percentile(50);
  }

  failed(): void {
    this.#failed += 1;
  }

  /**
   * Median slot time of the last calls, once a few were timed. A median, so that one call that
   * loaded the model (seconds, on a cold instance) does not make the instance look slow for good:
   * routing sends it nothing at light load, so no later call would correct an average.
   */
  get typicalCallMs(): number | undefined {
    return this.#typicalCallMs;
  }

  /** The heartbeat's part: counts, latency summary and typical call time. */
  status(): { completed: number; failed: number; latencyMs?: { mean: number; p95: number }; typicalMs?: number } {
    const latency = this.#latencies.summary();
    return {
      completed: this.#completed,
      failed: this.#failed,
      ...(latency ? { latencyMs: { mean: latency.meanMs, p95: latency.p95Ms } } : {}),
      ...(this.#typicalCallMs !== undefined ? { typicalMs: roundMs(this.#typicalCallMs) } : {}),
    };
  }
}

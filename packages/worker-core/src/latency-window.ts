/** A duration as the worker reports it (heartbeats, replies): to 0.01 ms. */
export const roundMs = (ms: number): number => Math.round(ms * 100) / 100;

/** The last `size` durations (calls for fleet stats, fetches for the prefetch lead), for their mean and percentiles. */
export class LatencyWindow {
  readonly #values: number[] = [];
  #next = 0;

  constructor(readonly size: number) {}

  /** Values recorded so far, at most `size`. */
  get count(): number {
    return this.#values.length;
  }

  record(ms: number): void {
    if (this.#values.length < this.size) this.#values.push(ms);
    else this.#values[this.#next] = ms;
    this.#next = (this.#next + 1) % this.size;
  }

  /** The `p`-th percentile (0–100) of the recorded values, or undefined before the first. */
  percentile(p: number): number | undefined {
    if (this.#values.length === 0) return undefined;
    const sorted = [...this.#values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))];
  }

  /** Mean and 95th percentile in ms, or undefined before the first call. */
  summary(): { meanMs: number; p95Ms: number } | undefined {
    const p95 = this.percentile(95);
    if (p95 === undefined) return undefined;
    const mean = this.#values.reduce((sum, value) => sum + value, 0) / this.#values.length;
    return { meanMs: Math.round(mean * 10) / 10, p95Ms: Math.round(p95 * 10) / 10 };
  }
}

/** A duration as the worker reports it (heartbeats, replies): to 0.01 ms. */
export const roundMs = (ms: number): number => Math.round(ms * 100) / 100;

/** Index of the first element of ascending `sorted` that is not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? Number.POSITIVE_INFINITY) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The last `size` durations (calls for fleet stats, fetches for the prefetch lead), for their mean
 * and percentiles. Kept sorted as they come (a binary search and a move of at most `size` numbers),
 * because the worker asks for a percentile after every call: sorting a copy each time was a
 * visible share of its CPU under load.
 */
export class LatencyWindow {
  /** In arrival order, the oldest overwritten first. */
  readonly #values: number[] = [];
  /** The same values, ascending. */
  readonly #sorted: number[] = [];
  #next = 0;

  constructor(readonly size: number) {}

  /** Values recorded so far, at most `size`. */
  get count(): number {
    return this.#values.length;
  }

  /** Records `ms`; a value that is not a finite number is ignored (it has no place in an order). */
  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    if (this.#values.length < this.size) this.#values.push(ms);
    else {
      const oldest = this.#values[this.#next] ?? ms;
      this.#values[this.#next] = ms;
      this.#sorted.splice(lowerBound(this.#sorted, oldest), 1);
    }
    this.#sorted.splice(lowerBound(this.#sorted, ms), 0, ms);
    this.#next = (this.#next + 1) % this.size;
  }

  /** The `p`-th percentile (0–100) of the recorded values, or undefined before the first. */
  percentile(p: number): number | undefined {
    const sorted = this.#sorted;
    if (sorted.length === 0) return undefined;
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

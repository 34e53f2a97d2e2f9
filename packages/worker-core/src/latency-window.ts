/** The durations of the last `size` calls, for the mean and p95 shown in fleet stats. */
export class LatencyWindow {
  readonly #values: number[] = [];
  #next = 0;

  constructor(readonly size: number) {}

  record(ms: number): void {
    if (this.#values.length < this.size) this.#values.push(ms);
    else this.#values[this.#next] = ms;
    this.#next = (this.#next + 1) % this.size;
  }

  /** Mean and 95th percentile in ms, or undefined before the first call. */
  summary(): { meanMs: number; p95Ms: number } | undefined {
    if (this.#values.length === 0) return undefined;
    const sorted = [...this.#values].sort((a, b) => a - b);
    const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] as number;
    return { meanMs: Math.round(mean * 10) / 10, p95Ms: Math.round(p95 * 10) / 10 };
  }
}

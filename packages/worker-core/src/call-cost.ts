/** Weight of the newest call in the running sums: about the last 50 calls count. */
const FORGET = 0.98;
/** Calls needed before the model predicts anything. */
const MIN_CALLS = 8;

/**
 * How long a call on one binding takes, learned from its own calls: a straight line through
 * (input size, slot time), fitted by least squares with older calls fading out. An embedding
 * call's time grows with its tokens (Ollama runs them through the model one after another), so
 * the input's length says when a running call will end far better than the average call does.
 * With every call the same size the line degenerates to their mean.
 */
export class CallCostModel {
  #n = 0;
  #sx = 0;
  #sy = 0;
  #sxx = 0;
  #sxy = 0;
  #calls = 0;
  /** Running mean of |actual − predicted| over calls predicted before they ran. */
  #error: number | undefined;

  /** Predicted slot time in ms of a call of `size` (e.g. characters), or undefined while learning. */
  predict(size: number): number | undefined {
    if (this.#calls < MIN_CALLS || this.#n === 0) return undefined;
    const meanX = this.#sx / this.#n;
    const meanY = this.#sy / this.#n;
    const varX = this.#sxx / this.#n - meanX * meanX;
    const slope = varX > 1e-9 ? Math.max(0, (this.#sxy / this.#n - meanX * meanY) / varX) : 0;
    return Math.max(0, meanY + slope * (size - meanX));
  }

  /** Typical prediction error in ms (undefined until a prediction could be checked). */
  get errorMs(): number | undefined {
    return this.#error;
  }

  record(size: number, durationMs: number): void {
    if (!Number.isFinite(size) || !Number.isFinite(durationMs) || size < 0 || durationMs < 0) return;
    const predicted = this.predict(size);
    if (predicted !== undefined) {
      const miss = Math.abs(durationMs - predicted);
      this.#error = this.#error === undefined ? miss : this.#error + 0.05 * (miss - this.#error);
    }
    this.#n = this.#n * FORGET + 1;
    this.#sx = this.#sx * FORGET + size;
    this.#sy = this.#sy * FORGET + durationMs;
    this.#sxx = this.#sxx * FORGET + size * size;
    this.#sxy = this.#sxy * FORGET + size * durationMs;
    this.#calls += 1;
  }
}

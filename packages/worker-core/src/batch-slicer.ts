/**
 * Sizes the Ollama calls of batch embedding jobs on one binding so that each takes about
 * `targetMs`. Ollama embeds an array's inputs one after another on the slot, so smaller calls
 * cost little throughput (one HTTP round trip each) while an interactive job that arrives waits
 * for at most the call in progress. The cost per input is learned from this binding's own calls.
 */
export class BatchSlicer {
  #msPerInput: number | undefined;

  /** `targetMs` 0 turns slicing off: a batch job is one call. */
  constructor(
    readonly targetMs: number,
    readonly maxInputs: number,
  ) {}

  /** Inputs for the next call of a batch job. Until a call has been timed, one. */
  get size(): number {
    if (this.targetMs <= 0) return Number.POSITIVE_INFINITY;
    if (this.#msPerInput === undefined) return 1;
    return Math.max(1, Math.min(this.maxInputs, Math.floor(this.targetMs / this.#msPerInput)));
  }

  get msPerInput(): number | undefined {
    return this.#msPerInput;
  }

  /** Records a completed embed call (batch or interactive) of `inputs` inputs. */
  record(inputs: number, durationMs: number): void {
    if (inputs <= 0 || !Number.isFinite(durationMs)) return;
    const sample = durationMs / inputs;
    // Weighted towards recent calls: model reloads or another tenant's load change the cost.
    this.#msPerInput = this.#msPerInput === undefined ? sample : 0.7 * this.#msPerInput + 0.3 * sample;
  }
}

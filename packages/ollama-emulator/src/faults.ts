import { z } from "zod";

/**
 * Faults an operator or a test can inject. `refuse` closes the listening socket (connections are
 * refused); the rest act on inference requests (and `hang` also on probes when scope is "all").
 */
export const FaultSpec = z
  .object({
    mode: z.enum(["none", "refuse", "error", "hang", "slow", "malformed", "nan", "wrong_dims"]),
    /** Probability that a request is affected (1 = every request). */
    rate: z.number().min(0).max(1).default(1),
    /** Latency multiplier for "slow". */
    factor: z.number().min(1).max(1000).default(10),
    /** HTTP status for "error". */
    status: z.number().int().min(400).max(599).default(500),
    /** Whether `hang` and `error` also hit `/`, `/api/version`, `/api/tags` and friends. */
    scope: z.enum(["inference", "all"]).default("inference"),
  })
  .strict();
export type FaultSpec = z.infer<typeof FaultSpec>;

export const NO_FAULT: FaultSpec = { mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" };

export const RUNNER_STOPPED_MESSAGE =
  "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details";

export class FaultState {
  #spec: FaultSpec = NO_FAULT;

  get spec(): FaultSpec {
    return this.#spec;
  }

  set(spec: FaultSpec): void {
    this.#spec = spec;
  }

  clear(): void {
    this.#spec = NO_FAULT;
  }

  /** Whether the current fault of `mode` applies to this request. */
  hits(mode: FaultSpec["mode"], inference: boolean): boolean {
    const spec = this.#spec;
    if (spec.mode !== mode) return false;
    if (!inference && spec.scope !== "all") return false;
    return spec.rate >= 1 || Math.random() < spec.rate;
  }

  /** Multiplier applied to work durations. */
  slowdown(): number {
    return this.hits("slow", true) ? this.#spec.factor : 1;
  }
}

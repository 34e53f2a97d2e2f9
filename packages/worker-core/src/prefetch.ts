import { CallCostModel } from "./call-cost.js";
import { LatencyWindow } from "./latency-window.js";
import type { SlotHolder } from "./slot-gate.js";

export interface PrefetchPolicy {
  /** "auto" fetches one job just before a slot is expected to free, under a backlog; "off" never. */
  mode: "auto" | "off";
  /** Only where a held job is expected to wait at most this long for its slot. */
  maxWaitMs: number;
}

/** Weight of the newest sample in the average call time. */
const EWMA_WEIGHT = 0.1;
/** Lead before the first fetch has been timed. */
const DEFAULT_LEAD_MS = 3;
/**
 * On top of the measured lead: timers fire late on a busy event loop. Measured on the balancing
 * bench, 1 ms left a job missing at the gate on about one release in ten; 3 ms on one in thirty.
 */
const LEAD_MARGIN_MS = 3;
/** Fetch-to-gate times kept for the lead's percentile. */
const LEAD_SAMPLES = 64;

/**
 * When one binding should fetch a job ahead of a free slot, so that the job already stands at the
 * gate when a running call ends and the slot never idles for a fetch. For each call holding a
 * slot it predicts the end: from the call's input size where the binding has learned what size
 * costs (embeddings), else from the average call. It fetches `lead` before that end, where lead is
 * how long a fetch takes to put a job at the gate (99th percentile of the last 64, so in effect the slowest: a job that
 * arrives late idles the slot, while one early waits a little), never more than the policy's
 * `maxWaitMs`, so one slow fetch cannot make every held job wait long. A held job waits for about
 * the prediction's error, so calls whose end is too uncertain get no job ahead.
 */
export class PrefetchPlanner {
  readonly #cost = new CallCostModel();
  #avgCallMs: number | undefined;
  readonly #leads = new LatencyWindow(LEAD_SAMPLES);
  #leadMs = DEFAULT_LEAD_MS;

  constructor(
    private readonly policy: PrefetchPolicy,
    private readonly slots: number,
  ) {}

  /** Expected slot time of a call of `size` characters, once the binding has learned it. */
  expectedMs(size: number | undefined): number | undefined {
    return size === undefined ? undefined : this.#cost.predict(size);
  }

  /** A call held the slot for `durationMs`; `size` when its input size was known. */
  recordCall(durationMs: number, size: number | undefined): void {
    this.#avgCallMs = this.#avgCallMs === undefined ? durationMs : this.#avgCallMs + EWMA_WEIGHT * (durationMs - this.#avgCallMs);
    if (size !== undefined) this.#cost.record(size, durationMs);
  }

  /** How long a fetch, made while jobs were waiting, took to put its job at the gate. */
  recordLead(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#leads.record(ms);
    this.#leadMs = this.#leads.percentile(99) ?? DEFAULT_LEAD_MS;
  }

  get leadMs(): number {
    return Math.min(this.#leadMs + LEAD_MARGIN_MS, this.policy.maxWaitMs);
  }

  /**
   * With every slot taken (or promised to a held job) and a backlog: "fetch" one job ahead now,
   * or the ms until it is time to look again (undefined: nothing to wait for but a freed slot).
   * `ahead` counts jobs already fetched for a slot that has not freed yet.
   */
  plan(holders: readonly SlotHolder[], ahead: number, now: number): "fetch" | number | undefined {
    if (this.policy.mode === "off") return undefined;
    const lead = this.leadMs;
    let due = 0;
    let next: number | undefined;
    for (const holder of holders) {
      const expected = holder.expectedMs ?? this.#avgCallMs;
      if (expected === undefined) continue;
      // Without a size, the next of `slots` calls to end comes about every average/slots ms.
      const uncertainty = holder.expectedMs !== undefined ? (this.#cost.errorMs ?? expected) : expected / this.slots;
      if (uncertainty > this.policy.maxWaitMs) continue;
      const end = holder.since + expected;
      // A call running far past its expected end says nothing about when it ends: no job ahead.
      if (end < now - expected / 2) continue;
      // Early by the typical error rather than late: a job that arrives early waits at the gate
      // briefly, one that arrives late leaves the slot idle.
      const fetchAt = end - lead - (holder.expectedMs !== undefined ? (this.#cost.errorMs ?? 0) : 0);
      if (fetchAt <= now) due += 1;
      else if (next === undefined || fetchAt < next) next = fetchAt;
    }
    if (ahead < due) return "fetch";
    return next === undefined ? undefined : next - now;
  }
}

/** How long emulated work takes before the instance speed factor is applied. */
export interface LatencyProfile {
  /** Fixed cost of every inference request, paid once on its first slot. */
  requestMs: number;
  /** Cost of each /api/embed input. */
  embedMs: number;
  embedTokenMs: number;
  /** Prompt evaluation per prompt token (generate and chat). */
  promptTokenMs: number;
  /** Per generated token. */
  evalTokenMs: number;
  /** Cold load of a model into memory. */
  loadMs: number;
}

export const LATENCY_PRESETS = {
  /** Everything instant: the fastest tests. */
  zero: { requestMs: 0, embedMs: 0, embedTokenMs: 0, promptTokenMs: 0, evalTokenMs: 0, loadMs: 0 },
  /** Roughly a mid-range GPU with a small model. */
  realistic: { requestMs: 1, embedMs: 8, embedTokenMs: 0.05, promptTokenMs: 0.3, evalTokenMs: 12, loadMs: 800 },
} as const satisfies Record<string, LatencyProfile>;

export type LatencyPresetName = keyof typeof LATENCY_PRESETS;

/**
 * Waits until `deadline` (a performance.now() timestamp). Deadlines instead of relative sleeps
 * keep a long stream of token delays from drifting under load.
 */
export function waitUntil(deadline: number, signal: AbortSignal): Promise<void> {
  const remaining = deadline - performance.now();
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  if (remaining <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, remaining);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

import { describe, expect, it } from "vitest";
import { LatencyWindow } from "../src/latency-window.js";

/** The definition the window must keep to: sort the last `size` values and pick the rank. */
function naivePercentile(values: number[], size: number, p: number): number | undefined {
  const last = values.slice(-size).sort((a, b) => a - b);
  if (last.length === 0) return undefined;
  return last[Math.min(last.length - 1, Math.max(0, Math.ceil((last.length * p) / 100) - 1))];
}

describe("LatencyWindow", () => {
  it("answers every percentile as sorting its last values would, while old values leave it", () => {
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (const size of [1, 3, 32, 64]) {
      const window = new LatencyWindow(size);
      const seen: number[] = [];
      expect(window.percentile(50)).toBeUndefined();
      for (let i = 0; i < 500; i += 1) {
        // Repeated values too: durations are often equal to the microsecond.
        const value = random() < 0.2 ? 7 : Math.round(random() * 1000) / 10;
        window.record(value);
        seen.push(value);
        for (const p of [0, 1, 50, 95, 99, 100]) expect(window.percentile(p)).toBe(naivePercentile(seen, size, p));
      }
      expect(window.count).toBe(size);
    }
  });

  it("gives the mean and p95 of the last values, and ignores what is not a finite number", () => {
    const window = new LatencyWindow(4);
    expect(window.summary()).toBeUndefined();
    for (const value of [100, 1, 2, Number.NaN, 3, Number.POSITIVE_INFINITY, 4]) window.record(value);
    expect(window.count).toBe(4);
    expect(window.summary()).toEqual({ meanMs: 2.5, p95Ms: 4 });
  });
});

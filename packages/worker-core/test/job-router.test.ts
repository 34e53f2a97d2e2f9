import { describe, expect, it } from "vitest";
import { fasterIdlePeer, type RouteCandidate } from "../src/job-router.js";

const binding = (typicalCallMs: number | undefined, occupied = 0, slots = 1, acceptsNow = true): RouteCandidate => ({ typicalCallMs, occupied, slots, acceptsNow });

describe("fasterIdlePeer", () => {
  it("hands a job to an idle peer that finishes clearly sooner, the fastest of them", () => {
    const slow = binding(40);
    const fast = binding(10);
    const faster = binding(8);
    expect(fasterIdlePeer(slow, [slow, fast])).toBe(fast);
    expect(fasterIdlePeer(slow, [fast, faster])).toBe(faster);
    // The fast one fetched it: nobody is faster.
    expect(fasterIdlePeer(fast, [slow])).toBeUndefined();
  });

  it("keeps the job where peers are about as fast (within the margin) or unmeasured", () => {
    expect(fasterIdlePeer(binding(40), [binding(35)])).toBeUndefined();
    expect(fasterIdlePeer(binding(40), [binding(undefined)])).toBeUndefined();
    expect(fasterIdlePeer(binding(undefined), [binding(5)])).toBeUndefined();
  });

  it("never hands a job to a busy or non-pulling peer", () => {
    const slow = binding(40);
    expect(fasterIdlePeer(slow, [binding(10, 1, 1)])).toBeUndefined();
    // A free slot on a busy instance is not idle: parallel requests share the GPU.
    expect(fasterIdlePeer(slow, [binding(10, 1, 4)])).toBeUndefined();
    expect(fasterIdlePeer(slow, [binding(10, 0, 1, false)])).toBeUndefined();
  });

  it("counts the wait for a slot when the fetcher's own slots are all taken", () => {
    // The fast fetcher is busy: its job would wait ≈10 ms, then run 10 ms. A 15 ms idle peer wins,
    // a 40 ms one does not.
    const busyFast = binding(10, 1, 1);
    const medium = binding(15);
    expect(fasterIdlePeer(busyFast, [medium])).toBe(medium);
    expect(fasterIdlePeer(busyFast, [binding(40)])).toBeUndefined();
  });
});

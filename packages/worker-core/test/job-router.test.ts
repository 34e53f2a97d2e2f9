import { describe, expect, it } from "vitest";
import { fasterIdlePeer, type RouteCandidate } from "../src/job-router.js";

/** A job, as routing sees it: the instance its last attempt failed on, if any. */
interface TestJob {
  failedOn?: string;
}

const binding = (typicalCallMs: number | undefined, occupied = 0, slots = 1, acceptsNow = true, instance = "any"): RouteCandidate<TestJob> & { instance: string } => ({
  typicalCallMs,
  occupied,
  slots,
  acceptsNow,
  instance,
  lastFailedHere: (job) => job.failedOn === instance,
});
const job: TestJob = {};

describe("fasterIdlePeer", () => {
  it("hands a job to an idle peer that finishes clearly sooner, the fastest of them", () => {
    const slow = binding(40);
    const fast = binding(10);
    const faster = binding(8);
    expect(fasterIdlePeer(slow, [slow, fast], job)).toBe(fast);
    expect(fasterIdlePeer(slow, [fast, faster], job)).toBe(faster);
    // The fast one fetched it: nobody is faster.
    expect(fasterIdlePeer(fast, [slow], job)).toBeUndefined();
  });

  it("keeps the job where peers are about as fast (within the margin) or unmeasured", () => {
    expect(fasterIdlePeer(binding(40), [binding(35)], job)).toBeUndefined();
    expect(fasterIdlePeer(binding(40), [binding(undefined)], job)).toBeUndefined();
    expect(fasterIdlePeer(binding(undefined), [binding(5)], job)).toBeUndefined();
  });

  it("never hands a job to a busy or non-pulling peer", () => {
    const slow = binding(40);
    expect(fasterIdlePeer(slow, [binding(10, 1, 1)], job)).toBeUndefined();
    // A free slot on a busy instance is not idle: parallel requests share the GPU.
    expect(fasterIdlePeer(slow, [binding(10, 1, 4)], job)).toBeUndefined();
    expect(fasterIdlePeer(slow, [binding(10, 0, 1, false)], job)).toBeUndefined();
  });

  it("counts the wait for a slot when the fetcher's own slots are all taken", () => {
    // The fast fetcher is busy: its job would wait ≈10 ms, then run 10 ms. A 15 ms idle peer wins,
    // a 40 ms one does not.
    const busyFast = binding(10, 1, 1);
    const medium = binding(15);
    expect(fasterIdlePeer(busyFast, [medium], job)).toBe(medium);
    expect(fasterIdlePeer(busyFast, [binding(40)], job)).toBeUndefined();
  });

  it("never hands a retry back to the instance it just failed on", () => {
    const slow = binding(40, 0, 1, true, "slow");
    const fast = binding(10, 0, 1, true, "fast");
    const alsoFast = binding(12, 0, 1, true, "also-fast");
    // That binding would only pass the job on again (after a delay) instead of running it.
    expect(fasterIdlePeer(slow, [fast], { failedOn: "fast" })).toBeUndefined();
    expect(fasterIdlePeer(slow, [fast, alsoFast], { failedOn: "fast" })).toBe(alsoFast);
    // A failure elsewhere says nothing about the fast instance.
    expect(fasterIdlePeer(slow, [fast, alsoFast], { failedOn: "slow" })).toBe(fast);
  });
});

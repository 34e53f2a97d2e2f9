import { describe, expect, it } from "vitest";
import { CallCostModel } from "../src/call-cost.js";
import { PrefetchPlanner } from "../src/prefetch.js";

describe("CallCostModel", () => {
  it("learns how call time grows with input size, and how far off it is", () => {
    const model = new CallCostModel();
    expect(model.predict(100)).toBeUndefined();
    // 20 ms per call plus 0.5 ms per character, ±1 ms of noise.
    for (let i = 0; i < 60; i += 1) {
      const size = 10 + ((i * 37) % 120);
      model.record(size, 20 + 0.5 * size + (i % 2 === 0 ? 1 : -1));
    }
    expect(model.predict(40)).toBeCloseTo(40, 0);
    expect(model.predict(200)).toBeCloseTo(120, 0);
    expect(model.errorMs).toBeGreaterThan(0);
    expect(model.errorMs).toBeLessThan(2);
  });

  it("predicts the mean when every call has the same size", () => {
    const model = new CallCostModel();
    for (let i = 0; i < 20; i += 1) model.record(50, i % 2 === 0 ? 30 : 50);
    expect(model.predict(50)).toBeGreaterThan(35);
    expect(model.predict(50)).toBeLessThan(45);
    // No slope can be learned from one size: other sizes get the mean too.
    expect(model.predict(500)).toBeCloseTo(model.predict(50) as number, 6);
  });

  it("ignores samples that are not numbers", () => {
    const model = new CallCostModel();
    for (let i = 0; i < 10; i += 1) model.record(10, 10);
    model.record(Number.NaN, 10);
    model.record(10, Number.POSITIVE_INFINITY);
    expect(model.predict(10)).toBeCloseTo(10, 6);
  });
});

function trained(slots = 1, maxWaitMs = 15): PrefetchPlanner {
  const planner = new PrefetchPlanner({ mode: "auto", maxWaitMs }, slots);
  // Calls cost 10 ms + 1 ms per character; fetches take 2 ms to reach the gate.
  for (let i = 0; i < 40; i += 1) {
    const size = 10 + (i % 50);
    planner.recordCall(10 + size, size);
  }
  for (let i = 0; i < 10; i += 1) planner.recordLead(2);
  return planner;
}

describe("PrefetchPlanner", () => {
  it("fetches ahead once the running call's predicted end is within the lead", () => {
    const planner = trained();
    const expected = planner.expectedMs(50) as number;
    expect(expected).toBeCloseTo(60, 0);
    // 2 ms to reach the gate plus 3 ms of margin for late timers.
    expect(planner.leadMs).toBe(5);
    const holder = { since: 1000, expectedMs: expected };
    // 20 ms in: about 35 ms until the fetch moment (end − lead − error).
    const wait = planner.plan([holder], 0, 1020);
    expect(typeof wait).toBe("number");
    expect(wait as number).toBeGreaterThan(33);
    expect(wait as number).toBeLessThan(36);
    expect(planner.plan([holder], 0, 1020 + (wait as number))).toBe("fetch");
    // One job already fetched for that slot: no second one.
    expect(planner.plan([holder], 1, 1058)).toBeUndefined();
  });

  it("fetches one job per slot that is about to free", () => {
    const planner = trained(2);
    const holders = [
      { since: 1000, expectedMs: 30 },
      { since: 1005, expectedMs: 30 },
    ];
    expect(planner.plan(holders, 0, 1034)).toBe("fetch");
    expect(planner.plan(holders, 1, 1034)).toBe("fetch");
    expect(planner.plan(holders, 2, 1034)).toBeUndefined();
  });

  it("holds no job for a call far past its predicted end, nor when prefetch is off", () => {
    const planner = trained();
    expect(planner.plan([{ since: 1000, expectedMs: 20 }], 0, 1100)).toBeUndefined();
    const off = new PrefetchPlanner({ mode: "off", maxWaitMs: 15 }, 1);
    off.recordCall(20, 10);
    expect(off.plan([{ since: 1000, expectedMs: 20 }], 0, 1019)).toBeUndefined();
  });

  it("without sizes, prefetches only where the next slot frees soon on average", () => {
    const fast = new PrefetchPlanner({ mode: "auto", maxWaitMs: 15 }, 4);
    const slow = new PrefetchPlanner({ mode: "auto", maxWaitMs: 15 }, 1);
    for (const planner of [fast, slow]) for (let i = 0; i < 10; i += 1) planner.recordCall(40, undefined);
    const holders = [{ since: 1000, expectedMs: undefined }];
    // 40 ms / 4 slots = 10 ms ≤ 15: a job ahead; 40 ms / 1 slot: a held job would wait too long.
    expect(fast.plan(holders, 0, 1039)).toBe("fetch");
    expect(slow.plan(holders, 0, 1039)).toBeUndefined();
  });

  it("leads by the slowest recent fetch, but never by more than a held job may wait", () => {
    const planner = trained(1, 15);
    // One fetch in the window took 8 ms: the lead covers it, so that fetch would not have idled the slot.
    planner.recordLead(8);
    expect(planner.leadMs).toBe(11);
    // A 40 ms stall (a GC pause, say) would make every held job wait that long: capped at maxWaitMs.
    planner.recordLead(40);
    expect(planner.leadMs).toBe(15);
    // Once the stall leaves the window of the last 64 fetches, the lead falls back.
    for (let i = 0; i < 64; i += 1) planner.recordLead(2);
    expect(planner.leadMs).toBe(5);
  });
});

import { describe, expect, it } from "vitest";
import { waitFor } from "@herd/testing";
import type { Job } from "bullmq";
import { DEFER_LISTEN_MS, DEFER_LOOK_MS, FetchDecider, QUIET_AFTER_LOOKS } from "../src/fetch-decider.js";
import { SlotGate } from "../src/slot-gate.js";

/** The fields of a fetched job the decider reads: waited `waitedMs` in the queue before its fetch. */
function fetchedJob(id: string, waitedMs: number): Job {
  const now = Date.now();
  return { id, attemptsMade: 0, timestamp: now - waitedMs, processedOn: now } as unknown as Job;
}

/** Fetches `job` as decide() asked, takes it through the gate, and returns its slot's release. */
async function runToSlot(decider: FetchDecider, gate: SlotGate, job: Job): Promise<{ release: () => void; settle: () => void }> {
  const decision = decider.decide("embed");
  expect(decision).toEqual({ action: "fetch", block: true });
  decider.onFetched("embed", job, 1, true);
  const reachedGate = decider.jobStarted(job);
  reachedGate(true);
  const release = await gate.acquire();
  return { release, settle: () => decider.settled(job) };
}

describe("FetchDecider: a freed slot's fetch and a finishing job", () => {
  it("with no backlog, waits until a job that gave its slot back has settled", async () => {
    const gate = new SlotGate(1, () => undefined);
    const decider = new FetchDecider(gate, { mode: "auto", maxWaitMs: 15 });
    // Taken at once from an empty queue: no backlog.
    const job = await runToSlot(decider, gate, fetchedJob("a", 0));
    expect(decider.decide("embed")).toEqual({ action: "wait" }); // The slot is busy.
    job.release(); // Ollama answered: the job now stores its result and replies.
    expect(decider.decide("embed")).toEqual({ action: "wait" });
    job.settle(); // Its completion is recorded.
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: true });
  });

  it("with a backlog, fetches for the freed slot at once", async () => {
    const gate = new SlotGate(1, () => undefined);
    const decider = new FetchDecider(gate, { mode: "off", maxWaitMs: 15 });
    // Waited 50 ms in the queue: jobs are backing up.
    const job = await runToSlot(decider, gate, fetchedJob("b", 50));
    job.release();
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: true });
    job.settle();
  });

  it("counts only jobs past their slot: a free slot beside a running job is fetched for", async () => {
    const gate = new SlotGate(2, () => undefined);
    const decider = new FetchDecider(gate, { mode: "auto", maxWaitMs: 15 });
    const running = await runToSlot(decider, gate, fetchedJob("c", 0));
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: true });
    // A job that never reached the gate (handed back before it) settles without having counted.
    const handedBack = fetchedJob("d", 0);
    decider.onFetched("embed", handedBack, 1, true);
    decider.jobStarted(handedBack)(false);
    decider.settled(handedBack);
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: true });
    running.release();
    running.settle();
  });
});

describe("FetchDecider: deferring to a faster instance elsewhere", () => {
  it("counts the waiting jobs every DEFER_LOOK_MS and fetches only what two counts in a row saw waiting", async () => {
    const gate = new SlotGate(2, () => undefined);
    const decider = new FetchDecider(gate, { mode: "auto", maxWaitMs: 15 });
    decider.deferring = true;
    expect(decider.decide("embed")).toEqual({ action: "look" });
    decider.onLooked("embed", 1); // A job just arrived: the faster instance may be taking it now.
    const next = decider.decide("embed");
    expect(next.action).toBe("wait");
    const timeoutMs = next.action === "wait" ? (next.timeoutMs ?? Infinity) : 0;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(DEFER_LOOK_MS);
    await waitFor(() => decider.decide("embed").action === "look", { message: "counts again" });
    decider.onLooked("embed", 1); // Still waiting: the faster instance left it.
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: false });
    decider.onFetched("embed", fetchedJob("e", 8), 1, false);

    // It waited: under a backlog the next fetch goes at once; an empty fetch ends the backlog.
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: false });
    decider.onFetched("embed", undefined, 1, false);
    await waitFor(() => decider.decide("embed").action === "look", { message: "counts again" });
    decider.onLooked("embed", 0);
    expect(decider.decide("embed").action).toBe("wait");

    // Not deferring any more: the free slot waits in the queue again.
    decider.deferring = false;
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: true });
  });

  it("after QUIET_AFTER_LOOKS empty counts, listens for new jobs instead; counts every DEFER_LOOK_MS again once it hears one", async () => {
    const gate = new SlotGate(1, () => undefined);
    const decider = new FetchDecider(gate, { mode: "auto", maxWaitMs: 15 });
    decider.deferring = true;
    /** The next look decision, once its DEFER_LOOK_MS spacing has passed. */
    const nextLook = async () => {
      let decision = decider.decide("embed");
      await waitFor(() => (decision = decider.decide("embed")).action === "look", { message: "looks again" });
      return decision;
    };
    for (let i = 0; i < QUIET_AFTER_LOOKS; i += 1) {
      expect(await nextLook()).toEqual({ action: "look" });
      decider.onLooked("embed", 0);
    }
    expect(await nextLook()).toEqual({ action: "look", listenMs: DEFER_LISTEN_MS });
    // Nothing heard (in a real loop, DEFER_LISTEN_MS later): it goes on listening.
    decider.onLooked("embed", 0);
    decider.onListened("embed", false);
    expect(await nextLook()).toEqual({ action: "look", listenMs: DEFER_LISTEN_MS });
    // A job became waiting: count at once, and keep counting every DEFER_LOOK_MS.
    decider.onLooked("embed", 0);
    decider.onListened("embed", true);
    expect(decider.decide("embed")).toEqual({ action: "look" });
    decider.onLooked("embed", 1);
    expect(await nextLook()).toEqual({ action: "look" });
    decider.onLooked("embed", 1);
    expect(decider.decide("embed")).toEqual({ action: "fetch", block: false });
  });
});

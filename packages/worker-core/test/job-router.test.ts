import { describe, expect, it } from "vitest";
import { instanceKey, type WorkerHeartbeat } from "@herd/fleet";
import { fasterElsewhere, fasterIdlePeer, type RouteCandidate } from "../src/job-router.js";

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

describe("fasterElsewhere", () => {
  const MODEL = "nomic-embed-text:latest";
  const worker = (workerId: string, url: string, typicalMs: number | undefined, options: { healthy?: boolean; model?: string; kinds?: Array<"embed" | "generate">; host?: string } = {}): WorkerHeartbeat => ({
    workerId,
    host: options.host ?? "h",
    pid: 1,
    startedAt: "2026-12-04T00:00:00.000Z",
    updatedAt: "2026-12-04T00:00:00.000Z",
    instances: [
      {
        name: url,
        url,
        healthy: options.healthy ?? true,
        weight: 1,
        models: [{ model: options.model ?? MODEL, kinds: options.kinds ?? ["embed"], slots: 1, inFlight: 0, completed: 3, failed: 0, ...(typicalMs === undefined ? {} : { typicalMs }) }],
      },
    ],
  });
  const own = { key: "http://slow:11434", url: "http://slow:11434", model: MODEL, kinds: ["embed"] as const, typicalCallMs: 40 };

  it("defers to a healthy instance of another worker that is clearly faster for the same model and kinds", () => {
    expect(fasterElsewhere(own, [worker("me", own.url, 40), worker("other", "http://fast:11434", 10)], "me")).toBe(true);
    // About as fast (within the margin), unmeasured, unhealthy, another model or kind: no.
    expect(fasterElsewhere(own, [worker("other", "http://fast:11434", 35)], "me")).toBe(false);
    expect(fasterElsewhere(own, [worker("other", "http://fast:11434", undefined)], "me")).toBe(false);
    expect(fasterElsewhere(own, [worker("other", "http://fast:11434", 10, { healthy: false })], "me")).toBe(false);
    expect(fasterElsewhere(own, [worker("other", "http://fast:11434", 10, { model: "all-minilm:latest" })], "me")).toBe(false);
    expect(fasterElsewhere(own, [worker("other", "http://fast:11434", 10, { kinds: ["generate"] })], "me")).toBe(false);
  });

  it("never defers to its own worker (routing covers that) nor to the same server bound elsewhere", () => {
    expect(fasterElsewhere(own, [worker("me", "http://fast:11434", 10)], "me")).toBe(false);
    expect(fasterElsewhere(own, [worker("other", own.url, 10)], "me")).toBe(false);
    // Workers beside Ollama on two GPU boxes, each bound to its own 127.0.0.1:11434: two servers.
    const local = "http://127.0.0.1:11434";
    const onBoxA = { ...own, key: instanceKey("box-a", local), url: local };
    expect(fasterElsewhere(onBoxA, [worker("other", local, 10, { host: "box-b" })], "me")).toBe(true);
    expect(fasterElsewhere(onBoxA, [worker("other", local, 10, { host: "box-a" })], "me")).toBe(false);
    // Its own speed unknown yet: nothing to compare.
    expect(fasterElsewhere({ ...own, typicalCallMs: undefined }, [worker("other", "http://fast:11434", 10)], "me")).toBe(false);
  });
});

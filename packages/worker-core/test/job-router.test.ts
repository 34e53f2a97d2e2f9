import { describe, expect, it } from "vitest";
import { instanceKey, type WorkerHeartbeat } from "@herd/fleet";
import { fasterElsewhere, fasterIdlePeer, warmElsewhere, type RouteCandidate } from "../src/job-router.js";

/** A job, as routing sees it: the instance its last attempt failed on, if any. */
interface TestJob {
  failedOn?: string;
}

const binding = (typicalCallMs: number | undefined, occupied = 0, slots = 1, acceptsNow = true, instance = "any", loaded?: boolean): RouteCandidate<TestJob> & { instance: string } => ({
  typicalCallMs,
  occupied,
  slots,
  acceptsNow,
  instance,
  loaded,
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

describe("fasterIdlePeer and loaded models", () => {
  const cold = (typicalCallMs: number | undefined, occupied = 0) => binding(typicalCallMs, occupied, 1, true, "cold", false);
  const warm = (typicalCallMs: number | undefined, occupied = 0, instance = "warm") => binding(typicalCallMs, occupied, 1, true, instance, true);

  it("hands a job a cold instance fetched to an idle, about as fast instance with the model loaded, the fastest of them", () => {
    expect(fasterIdlePeer(cold(20), [warm(22)], job)?.instance).toBe("warm");
    expect(fasterIdlePeer(cold(20), [warm(24, 0, "slower"), warm(18, 0, "quicker")], job)?.instance).toBe("quicker");
    // Loaded or not known to be cold, it keeps the job (within the speed margin), as before.
    expect(fasterIdlePeer(binding(20, 0, 1, true, "warm-fetcher", true), [warm(18)], job)).toBeUndefined();
    expect(fasterIdlePeer(binding(20), [warm(18)], job)).toBeUndefined();
  });

  it("keeps the job where the cold fetcher is clearly faster, never timed, or the warm peers are busy or untimed", () => {
    // Clearly faster: worth loading the model once.
    expect(fasterIdlePeer(cold(10), [warm(40)], job)).toBeUndefined();
    // Never timed: it takes its turns until its speed is known.
    expect(fasterIdlePeer(cold(undefined), [warm(20)], job)).toBeUndefined();
    expect(fasterIdlePeer(cold(20), [warm(undefined)], job)).toBeUndefined();
    // A busy warm instance is no help: the backlog needs the cold one too.
    expect(fasterIdlePeer(cold(20), [warm(20, 1)], job)).toBeUndefined();
  });

  it("still hands a job to a clearly faster idle peer, loaded or not", () => {
    const fastCold = binding(5, 0, 1, true, "fast-cold", false);
    expect(fasterIdlePeer(warm(40, 0, "fetcher"), [fastCold], job)?.instance).toBe("fast-cold");
    expect(fasterIdlePeer(cold(40), [fastCold, warm(38)], job)?.instance).toBe("fast-cold");
  });
});

describe("fasterElsewhere", () => {
  const MODEL = "nomic-embed-text:latest";
  const worker = (workerId: string, url: string, typicalMs: number | undefined, options: { healthy?: boolean; model?: string; kinds?: Array<"embed" | "generate">; host?: string; loaded?: boolean } = {}): WorkerHeartbeat => ({
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
        models: [{ model: options.model ?? MODEL, kinds: options.kinds ?? ["embed"], slots: 1, inFlight: 0, completed: 3, failed: 0, ...(typicalMs === undefined ? {} : { typicalMs }), ...(options.loaded === undefined ? {} : { loaded: options.loaded }) }],
      },
    ],
  });
  const own = { key: "http://slow:11434", url: "http://slow:11434", model: MODEL, kinds: ["embed"] as const, typicalCallMs: 40, loaded: undefined };

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

describe("warmElsewhere", () => {
  const MODEL = "llama3.2:latest";
  const heartbeat = (workerId: string, url: string, loaded: boolean | undefined, healthy = true, typicalMs = 110): WorkerHeartbeat => ({
    workerId,
    host: "h",
    pid: 1,
    startedAt: "2026-12-07T00:00:00.000Z",
    updatedAt: "2026-12-07T00:00:00.000Z",
    instances: [{ name: url, url, healthy, weight: 1, models: [{ model: MODEL, kinds: ["generate"], slots: 2, inFlight: 0, completed: 0, failed: 0, typicalMs, ...(loaded === undefined ? {} : { loaded }) }] }],
  });
  const own = { key: "http://cold:11434", model: MODEL, kinds: ["generate"] as const, typicalCallMs: 100, loaded: false };

  it("defers a binding without the model loaded to another worker's healthy, about as fast instance that has it loaded", () => {
    expect(warmElsewhere(own, [heartbeat("other", "http://warm:11434", true)], "me")).toBe(true);
    // Clearly faster here, or a speed unknown on either side: no (loading once is worth it, or speeds are still being learnt).
    expect(warmElsewhere(own, [heartbeat("other", "http://warm:11434", true, true, 200)], "me")).toBe(false);
    expect(warmElsewhere({ ...own, typicalCallMs: undefined }, [heartbeat("other", "http://warm:11434", true)], "me")).toBe(false);
    // Loaded here too, or not known here: nothing to gain.
    expect(warmElsewhere({ ...own, loaded: true }, [heartbeat("other", "http://warm:11434", true)], "me")).toBe(false);
    expect(warmElsewhere({ ...own, loaded: undefined }, [heartbeat("other", "http://warm:11434", true)], "me")).toBe(false);
    // Cold there too, unknown there, unhealthy, the same worker, the same server: no.
    expect(warmElsewhere(own, [heartbeat("other", "http://warm:11434", false)], "me")).toBe(false);
    expect(warmElsewhere(own, [heartbeat("other", "http://warm:11434", undefined)], "me")).toBe(false);
    expect(warmElsewhere(own, [heartbeat("other", "http://warm:11434", true, false)], "me")).toBe(false);
    expect(warmElsewhere(own, [heartbeat("me", "http://warm:11434", true)], "me")).toBe(false);
    expect(warmElsewhere(own, [heartbeat("other", own.key, true)], "me")).toBe(false);
  });
});

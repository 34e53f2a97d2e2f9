import { afterEach, describe, expect, it } from "vitest";
import type { WorkerHeartbeat } from "@herd/fleet";
import { createLogger } from "@herd/logger";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { deletePrefix, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { WorkerRuntime } from "../src/index.js";
import { SharedInstanceWatch } from "../src/shared-instances.js";
import { workerConfig } from "./harness.js";

interface Line {
  level: number;
  msg: string;
  instance?: string;
  otherWorkers?: Array<{ workerId: string }>;
}

function capture(): { lines: Line[]; logger: ReturnType<typeof createLogger> } {
  const lines: Line[] = [];
  return { lines, logger: createLogger({ name: "shared-instances-test", level: "warn", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } }) };
}

const sharingWarnings = (lines: Line[]) => lines.filter((line) => line.msg.includes("is also bound by worker"));

async function otherWorkersGauge(runtime: WorkerRuntime): Promise<Record<string, number>> {
  const metric = await runtime.metrics.registry.getSingleMetric("herd_instance_other_workers")?.get();
  return Object.fromEntries((metric?.values ?? []).map((value) => [String(value.labels["ollama"]), value.value]));
}

describe("SharedInstanceWatch", () => {
  const url = "http://gpu-1:11434";
  const beat = (workerId: string, updatedAt: string, urls = [url]): WorkerHeartbeat => ({
    workerId,
    host: `box-${workerId}`,
    pid: 1,
    startedAt: "",
    updatedAt,
    instances: urls.map((instanceUrl) => ({ name: "gpu-1", url: instanceUrl, healthy: true, weight: 1, models: [] })),
  });
  const own = [{ name: "gpu-1", url }];

  it("counts a worker only once it is seen publishing, and warns from the second reading in a row", () => {
    const { lines, logger } = capture();
    const watch = new SharedInstanceWatch({ workerId: "me", host: "box-me" }, logger);
    // The heartbeat a killed worker left: it never changes, so it never counts.
    for (let reading = 0; reading < 3; reading += 1) watch.observe([beat("me", `m${reading}`), beat("dead", "d0")], own);
    expect(watch.othersOn(url)).toBe(0);
    // A live worker binding the same server: counted once its heartbeat moved, warned about a reading later.
    watch.observe([beat("me", "m3"), beat("dead", "d0"), beat("live", "l0")], own);
    expect(watch.othersOn(url)).toBe(0);
    watch.observe([beat("me", "m4"), beat("dead", "d0"), beat("live", "l1")], own);
    expect(watch.othersOn(url)).toBe(1);
    expect(sharingWarnings(lines)).toEqual([]);
    watch.observe([beat("me", "m5"), beat("dead", "d0"), beat("live", "l2")], own);
    watch.observe([beat("me", "m6"), beat("dead", "d0"), beat("live", "l3")], own);
    expect(sharingWarnings(lines).map((line) => [line.level, line.instance, line.otherWorkers?.map((other) => other.workerId)])).toEqual([[40, "gpu-1", ["live"]]]);
    expect(sharingWarnings(lines)[0]?.msg).toBe(
      "instance gpu-1 is also bound by worker live (box-live): each of them fills the instance's slots, so together they send it more calls at once than it has and Ollama queues the rest inside itself; give each instance to one worker, or set HERD_CLAIM_INSTANCES on every worker that lists it (each instance is then claimed by one)",
    );
    // It moves to another server: no longer counted.
    watch.observe([beat("me", "m7"), beat("live", "l4", ["http://gpu-2:11434"])], own);
    expect(watch.othersOn(url)).toBe(0);
  });

  it("stays quiet through a one-reading overlap (a claimed instance changing hands)", () => {
    const { lines, logger } = capture();
    const watch = new SharedInstanceWatch({ workerId: "me", host: "box-me" }, logger);
    watch.observe([beat("me", "m0"), beat("old", "o0", [])], own);
    watch.observe([beat("me", "m1"), beat("old", "o1")], own);
    watch.observe([beat("me", "m2"), beat("old", "o2", [])], own);
    watch.observe([beat("me", "m3"), beat("old", "o3")], own);
    expect(sharingWarnings(lines)).toEqual([]);
  });
});

describe("two workers given the same instance", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("each warns and reports the other on herd_instance_other_workers; a worker on another instance reports 0", async () => {
    const prefix = uniquePrefix("shared-instances");
    const [shared, apart] = await Promise.all(["shared", "apart"].map((name) => new EmulatorInstance({ name, preload: true }).listen()));
    if (!shared || !apart) throw new Error("emulators did not start");
    cleanups.push(() => Promise.all([shared.close(), apart.close()]));
    const redis = testRedis();
    cleanups.push(async () => {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    });
    const start = async (instance: EmulatorInstance, workerId: string) => {
      const { lines, logger } = capture();
      const runtime = new WorkerRuntime({ config: { ...workerConfig(prefix, [instance]), workerId }, logger });
      await runtime.start();
      cleanups.push(() => runtime.close());
      return { runtime, lines };
    };
    const a = await start(shared, "w-a");
    const b = await start(shared, "w-b");
    const c = await start(apart, "w-c");

    await waitFor(() => sharingWarnings(a.lines).length > 0 && sharingWarnings(b.lines).length > 0, { timeoutMs: 10_000, message: "both workers warned" });
    expect(sharingWarnings(a.lines)[0]?.otherWorkers?.map((other) => other.workerId)).toEqual(["w-b"]);
    expect(sharingWarnings(b.lines)[0]?.otherWorkers?.map((other) => other.workerId)).toEqual(["w-a"]);
    expect(await otherWorkersGauge(a.runtime)).toEqual({ shared: 1 });
    expect(await otherWorkersGauge(b.runtime)).toEqual({ shared: 1 });
    expect(await otherWorkersGauge(c.runtime)).toEqual({ apart: 0 });
    expect(sharingWarnings(c.lines)).toEqual([]);

    // Once w-b has left the fleet, w-a no longer counts it.
    await b.runtime.close();
    await waitFor(async () => (await otherWorkersGauge(a.runtime))["shared"] === 0, { timeoutMs: 10_000, message: "w-a stopped counting w-b" });
  });
});

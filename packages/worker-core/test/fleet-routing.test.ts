import { afterEach, describe, expect, it, vi } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import type { WorkerRuntime } from "../src/index.js";
import { DEFER_LISTEN_MS } from "../src/fetch-decider.js";
import { fastAndSlowFleet, startWorker, workerConfig } from "./harness.js";

const EMBED = "nomic-embed-text:latest";

/** One worker per instance (the one-worker-per-GPU-box deployment): a fast box and a 4× slower one. */
describe("deferring to a faster instance of another worker", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(routing = "fastest-idle") {
    const prefix = uniquePrefix("fleet-routing");
    const { fast, slow, producer, requests, ranOn } = await fastAndSlowFleet(prefix, cleanups);
    const slowWorker = await startWorker(workerConfig(prefix, [slow], { HERD_ROUTING: routing }));
    cleanups.push(() => slowWorker.close(1000));
    const fastWorker = await startWorker(workerConfig(prefix, [fast], { HERD_ROUTING: routing }));
    let fastClosed = false;
    const closeFast = async () => {
      if (fastClosed) return;
      fastClosed = true;
      await fastWorker.close(1000);
    };
    cleanups.push(closeFast);
    const bindingOf = (runtime: WorkerRuntime) => runtime.bindings.find((binding) => binding.model.model === EMBED);
    await waitFor(() => bindingOf(slowWorker)?.pulling === true && bindingOf(fastWorker)?.pulling === true, { message: "both instances pulling" });
    const slowBinding = bindingOf(slowWorker);
    if (!slowBinding) throw new Error("no binding of the slow instance");
    const oneJob = async (text: string) => {
      const id = await producer.embed(text);
      await waitFor(async () => (await producer.state(id)) === "completed", { message: `${text} completed` });
      return ranOn(text);
    };
    return { fast, slow, producer, slowBinding, requests, oneJob, closeFast };
  }

  it("at light load, jobs go to the faster worker's instance instead of taking turns; the slow one still takes a burst's share", async () => {
    const { fast, slow, producer, slowBinding, requests, oneJob } = await setup();
    // Until both instances have timed a few calls and a heartbeat has told the other worker, jobs take turns.
    for (let i = 0; i < 100 && !slowBinding.deferring; i += 1) await oneJob(`warm ${i}`);
    expect(slowBinding.deferring).toBe(true);
    const places: Array<string | undefined> = [];
    for (let i = 0; i < 30; i += 1) places.push(await oneJob(`one at a time ${i}`));
    expect(places.filter((place) => place === "fast").length).toBeGreaterThanOrEqual(28);

    // Under a burst the slow instance still works (it looks at the queue every few ms), within its slot.
    const slowBefore = requests(slow);
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.embed(`burst ${i}`)));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "burst completed" });
    expect(requests(slow) - slowBefore).toBeGreaterThan(1);
    for (const instance of [fast, slow]) {
      expect(instance.stats().models[EMBED]?.maxExecuting).toBe(1);
      expect(instance.stats().models[EMBED]?.maxWaiting).toBe(0);
    }
  });

  it("with nothing to do, a deferring binding listens for new jobs instead of counting the queue every few ms; a burst wakes it", async () => {
    const { slow, producer, slowBinding, requests, oneJob } = await setup();
    for (let i = 0; i < 100 && !slowBinding.deferring; i += 1) await oneJob(`warm ${i}`);
    expect(slowBinding.deferring).toBe(true);
    const loop = slowBinding.loop("embed");
    if (!loop) throw new Error("no embed loop on the slow binding");
    const counts = vi.spyOn(loop.queue, "getJobCountByTypes");
    await waitFor(() => loop.listening, { message: "the slow binding listens" });
    const before = counts.mock.calls.length;
    const started = performance.now();
    await waitFor(() => counts.mock.calls.length >= before + 2, { timeoutMs: 10_000, message: "two more counts" });
    // Counting every DEFER_LOOK_MS, two counts take about 10 ms; listening, one comes per DEFER_LISTEN_MS.
    expect(performance.now() - started).toBeGreaterThanOrEqual(DEFER_LISTEN_MS * 0.9);

    await waitFor(() => loop.listening, { message: "the slow binding listens again" });
    const slowBefore = requests(slow);
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.embed(`burst while listening ${i}`)));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "burst completed" });
    // The fast instance alone needs about 0.3 s for the burst: less than one listen.
    expect(requests(slow) - slowBefore).toBeGreaterThan(1);
    counts.mockRestore();
  });

  it("stops deferring when the faster worker leaves the fleet", async () => {
    const { slowBinding, oneJob, closeFast } = await setup();
    for (let i = 0; i < 100 && !slowBinding.deferring; i += 1) await oneJob(`warm ${i}`);
    expect(slowBinding.deferring).toBe(true);
    await closeFast();
    await waitFor(() => !slowBinding.deferring, { message: "the slow binding no longer defers" });
    expect(await oneJob("after the fast worker left")).toBe("slow");
  });

  it("with HERD_ROUTING=off, never defers (jobs take turns)", async () => {
    const { slowBinding, oneJob } = await setup("off");
    const places: Array<string | undefined> = [];
    for (let i = 0; i < 30; i += 1) places.push(await oneJob(`one at a time ${i}`));
    expect(slowBinding.deferring).toBe(false);
    // Redis hands each job to the binding that has waited longest: about half land on the slow box.
    expect(places.filter((place) => place === "slow").length).toBeGreaterThanOrEqual(10);
  });
});

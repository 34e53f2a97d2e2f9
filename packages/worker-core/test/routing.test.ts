import { afterEach, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { fastAndSlowFleet, startWorker, workerConfig, type Producer } from "./harness.js";

const EMBED = "nomic-embed-text:latest";

/** One worker bound to a fast and a 4× slower instance: where do jobs run at light load and under a burst? */
describe("routing between the instances of one worker", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(fastStartsCold = false) {
    const prefix = uniquePrefix("routing");
    const { fast, slow, producer, requests, ranOn } = await fastAndSlowFleet(prefix, cleanups, { fastStartsCold });
    const runtime = await startWorker(workerConfig(prefix, [fast, slow]));
    cleanups.push(() => runtime.close(1000));
    await waitFor(() => runtime.bindings.filter((binding) => binding.model.model === EMBED && binding.pulling).length === 2, { message: "both instances pulling" });
    return { fast, slow, producer, requests, ranOn };
  }

  async function oneAtATime(producer: Producer, ranOn: (text: string) => string | undefined, count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const text = `one at a time ${i}`;
      const id = await producer.embed(text);
      await waitFor(async () => (await producer.state(id)) === "completed", { message: `job ${i} completed` });
      // The job's recorded instance is the one that ran it, also when another instance's loop fetched it.
      const job = await producer.queue.getJob(id);
      expect({ i, processedBy: job?.processedBy }).toEqual({ i, processedBy: ranOn(text) });
    }
  }

  it("at light load, runs jobs on the idle faster instance instead of taking turns", async () => {
    const { fast, slow, producer, requests, ranOn } = await setup();
    await oneAtATime(producer, ranOn, 40);
    // Until each instance has timed three calls its speed is not trusted, and jobs take turns.
    expect(requests(slow)).toBeLessThanOrEqual(4);
    expect(requests(fast)).toBeGreaterThanOrEqual(36);
    expect(requests(fast) + requests(slow)).toBe(40);
    expect(fast.stats().models[EMBED]?.maxExecuting).toBe(1);
  });

  it("a first call that loaded the model does not make the fast instance look slow for good", async () => {
    const { fast, slow, producer, requests, ranOn } = await setup(true);
    await oneAtATime(producer, ranOn, 40);
    // Its first call took 400 ms more (the load); its typical call is the median, not the average.
    expect(fast.stats().models[EMBED]?.loads).toBe(1);
    expect(requests(slow)).toBeLessThanOrEqual(4);
    expect(requests(fast)).toBeGreaterThanOrEqual(36);
  });

  it("under a burst both instances work, and neither ever runs more than its slot", async () => {
    const { fast, slow, producer, requests } = await setup();
    // Teach the worker both speeds first (two jobs at once: one lands on each instance).
    const warm = await Promise.all([producer.embed("warm a"), producer.embed("warm b")]);
    await waitFor(async () => (await Promise.all(warm.map((id) => producer.state(id)))).every((state) => state === "completed"), { message: "warm-up jobs completed" });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.embed(`burst ${i}`)));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "burst completed" });
    // With a backlog there is no idle faster instance to route to: the slow one takes its share.
    expect(requests(slow)).toBeGreaterThan(1);
    expect(requests(fast)).toBeGreaterThan(requests(slow));
    expect(requests(fast) + requests(slow)).toBe(32);
    expect(fast.stats().models[EMBED]?.maxExecuting).toBe(1);
    expect(slow.stats().models[EMBED]?.maxExecuting).toBe(1);
    expect(fast.stats().models[EMBED]?.maxWaiting).toBe(0);
    expect(slow.stats().models[EMBED]?.maxWaiting).toBe(0);
  });
});

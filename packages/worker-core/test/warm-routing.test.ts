import { afterEach, describe, expect, it } from "vitest";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { deletePrefix, uniquePrefix, waitFor } from "@herd/testing";
import type { WorkerRuntime } from "../src/index.js";
import { Producer, startWorker, workerConfig } from "./harness.js";

const EMBED = "nomic-embed-text:latest";

/**
 * Two equally fast instances, one of which has lost the model (its keep_alive ran out, or another
 * model evicted it): at light load the jobs go to the one that has it loaded instead of taking
 * turns, which would make the other load it (seconds on a real GPU).
 */
describe("preferring the instance that has the model loaded", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function fleet() {
    const prefix = uniquePrefix("warm-routing");
    const instances = [] as EmulatorInstance[];
    // 40 ms calls: timing noise on a busy machine stays well inside the 0.8 speed margin, so neither looks clearly faster.
    for (const name of ["a", "b"]) instances.push(await new EmulatorInstance({ name, preload: true, latency: { embedMs: 40, loadMs: 300 } }).listen());
    cleanups.push(async () => Promise.all(instances.map((instance) => instance.close())));
    const producer = new Producer(prefix);
    cleanups.push(async () => {
      await deletePrefix(producer.redis, prefix);
      await producer.close();
    });
    const [a, b] = instances as [EmulatorInstance, EmulatorInstance];
    const stat = (instance: EmulatorInstance) => instance.stats().models[EMBED];
    const oneAtATime = async (label: string, count: number) => {
      for (let i = 0; i < count; i += 1) {
        const id = await producer.embed(`${label} ${i}`);
        await waitFor(async () => (await producer.state(id)) === "completed", { message: `${label} ${i} completed` });
      }
    };
    return { prefix, a, b, producer, stat, oneAtATime };
  }

  const bindingOn = (runtime: WorkerRuntime, instance: string) => runtime.bindings.find((binding) => binding.instanceName === instance && binding.model.model === EMBED);

  /** Both timed (jobs took turns), then `b` unloads the model the way `ollama stop` makes it. */
  async function teachThenUnload(context: Awaited<ReturnType<typeof fleet>>, runtimes: WorkerRuntime[]) {
    const { a, b, stat, oneAtATime } = context;
    const timed = () => runtimes.every((runtime) => runtime.bindings.filter((binding) => binding.model.model === EMBED).every((binding) => binding.typicalCallMs !== undefined));
    for (let round = 0; round < 20 && !timed(); round += 1) await oneAtATime(`teach ${round}`, 4);
    expect(timed()).toBe(true);
    expect(stat(a)?.requests).toBeGreaterThan(0);
    expect(stat(b)?.requests).toBeGreaterThan(0);
    const unloaded = await fetch(`${b.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: EMBED, prompt: "", keep_alive: 0 }) });
    expect(unloaded.status).toBe(200);
    const binding = runtimes.map((runtime) => bindingOn(runtime, "b")).find((found) => found !== undefined);
    await waitFor(() => binding?.loaded === false, { message: "the worker sees b without the model" });
  }

  it("within one worker, a job that the cold instance fetched runs on the warm one", async () => {
    const context = await fleet();
    const runtime = await startWorker(workerConfig(context.prefix, [context.a, context.b]));
    cleanups.push(() => runtime.close(1000));
    await waitFor(() => bindingOn(runtime, "a")?.pulling === true && bindingOn(runtime, "b")?.pulling === true, { message: "both pulling" });
    await teachThenUnload(context, [runtime]);
    const { a, b, stat, oneAtATime } = context;
    const [aBefore, bBefore, bLoads] = [stat(a)?.requests ?? 0, stat(b)?.requests ?? 0, stat(b)?.loads ?? 0];
    await oneAtATime("light", 12);
    expect((stat(a)?.requests ?? 0) - aBefore).toBe(12);
    expect((stat(b)?.requests ?? 0) - bBefore).toBe(0);
    expect(stat(b)?.loads).toBe(bLoads);
    expect(bindingOn(runtime, "b")?.status().loaded).toBe(false);
    expect(bindingOn(runtime, "a")?.status().loaded).toBe(true);
  });

  it("across workers (one per box), the cold one leaves light traffic to the warm one and still takes a burst's share", async () => {
    const context = await fleet();
    const onA = await startWorker(workerConfig(context.prefix, [context.a]));
    cleanups.push(() => onA.close(1000));
    const onB = await startWorker(workerConfig(context.prefix, [context.b]));
    cleanups.push(() => onB.close(1000));
    await waitFor(() => bindingOn(onA, "a")?.pulling === true && bindingOn(onB, "b")?.pulling === true, { message: "both pulling" });
    await teachThenUnload(context, [onA, onB]);
    const coldBinding = bindingOn(onB, "b");
    // Once a heartbeat has told b's worker that a has the model loaded.
    await waitFor(() => coldBinding?.deferring === true, { message: "b defers to a" });
    const { a, b, producer, stat, oneAtATime } = context;
    const [aBefore, bBefore] = [stat(a)?.requests ?? 0, stat(b)?.requests ?? 0];
    await oneAtATime("light", 12);
    expect((stat(a)?.requests ?? 0) - aBefore).toBe(12);
    expect((stat(b)?.requests ?? 0) - bBefore).toBe(0);

    // A backlog the warm instance cannot absorb: the cold one loads the model and works too.
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => producer.embed(`burst ${i}`)));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "burst completed" });
    expect((stat(b)?.requests ?? 0) - bBefore).toBeGreaterThan(0);
    for (const instance of [a, b]) expect(stat(instance)?.maxExecuting).toBe(1);
  });
});

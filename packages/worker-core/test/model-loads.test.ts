import { Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { createJobId, jobOptions, queueName, type EmbedJobData, type GenerateJobData } from "@herd/jobs";
import { createLogger } from "@herd/logger";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { uniquePrefix, waitFor } from "@herd/testing";
import { LOAD_MS, LOADS_WINDOW_MS, ModelLoadWatch } from "../src/model-loads.js";
import { startCapturedWorker } from "./harness.js";

interface Line {
  level: number;
  msg: string;
  numCtx?: string[];
}

const LLAMA = "llama3.2:latest";

describe("ModelLoadWatch", () => {
  it("counts loads once however many calls waited for them, ignores a warm model's scheduling, and warns when loads come often", () => {
    const lines: Line[] = [];
    const logger = createLogger({ name: "loads-test", level: "warn", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
    let counted = 0;
    const watch = new ModelLoadWatch({ instance: "gpu", model: LLAMA, counter: { inc: () => void (counted += 1) }, logger });
    watch.record(3, 8192, 0);
    watch.record(LOAD_MS - 1, 8192, 0);
    expect(counted).toBe(0);
    // Loads far apart: the model went cold now and then.
    for (let i = 0; i < 4; i += 1) watch.record(1500, undefined, (i * LOADS_WINDOW_MS) / 2);
    expect(counted).toBe(4);
    // Three calls sent together to the model being loaded: one load, whatever order they finish in.
    const t = 3 * LOADS_WINDOW_MS;
    watch.record(1300, undefined, t + 200);
    watch.record(1500, undefined, t);
    watch.record(1400, undefined, t + 100);
    expect(counted).toBe(5);
    expect(lines).toEqual([]);
    // Clients alternating context sizes: a reload each time.
    for (const [i, numCtx] of [2048, 8192].entries()) watch.record(1500, numCtx, t + 5000 * (i + 1));
    expect(counted).toBe(7);
    expect(lines.map((line) => line.numCtx)).toEqual([["the model's default", "2048", "8192"]]);
    expect(lines[0]?.msg).toMatch(/^Ollama instance gpu loaded llama3\.2:latest 3 times in 5 minutes \(the calls that waited for it asked for num_ctx the model's default, 2048, 8192\): a request asking for other runner options/);
  });
});

describe("a worker whose clients ask for different context sizes", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function embeds(contexts: number[]): Promise<{ loads: number; warnings: Line[] }> {
    const prefix = uniquePrefix("loads");
    const instance = await new EmulatorInstance({ name: "gpu", preload: true, latency: { loadMs: LOAD_MS + 50 } }).listen();
    cleanups.push(() => instance.close());
    const { runtime, lines, redis } = await startCapturedWorker<Line>(prefix, [instance], cleanups);
    const model = "nomic-embed-text:latest";
    await waitFor(() => runtime.bindings.some((binding) => binding.model.model === model && binding.pulling), { message: "embedding binding pulling" });
    const queue = new Queue(queueName("embed", model), { connection: redis, prefix: `{${prefix}}` });
    cleanups.push(() => queue.close());
    for (const [i, numCtx] of contexts.entries()) {
      // One at a time, as the clients' requests come.
      const id = createJobId("embed", model);
      const data: EmbedJobData = { model, requestModel: "nomic-embed-text", inputs: [`manual page ${i}`], cache: false, options: { num_ctx: numCtx } };
      await queue.add("embed", data, { ...jobOptions({ retentionMs: 600_000, retentionCount: 1000, attempts: 1, backoffMs: 50 }, "interactive"), jobId: id });
      await waitFor(async () => (await queue.getJobState(id)) === "completed", { timeoutMs: 10_000, message: `embed ${i} completed` });
    }
    const metric = await runtime.metrics.registry.getSingleMetric("herd_ollama_loads_total")?.get();
    return { loads: metric?.values.reduce((sum, value) => sum + value.value, 0) ?? 0, warnings: lines.filter((line) => line.msg.startsWith("Ollama instance gpu loaded")) };
  }

  it("counts every reload and warns, naming the context sizes", async () => {
    const { loads, warnings } = await embeds([512, 1024, 512, 1024]);
    expect(loads).toBe(4);
    expect(warnings.map((line) => line.numCtx)).toEqual([["512", "1024"]]);
  });

  it("counts a cold start once, though every slot's call waited for it", async () => {
    const prefix = uniquePrefix("loads-cold");
    const instance = await new EmulatorInstance({ name: "gpu", numParallel: 3, latency: { loadMs: LOAD_MS + 50, requestMs: 5 } }).listen();
    cleanups.push(() => instance.close());
    const { runtime, redis } = await startCapturedWorker<Line>(prefix, [instance], cleanups, (config) => ({ ...config, instances: config.instances.map((entry) => ({ ...entry, models: { [LLAMA]: 3 } })) }));
    await waitFor(() => runtime.bindings.some((binding) => binding.model.model === LLAMA && binding.pulling), { message: "llama3.2 binding pulling" });
    const queue = new Queue(queueName("generate", LLAMA), { connection: redis, prefix: `{${prefix}}` });
    cleanups.push(() => queue.close());
    const ids = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const id = createJobId("generate", LLAMA);
        const data: GenerateJobData = { model: LLAMA, requestModel: "llama3.2", mode: "generate", prompt: `question ${i}`, options: { num_predict: 4 }, cacheKey: null };
        await queue.add("generate", data, { ...jobOptions({ retentionMs: 600_000, retentionCount: 1000, attempts: 1, backoffMs: 50 }, "interactive"), jobId: id });
        return id;
      }),
    );
    await waitFor(async () => (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((state) => state === "completed"), { timeoutMs: 10_000, message: "generations completed" });
    // Every call waited for the load (each reports it), and it is one load.
    expect(instance.ctx.stats.model(LLAMA).loads).toBe(1);
    const metric = await runtime.metrics.registry.getSingleMetric("herd_ollama_loads_total")?.get();
    expect(metric?.values.reduce((sum, value) => sum + value.value, 0)).toBe(1);
  });

  it("counts one load and stays quiet when they all ask for the same", async () => {
    const { loads, warnings } = await embeds([1024, 1024, 1024, 1024]);
    expect(loads).toBe(1);
    expect(warnings).toEqual([]);
  });
});

import { Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { createJobId, jobOptions, queueName, type GenerateJobData } from "@herd/jobs";
import { createLogger } from "@herd/logger";
import { heldBeforeRunningMs } from "@herd/ollama-client";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { uniquePrefix, waitFor } from "@herd/testing";
import { HeldByOllamaWatch } from "../src/held-by-ollama.js";
import { startCapturedWorker } from "./harness.js";

interface Line {
  level: number;
  msg: string;
  heldMs?: number;
  slots?: number;
}

const LLAMA = "llama3.2:latest";

describe("heldBeforeRunningMs", () => {
  it("is what Ollama's total leaves after load, prompt eval and eval; zero fields may be left out", () => {
    expect(heldBeforeRunningMs({ total_duration: 900e6, load_duration: 100e6, prompt_eval_duration: 200e6, eval_duration: 250e6 })).toBe(350);
    expect(heldBeforeRunningMs({ total_duration: 300e6, eval_duration: 300e6 })).toBe(0);
    expect(heldBeforeRunningMs({ total_duration: 300e6, eval_duration: 310e6 })).toBe(0);
    expect(heldBeforeRunningMs({})).toBeUndefined();
  });
});

describe("HeldByOllamaWatch", () => {
  it("warns only for a wait that is long and a real share of the run (not a long chat's tokenizing)", () => {
    const lines: Line[] = [];
    const logger = createLogger({ name: "held-watch-test", level: "warn", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
    const observed: number[] = [];
    const watch = new HeldByOllamaWatch({ instance: "gpu", model: LLAMA, slots: 2, histogram: { observe: (_labels, value) => void observed.push(value) }, logger });
    watch.record({ heldMs: 30, runMs: 40 }, 2);
    watch.record({ heldMs: 80, runMs: 4000 }, 1);
    expect(lines).toEqual([]);
    watch.record({ heldMs: 900, runMs: 1000 }, 2);
    watch.record({ heldMs: 950, runMs: 1000 }, 2);
    expect(lines.map((line) => line.heldMs)).toEqual([900]);
    expect(observed).toEqual([0.03, 0.08, 0.9, 0.95]);
  });
});

describe("a worker told an instance runs more generations at once than it does", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * Eight generations through a worker that gives llama3.2 `slots` slots on an instance running
   * one at a time (OLLAMA_NUM_PARALLEL=1). Returns the worker's warnings and what it observed.
   */
  async function burst(slots: number): Promise<{ warnings: Line[]; held: number[] }> {
    const prefix = uniquePrefix("held");
    // About 100 ms per generation: a call queued behind another waits that long inside "Ollama".
    const instance = await new EmulatorInstance({ name: "gpu", preload: true, numParallel: 1, latency: { requestMs: 20, evalTokenMs: 4 } }).listen();
    cleanups.push(() => instance.close());
    const { runtime, lines, redis } = await startCapturedWorker<Line>(prefix, [instance], cleanups, (config) => ({ ...config, instances: config.instances.map((entry) => ({ ...entry, models: { [LLAMA]: slots } })) }));
    await waitFor(() => runtime.bindings.some((binding) => binding.model.model === LLAMA && binding.pulling), { message: "llama3.2 binding pulling" });

    const queue = new Queue(queueName("generate", LLAMA), { connection: redis, prefix: `{${prefix}}` });
    cleanups.push(() => queue.close());
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      const id = createJobId("generate", LLAMA);
      const data: GenerateJobData = { model: LLAMA, requestModel: "llama3.2", mode: "generate", prompt: `question ${i}`, options: { num_predict: 16 }, cacheKey: null };
      await queue.add("generate", data, { ...jobOptions({ retentionMs: 600_000, retentionCount: 1000, attempts: 1, backoffMs: 50 }, "interactive"), jobId: id });
      ids.push(id);
    }
    await waitFor(async () => (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "all generations completed" });
    const metric = await runtime.metrics.registry.getSingleMetric("herd_ollama_held_seconds")?.get();
    // A histogram's values name their series (prom-client's type leaves metricName out).
    const values = (metric?.values ?? []) as Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>;
    const count = values.find((value) => value.metricName === "herd_ollama_held_seconds_count")?.value ?? 0;
    const atMost50ms = values.find((value) => value.metricName === "herd_ollama_held_seconds_bucket" && value.labels["le"] === 0.05)?.value ?? 0;
    expect(count).toBe(8);
    return { warnings: lines.filter((line) => line.msg.startsWith("Ollama instance")), held: [count - atMost50ms] };
  }

  it("warns that Ollama held its calls, and counts them on herd_ollama_held_seconds", async () => {
    const { warnings, held } = await burst(3);
    expect(held[0]).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.slots).toBe(3);
    expect(warnings[0]?.heldMs).toBeGreaterThanOrEqual(50);
    expect(warnings[0]?.msg).toMatch(/^Ollama instance gpu held a llama3\.2:latest call \d+ ms before running it, with [23] of this worker's 3 slot\(s\) for it in use: more calls reached it than it runs at once\. Either its OLLAMA_NUM_PARALLEL is below 3/);
  });

  it("stays quiet when its slots match the instance's", async () => {
    const { warnings, held } = await burst(1);
    expect(held).toEqual([0]);
    expect(warnings).toEqual([]);
  });
});

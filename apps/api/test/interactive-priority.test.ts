import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueName } from "@herd/jobs";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const EMBED_MS = 8;
/** Batch calls are sized to take about this long: two or three inputs of 8 ms. */
const SLICE_TARGET_MS = 24;

/**
 * What the design promises an interactive job during a large ingestion: it waits for the batch
 * slice in progress, not for the batch. Counted, not timed (a loaded machine stretches every
 * wait alike): the emulator logs each call as it starts, so for each interactive job we count the
 * batch calls that started on the instance after the job was queued and before its own call.
 */
describe("interactive requests during a large ingestion", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({
      prefix: uniquePrefix("prio"),
      fleet: { instances: 1, preload: true, latency: { embedMs: EMBED_MS }, recordInputs: true },
      env: { HERD_EMBED_BATCH: "32", HERD_CACHE_EMBEDDING_TTL: "off" },
      workerEnv: { HERD_BATCH_SLICE_TARGET: String(SLICE_TARGET_MS) },
    });
    await stack.post("/v1/collections", { name: "bulk", model: "nomic-embed-text", chunkTokens: 32, chunkOverlap: 0 });
  });
  afterAll(() => stack?.close());

  /** Runs `count` interactive embeddings one after another; returns each one's job id and input. */
  async function interactive(tag: string, count: number): Promise<Array<{ id: string; input: string }>> {
    const jobs: Array<{ id: string; input: string }> = [];
    for (let i = 0; i < count; i += 1) {
      const input = `${tag} question ${i} about the pump`;
      const response = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input });
      expect(response.body.status).toBe("completed");
      jobs.push({ id: response.body.id as string, input });
    }
    return jobs;
  }

  it("wait for at most the batch slice in progress, never for the rest of the batch", async () => {
    const documents = Array.from({ length: 40 }, (_, i) => ({
      id: `bulk-${i}.txt`,
      text: Array.from({ length: 40 }, (_, j) => `Paragraph ${j} of bulk document ${i} describes part ${i * 100 + j} in detail.`).join("\n\n"),
    }));
    const accepted = await stack.post("/v1/collections/bulk/documents", { documents });
    await waitFor(async () => (await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body.chunks.embedded > 64, { message: "ingestion under way" });
    const busy = await interactive("busy", 20);
    const progress = (await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body;
    // The ingestion must still be running when the last interactive request finished, or the comparison is void.
    expect(progress.status).toBe("running");

    const calls = stack.fleet.instances[0]?.embedCalls() ?? [];
    const batchCalls = calls.filter((call) => !call.inputs.some((input) => input.includes(" question ")));
    // Each document's batch (20 chunks here) goes to Ollama in slices of a few inputs (with
    // HERD_BATCH_SLICE_TARGET=0 it goes in one call of 20, and this fails).
    expect(batchCalls.length).toBeGreaterThan(20);
    expect(Math.max(...batchCalls.map((call) => call.inputs.length))).toBeLessThanOrEqual(8);
    const queue = stack.api.queues.queue(queueName("embed", "nomic-embed-text"));
    const overtaken: number[] = [];
    for (const job of busy) {
      const queuedAt = (await queue.getJob(job.id))?.timestamp;
      const own = calls.find((call) => call.inputs.includes(job.input));
      if (queuedAt === undefined || !own) throw new Error(`no record of job ${job.id}`);
      overtaken.push(batchCalls.filter((call) => call.startedAt > queuedAt && call.startedAt < own.startedAt).length);
    }
    console.log(`batch slices started between an interactive job's enqueue and its own call: ${overtaken.join(" ")}`);
    // At most the slice whose between-slices look raced the job's arrival, and one more when the
    // worker took longer than its yield wait (50 ms) to fetch the job (seen once with both cores
    // busy); never the rest of the batch (several more slices).
    expect(Math.max(...overtaken)).toBeLessThanOrEqual(2);
  }, 120_000);
});

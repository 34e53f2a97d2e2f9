import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const EMBED_MS = 8;
/** Batch calls are sized to take about this long. */
const SLICE_TARGET_MS = 24;

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.95) - 1] ?? Number.NaN;
}

describe("interactive requests during a large ingestion", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({
      prefix: uniquePrefix("prio"),
      fleet: { instances: 1, preload: true, latency: { embedMs: EMBED_MS } },
      env: { HERD_EMBED_BATCH: "32", HERD_CACHE_EMBEDDING_TTL: "off" },
      workerEnv: { HERD_BATCH_SLICE_TARGET: String(SLICE_TARGET_MS) },
    });
    await stack.post("/v1/collections", { name: "bulk", model: "nomic-embed-text", chunkTokens: 32, chunkOverlap: 0 });
  });
  afterAll(() => stack?.close());

  async function interactive(tag: string, count: number): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      const response = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: `${tag} question ${i} about the pump` });
      expect(response.body.status).toBe("completed");
      latencies.push(performance.now() - started);
    }
    return latencies;
  }

  it("stay within one slice of batch work of their idle latency (stated bound: idle p95 + 2 slices)", async () => {
    const idle = await interactive("idle", 20);
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
    console.log(`idle p95 ${p95(idle).toFixed(1)} ms, during ingestion p95 ${p95(busy).toFixed(1)} ms, one slice ≈ ${SLICE_TARGET_MS} ms; busy: ${busy.map((v) => v.toFixed(0)).join(" ")}`);
    // An interactive job waits for the slice in progress (≤ one slice), plus the check between slices.
    expect(p95(busy)).toBeLessThanOrEqual(p95(idle) + 2 * SLICE_TARGET_MS);
  }, 120_000);
});

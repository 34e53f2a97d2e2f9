import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { createTestDatabase, testEnv, uniquePrefix, waitFor, type TestDatabase } from "@herd/testing";
import { closeAll, HerdProcesses } from "./processes.js";

/** Resident memory a process reports on its own /metrics. */
async function rss(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Offered load far above the fleet's capacity, against real API and worker processes. */
describe("backpressure", () => {
  const prefix = uniquePrefix("backpressure");
  let ollama: EmulatorInstance;
  let database: TestDatabase;
  let herd: HerdProcesses;
  let workerMetrics = "";

  beforeAll(async () => {
    ollama = await new EmulatorInstance({ name: "emu", numParallel: 1, preload: true, latency: { embedMs: 20 } }).listen();
    database = await createTestDatabase("backpressure");
    herd = await HerdProcesses.start({
      REDIS_URL: testEnv.TEST_REDIS_URL,
      HERD_PREFIX: prefix,
      DATABASE_URL: database.url,
      HERD_INSTANCES: ollama.url,
      HERD_MAX_WAITING_PER_MODEL: "100",
      HERD_CACHE_EMBEDDING_TTL: "off",
      LOG_LEVEL: "info",
    });
    workerMetrics = await waitFor(() => /"metrics":"(http:[^"]+)"/.exec(herd.output)?.[1], { message: "the worker's metrics URL" });
  }, 90_000);

  afterAll(() => closeAll(prefix, herd, ollama, database));

  it("answers 429 with Retry-After beyond the queue bound, never timeouts or 5xx, loses no accepted job, and memory stays bounded", async () => {
    const before = { api: await rss(`${herd.url}/metrics`), worker: await rss(workerMetrics) };
    const statuses = new Map<number | string, number>();
    const accepted: string[] = [];
    let retryAfter = 0;
    const total = 3000;
    for (let start = 0; start < total; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          try {
            const response = await fetch(`${herd.url}/v1/jobs`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input: `offered load ${start + i}` }),
              signal: AbortSignal.timeout(10_000),
            });
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            const body = (await response.json()) as { id?: string };
            if (response.status === 202 && body.id) accepted.push(body.id);
            if (response.status === 429) retryAfter = Number(response.headers.get("retry-after"));
          } catch (error) {
            const kind = (error as Error).name === "TimeoutError" ? "timeout" : "network error";
            statuses.set(kind, (statuses.get(kind) ?? 0) + 1);
          }
        }),
      );
    }
    const after = { api: await rss(`${herd.url}/metrics`), worker: await rss(workerMetrics) };
    const mb = (bytes: number) => Math.round(bytes / 1048576);
    console.log(`backpressure: ${total} requests → ${JSON.stringify(Object.fromEntries(statuses))}; RSS API ${mb(before.api)} → ${mb(after.api)} MB, worker ${mb(before.worker)} → ${mb(after.worker)} MB`);
    expect([...statuses.keys()].sort()).toEqual([202, 429]);
    expect(statuses.get(429)).toBeGreaterThan(total / 2);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // Every accepted job completes: backpressure refused work up front instead of dropping it later.
    for (const id of accepted) {
      const view = (await (await fetch(`${herd.url}/v1/jobs/${id}?wait=30000`)).json()) as { status: string };
      expect(view.status, id).toBe("completed");
    }
    // Bounded queues mean bounded memory (V8 grows its heap under load; a leak per refused request would not fit here).
    expect(after.api - before.api).toBeLessThan(200 * 1048576);
    expect(after.worker - before.worker).toBeLessThan(200 * 1048576);
  }, 180_000);
});

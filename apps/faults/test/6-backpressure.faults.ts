import { afterAll, expect, it } from "vitest";
import { waitFor } from "@herd/testing";
import { countMap, duplicates, settle, type AcceptedJob } from "../src/index.js";
import { emulators, instancesEnv, record, Scenario } from "./setup.js";

/** Resident memory a process reports on its own /metrics. */
async function rss(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

const mb = (bytes: number) => Math.round(bytes / 1048576);
const TOTAL = 3000;
const CONCURRENCY = 100;
const MAX_WAITING = 100;

const scenario = new Scenario("backpressure");
afterAll(() => scenario.close());

it("6. offered load far above capacity: 429 with Retry-After, no timeouts or 5xx, bounded memory, nothing lost", async () => {
  const fleet = await emulators(1, 20);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const cluster = await scenario.start({ HERD_MAX_WAITING_PER_MODEL: String(MAX_WAITING), LOG_LEVEL: "info" });
  cluster.startWorker("worker", instancesEnv(fleet));
  const api = await cluster.startApi("api");
  const workerMetrics = await waitFor(() => /"metrics":"(http:[^"]+)"/.exec(cluster.output)?.[1], { message: "the worker's metrics URL" });
  const before = { api: await rss(`${api.url}/metrics`), worker: await rss(workerMetrics) };
  const statuses = new Map<string, number>();
  const accepted: AcceptedJob[] = [];
  const started = performance.now();
  let missingRetryAfter = 0;
  // Closed bursts of 100 concurrent submissions against one 1-slot instance (about 50 embeds/s).
  for (let offset = 0; offset < TOTAL; offset += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, i) => {
        const input = `offered load ${offset + i}`;
        try {
          const response = await fetch(`${api.url}/v1/jobs`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input }),
            signal: AbortSignal.timeout(10_000),
          });
          statuses.set(String(response.status), (statuses.get(String(response.status)) ?? 0) + 1);
          const body = (await response.json()) as { id?: string };
          if (response.status === 202 && body.id) accepted.push({ id: body.id, input, at: performance.now() - started });
          if (response.status === 429 && !(Number(response.headers.get("retry-after")) >= 1)) missingRetryAfter += 1;
        } catch (error) {
          const kind = (error as Error).name === "TimeoutError" ? "timeout" : "network error";
          statuses.set(kind, (statuses.get(kind) ?? 0) + 1);
        }
      }),
    );
  }
  const offeredFor = performance.now() - started;
  const after = { api: await rss(`${api.url}/metrics`), worker: await rss(workerMetrics) };
  const loadEnded = Date.now();
  const settled = await settle(() => api.url ?? "", accepted, 120_000);
  const drainedMs = Math.max(0, ...settled.finishedAt.values()) - loadEnded;
  record({
    order: "6",
    scenario: "backpressure: offered load far above capacity",
    load: `${TOTAL} embeds in bursts of ${CONCURRENCY} concurrent (${Math.round(TOTAL / (offeredFor / 1000))}/s offered) against 1 instance with 1 slot (20 ms per embed, ≈50/s); queue bound ${MAX_WAITING} waiting`,
    fault: `overload (≈${Math.round(TOTAL / (offeredFor / 1000) / 50)}× capacity)`,
    accepted: accepted.length,
    completed: settled.completed,
    failed: countMap(settled.failed),
    lost: settled.lost.length,
    duplicates: duplicates(accepted, fleet.map((instance) => instance.inputCounts())),
    recoveryMs: drainedMs,
    recoveryMeans: "from the end of the offered load until the last accepted job completed (the backlog the queue bound allowed)",
    notes: [
      `Answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; 429s without a usable Retry-After: ${missingRetryAfter}`,
      `RSS before → after the load: API ${mb(before.api)} → ${mb(after.api)} MB, worker ${mb(before.worker)} → ${mb(after.worker)} MB`,
    ],
  });
  expect([...statuses.keys()].sort()).toEqual(["202", "429"]);
  expect(statuses.get("429")).toBeGreaterThan(TOTAL / 2);
  expect(missingRetryAfter).toBe(0);
  expect(settled.lost).toEqual([]);
  expect(countMap(settled.failed)).toEqual({});
  // Bounded queues mean bounded memory (V8 grows its heap under load; a leak per refused request would not fit here).
  expect(after.api - before.api).toBeLessThan(200 * 1048576);
  expect(after.worker - before.worker).toBeLessThan(200 * 1048576);
});

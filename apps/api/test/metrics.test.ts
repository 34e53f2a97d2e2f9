import { spawnSync } from "node:child_process";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/** The value of the sample named `name` whose labels include `labels` (in any order), if any. */
function sample(text: string, name: string, labels: Record<string, string | RegExp> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    const fits = Object.entries(labels).every(([key, want]) => {
      const value = found.get(key);
      return value !== undefined && (typeof want === "string" ? value === want : want.test(value));
    });
    if (fits) return Number(match[3]);
  }
  return undefined;
}

function promtool(text: string): { status: number | null; output: string } {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (result.error) throw new Error(`promtool is needed for this test (scripts/install-tools.sh installs it): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("Prometheus metrics", () => {
  let stack: Stack;
  let apiText = "";
  let workerText = "";
  let jobId = "";

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("metrics"), fleet: { instances: 2, preload: true, latency: { embedMs: 1 } } });
    const embed = { type: "embed", model: "nomic-embed-text", input: "How do I bleed the pump?" };
    const first = await stack.run(embed);
    jobId = first.id;
    expect((await stack.post("/v1/jobs", embed)).body.cached).toBe(true);
    await stack.get(`/v1/jobs/${jobId}`);
    await stack.get("/v1/no-such-route");
    await stack.run({ type: "generate", model: "llama3.2", prompt: "Why bleed the pump?", options: { temperature: 0 } });
    // One instance answers 500s for a moment: the job is retried on the other one.
    const sick = stack.fleet.instances[0];
    await sick?.setFault({ mode: "error", rate: 1, factor: 10, status: 500, scope: "inference" });
    await Promise.all(Array.from({ length: 4 }, (_, i) => stack.run({ type: "embed", model: "nomic-embed-text", input: `retry me ${i}` })));
    await sick?.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    await stack.post("/v1/collections", { name: "docs", model: "nomic-embed-text" });
    const accepted = await stack.post("/v1/collections/docs/documents", { documents: [{ id: "pump.md", text: "# Pump\n\nBleed the pump before the first start." }] });
    await waitFor(async () => (await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body.status === "completed", { message: "the ingestion" });
    // The 500s above may have quarantined the sick instance for a moment (several calls failed in a
    // row); the fleet gauges below describe the fleet once it is whole again.
    await waitFor(async () => (await stack.get("/ready")).body.healthyInstances === 2, { message: "both instances healthy again" });
    const response = await fetch(`${stack.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    apiText = await response.text();
    workerText = await stack.worker.metrics.registry.metrics();
  }, 60_000);
  afterAll(() => stack?.close());

  it("the API counts requests by route template, job requests by outcome, cache lookups, queues and ingestion", () => {
    expect(sample(apiText, "herd_http_request_duration_seconds_count", { route: "/v1/jobs", method: "POST", status: "200" })).toBeGreaterThanOrEqual(2);
    expect(sample(apiText, "herd_http_request_duration_seconds_count", { route: "/v1/jobs/:id", method: "GET", status: "200" })).toBeGreaterThanOrEqual(1);
    expect(sample(apiText, "herd_http_request_duration_seconds_count", { route: "unmatched", method: "GET", status: "404" })).toBe(1);
    expect(sample(apiText, "herd_job_requests_total", { kind: "embed", model: "nomic-embed-text:latest", outcome: "cached", client: "node" })).toBe(1);
    expect(sample(apiText, "herd_job_requests_total", { kind: "embed", model: "nomic-embed-text:latest", outcome: "queued" })).toBe(5);
    expect(sample(apiText, "herd_jobs_submitted_total", { kind: "generate", model: "llama3.2:latest", priority: "interactive" })).toBe(1);
    expect(sample(apiText, "herd_cache_requests_total", { layer: "embedding", result: "hit" })).toBeGreaterThanOrEqual(1);
    expect(sample(apiText, "herd_queue_jobs", { queue: "embed.nomic-embed-text~3Alatest", state: "completed" })).toBeGreaterThanOrEqual(5);
    expect(sample(apiText, "herd_queue_jobs", { queue: "ingest", state: "completed" })).toBeGreaterThanOrEqual(1);
    expect(sample(apiText, "herd_ingest_documents_total", { outcome: "stored" })).toBe(1);
    expect(sample(apiText, "herd_ingest_chunks_total")).toBe(1);
    expect(sample(apiText, "herd_fleet_workers")).toBe(1);
    expect(sample(apiText, "herd_fleet_instances", { state: "healthy" })).toBe(2);
    expect(sample(apiText, "herd_fleet_model_slots", { model: "llama3.2:latest" })).toBeGreaterThanOrEqual(2);
    expect(sample(apiText, "herd_dependency_up", { dependency: "redis" })).toBe(1);
    expect(sample(apiText, "herd_dependency_up", { dependency: "postgres" })).toBe(1);
    expect(apiText).toMatch(/^process_resident_memory_bytes\{service="api"\} \d+/m);
  });

  it("the API reports the queue Redis's memory and its maxmemory, read from that Redis", async () => {
    const redis = testRedis();
    try {
      const [, maxmemory] = (await redis.config("GET", "maxmemory")) as [string, string];
      expect(sample(apiText, "herd_redis_maxmemory_bytes", { redis: "queue" })).toBe(Number(maxmemory));
    } finally {
      redis.disconnect();
    }
    expect(sample(apiText, "herd_redis_memory_used_bytes", { redis: "queue" })).toBeGreaterThan(100_000);
    // The cache shares the queue's Redis here: no second reading.
    expect(sample(apiText, "herd_redis_memory_used_bytes", { redis: "cache" })).toBeUndefined();
  });

  it("the worker counts jobs, waits, runs, Ollama calls and errors per instance, and instance state", () => {
    expect(sample(workerText, "herd_jobs_completed_total", { kind: "embed", model: "nomic-embed-text:latest", ollama: /^ollama-\d$/ })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "herd_jobs_retried_total", { kind: "embed", model: "nomic-embed-text:latest", code: "instance_unavailable" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "herd_ollama_errors_total", { ollama: "ollama-0", class: "server" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "herd_job_wait_seconds_count", { kind: "generate", model: "llama3.2:latest", priority: "interactive" })).toBe(1);
    expect(sample(workerText, "herd_job_run_seconds_count", { kind: "embed" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "herd_ollama_request_duration_seconds_count", { ollama: /^ollama-\d$/, model: "nomic-embed-text:latest", kind: "embed", outcome: "completed" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "herd_instance_healthy", { ollama: "ollama-1" })).toBe(1);
    expect(sample(workerText, "herd_instance_slots", { ollama: "ollama-0", model: "nomic-embed-text:latest" })).toBe(1);
    expect(sample(workerText, "herd_instance_in_flight", { ollama: "ollama-0", model: "nomic-embed-text:latest" })).toBe(0);
  });

  it("never uses a job id, document id or other unbounded value as a label", () => {
    for (const text of [apiText, workerText]) {
      expect(text).not.toContain(jobId);
      expect(text).not.toContain("pump.md");
      expect(text).not.toContain("no-such-route");
    }
  });

  it("workers record BullMQ's own metrics, which Bull Board charts", async () => {
    const redis = testRedis();
    const queues = ["embed.nomic-embed-text~3Alatest", "ingest"].map((name) => new Queue(name, { connection: redis, prefix: `{${stack.apiConfig.prefix}}` }));
    try {
      const [embed, ingest] = await Promise.all(queues.map((queue) => queue.getMetrics("completed")));
      expect(embed?.meta.count).toBeGreaterThanOrEqual(5);
      expect(ingest?.meta.count).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      redis.disconnect();
    }
  });

  it("passes promtool check metrics (names, units, _total counters)", () => {
    for (const text of [apiText, workerText]) {
      const result = promtool(text);
      expect(result.output).toBe("");
      expect(result.status).toBe(0);
    }
  });
});

import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@herd/testing";
import { redisAnswers } from "../src/redis-check.js";
import { CLI, consecutiveFreePorts, startHerdCli, stopHerdCli } from "./herd-start.js";

describe("herd start (npm start)", () => {
  let child: ChildProcess;
  let output: () => string = () => "";
  let apiUrl = "";
  let redisUrl = "";
  let dataDir = "";
  let metricsPort = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "herd-start-"));
    redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const port = await freePort();
    metricsPort = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const started = await startHerdCli({
      REDIS_URL: redisUrl,
      PORT: String(port),
      HERD_EMULATOR_BASE_PORT: String(await consecutiveFreePorts(2)),
      HERD_DATA_DIR: dataDir,
      HERD_PREFIX: "start-test",
      HERD_METRICS_PORT: String(metricsPort),
    });
    child = started.child;
    output = started.output;
  }, 90_000);

  afterAll(async () => {
    await stopHerdCli(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("starts Redis when none answers, an emulated fleet, workers and the API, and prints how to use it", async () => {
    expect(output()).toContain(`Herd is running: ${apiUrl}`);
    expect(output()).toContain(`Redis: ${redisUrl}, started for you`);
    expect(output()).toContain("curl -s -X POST");
    expect(output()).toContain(`Metrics: ${apiUrl}/metrics (API); workers: http://127.0.0.1:${metricsPort}/metrics`);
    expect(output()).toContain("Queues (Bull Board): set HERD_ADMIN_PASSWORD");
    expect(output()).toContain("Access: open, no API key needed (the API listens on loopback only");
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect(await redisAnswers(redisUrl)).toBe(true);
    const ready = (await (await fetch(`${apiUrl}/ready`)).json()) as { healthyInstances: number; models: string[] };
    expect(ready.healthyInstances).toBe(2);
    expect(ready.models).toEqual(["all-minilm:latest", "llama3.2:latest", "nomic-embed-text:latest"]);
  });

  it("runs the README walk-through: submit and wait, then a cache hit", async () => {
    const body = JSON.stringify({ type: "embed", model: "nomic-embed-text", input: "How do I bleed the hydraulic pump?" });
    const first = await fetch(`${apiUrl}/v1/jobs?wait=20000`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(first.status).toBe(200);
    const job = (await first.json()) as { status: string; result: { embeddings: number[][] } };
    expect(job.status).toBe("completed");
    expect(job.result.embeddings[0]).toHaveLength(768);
    // The worker's cache copy reached Redis ahead of its answer (see the worker's storeResult): at once a hit.
    const response = await fetch(`${apiUrl}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const again = { status: response.status, view: (await response.json()) as { cached?: boolean } };
    expect(again.status).toBe(200);
    expect(again.view.cached).toBe(true);
  });

  it("runs the README ingestion walk-through on the embedded database: ingest, search, answer", async () => {
    const corpus = fileURLToPath(new URL("../../../corpus/manuals", import.meta.url));
    const ingest = spawnSync(process.execPath, [CLI, "ingest", corpus, "--collection", "manuals", "--model", "nomic-embed-text", "--wait"], {
      env: { PATH: process.env["PATH"], HERD_URL: apiUrl },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(ingest.stderr).toBe("");
    expect(ingest.status).toBe(0);
    expect(ingest.stdout).toMatch(/26\/26 documents/);
    expect(existsSync(join(dataDir, "pglite"))).toBe(true);

    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${apiUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const search = await post("/v1/collections/manuals/search", { query: "How do I bleed air from the hydraulic pump?", k: 3 });
    expect(search.status).toBe(200);
    const hits = search.body["results"] as Array<{ documentId: string }>;
    expect(hits.map((hit) => hit.documentId)).toContain("bleeding-the-pump.md");

    const answer = await post("/v1/collections/manuals/answer?wait=30000", { question: "How do I bleed air from the hydraulic pump?", model: "llama3.2" });
    expect(answer.status).toBe(200);
    const result = answer.body["result"] as { answer: string; citations: Array<{ documentId: string }> };
    expect(result.answer.length).toBeGreaterThan(20);
    expect(result.citations.map((citation) => citation.documentId)).toContain("bleeding-the-pump.md");
  }, 150_000);

  it("stops everything it started on SIGTERM", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(await redisAnswers(redisUrl)).toBe(false);
    await expect(fetch(`${apiUrl}/health`)).rejects.toThrow();
    // The embedded database closed cleanly and released its data directory.
    expect(existsSync(join(dataDir, "pglite.lock"))).toBe(false);
  }, 60_000);
});

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UnrecoverableError, Worker } from "bullmq";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HerdClient } from "@herd/client";
import { herdKeys, INGEST_QUEUE } from "@herd/jobs";
import { silentLogger } from "@herd/logger";
import { findCollection, saveDocumentContent, upsertDocument } from "@herd/store";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { IngestionProgress } from "../src/ingest/progress.js";
import { IngestRecovery } from "../src/ingest/recovery.js";
import { Stack } from "./stack.js";

const CLI = fileURLToPath(new URL("../../cli/dist/main.js", import.meta.url));

const DOCS = [
  { id: "pump.md", text: "# Hydraulic pump\n\nBleed the hydraulic pump before first use: open the bleed screw until oil flows without bubbles." },
  { id: "valve.md", text: "# Relief valve\n\nThe relief valve opens at 210 bar. Turn the adjustment screw clockwise to raise it." },
  { id: "belt.md", text: "# Drive belt\n\nCheck the drive belt tension weekly. A loose belt squeals at start-up." },
];

describe("ingestion recovery: documents left pending without a live job", () => {
  const prefix = uniquePrefix("ingrecover");
  let stack: Stack;
  let db: pg.Pool;
  const redis = testRedis();

  beforeAll(async () => {
    stack = await Stack.start({
      prefix,
      fleet: { instances: 1, slots: [2], preload: true, latency: { embedMs: 1 } },
      env: { HERD_INGEST_RECOVERY_INTERVAL: "1s", HERD_INGEST_RECOVERY_AFTER: "3s", HERD_JOB_ATTEMPTS: "2", HERD_JOB_BACKOFF: "50ms" },
    });
    db = new pg.Pool({ connectionString: stack.api.db.url, max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await stack?.close();
    redis.disconnect();
  });

  async function statuses(collection: string): Promise<Record<string, { status: string; error: string | null }>> {
    const { rows } = await db.query<{ external_id: string; status: string; error: string | null }>(
      "SELECT d.external_id, d.status, d.error FROM documents d JOIN collections c ON c.id = d.collection_id WHERE c.name = $1",
      [collection],
    );
    return Object.fromEntries(rows.map((row) => [row.external_id, { status: row.status, error: row.error }]));
  }

  async function keysMatching(pattern: string): Promise<string[]> {
    const found: string[] = [];
    for await (const keys of redis.scanStream({ match: pattern, count: 500 }) as AsyncIterable<string[]>) found.push(...keys);
    return found;
  }

  /** Deletes, in one command, the ingest queue's keys and the record of `ingestionId`: Redis restarted empty. */
  async function forget(ingestionId: string): Promise<void> {
    const tag = stack.api.queues.bullPrefix;
    const queueKeys = await keysMatching(`${tag}:${INGEST_QUEUE}:*`);
    const recordKeys = await keysMatching(`${tag}:ingestion:${ingestionId}*`);
    expect(recordKeys).toContain(`${tag}:ingestion:${ingestionId}`);
    // One DEL: no recovery pass sees the jobs gone but the record still there.
    expect(await redis.del(...queueKeys, ...recordKeys)).toBe(queueKeys.length + recordKeys.length);
  }

  /** Uploads while the ingest processor takes nothing, so the jobs are still queued afterwards. */
  async function uploadHeld(collection: string, documents: ReadonlyArray<{ id: string; text: string }>): Promise<string> {
    expect((await stack.post("/v1/collections", { name: collection, model: "nomic-embed-text", chunkTokens: 64, chunkOverlap: 8 })).status).toBe(201);
    await stack.api.ingest.worker.pause();
    const accepted = await stack.post(`/v1/collections/${collection}/documents`, { documents });
    expect(accepted.status).toBe(202);
    return accepted.body.ingestionId as string;
  }

  it("queues again the documents whose jobs the queue's Redis lost, and rebuilds the ingestion's record", async () => {
    const ingestionId = await uploadHeld("lost", DOCS);
    // The queue's Redis comes back empty (restarted without persistence): the ingest queue and the
    // ingestion's record are gone; Postgres still holds the three documents, pending.
    try {
      await forget(ingestionId);
      expect(Object.values(await statuses("lost")).map((document) => document.status)).toEqual(["pending", "pending", "pending"]);
    } finally {
      stack.api.ingest.worker.resume();
    }

    await waitFor(async () => Object.values(await statuses("lost")).every((document) => document.status === "ready"), { timeoutMs: 30_000, message: "the lost documents stored" });
    const summary = await waitFor(async () => {
      const response = await stack.get(`/v1/ingestions/${ingestionId}`);
      return response.status === 200 && response.body.status === "completed" ? response.body : undefined;
    }, { timeoutMs: 10_000, message: "the ingestion's record rebuilt and completed" });
    expect(summary).toMatchObject({ id: ingestionId, collection: "lost", documents: { total: 3, done: 3, failed: 0, pending: 0 } });
    const search = await stack.post("/v1/collections/lost/search", { query: "relief valve opening pressure", k: 1 });
    expect(search.status).toBe(200);
    expect(search.body.results[0].documentId).toBe("valve.md");
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/herd_ingest_recovered_documents_total\{action="requeued"[^}]*\} 3\b/);
  });

  it("marks failed a document whose ingest job failed for good while no API process was there to mark it", async () => {
    const ingestionId = await uploadHeld("broken", [{ id: "gear.md", text: "# Gearbox\n\nChange the gearbox oil every 1000 hours." }]);
    // Another consumer of the queue takes the job and fails it for good, as an API process would
    // that died between a step's last failure and marking its document.
    const connection = testRedis();
    const outsider = new Worker(INGEST_QUEUE, null, { connection, prefix: stack.api.queues.bullPrefix, autorun: false });
    try {
      const job = await waitFor(() => outsider.getNextJob("outsider-token"), { message: "the outsider holds the ingest job" });
      expect(job.data.ingestionId).toBe(ingestionId);
      await job.moveToFailed(new UnrecoverableError("parser crashed"), "outsider-token");
      expect(await job.getState()).toBe("failed");
      expect((await statuses("broken"))["gear.md"]?.status).toBe("pending");
    } finally {
      await outsider.close();
      connection.disconnect();
      stack.api.ingest.worker.resume();
    }

    const gear = await waitFor(async () => {
      const document = (await statuses("broken"))["gear.md"];
      return document?.status === "failed" ? document : undefined;
    }, { timeoutMs: 30_000, message: "gear.md marked failed" });
    expect(gear.error).toBe("ingestion failed: parser crashed");
    const summary = (await stack.get(`/v1/ingestions/${ingestionId}`)).body;
    expect(summary).toMatchObject({ status: "completed_with_errors", documents: { total: 1, failed: 1, pending: 0 } });
    expect(summary.errors[0]).toEqual({ documentId: "gear.md", error: "ingestion failed: parser crashed" });
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/herd_ingest_recovered_documents_total\{action="failed"[^}]*\} 1\b/);
  });

  it("ingests a pending document written before ingestions were recorded on documents", async () => {
    expect((await stack.post("/v1/collections", { name: "legacy", model: "nomic-embed-text", chunkTokens: 64, chunkOverlap: 8 })).status).toBe(201);
    const collection = await findCollection(db, "local", "legacy");
    if (!collection) throw new Error("no collection");
    const text = "# Coolant\n\nTop up the coolant when the engine is cold.";
    const row = await upsertDocument(db, { collectionId: collection.id, externalId: "coolant.md", source: "coolant.md", mimeType: "text/markdown", contentHash: "legacy-hash", metadata: {} });
    await saveDocumentContent(db, row.id, Buffer.from(text));
    expect((await db.query("SELECT ingestion_id FROM documents WHERE id = $1", [row.id])).rows[0]).toEqual({ ingestion_id: null });

    await waitFor(async () => (await statuses("legacy"))["coolant.md"]?.status === "ready", { timeoutMs: 30_000, message: "coolant.md stored" });
    const { rows } = await db.query<{ ingestion_id: string; chunk_count: number }>("SELECT ingestion_id, chunk_count FROM documents WHERE id = $1", [row.id]);
    expect(rows[0]?.ingestion_id).toMatch(/^ing_/);
    expect(rows[0]?.chunk_count).toBeGreaterThan(0);
    expect((await stack.get(`/v1/ingestions/${rows[0]?.ingestion_id}`)).body).toMatchObject({ status: "completed", collection: "legacy", documents: { total: 1, done: 1 } });
  });

  it("herd ingest --wait keeps waiting through an ingestion its API forgot, and ends with the rebuilt record", async () => {
    expect((await stack.post("/v1/collections", { name: "cli-lost", model: "nomic-embed-text", chunkTokens: 64, chunkOverlap: 8 })).status).toBe(201);
    const dir = mkdtempSync(join(tmpdir(), "herd-recover-"));
    for (const document of DOCS.slice(0, 2)) writeFileSync(join(dir, document.id), document.text);
    await stack.api.ingest.worker.pause();
    const child = spawn(process.execPath, [CLI, "ingest", dir, "--collection", "cli-lost", "--wait", "--url", stack.url], { env: { PATH: process.env["PATH"] ?? "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const ingestionId = await waitFor(() => /\(ingestion (ing_[0-9a-f]+)\)/.exec(stdout)?.[1], { intervalMs: 10, message: "the CLI's upload" });
      // Within the 3 s a document must be pending before the recovery pass looks at it: the CLI,
      // polling every 300 ms, reads the 404 first.
      await forget(ingestionId);
      await waitFor(() => stderr.includes(`no longer knows ingestion ${ingestionId}`), { message: "the CLI's notice that the API forgot the ingestion" });
      stack.api.ingest.worker.resume();
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/documents\s*│\s*2\s*│\s*2\s*│\s*0/);
      expect(Object.values(await statuses("cli-lost")).map((document) => document.status)).toEqual(["ready", "ready"]);
    } finally {
      stack.api.ingest.worker.resume();
      if (child.exitCode === null) child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("HerdClient.waitForIngestion waits through the 404 of an ingestion the API forgot", async () => {
    const ingestionId = await uploadHeld("client-lost", DOCS.slice(1));
    const forgotten: string[] = [];
    try {
      await forget(ingestionId);
    } finally {
      stack.api.ingest.worker.resume();
    }
    const summary = await new HerdClient({ baseUrl: stack.url }).waitForIngestion(ingestionId, { pollMs: 50, timeoutMs: 30_000, onForgotten: (id) => forgotten.push(id) });
    expect(summary).toMatchObject({ id: ingestionId, status: "completed", documents: { total: 2, done: 2 } });
    expect(forgotten).toEqual([ingestionId]);
  });

  it("runs one pass per interval across API processes", async () => {
    const keys = herdKeys(prefix);
    const recovery = () =>
      new IngestRecovery({
        db: stack.api.db,
        redis,
        keys,
        queues: stack.api.queues,
        progress: new IngestionProgress(redis, keys),
        fleet: stack.api.fleet,
        retention: stack.apiConfig.jobs,
        embedBatch: stack.apiConfig.ingest.embedBatch,
        config: stack.apiConfig,
        metrics: stack.api.metrics.ingest,
        logger: silentLogger(),
        intervalMs: 60_000,
        pendingForMs: 3000,
      });
    const [first, second] = [recovery(), recovery()];
    try {
      // The stack's own API takes a turn every second (for 750 ms): the first waits for a free one.
      const outcome = await waitFor(() => first.runIfTurn(), { intervalMs: 50, message: "a turn for the first process" });
      expect(outcome).toMatchObject({ requeued: 0, failed: 0 });
      expect(await second.runIfTurn()).toBeUndefined();
      expect(await redis.pttl(keys.ingestionRecoveryTurn)).toBeGreaterThan(50_000);
    } finally {
      await redis.del(keys.ingestionRecoveryTurn);
      await Promise.all([first.close(), second.close()]);
    }
  });
});

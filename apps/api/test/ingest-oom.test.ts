import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { herdKeys, INGEST_QUEUE } from "@herd/jobs";
import { RedisServer, uniquePrefix, waitFor } from "@herd/testing";
import { failDocumentOfJob } from "../src/ingest/failures.js";
import { ingestJobId } from "../src/ingest/job-ids.js";
import { IngestionProgress } from "../src/ingest/progress.js";
import { Stack } from "./stack.js";

const DOC = { id: "pump.md", text: "# Hydraulic pump\n\nBleed the hydraulic pump before first use: open the bleed screw until oil flows without bubbles." };

/** The queue Redis refusing writes (maxmemory under noeviction) while an ingest step runs: its own redis-server. */
describe("ingestion while the queue Redis is out of memory", () => {
  const prefix = uniquePrefix("ingoom");
  let redis: RedisServer;
  let admin: Redis;
  let stack: Stack;
  let db: pg.Pool;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    // Two quick attempts: a step that spent them on a full Redis would fail its document at once.
    stack = await Stack.start({ prefix, redisUrl: redis.url, fleet: { instances: 1, preload: true, latency: { embedMs: 1 } }, env: { HERD_JOB_ATTEMPTS: "2", HERD_JOB_BACKOFF: "50ms" } });
    db = new pg.Pool({ connectionString: stack.api.db.url, max: 2 });
  }, 60_000);
  afterAll(async () => {
    await admin?.config("SET", "maxmemory", "0").catch(() => undefined);
    await db?.end();
    await stack?.close();
    admin?.disconnect();
    await redis?.close();
  });

  it("stores a document whose progress write Redis refused, once memory is back, without spending its attempts", async () => {
    expect((await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text", chunkTokens: 64, chunkOverlap: 8 })).status).toBe(201);
    await stack.api.ingest.worker.pause();
    const accepted = await stack.post("/v1/collections/manuals/documents", { documents: [DOC] });
    expect(accepted.status).toBe(202);
    const ingestionId = accepted.body.ingestionId as string;
    // Hold the store step inside its transaction (the row is locked), so Redis fills up while it runs.
    const holder = await db.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT id FROM documents WHERE external_id = $1 FOR UPDATE", [DOC.id]);
      stack.api.ingest.worker.resume();
      await waitFor(async () => {
        const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        return (rows[0] as { n: number }).n > 0;
      }, { message: "the store step waiting on the document's row" });
      await admin.config("SET", "maxmemory", "1");
      await holder.query("COMMIT");
    } finally {
      holder.release();
    }
    // The step stores the chunks, then Redis refuses its progress write: it must wait, not fail.
    await waitFor(async () => {
      const { rows } = await db.query("SELECT status FROM documents WHERE external_id = $1", [DOC.id]);
      return (rows[0] as { status: string } | undefined)?.status === "ready";
    }, { message: "the document stored while Redis is full" });
    // Redis stays full until the step has started more often than its 2 attempts allow, none spent.
    const { rows: ids } = await db.query<{ id: string }>("SELECT id FROM documents WHERE external_id = $1", [DOC.id]);
    const step = await stack.api.queues.queue(INGEST_QUEUE).getJob(ingestJobId(ingestionId, Number(ids[0]?.id)));
    await waitFor(async () => {
      const job = await stack.api.queues.queue(INGEST_QUEUE).getJob(step?.id ?? "");
      return (job?.attemptsStarted ?? 0) >= 4 && job?.attemptsMade === 0;
    }, { message: "the store step run again and again without spending an attempt" });
    await admin.config("SET", "maxmemory", "0");
    const summary = await waitFor(async () => {
      const view = await stack.get(`/v1/ingestions/${ingestionId}`);
      return view.body?.status === "running" ? undefined : view.body;
    }, { timeoutMs: 20_000, message: "the ingestion to end" });
    expect(summary).toMatchObject({ status: "completed", documents: { total: 1, done: 1, failed: 0, pending: 0 } });
    const { rows } = await db.query("SELECT status, error FROM documents WHERE external_id = $1", [DOC.id]);
    expect(rows[0]).toEqual({ status: "ready", error: null });
  });

  it("brings the progress of a document stored before its job failed for good to where its row stands", async () => {
    const progress = new IngestionProgress(admin, herdKeys(prefix));
    const { rows } = await db.query<{ id: number; ingestion_id: string; content_hash: string; chunk_count: number }>("SELECT id, ingestion_id, content_hash, chunk_count FROM documents WHERE external_id = $1", [DOC.id]);
    const row = rows[0];
    if (!row) throw new Error("no stored document");
    // The step stored the document; its progress write was lost and its attempts then ran out.
    await progress.set(row.ingestion_id, DOC.id, { status: "embedding", chunks: row.chunk_count });
    const job = { documentId: Number(row.id), ingestionId: row.ingestion_id, externalId: DOC.id, contentHash: row.content_hash };
    expect(await failDocumentOfJob({ db: stack.api.db, progress, metrics: stack.api.metrics.ingest }, job, "OOM command not allowed")).toBe(false);
    expect((await stack.get(`/v1/ingestions/${row.ingestion_id}`)).body).toMatchObject({ status: "completed", documents: { done: 1, pending: 0 } });
    // Uploaded again since (another content): the old job's document is superseded, not failed.
    await progress.set(row.ingestion_id, DOC.id, { status: "embedding", chunks: row.chunk_count });
    expect(await failDocumentOfJob({ db: stack.api.db, progress, metrics: stack.api.metrics.ingest }, { ...job, contentHash: "other" }, "x")).toBe(false);
    expect((await progress.read(row.ingestion_id))?.documents).toMatchObject({ done: 0, superseded: 1, failed: 0, pending: 0 });
  });
});

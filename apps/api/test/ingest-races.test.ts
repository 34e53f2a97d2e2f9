import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { INGEST_QUEUE, INGESTION_CANCELED, queueName } from "@herd/jobs";
import { uniquePrefix, waitFor } from "@herd/testing";
import { failIngestionDocuments } from "@herd/store";
import { ingestJobId } from "../src/ingest/job-ids.js";
import { Stack } from "./stack.js";

/**
 * A document deleted or uploaded again while one of its ingest steps is running. Row and table
 * locks hold the step at a chosen query while the test changes the document, so each race is run
 * the same way every time.
 */
describe("ingest steps racing a deletion or a new upload of their document", () => {
  let stack: Stack;
  let db: pg.Pool;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("ingrace"), fleet: { instances: 1, preload: true, latency: { embedMs: 1 } }, env: { HERD_EMBED_BATCH: "4" } });
    db = new pg.Pool({ connectionString: stack.api.db.url, max: 3 });
    expect((await stack.post("/v1/collections", { name: "races", model: "nomic-embed-text" })).status).toBe(201);
  });
  afterEach(async () => {
    await stack?.fleet.instances[0]?.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
  });
  afterAll(async () => {
    await db?.end();
    await stack?.close();
  });

  /** Uploads one document with the ingest worker paused, so that nothing runs before `hold` is in place. */
  async function upload(id: string, text: string): Promise<{ ingestionId: string; documentId: number }> {
    await stack.api.ingest.worker.pause();
    const accepted = await stack.post("/v1/collections/races/documents", { documents: [{ id, text }] });
    expect(accepted.status).toBe(202);
    const { rows } = await db.query<{ id: string }>("SELECT id FROM documents WHERE external_id = $1", [id]);
    return { ingestionId: accepted.body.ingestionId as string, documentId: Number(rows[0]?.id) };
  }

  /** Takes `lock` in a transaction, lets the ingest worker run into it, then `change`s the document in the same transaction. */
  async function race(lock: string, params: unknown[], change: (holder: pg.PoolClient) => Promise<unknown>): Promise<void> {
    const holder = await db.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(lock, params);
      stack.api.ingest.worker.resume();
      await waitFor(async () => {
        const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        return (rows[0]?.n ?? 0) > 0 || undefined;
      }, { message: "an ingest step waiting on the lock" });
      await change(holder);
      await holder.query("COMMIT");
    } finally {
      stack.api.ingest.worker.resume();
      holder.release();
    }
  }

  it("a document deleted while its parse step reads its content is superseded, not failed", async () => {
    const { ingestionId, documentId } = await upload("parse.md", "# Seals\n\nReplace the shaft seal when oil weeps past it.");
    // The parse step has read the row; it waits for the content, which goes with the row.
    await race("LOCK TABLE document_contents IN ACCESS EXCLUSIVE MODE", [], (holder) => holder.query("DELETE FROM documents WHERE id = $1", [documentId]));
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
    expect(summary.errors).toEqual([]);
  });

  it("a document uploaded again while its parse step runs gets none of the old content's batches embedded", async () => {
    const { ingestionId, documentId } = await upload("reparsed.md", "# Couplings\n\nAlign the pump coupling after every motor change.");
    const callsBefore = stack.emulatorRequests("nomic-embed-text:latest");
    // The parse step has read the row and waits for the content; the "new upload" changes the row meanwhile.
    await race("LOCK TABLE document_contents IN ACCESS EXCLUSIVE MODE", [], (holder) =>
      holder.query("UPDATE documents SET content_hash = 'uploaded-again', ingestion_id = 'ing_newer' WHERE id = $1", [documentId]),
    );
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
    expect(stack.emulatorRequests("nomic-embed-text:latest")).toBe(callsBefore);
  });

  it("a store step whose document is uploaded again meanwhile keeps none of its chunks and leaves the row to the new upload", async () => {
    const { ingestionId, documentId } = await upload("store.md", "# Filters\n\nChange the return filter every 500 hours.");
    // The store step waits to write chunks that reference the locked row; the "new upload" changes it.
    await race("SELECT id FROM documents WHERE id = $1 FOR UPDATE", [documentId], (holder) =>
      holder.query("UPDATE documents SET content_hash = 'uploaded-again', ingestion_id = 'ing_newer', status = 'pending' WHERE id = $1", [documentId]),
    );
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
    const { rows } = await db.query<{ status: string; chunks: number }>("SELECT status, (SELECT count(*)::int FROM chunks WHERE document_id = d.id) AS chunks FROM documents d WHERE id = $1", [documentId]);
    expect(rows[0]).toEqual({ status: "pending", chunks: 0 });
  });

  it("a store step whose ingestion is canceled meanwhile stores nothing: the document ends failed as canceled", async () => {
    const { ingestionId, documentId } = await upload("canceled.md", "# Belts\n\nTension the drive belt every quarter.");
    // The store step waits to write chunks that reference the locked row; the cancel fails the row meanwhile.
    let canceled: unknown[] = [];
    await race("SELECT id FROM documents WHERE id = $1 FOR UPDATE", [documentId], async (holder) => {
      canceled = await failIngestionDocuments(holder, ingestionId, INGESTION_CANCELED);
    });
    expect(canceled).toHaveLength(1);
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 1, pending: 0, superseded: 0 });
    const { rows } = await db.query<{ status: string; error: string; chunks: number }>("SELECT status, error, (SELECT count(*)::int FROM chunks WHERE document_id = d.id) AS chunks FROM documents d WHERE id = $1", [documentId]);
    expect(rows[0]).toEqual({ status: "failed", error: INGESTION_CANCELED, chunks: 0 });
    const job = await stack.api.queues.queue(INGEST_QUEUE).getJob(ingestJobId(ingestionId, documentId));
    expect(job?.returnvalue).toEqual({ failed: INGESTION_CANCELED });
  });

  it("a store step whose document is deleted meanwhile ends superseded on that attempt, without an error", async () => {
    const { ingestionId, documentId } = await upload("deleted.md", "# Hoses\n\nInspect the hoses for cracks every month.");
    await race("SELECT id FROM documents WHERE id = $1 FOR UPDATE", [documentId], (holder) => holder.query("DELETE FROM documents WHERE id = $1", [documentId]));
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
    const job = await stack.api.queues.queue(INGEST_QUEUE).getJob(ingestJobId(ingestionId, documentId));
    expect(job?.returnvalue).toEqual({ superseded: true });
    expect(job?.stacktrace).toEqual([]);
  });

  /**
   * Lets the ingest steps' `look`-th read of the document's row (1: parse start, 2: after parsing,
   * 3: after queuing the batches) reach PostgreSQL and come back, then deletes the document through
   * the API before the step sees the answer, which still shows the document. Returns how the
   * instance's embedding calls stood when the deletion answered.
   */
  function deleteAfterLook(documentId: number, externalId: string, look: number): Promise<EmbedStats> {
    const pool = stack.api.db.pool;
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    let looks = 0;
    return new Promise<EmbedStats>((resolve, reject) => {
      const held = async (...args: unknown[]): Promise<unknown> => {
        const result = await query(...args);
        const [text, params] = args;
        if (typeof text === "string" && /^SELECT .* FROM documents WHERE id = \$1$/s.test(text) && Array.isArray(params) && params[0] === documentId && ++looks === look) {
          pool.query = query as typeof pool.query;
          const deleted = await fetch(`${stack.url}/v1/collections/races/documents/${externalId}`, { method: "DELETE" });
          if (deleted.status === 200) resolve(embeds());
          else reject(new Error(`DELETE answered ${deleted.status}`));
        }
        return result;
      };
      pool.query = held as typeof pool.query;
    });
  }

  interface EmbedStats {
    requests: number;
    canceled: number;
    inFlight: number;
  }
  function embeds(): EmbedStats {
    const model = stack.fleet.instances[0]?.stats().models["nomic-embed-text:latest"];
    return { requests: model?.requests ?? 0, canceled: model?.canceled ?? 0, inFlight: model?.inFlight ?? 0 };
  }

  /** A document of several batches (HERD_EMBED_BATCH 4), each of whose embedding calls takes 20 s unless aborted. */
  async function uploadSlowBatches(externalId: string): Promise<{ ingestionId: string; documentId: number }> {
    const text = Array.from({ length: 60 }, (_, i) => `## Step ${i}\n\nTorque bolt ${i} of the flange to ${20 + i} Nm, then check seal ${i} for weeping oil.`).join("\n\n");
    const uploaded = await upload(externalId, text);
    await stack.fleet.instances[0]?.setFault({ mode: "slow", rate: 1, factor: 20_000, status: 500, scope: "inference" });
    return uploaded;
  }

  /** Every embedding call made after the deletion answered was aborted, none is running, none is queued. */
  async function expectNothingEmbeddedAfter(atDelete: EmbedStats, ingestionId: string, documentId: number): Promise<void> {
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
    const job = await stack.api.queues.queue(INGEST_QUEUE).getJob(ingestJobId(ingestionId, documentId));
    expect(job?.data.batches).toBeGreaterThan(1);
    const after = embeds();
    expect(after.inFlight).toBe(0);
    expect(after.requests - atDelete.requests).toBe(after.canceled - atDelete.canceled - atDelete.inFlight);
    const counts = await stack.api.queues.queue(queueName("embed", "nomic-embed-text")).getJobCounts("waiting", "prioritized", "active", "delayed");
    expect(counts).toEqual({ waiting: 0, prioritized: 0, active: 0, delayed: 0 });
  }

  it("a document deleted between its parse step's last look and the queuing of its batches gets none of them embedded", async () => {
    const { ingestionId, documentId } = await uploadSlowBatches("between-looks.md");
    const deleted = deleteAfterLook(documentId, "between-looks.md", 2);
    stack.api.ingest.worker.resume();
    await expectNothingEmbeddedAfter(await deleted, ingestionId, documentId);
  });

  it("a document deleted after its batches are queued, before its parse step waits for them, gets none of them embedded", async () => {
    const { ingestionId, documentId } = await uploadSlowBatches("after-queuing.md");
    const deleted = deleteAfterLook(documentId, "after-queuing.md", 3);
    stack.api.ingest.worker.resume();
    await expectNothingEmbeddedAfter(await deleted, ingestionId, documentId);
  });

  it("a batch already on Ollama when its document is deleted is aborted there", async () => {
    const { ingestionId } = await upload("running.md", "# Gauges\n\nCalibrate the pressure gauge every year.");
    const instance = stack.fleet.instances[0];
    if (!instance) throw new Error("no instance");
    const embeds = () => instance.stats().models["nomic-embed-text:latest"] ?? { inFlight: 0, canceled: 0 };
    // 20 s for the batch's call: long enough that only an abort ends it within the test.
    await instance.setFault({ mode: "slow", rate: 1, factor: 20_000, status: 500, scope: "inference" });
    try {
      stack.api.ingest.worker.resume();
      await waitFor(() => embeds().inFlight > 0 || undefined, { message: "the batch's call running on the instance" });
      const canceledBefore = embeds().canceled;
      expect((await fetch(`${stack.url}/v1/collections/races/documents/running.md`, { method: "DELETE" })).status).toBe(200);
      await waitFor(() => embeds().canceled > canceledBefore || undefined, { message: "the call aborted" });
      expect(embeds().inFlight).toBe(0);
    } finally {
      await instance.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
  });
});

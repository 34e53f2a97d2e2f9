import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INGEST_QUEUE } from "@herd/jobs";
import { uniquePrefix, waitFor } from "@herd/testing";
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
    stack = await Stack.start({ prefix: uniquePrefix("ingrace"), fleet: { instances: 1, preload: true, latency: { embedMs: 1 } } });
    db = new pg.Pool({ connectionString: stack.api.db.url, max: 3 });
    expect((await stack.post("/v1/collections", { name: "races", model: "nomic-embed-text" })).status).toBe(201);
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

  it("a store step whose document is deleted meanwhile ends superseded on that attempt, without an error", async () => {
    const { ingestionId, documentId } = await upload("deleted.md", "# Hoses\n\nInspect the hoses for cracks every month.");
    await race("SELECT id FROM documents WHERE id = $1 FOR UPDATE", [documentId], (holder) => holder.query("DELETE FROM documents WHERE id = $1", [documentId]));
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary.documents).toEqual({ total: 1, done: 0, failed: 0, pending: 0, superseded: 1 });
    const job = await stack.api.queues.queue(INGEST_QUEUE).getJob(ingestJobId(ingestionId, documentId));
    expect(job?.returnvalue).toEqual({ superseded: true });
    expect(job?.stacktrace).toEqual([]);
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

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { queueName } from "@herd/jobs";
import { HerdClient } from "@herd/client";
import { Stack } from "./stack.js";

const DOCUMENTS = Array.from({ length: 6 }, (_, i) => ({ id: `manual-${i}.md`, text: `# Part ${i}\n\nReplace filter ${i} every ${100 * (i + 1)} hours.` }));

describe("managing collections: their documents, and deleting them", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("coll-delete"), fleet: { instances: 1, preload: true } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("lists a collection's documents page by page, with their state, and reads one", async () => {
    expect((await stack.post("/v1/collections", { name: "listing", model: "all-minilm" })).status).toBe(201);
    const broken = { id: "guides/broken.pdf", base64: Buffer.from("%PDF-1.4 cut short").toString("base64") };
    const accepted = await stack.post("/v1/collections/listing/documents", { documents: [...DOCUMENTS, broken] });
    expect((await stack.ingestionSettled(accepted.body.ingestionId)).documents).toMatchObject({ total: 7, done: 6, failed: 1 });

    const first = await stack.get("/v1/collections/listing/documents?limit=4");
    expect(first.status).toBe(200);
    expect(first.body.documents.map((document: { id: string }) => document.id)).toEqual(["guides/broken.pdf", "manual-0.md", "manual-1.md", "manual-2.md"]);
    expect(first.body.next).toBe("manual-2.md");
    const rest = await stack.get(`/v1/collections/listing/documents?limit=4&after=${encodeURIComponent(first.body.next)}`);
    expect(rest.body.documents.map((document: { id: string }) => document.id)).toEqual(["manual-3.md", "manual-4.md", "manual-5.md"]);
    expect(rest.body.next).toBeNull();
    expect(rest.body.documents[0]).toMatchObject({ status: "ready", ingestionId: accepted.body.ingestionId, error: null, chunks: 1, mimeType: "text/markdown", metadata: {} });

    const failed = await stack.get("/v1/collections/listing/documents?status=failed");
    expect(failed.body).toMatchObject({ collection: "listing", next: null, documents: [{ id: "guides/broken.pdf", status: "failed", error: expect.stringContaining("PDF"), chunks: 0 }] });
    const client = new HerdClient({ baseUrl: stack.url });
    expect((await client.documents("listing", { status: "ready", limit: 10 })).documents).toHaveLength(6);

    const one = await stack.get("/v1/collections/listing/documents/guides/broken.pdf");
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: "guides/broken.pdf", status: "failed", mimeType: "application/pdf" });
    expect((await stack.get("/v1/collections/listing/documents/guides/missing.pdf")).body.error.code).toBe("document_not_found");
    expect((await stack.get("/v1/collections/nothing/documents")).body.error.code).toBe("collection_not_found");
    for (const [query, field] of [["limit=0", "limit"], ["status=done", "status"], ["page=2", "query"]] as const) {
      const bad = await stack.get(`/v1/collections/listing/documents?${query}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: "invalid_request", message: expect.stringMatching(new RegExp(`^${field}: `)) });
    }
  });

  it("deletes a collection with its documents and chunks; the name can be used again", async () => {
    expect((await stack.post("/v1/collections", { name: "filters", model: "all-minilm" })).status).toBe(201);
    const accepted = await stack.post("/v1/collections/filters/documents", { documents: DOCUMENTS });
    expect((await stack.ingestionSettled(accepted.body.ingestionId)).documents).toMatchObject({ total: 6, done: 6 });

    const deleted = await fetch(`${stack.url}/v1/collections/filters`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ deleted: "filters", documents: 6, chunks: 6 });
    expect((await stack.get("/v1/collections/filters")).status).toBe(404);
    expect((await stack.post("/v1/collections/filters/search", { query: "filter", k: 1 })).body.error.code).toBe("collection_not_found");
    const again = await fetch(`${stack.url}/v1/collections/filters`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("collection_not_found");

    // The same name is a new, empty collection (with another language, say).
    const recreated = await stack.post("/v1/collections", { name: "filters", model: "all-minilm", language: "simple" });
    expect(recreated.status).toBe(201);
    expect((await stack.get("/v1/collections/filters")).body).toMatchObject({ language: "simple", documents: 0, chunks: 0 });
  });

  it("deleted while its documents are being ingested, the ingestion ends without failures or rows left behind", async () => {
    expect((await stack.post("/v1/collections", { name: "busy", model: "all-minilm" })).status).toBe(201);
    await stack.api.ingest.worker.pause();
    let ingestionId: string;
    try {
      const accepted = await stack.post("/v1/collections/busy/documents", { documents: DOCUMENTS });
      ingestionId = accepted.body.ingestionId as string;
      const client = new HerdClient({ baseUrl: stack.url });
      expect(await client.deleteCollection("busy")).toBe(true);
      expect(await client.deleteCollection("busy")).toBe(false);
    } finally {
      stack.api.ingest.worker.resume();
    }
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary).toMatchObject({ status: "completed", documents: { total: 6, failed: 0, pending: 0 } });
    const { rows } = await stack.api.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM documents d LEFT JOIN collections c ON c.id = d.collection_id WHERE c.id IS NULL");
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it("takes the queued embedding batches of deleted and replaced documents away: Ollama never runs them", async () => {
    for (const name of ["withdrawn", "replaced"]) expect((await stack.post("/v1/collections", { name, model: "all-minilm" })).status).toBe(201);
    const embedQueue = stack.api.queues.queue(queueName("embed", "all-minilm"));
    const queued = async () => (await embedQueue.getJobCounts("prioritized")).prioritized ?? 0;
    const callsBefore = stack.emulatorRequests("all-minilm:latest");
    // No worker pulls: every parsed document's batch waits in the queue.
    await stack.worker.close(2000);
    const whole = await stack.post("/v1/collections/withdrawn/documents", { documents: DOCUMENTS });
    const pair = await stack.post("/v1/collections/replaced/documents", { documents: [{ id: "a.md", text: "Drain the coolant." }, { id: "b.md", text: "Check the belt." }] });
    await waitFor(async () => (await queued()) === DOCUMENTS.length + 2 || undefined, { message: "every document's batch queued" });

    expect((await fetch(`${stack.url}/v1/collections/withdrawn`, { method: "DELETE" })).status).toBe(200);
    expect((await fetch(`${stack.url}/v1/collections/replaced/documents/b.md`, { method: "DELETE" })).status).toBe(200);
    const again = await stack.post("/v1/collections/replaced/documents", { documents: [{ id: "a.md", text: "Refill the coolant reservoir." }] });
    expect(again.status).toBe(202);
    // What is left: the new a.md's batch, once its parse step has queued it.
    await waitFor(async () => {
      const jobs = await embedQueue.getJobs(["prioritized"]);
      return jobs.length === 1 && jobs[0]?.id?.startsWith(again.body.ingestionId) ? jobs : undefined;
    }, { message: "only the new upload's batch queued" });

    await stack.startWorker();
    expect((await stack.ingestionSettled(whole.body.ingestionId)).documents).toEqual({ total: DOCUMENTS.length, done: 0, failed: 0, pending: 0, superseded: DOCUMENTS.length });
    expect((await stack.ingestionSettled(pair.body.ingestionId)).documents).toEqual({ total: 2, done: 0, failed: 0, pending: 0, superseded: 2 });
    expect((await stack.ingestionSettled(again.body.ingestionId)).documents).toMatchObject({ total: 1, done: 1, superseded: 0 });
    expect(stack.emulatorRequests("all-minilm:latest") - callsBefore).toBe(1);
    const search = await stack.post("/v1/collections/replaced/search", { query: "coolant reservoir", k: 5, mode: "keyword" });
    expect(search.status, JSON.stringify(search.body)).toBe(200);
    const hits = search.body.results as Array<{ documentId: string; text: string }>;
    expect(hits.map((hit) => hit.documentId)).toEqual(["a.md"]);
    expect(hits[0]?.text).toContain("Refill");
  });

  it("cancels an ingestion: its pending documents fail as canceled, their queued batches never run, stored ones stay", async () => {
    // The worker the test before started may not have reached the fleet view yet (503 no_live_workers).
    await waitFor(async () => (await stack.post("/v1/collections", { name: "canceled", model: "all-minilm" })).status === 201 || undefined, { message: "the collection created" });
    const stored = await stack.post("/v1/collections/canceled/documents", { documents: [{ id: "kept.md", text: "Keep the hoses clean." }] });
    await stack.ingestionSettled(stored.body.ingestionId);
    const embedQueue = stack.api.queues.queue(queueName("embed", "all-minilm"));
    const callsBefore = stack.emulatorRequests("all-minilm:latest");
    // With the embedding queue paused, the parsed documents' batches wait in it.
    await embedQueue.pause();
    let ingestionId: string;
    try {
      const wrong = await stack.post("/v1/collections/canceled/documents", { documents: [...DOCUMENTS, { id: "kept.md", text: "Keep the hoses clean and dry." }] });
      ingestionId = wrong.body.ingestionId as string;
      // Canceled while parse steps still run: some documents have batches queued, others not yet.
      await waitFor(async () => ((await embedQueue.getJobCounts("prioritized")).prioritized ?? 0) >= 3 || undefined, { message: "batches queued" });
      const client = new HerdClient({ baseUrl: stack.url });
      // Nothing could be stored without embeddings: every document was still pending.
      expect(await client.cancelIngestion(ingestionId)).toBe(DOCUMENTS.length + 1);
      expect(await client.cancelIngestion(ingestionId)).toBe(0);
    } finally {
      await embedQueue.resume();
    }
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary).toMatchObject({ status: "completed_with_errors", canceledAt: expect.any(String) });
    expect(summary.documents).toEqual({ total: DOCUMENTS.length + 1, done: 0, failed: DOCUMENTS.length + 1, pending: 0, superseded: 0 });
    expect(new Set(summary.errors.map((error: { error: string }) => error.error))).toEqual(new Set(["the ingestion was canceled"]));
    expect(stack.emulatorRequests("all-minilm:latest")).toBe(callsBefore);
    expect((await embedQueue.getJobCounts("prioritized")).prioritized).toBe(0);
    // The re-ingested document keeps its previous chunks; the others are failed rows, listed with the reason.
    const kept = await stack.post("/v1/collections/canceled/search", { query: "hoses clean", k: 5, mode: "keyword" });
    expect(kept.body.results.map((hit: { documentId: string }) => hit.documentId)).toEqual(["kept.md"]);
    const failed = await stack.get("/v1/collections/canceled/documents?status=failed");
    expect(failed.body.documents).toHaveLength(DOCUMENTS.length + 1);
    expect((await fetch(`${stack.url}/v1/ingestions/ing_unknown`, { method: "DELETE" })).status).toBe(404);
  });
});

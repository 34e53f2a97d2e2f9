import { beforeAll, describe, expect, it } from "vitest";
import { deleteCollection, deleteDocument, failIngestionDocuments, insertCollection, markDocumentFailed, markDocumentReady, migrate, upsertDocument, type Collection } from "../src/index.js";
import { databaseServers, usePool } from "./servers.js";

/**
 * What a deletion or a new upload reports of the ingestion it leaves without a purpose, so that
 * the API can take that ingestion's queued embedding batches away.
 */
describe.each(databaseServers("unfinished"))("ingestions a change leaves unfinished, on $name", (server) => {
  const pool = usePool(server);
  beforeAll(async () => {
    await migrate(pool());
  });

  async function collection(name: string): Promise<Collection> {
    const created = await insertCollection(pool(), { tenant: "t", name, model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8 });
    if (!created) throw new Error("not created");
    return created;
  }
  const upload = (target: Collection, externalId: string, contentHash: string, ingestionId: string) =>
    upsertDocument(pool(), { collectionId: target.id, externalId, source: null, mimeType: "text/plain", contentHash, metadata: {}, ingestionId });

  it("an upload replaces the ingestion still pending on other content, and no other", async () => {
    const target = await collection("uploads");
    expect((await upload(target, "a.txt", "h1", "ing_1")).replacedIngestionId).toBeNull();
    // Other content while ing_1 is still on it: ing_1's work is useless now.
    const second = await upload(target, "a.txt", "h2", "ing_2");
    expect(second).toMatchObject({ status: "pending", contentHash: "h2", replacedIngestionId: "ing_1" });
    // The same bytes again: ing_2 still stores the right chunks.
    expect((await upload(target, "a.txt", "h2", "ing_3")).replacedIngestionId).toBeNull();
    // Finished (ready or failed), nothing is left to replace.
    expect(await markDocumentReady(pool(), second, 1, "chunked")).toBe(true);
    expect((await upload(target, "a.txt", "h4", "ing_4")).replacedIngestionId).toBeNull();
    expect(await markDocumentFailed(pool(), { id: second.id, contentHash: "h4" }, "broken")).toBe(true);
    expect((await upload(target, "a.txt", "h5", "ing_5")).replacedIngestionId).toBeNull();
    // Another document of the same name elsewhere is another row.
    expect((await upload(await collection("elsewhere"), "a.txt", "h6", "ing_6")).replacedIngestionId).toBeNull();
  });

  it("deleting a document or a collection names the ingestions still working on its documents", async () => {
    const target = await collection("deleting");
    const pending = await upload(target, "pending.txt", "p", "ing_p");
    const ready = await upload(target, "ready.txt", "r", "ing_r");
    await markDocumentReady(pool(), ready, 1, "chunked");
    const failed = await upload(target, "failed.txt", "f", "ing_f");
    await markDocumentFailed(pool(), failed, "broken");
    const unqueued = await upsertDocument(pool(), { collectionId: target.id, externalId: "unqueued.txt", source: null, mimeType: "text/plain", contentHash: "u", metadata: {} });
    expect(unqueued.status).toBe("pending");
    const second = await upload(target, "second.txt", "s", "ing_s");

    expect(await deleteDocument(pool(), target.id, "pending.txt")).toEqual({ unfinished: { documentId: pending.id, ingestionId: "ing_p" } });
    expect(await deleteDocument(pool(), target.id, "ready.txt")).toEqual({ unfinished: undefined });
    const deleted = await deleteCollection(pool(), "t", "deleting");
    expect(deleted).toEqual({ documents: 3, chunks: 0, unfinished: [{ documentId: second.id, ingestionId: "ing_s" }] });
  });

  it("an ingest step's outcome applies only to the content it read", async () => {
    const target = await collection("outcomes");
    const first = await upload(target, "a.txt", "old", "ing_old");
    await upload(target, "a.txt", "new", "ing_new");
    // The step that read "old" finishes after the new upload: neither outcome is recorded.
    expect(await markDocumentReady(pool(), first, 3, "chunked-old")).toBe(false);
    expect(await markDocumentFailed(pool(), first, "broken")).toBe(false);
    const row = (await pool().query<{ status: string; chunk_count: number; error: string | null }>("SELECT status, chunk_count, error FROM documents WHERE id = $1", [first.id])).rows[0];
    expect(row).toEqual({ status: "pending", chunk_count: 0, error: null });
    expect(await markDocumentReady(pool(), { id: first.id, contentHash: "new" }, 2, "chunked-new")).toBe(true);
    await pool().query("DELETE FROM documents WHERE id = $1", [first.id]);
    expect(await markDocumentFailed(pool(), { id: first.id, contentHash: "new" }, "broken")).toBe(false);
  });

  it("canceling an ingestion fails only the documents it still has pending", async () => {
    const target = await collection("canceling");
    const pending = await upload(target, "pending.txt", "p", "ing_c");
    const stored = await upload(target, "stored.txt", "s", "ing_c");
    await markDocumentReady(pool(), stored, 1, "chunked");
    await upload(target, "taken.txt", "t1", "ing_c");
    await upload(target, "taken.txt", "t2", "ing_later");
    const other = await upload(target, "other.txt", "o", "ing_other");
    expect(await failIngestionDocuments(pool(), "ing_c", "the ingestion was canceled")).toEqual([{ documentId: pending.id, externalId: "pending.txt" }]);
    const { rows } = await pool().query<{ external_id: string; status: string; error: string | null }>("SELECT external_id, status, error FROM documents WHERE collection_id = $1 ORDER BY external_id", [target.id]);
    expect(rows).toEqual([
      { external_id: "other.txt", status: "pending", error: null },
      { external_id: "pending.txt", status: "failed", error: "the ingestion was canceled" },
      { external_id: "stored.txt", status: "ready", error: null },
      { external_id: "taken.txt", status: "pending", error: null },
    ]);
    expect(other.status).toBe("pending");
    expect(await failIngestionDocuments(pool(), "ing_c", "again")).toEqual([]);
  });
});

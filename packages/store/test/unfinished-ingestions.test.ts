import { beforeAll, describe, expect, it } from "vitest";
import { deleteCollection, deleteDocument, insertCollection, markDocumentFailed, markDocumentReady, migrate, upsertDocument, type Collection } from "../src/index.js";
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
    await markDocumentReady(pool(), second.id, 1, "chunked");
    expect((await upload(target, "a.txt", "h4", "ing_4")).replacedIngestionId).toBeNull();
    await markDocumentFailed(pool(), second.id, "broken");
    expect((await upload(target, "a.txt", "h5", "ing_5")).replacedIngestionId).toBeNull();
    // Another document of the same name elsewhere is another row.
    expect((await upload(await collection("elsewhere"), "a.txt", "h6", "ing_6")).replacedIngestionId).toBeNull();
  });

  it("deleting a document or a collection names the ingestions still working on its documents", async () => {
    const target = await collection("deleting");
    const pending = await upload(target, "pending.txt", "p", "ing_p");
    const ready = await upload(target, "ready.txt", "r", "ing_r");
    await markDocumentReady(pool(), ready.id, 1, "chunked");
    const failed = await upload(target, "failed.txt", "f", "ing_f");
    await markDocumentFailed(pool(), failed.id, "broken");
    const unqueued = await upsertDocument(pool(), { collectionId: target.id, externalId: "unqueued.txt", source: null, mimeType: "text/plain", contentHash: "u", metadata: {} });
    expect(unqueued.status).toBe("pending");
    const second = await upload(target, "second.txt", "s", "ing_s");

    expect(await deleteDocument(pool(), target.id, "pending.txt")).toEqual({ unfinished: { documentId: pending.id, ingestionId: "ing_p" } });
    expect(await deleteDocument(pool(), target.id, "ready.txt")).toEqual({ unfinished: undefined });
    const deleted = await deleteCollection(pool(), "t", "deleting");
    expect(deleted).toEqual({ documents: 3, chunks: 0, unfinished: [{ documentId: second.id, ingestionId: "ing_s" }] });
  });
});

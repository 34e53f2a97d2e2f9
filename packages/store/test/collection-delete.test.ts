import { beforeAll, describe, expect, it } from "vitest";
import { createCollectionIndex, deleteCollection, findCollection, insertCollection, migrate, saveDocumentContent, upsertChunks, upsertDocument } from "../src/index.js";
import { databaseServers, usePool } from "./servers.js";

describe.each(databaseServers("delete"))("deleting collections on $name", (server) => {
  const pool = usePool(server);
  beforeAll(async () => {
    await migrate(pool());
  });

  async function filled(name: string, documents: number) {
    const collection = await insertCollection(pool(), { tenant: "t", name, model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8 });
    if (!collection) throw new Error("not created");
    await createCollectionIndex(pool(), collection);
    for (let i = 0; i < documents; i++) {
      const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: `${name}-${i}`, source: null, mimeType: "text/plain", contentHash: `${name}-${i}`, metadata: {} });
      await saveDocumentContent(pool(), document.id, Buffer.from(`document ${i}`));
      await upsertChunks(pool(), collection.id, document.id, [0, 1].map((ordinal) => ({ ordinal, heading: null, text: `chunk ${ordinal} of ${i}`, tokenCount: 4, contentHash: `${name}-${i}-${ordinal}`, embedding: [1, ordinal, 0, i] })));
    }
    return collection;
  }
  const count = async (sql: string, id: number) => Number((await pool().query<{ n: string }>(sql, [id])).rows[0]?.n);

  it("removes the collection, its documents, contents, chunks and index, and nothing of another", async () => {
    const doomed = await filled("doomed", 3);
    const kept = await filled("kept", 2);
    expect(await deleteCollection(pool(), "t", "doomed")).toEqual({ documents: 3, chunks: 6, unfinished: [] });
    expect(await findCollection(pool(), "t", "doomed")).toBeUndefined();
    expect(await count("SELECT count(*) AS n FROM documents WHERE collection_id = $1", doomed.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM chunks WHERE collection_id = $1", doomed.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM document_contents c JOIN documents d ON d.id = c.document_id WHERE d.collection_id = $1", doomed.id)).toBe(0);
    const indexes = (await pool().query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'chunks'")).rows.map((row) => row.indexname);
    expect(indexes).not.toContain(`chunks_hnsw_${doomed.id}`);
    expect(indexes).toContain(`chunks_hnsw_${kept.id}`);
    expect(await count("SELECT count(*) AS n FROM chunks WHERE collection_id = $1", kept.id)).toBe(4);
    const orphans = await pool().query("SELECT count(*) AS n FROM document_contents c LEFT JOIN documents d ON d.id = c.document_id WHERE d.id IS NULL");
    expect(Number(orphans.rows[0]?.n)).toBe(0);
  });

  it("answers undefined for an unknown name or another tenant's collection, deleting nothing", async () => {
    expect(await deleteCollection(pool(), "t", "never")).toBeUndefined();
    expect(await deleteCollection(pool(), "someone-else", "kept")).toBeUndefined();
    expect(await findCollection(pool(), "t", "kept")).toBeDefined();
  });
});

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@herd/testing";
import { createCollectionIndex, insertCollection, migrate, searchCandidates, searchChunks, searchSql, SmallCollections, upsertChunks, upsertDocument, type Collection } from "../src/index.js";

function unit(values: number[]): number[] {
  const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0)) || 1;
  return values.map((value) => value / norm);
}

const cosineDistance = (a: number[], b: number[]) => 1 - a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);

describe("exact vector search and small collections (native PostgreSQL + pgvector)", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let collection: Collection;
  const embeddings = Array.from({ length: 150 }, (_, i) => unit([Math.cos(i / 20), Math.sin(i / 20), (i % 7) / 7, 1]));

  beforeAll(async () => {
    database = await createTestDatabase("exact");
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    // Dropping the database terminates connections the pool may still be closing.
    pool.on("error", () => undefined);
    await migrate(pool);
    const created = await insertCollection(pool, { tenant: "t1", name: "small", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    if (!created) throw new Error("no collection");
    collection = created;
    await createCollectionIndex(pool, collection);
    const document = await upsertDocument(pool, { collectionId: collection.id, externalId: "many.md", source: null, mimeType: "text/markdown", contentHash: "m", metadata: {} });
    await upsertChunks(pool, collection.id, document.id, embeddings.map((embedding, i) => ({ ordinal: i, heading: null, text: `part ${i}`, tokenCount: 2, contentHash: `h${i}`, embedding })));
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it("ranks by exact distance without the HNSW index, which the approximate search uses", async () => {
    const query = unit([1, 0.2, 0.3, 1]);
    const explain = async (exact: boolean) => {
      const client = await pool.connect();
      try {
        // Even where the planner would pick the index, the exact search cannot use it.
        await client.query("SET enable_seqscan = off");
        await client.query("SET enable_sort = off");
        const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${searchSql("vector", { collectionId: collection.id, dimensions: 4, language: collection.language, filtered: false, exact })}`, [`[${query.join(",")}]`, "", 50, null, 10]);
        return rows.map((row) => row["QUERY PLAN"]).join("\n");
      } finally {
        await client.query("RESET enable_seqscan");
        await client.query("RESET enable_sort");
        client.release();
      }
    };
    expect(await explain(false)).toContain(`chunks_hnsw_${collection.id}`);
    expect(await explain(true)).not.toContain(`chunks_hnsw_${collection.id}`);

    const hits = await searchChunks(pool, "vector", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 20, candidates: searchCandidates(20), embedding: query, exact: true });
    const expected = embeddings
      .map((embedding, ordinal) => ({ ordinal, distance: cosineDistance(embedding, query) }))
      .sort((a, b) => a.distance - b.distance || a.ordinal - b.ordinal)
      .slice(0, 20)
      .map((entry) => entry.ordinal);
    expect(hits.map((hit) => hit.ordinal)).toEqual(expected);
    const hybrid = await searchChunks(pool, "hybrid", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 5, candidates: searchCandidates(5), embedding: query, query: "part", exact: true });
    expect(hybrid).toHaveLength(5);
  });

  it("tells small collections with a count that stops at the limit, and remembers the answer for a while", async () => {
    let now = 0;
    expect(await new SmallCollections(200).isSmall(pool, collection.id)).toBe(true);
    const sizes = new SmallCollections(151, 30_000, () => now);
    expect(await sizes.isSmall(pool, collection.id)).toBe(true);
    const extra = await upsertDocument(pool, { collectionId: collection.id, externalId: "more.md", source: null, mimeType: "text/markdown", contentHash: "x", metadata: {} });
    await upsertChunks(pool, collection.id, extra.id, [{ ordinal: 0, heading: null, text: "one more", tokenCount: 2, contentHash: "x0", embedding: unit([1, 1, 1, 1]) }]);
    now = 29_000;
    expect(await sizes.isSmall(pool, collection.id)).toBe(true);
    now = 30_000;
    expect(await sizes.isSmall(pool, collection.id)).toBe(false);
  });
});

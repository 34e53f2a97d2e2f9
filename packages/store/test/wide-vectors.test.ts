import { describe, expect, it } from "vitest";
import { databaseServers, usePool } from "./servers.js";
import { createCollection, migrate, searchChunks, searchParameters, searchSql, statementShape, upsertChunks, upsertDocument, type Collection } from "../src/index.js";

/** Deterministic unit vectors (a linear congruential generator), so the nearest neighbours are known. */
function vectors(count: number, dimensions: number, seed: number): number[][] {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  return Array.from({ length: count }, () => {
    const values = Array.from({ length: dimensions }, next);
    const norm = Math.hypot(...values);
    return values.map((value) => value / norm);
  });
}

const cosineDistance = (a: number[], b: number[]) => 1 - a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);

/**
 * pgvector's HNSW index takes at most 2,000 dimensions (4,000 in half precision): a collection of
 * a larger model (qwen3-embedding: 2,560 or 4,096) gets the index that fits, or none, and its
 * vector search finds the nearest chunks either way.
 */
describe.each(databaseServers("wide"))("collections of wide vectors on $name", (server) => {
  const pool = usePool(server);

  it.each([
    [1536, "hnsw", "vector_cosine_ops"],
    [2560, "hnsw_halfvec", "halfvec_cosine_ops"],
    [4000, "hnsw_halfvec", "halfvec_cosine_ops"],
    [4096, "none", undefined],
  ] as const)("%i dimensions: index %s, and vector search finds the nearest chunks", async (dimensions, vectorIndex, operators) => {
    await migrate(pool());
    const collection = await createCollection(pool(), { tenant: "t", name: `wide-${dimensions}`, model: "m", dimensions, chunkTokens: 64, chunkOverlap: 8 });
    if (!collection) throw new Error("no collection");
    expect(collection.vectorIndex).toBe(vectorIndex);
    const { rows: indexes } = await pool().query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = $1", [`chunks_hnsw_${collection.id}`]);
    expect(indexes.map((row) => row.indexdef.includes(operators ?? "-"))).toEqual(operators ? [true] : []);

    const embeddings = vectors(30, dimensions, dimensions);
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: "a.md", source: null, mimeType: "text/markdown", contentHash: "a", metadata: {} });
    await upsertChunks(pool(), collection.id, document.id, embeddings.map((embedding, i) => ({ ordinal: i, heading: null, text: `chunk ${i}`, tokenCount: 2, contentHash: `c${i}`, embedding })));
    const query = embeddings[7] ?? [];
    const nearest = embeddings.map((embedding, i) => ({ i, distance: cosineDistance(query, embedding) })).sort((a, b) => a.distance - b.distance).slice(0, 5).map(({ i }) => `chunk ${i}`);
    const input = { collectionId: collection.id, dimensions, language: collection.language, k: 5, candidates: 40, embedding: query };
    expect((await searchChunks(pool(), "vector", input)).map((hit) => hit.text)).toEqual(nearest);
    if (operators) await expectIndexUsed(collection, input);
  });

  /** The search statement walks the collection's index (the table is tiny: scanning and sorting it is made to look dear). */
  async function expectIndexUsed(collection: Collection, input: Parameters<typeof searchChunks>[2]) {
    const client = await pool().connect();
    try {
      await client.query("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${searchSql("vector", statementShape(input))}`, searchParameters("vector", input));
      expect(rows.map((row) => row["QUERY PLAN"]).join("\n")).toContain(`chunks_hnsw_${collection.id}`);
    } finally {
      await client.query("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort");
      client.release();
    }
  }
});

import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@herd/testing";
import { createCollectionIndex, insertCollection, migrate, searchCandidates, searchChunks, upsertChunks, upsertDocument, type Collection } from "../src/index.js";

const CHUNKS = 6;

/**
 * Chunk i is the i-th nearest to the query vector and holds the query's term i times, so its
 * keyword rank is the reverse of its vector rank: chunks i and CHUNKS+1-i get equal fused scores.
 */
function chunk(i: number) {
  const text = `${"valve ".repeat(i)}housing note ${i}`;
  const angle = i / 10;
  return {
    ordinal: i,
    heading: null,
    text,
    tokenCount: i + 3,
    contentHash: createHash("sha256").update(text).digest("hex"),
    embedding: [Math.cos(angle), Math.sin(angle), 0, 0],
  };
}

describe("equal fused scores rank the same whatever order the chunks were stored in", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  const collections: Collection[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("ties");
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    // Dropping the database terminates connections the pool may still be closing.
    pool.on("error", () => undefined);
    await migrate(pool);
    const chunks = Array.from({ length: CHUNKS }, (_, i) => chunk(i + 1));
    // The same chunks, stored first-to-last in one collection and last-to-first in the other, so
    // their ids run in opposite orders.
    for (const [name, ordered] of [["forward", chunks], ["backward", [...chunks].reverse()]] as const) {
      const collection = await insertCollection(pool, { tenant: "t1", name, model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
      if (!collection) throw new Error(`no collection ${name}`);
      await createCollectionIndex(pool, collection);
      const document = await upsertDocument(pool, { collectionId: collection.id, externalId: "valves.md", source: null, mimeType: "text/markdown", contentHash: name, metadata: {} });
      await upsertChunks(pool, collection.id, document.id, ordered);
      collections.push(collection);
    }
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it.each([
    ["two statements fused in the process", true],
    ["one statement fused in SQL", false],
  ])("hybrid, %s", async (_, parallel) => {
    const search = (collection: Collection) =>
      searchChunks(pool, "hybrid", { collectionId: collection.id, dimensions: 4, language: collection.language, k: CHUNKS, candidates: searchCandidates(CHUNKS), embedding: [1, 0, 0, 0], query: "valve", exact: true }, { parallel });
    const [forward, backward] = await Promise.all(collections.map(search));
    if (!forward || !backward) throw new Error("missing results");

    // The premise: every chunk is in both lists with reversed ranks, so scores tie in pairs.
    expect(forward.map((hit) => [hit.vectorRank, hit.keywordRank])).toEqual(expect.arrayContaining(Array.from({ length: CHUNKS }, (_, i) => [i + 1, CHUNKS - i])));
    expect(forward[0]?.score).toBe(forward[1]?.score);

    const hashOf = (ordinal: number) => chunk(ordinal).contentHash;
    expect(backward.map((hit) => hit.ordinal)).toEqual(forward.map((hit) => hit.ordinal));
    for (let i = 0; i + 1 < forward.length; i += 2) {
      const [first, second] = [forward[i], forward[i + 1]];
      if (!first || !second) throw new Error("missing hit");
      expect(first.score).toBe(second.score);
      expect(hashOf(first.ordinal) < hashOf(second.ordinal)).toBe(true);
    }
  });
});

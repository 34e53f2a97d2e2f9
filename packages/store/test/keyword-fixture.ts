import type pg from "pg";
import { loadMigrations, migrate, searchCandidates, searchChunks, upsertChunks, type Collection } from "../src/index.js";

/**
 * A collection on a database migrated only up to `version` (to show what chunks stored before a
 * migration hold), with chunks stored as plain texts and searched by keyword alone.
 */
export async function keywordCollection(pool: pg.Pool, version: number) {
  const all = loadMigrations();
  await migrate(pool, all.filter((migration) => migration.version <= version));
  // Plain SQL with the columns every schema has: insertCollection writes today's.
  const { rows: created } = await pool.query<{ id: string }>("INSERT INTO collections (tenant, name, model, dimensions, chunk_tokens, chunk_overlap) VALUES ('t', 'manual', 'm', 4, 64, 8) RETURNING id");
  if (!created[0]) throw new Error("collection not created");
  const collection: Collection = { id: Number(created[0].id), tenant: "t", name: "manual", model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8, language: "english", queryPrefix: "", documentPrefix: "", vectorIndex: "hnsw", createdAt: "" };
  return {
    /** Applies the migrations after `version`; returns their versions. */
    migrateRest: () => migrate(pool, all),
    async store(texts: readonly string[], name: string): Promise<void> {
      // Plain SQL, with the columns of the first schema: the query functions read today's.
      const { rows } = await pool.query<{ id: string }>("INSERT INTO documents (collection_id, external_id, mime_type, content_hash, status) VALUES ($1, $2, 'text/plain', $2, 'ready') RETURNING id", [collection.id, name]);
      await upsertChunks(pool, collection.id, Number(rows[0]?.id), texts.map((text, ordinal) => ({ ordinal, heading: null, text, tokenCount: 8, contentHash: `${name}-${ordinal}`, embedding: [1, 0, 0, ordinal] })));
    },
    /** The texts of the chunks keyword search finds for `query`, best first. */
    async keyword(query: string): Promise<string[]> {
      const hits = await searchChunks(pool, "keyword", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 5, candidates: searchCandidates(5), query });
      return hits.map((hit) => hit.text);
    },
  };
}

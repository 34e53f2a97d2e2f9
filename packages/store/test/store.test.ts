import { describe, expect, it } from "vitest";
import { databaseServers, usePool } from "./servers.js";
import {
  collectionFingerprint,
  createCollectionIndex,
  deleteChunksFrom,
  deleteDocument,
  findCollection,
  listCollections,
  insertCollection,
  isUnstorableText,
  listDocumentChunks,
  markDocumentReady,
  migrate,
  searchCandidates,
  searchChunks,
  upsertChunks,
  upsertDocument,
  type ChunkInput,
} from "../src/index.js";

function unit(values: number[]): number[] {
  const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0)) || 1;
  return values.map((value) => value / norm);
}

function chunk(ordinal: number, text: string, embedding: number[]): ChunkInput {
  return { ordinal, heading: "Pumps", text, tokenCount: text.split(" ").length, contentHash: `h-${text}`, embedding: unit(embedding) };
}

describe.each(databaseServers("store"))("store on $name", (server) => {
  const pool = usePool(server);

  it("applies numbered migrations once, even when asked twice", async () => {
    expect(await migrate(pool())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(await migrate(pool())).toEqual([]);
    const { rows } = await pool().query("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
    expect(rows[0]?.extversion).toMatch(/^0\.(7|8|9)|^[1-9]/);
  });

  it("creates collections with their own HNSW index, refusing duplicate names", async () => {
    const collection = await insertCollection(pool(), { tenant: "t1", name: "manuals", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    expect(collection).toMatchObject({ name: "manuals", dimensions: 4 });
    if (!collection) throw new Error("no collection");
    await createCollectionIndex(pool(), collection);
    const { rows } = await pool().query("SELECT indexdef FROM pg_indexes WHERE indexname = $1", [`chunks_hnsw_${collection.id}`]);
    expect(rows[0]?.indexdef).toContain("hnsw");
    expect(await insertCollection(pool(), { tenant: "t1", name: "manuals", model: "x", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 })).toBeUndefined();
  });

  it("scopes collections to their tenant: the same name in another tenant is another collection", async () => {
    const other = await insertCollection(pool(), { tenant: "t2", name: "manuals", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    expect(other).toMatchObject({ tenant: "t2", name: "manuals" });
    expect((await findCollection(pool(), "t1", "manuals"))?.id).not.toBe(other?.id);
    expect(await findCollection(pool(), "t3", "manuals")).toBeUndefined();
    expect((await listCollections(pool(), "t2")).map((collection) => collection.name)).toEqual(["manuals"]);
    expect(await listCollections(pool(), "t3")).toEqual([]);
    await pool().query("DELETE FROM collections WHERE tenant = 't2'");
  });

  it("upserts chunks idempotently and searches by vector, keyword and both", async () => {
    const collection = await findCollection(pool(), "t1", "manuals");
    if (!collection) throw new Error("no collection");
    const pump = await upsertDocument(pool(), { collectionId: collection.id, externalId: "pump.md", source: "pump.md", mimeType: "text/markdown", contentHash: "c1", metadata: { area: "hydraulics" } });
    const fan = await upsertDocument(pool(), { collectionId: collection.id, externalId: "fan.md", source: "fan.md", mimeType: "text/markdown", contentHash: "c2", metadata: { area: "cooling" } });
    const pumpChunks = [chunk(0, "bleed the hydraulic pump before first use", [1, 0, 0, 0]), chunk(1, "replace the pump seal every year", [0.9, 0.1, 0, 0])];
    expect(await upsertChunks(pool(), collection.id, pump.id, pumpChunks)).toBe(2);
    expect(await upsertChunks(pool(), collection.id, pump.id, pumpChunks)).toBe(0);
    await upsertChunks(pool(), collection.id, fan.id, [chunk(0, "clean the cooling fan blades", [0, 0, 1, 0])]);
    await markDocumentReady(pool(), pump, 2, "k1");

    const vector = await searchChunks(pool(), "vector", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 2, candidates: 10, embedding: unit([1, 0.05, 0, 0]) });
    expect(vector.map((hit) => hit.text)).toEqual(["bleed the hydraulic pump before first use", "replace the pump seal every year"]);
    expect(vector[0]).toMatchObject({ documentId: "pump.md", metadata: { area: "hydraulics" }, vectorRank: 1, keywordRank: null });

    const keyword = await searchChunks(pool(), "keyword", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 5, candidates: 10, query: "How are the fans cleaned?" });
    expect(keyword.map((hit) => hit.documentId)).toEqual(["fan.md"]);

    const hybrid = await searchChunks(pool(), "hybrid", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 3, candidates: 10, embedding: unit([0, 0, 1, 0]), query: "pump seal" });
    expect(hybrid.map((hit) => hit.text)).toContain("replace the pump seal every year");
    expect(hybrid[0]?.score).toBeGreaterThan(0);

    const filtered = await searchChunks(pool(), "hybrid", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 5, candidates: 10, embedding: unit([1, 0, 0, 0]), query: "pump", filter: { area: "cooling" } });
    expect(filtered.every((hit) => hit.documentId === "fan.md")).toBe(true);
  });

  it("keeps a chunk with a dense 768-d embedding whole in its row, nothing in the TOAST table", async () => {
    const collection = await insertCollection(pool(), { tenant: "t1", name: "dense", model: "nomic-embed-text:latest", dimensions: 768, chunkTokens: 200, chunkOverlap: 20 });
    if (!collection) throw new Error("no collection");
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: "dense.md", source: "dense.md", mimeType: "text/markdown", contentHash: "d1", metadata: {} });
    // Incompressible like a real model's output (no zeros, no repeats), with a chunk-sized text.
    const dense = unit(Array.from({ length: 768 }, (_, i) => ((Math.sin(i * 12.9898 + 1) * 43758.5453) % 1) + 1.5));
    const text = Array.from({ length: 150 }, (_, i) => `word${i}`).join(" ");
    await upsertChunks(pool(), collection.id, document.id, [chunk(0, text, dense)]);
    const { rows } = await pool().query<{ toast: string; size: number }>(
      "SELECT c.reltoastrelid::regclass::text AS toast, (SELECT pg_column_size(embedding) FROM chunks WHERE document_id = $1) AS size FROM pg_class c WHERE c.relname = 'chunks'",
      [document.id],
    );
    const [row] = rows;
    if (!row) throw new Error("no chunks table");
    // 4 bytes a dimension plus headers: stored uncompressed...
    expect(row.size).toBeGreaterThanOrEqual(768 * 4);
    // ...and in the row, as are the text and its tsvector: the TOAST table holds nothing.
    const toasted = await pool().query<{ count: string }>(`SELECT count(*) AS count FROM ${row.toast}`);
    expect(Number(toasted.rows[0]?.count)).toBe(0);
    await pool().query("DELETE FROM collections WHERE id = $1", [collection.id]);
  });

  it("returns k vector hits through the HNSW index even past pgvector's default ef_search of 40", async () => {
    const collection = await insertCollection(pool(), { tenant: "t1", name: "wide", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    if (!collection) throw new Error("no collection");
    await createCollectionIndex(pool(), collection);
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: "many.md", source: null, mimeType: "text/markdown", contentHash: "m", metadata: {} });
    const chunks = Array.from({ length: 150 }, (_, i) => chunk(i, `part ${i}`, [Math.cos(i / 20), Math.sin(i / 20), (i % 7) / 7, 1]));
    await upsertChunks(pool(), collection.id, document.id, chunks);
    // A table this small would be scanned sequentially (exact, no cap); make the planner use the index.
    await pool().query("SET enable_seqscan = off");
    try {
      const input = { collectionId: collection.id, dimensions: 4, language: collection.language, k: 100, candidates: searchCandidates(100), embedding: unit([1, 0, 0, 1]) };
      const plan = await pool().query<{ "QUERY PLAN": string }>(
        `EXPLAIN SELECT id FROM chunks WHERE collection_id = ${collection.id} ORDER BY embedding::vector(4) <=> '[1,0,0,1]'::vector(4) LIMIT 400`,
      );
      expect(plan.rows.map((row) => row["QUERY PLAN"]).join("\n")).toContain(`chunks_hnsw_${collection.id}`);
      const hits = await searchChunks(pool(), "vector", input);
      expect(hits).toHaveLength(100);
      expect(new Set(hits.map((hit) => hit.chunkId)).size).toBe(100);
    } finally {
      await pool().query("RESET enable_seqscan");
    }
  });

  it("leaves terms found in too many chunks out of keyword search, by the planner's statistics", async () => {
    const collection = await insertCollection(pool(), { tenant: "t1", name: "frequent", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    if (!collection) throw new Error("no collection");
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: "press.md", source: null, mimeType: "text/markdown", contentHash: "p", metadata: {} });
    const texts = Array.from({ length: 60 }, (_, i) => (i % 20 === 0 ? `check the pump seal ${i}` : `the pump runs at station ${i}`));
    await upsertChunks(pool(), collection.id, document.id, texts.map((text, i) => chunk(i, text, [1, i / 60, 0, 0])));
    await pool().query("ANALYZE chunks");
    const search = (mode: "keyword" | "hybrid", query: string, commonTermRows?: number, matchTermRows?: number) =>
      searchChunks(pool(), mode, { collectionId: collection.id, dimensions: 4, language: collection.language, k: 10, candidates: 50, embedding: unit([1, 0, 0, 0]), query, commonTermRows, matchTermRows });

    // "pump" is in every chunk: with a threshold of 20 chunks only "seal" ranks.
    const pruned = await search("keyword", "pump seal", 20);
    expect(pruned.map((hit) => hit.text).sort()).toEqual(["check the pump seal 0", "check the pump seal 20", "check the pump seal 40"]);
    // Kept and allowed to match (thresholds above the table's size), "pump" matches every chunk and fills the list.
    expect(await search("keyword", "pump seal", 1000, 1000)).toHaveLength(10);
    // Only common terms: keyword mode requires all of them; hybrid leaves ranking to the vectors.
    expect(await search("keyword", "pump", 20)).toHaveLength(10);
    const hybrid = await search("hybrid", "pump", 20);
    expect(hybrid).toHaveLength(10);
    expect(hybrid.every((hit) => hit.keywordRank === null && hit.vectorRank !== null)).toBe(true);
  });

  it("fuses hybrid search in two concurrent statements exactly as the single statement does", async () => {
    const collection = await findCollection(pool(), "t1", "frequent");
    if (!collection) throw new Error("no collection");
    const k = 8;
    // The parallel path takes a winner's row from a list that ranks it within k, and looks up the rest after fusing: both must occur.
    const belowKInBothLists: string[] = [];
    // With every term kept, "pump station" matches every chunk in an order unlike the vectors': the winners are ranked well in both lists, not first in either.
    // The last case ranks by "pump" and "station" only the chunks "seal" matched.
    const cases = [
      ["pump seal", [1, 0, 0, 0], 50, 20],
      ["station 7 pump", [0.2, 1, 0, 0], 50, 20],
      ["check seal", [1, 0.5, 0, 0], 12, 20],
      ["nothing matches this", [0, 1, 0, 0], 50, 20],
      ["pump station", [1, 0.5, 0, 0], 50, 1000],
      ["pump seal station", [0.5, 1, 0, 0], 50, 1000, 10],
    ] as const;
    for (const [query, embedding, candidates, commonTermRows, matchTermRows] of cases) {
      const input = { collectionId: collection.id, dimensions: 4, language: collection.language, k, candidates, embedding: unit([...embedding]), query, commonTermRows, matchTermRows };
      const single = await searchChunks(pool(), "hybrid", input, { parallel: false });
      const parallel = await searchChunks(pool(), "hybrid", input, { parallel: true });
      expect(single.length, query).toBeGreaterThan(0);
      expect(parallel.map(({ score: _score, ...hit }) => hit), query).toEqual(single.map(({ score: _score, ...hit }) => hit));
      parallel.forEach((hit, i) => expect(hit.score).toBeCloseTo(single[i]?.score ?? NaN, 12));
      for (const hit of parallel) if ((hit.vectorRank ?? Infinity) > k && (hit.keywordRank ?? Infinity) > k) belowKInBothLists.push(hit.text);
    }
    expect(belowKInBothLists.length).toBeGreaterThan(0);
  });

  it("prepares one statement per distinct text, even where a name built from the options would pass PostgreSQL's 63 bytes", async () => {
    const collection = await findCollection(pool(), "t1", "frequent");
    if (!collection) throw new Error("no collection");
    // Thresholds this long made names that differ only after byte 63; PostgreSQL truncates them to the same name.
    const search = (matchTermRows: number) =>
      searchChunks(pool(), "keyword", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 10, candidates: 50, query: "pump seal", commonTermRows: Number.MAX_SAFE_INTEGER, matchTermRows }, { parallel: true });
    expect(await search(Number.MAX_SAFE_INTEGER)).toHaveLength(10);
    expect(await search(Number.MAX_SAFE_INTEGER - 1)).toHaveLength(10);
    const { rows } = await pool().query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name LIKE 'herd-search-terms-%'");
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const { name } of rows) expect(Buffer.byteLength(name)).toBeLessThan(63);
  });

  it("tells a NUL character in text or jsonb, which it cannot store, from other failures", async () => {
    // One client throughout: the test pool would replace a client whose query failed.
    const client = await pool().connect();
    const failure = (text: string, values: unknown[]) => client.query(text, values).then(() => undefined, (error: unknown) => error);
    try {
      expect(isUnstorableText(await failure("SELECT $1::text", ["a\u0000b"]))).toBe(true);
      expect(isUnstorableText(await failure("SELECT $1::jsonb", [JSON.stringify({ a: "\u0000" })]))).toBe(true);
      expect(isUnstorableText(await failure("SELECT $1::int / 0", [1]))).toBe(false);
      expect(await failure("SELECT $1::text", ["a"])).toBeUndefined();
    } finally {
      client.release();
    }
  });

  it("ranks by a common term it keeps only the chunks that a rarer term of the query matched", async () => {
    const collection = await insertCollection(pool(), { tenant: "t1", name: "stations", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    if (!collection) throw new Error("no collection");
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: "valves.md", source: null, mimeType: "text/markdown", contentHash: "v", metadata: {} });
    const texts = Array.from({ length: 60 }, (_, i) => (i % 20 !== 0 ? `the pump runs at station ${i}` : i === 40 ? `check the valve seal at the station ${i}` : `check the valve seal ${i}`));
    await upsertChunks(pool(), collection.id, document.id, texts.map((text, i) => chunk(i, text, [1, i / 60, 0, 0])));
    await pool().query("ANALYZE chunks");
    const search = (matchTermRows: number) =>
      searchChunks(pool(), "keyword", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 10, candidates: 50, query: "seal station", commonTermRows: 1000, matchTermRows });

    // "station" is in most chunks, "seal" in three: only those are ranked, and the one that also
    // says "station" comes first (the other two tie, and ties go by content hash, which puts it last).
    expect((await search(10)).map((hit) => hit.text)).toEqual(["check the valve seal at the station 40", "check the valve seal 0", "check the valve seal 20"]);
    // Allowed to match, "station" brings its chunks into the list.
    expect(await search(1000)).toHaveLength(10);
    await pool().query("DELETE FROM collections WHERE id = $1", [collection.id]);
  });

  it.runIf(server.name.startsWith("native"))("keeps the keyword index's pending list short, which every keyword search reads", async () => {
    const collection = await insertCollection(pool(), { tenant: "t1", name: "pending", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 200, chunkOverlap: 20 });
    if (!collection) throw new Error("no collection");
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: "long.md", source: null, mimeType: "text/markdown", contentHash: "l", metadata: {} });
    // 600 chunks of 60 words from 5,000: without the migration they all wait in the list (153 pages measured, 1.2 MB).
    const texts = Array.from({ length: 600 }, (_, i) => Array.from({ length: 60 }, (_, j) => `term${(i * 61 + j * 83) % 5000}x`).join(" "));
    for (let start = 0; start < texts.length; start += 100) {
      await upsertChunks(pool(), collection.id, document.id, texts.slice(start, start + 100).map((text, i) => chunk(start + i, text, [1, 0, 0, 0])));
    }
    await pool().query("CREATE EXTENSION IF NOT EXISTS pgstattuple");
    const { rows } = await pool().query<{ pending_pages: number; pending_tuples: string }>("SELECT pending_pages, pending_tuples FROM pgstatginindex('chunks_tsv')");
    // 256 kB is 32 pages; under PostgreSQL's default of 4 MB every one of these chunks would still be pending.
    expect(rows[0]?.pending_pages).toBeLessThanOrEqual(33);
    const hits = await searchChunks(pool(), "keyword", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 50, candidates: 50, query: "term61x" });
    expect(hits.map((hit) => hit.ordinal)).toContain(1);
    await pool().query("DELETE FROM collections WHERE id = $1", [collection.id]);
  });

  it("replaces a changed document's chunks and removes a deleted document's", async () => {
    const collection = await findCollection(pool(), "t1", "manuals");
    if (!collection) throw new Error("no collection");
    const pump = await upsertDocument(pool(), { collectionId: collection.id, externalId: "pump.md", source: "pump.md", mimeType: "text/markdown", contentHash: "c3", metadata: {} });
    const before = await listDocumentChunks(pool(), pump.id);
    await upsertChunks(pool(), collection.id, pump.id, [chunk(0, "bleed the hydraulic pump before first use", [1, 0, 0, 0])]);
    expect(await deleteChunksFrom(pool(), pump.id, 1)).toBe(1);
    const after = await listDocumentChunks(pool(), pump.id);
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(before[0]?.id);
    expect((await collectionFingerprint(pool(), collection.id)).map((row) => `${row.externalId}#${row.ordinal}`)).toEqual(["fan.md#0", "pump.md#0"]);
    // Queued by no ingestion, so none is left unfinished by the deletion.
    expect(await deleteDocument(pool(), collection.id, "pump.md")).toEqual({ unfinished: undefined });
    expect(await listDocumentChunks(pool(), pump.id)).toEqual([]);
    expect(await deleteDocument(pool(), collection.id, "pump.md")).toBeUndefined();
  });
});

import pg from "pg";
import { HerdClient } from "@herd/client";
import { embedText } from "@herd/ollama-emulator";
import { createCollectionIndex, searchCandidates, searchChunks, vectorLiteral, type SearchMode } from "@herd/store";
import { createTestDatabase } from "@herd/testing";
import { fmt, percentile } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";
import { TextGenerator } from "./synthetic.js";

const MODEL = "nomic-embed-text";
const EMULATED_MODEL = "nomic-embed-text:latest";
const DIMENSIONS = 768;
const CHUNKS_PER_DOCUMENT = 100;
const INSERT_BATCH = 1000;
const K = 5;
const RECALL_K = 10;

export interface SearchRow {
  path: string;
  queries: number;
  p50: number;
  p99: number;
}

export interface SearchResult {
  chunks: number;
  loadSeconds: number;
  indexSeconds: number;
  recallAt10: number;
  /** Median cosine distance of the exact 1st and 10th nearest chunk. */
  neighbourDistances: { first: number; tenth: number };
  rows: SearchRow[];
  /** Share of queries whose source chunk is among the k results, per store mode. */
  sourceFound: Record<SearchMode, number>;
}

interface Query {
  text: string;
  embedding: number[];
  /** The chunk the query's words were taken from. */
  sourceId: number;
}

/** Loads `total` chunks of synthetic manual text with their 768-d embeddings, without the index. */
async function load(pool: pg.Pool, collectionId: number, total: number, text: TextGenerator): Promise<void> {
  for (let start = 0; start < total; start += INSERT_BATCH) {
    const count = Math.min(INSERT_BATCH, total - start);
    const docs = await pool.query<{ id: string }>(
      `INSERT INTO documents (collection_id, external_id, mime_type, content_hash, status)
       SELECT $1, 'manual-' || n, 'text/markdown', 'h' || n, 'ready' FROM generate_series($2::int, $3::int) AS n
       ON CONFLICT (collection_id, external_id) DO UPDATE SET status = 'ready' RETURNING id`,
      [collectionId, Math.floor(start / CHUNKS_PER_DOCUMENT), Math.floor((start + count - 1) / CHUNKS_PER_DOCUMENT)],
    );
    const texts = Array.from({ length: count }, () => text.paragraph(5));
    const documentIds = texts.map((_, i) => docs.rows[Math.floor((start + i) / CHUNKS_PER_DOCUMENT) - Math.floor(start / CHUNKS_PER_DOCUMENT)]?.id);
    await pool.query(
      `INSERT INTO chunks (collection_id, document_id, ordinal, heading, text, token_count, content_hash, embedding)
       SELECT $1, c.document_id, c.ordinal, NULL, c.text, 0, md5(c.text), c.embedding
         FROM unnest($2::bigint[], $3::int[], $4::text[], $5::vector[]) AS c (document_id, ordinal, text, embedding)`,
      [
        collectionId,
        documentIds,
        texts.map((_, i) => (start + i) % CHUNKS_PER_DOCUMENT),
        texts,
        texts.map((chunk) => vectorLiteral(embedText(chunk, EMULATED_MODEL, DIMENSIONS))),
      ],
    );
  }
}

async function timeEach<T>(items: readonly T[], run: (item: T) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (const item of items) {
    const started = performance.now();
    await run(item);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

function row(path: string, latencies: number[]): SearchRow {
  return { path, queries: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Exact nearest neighbours by a full scan: the ground truth for recall and the no-index baseline. */
async function exactTopK(pool: pg.Pool, collectionId: number, query: Query, k: number): Promise<Array<{ id: number; distance: number }>> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN; SET LOCAL enable_indexscan = off");
    const { rows } = await client.query<{ id: string; distance: number }>(
      `SELECT id, embedding::vector(${DIMENSIONS}) <=> $1::vector(${DIMENSIONS}) AS distance FROM chunks WHERE collection_id = ${Math.trunc(collectionId)} ORDER BY embedding::vector(${DIMENSIONS}) <=> $1::vector(${DIMENSIONS}) LIMIT $2`,
      [vectorLiteral(query.embedding), k],
    );
    await client.query("COMMIT");
    return rows.map((entry) => ({ id: Number(entry.id), distance: Number(entry.distance) }));
  } finally {
    client.release();
  }
}

export async function searchScenario(redisUrl: string, prefix: string, adminUrl: string, total: number, queryCount: number): Promise<SearchResult> {
  const database = await createTestDatabase("bench_search", adminUrl);
  const emulator = await startEmulator(["--instances", "1", "--latency", "zero"]);
  const herd = await startHerd([{ url: emulator.urls[0] ?? "", name: "emu-0" }], prefix, redisUrl, { DATABASE_URL: database.url });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    const client = new HerdClient({ baseUrl: herd.url });
    await client.createCollection({ name: "search", model: MODEL });
    const collectionId = Number((await pool.query<{ id: string }>("SELECT id FROM collections WHERE name = 'search'")).rows[0]?.id);
    // Bulk loads build the HNSW graph once at the end, as pgvector recommends, instead of row by row.
    await pool.query(`DROP INDEX chunks_hnsw_${collectionId}`);
    const text = new TextGenerator(11);
    const loadStarted = performance.now();
    await load(pool, collectionId, total, text);
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const indexStarted = performance.now();
    const admin = await pool.connect();
    try {
      await admin.query("SET maintenance_work_mem = '2GB'");
      await createCollectionIndex(admin, { id: collectionId, dimensions: DIMENSIONS });
      await admin.query("ANALYZE chunks");
    } finally {
      admin.release();
    }
    const indexSeconds = (performance.now() - indexStarted) / 1000;

    const step = Math.max(1, Math.floor(total / queryCount));
    const sources = await pool.query<{ id: string; text: string }>("SELECT id, text FROM chunks WHERE collection_id = $1 AND id % $2 = 0 ORDER BY id LIMIT $3", [collectionId, step, queryCount]);
    const queries: Query[] = sources.rows.map((source) => {
      const query = text.queryFrom(source.text);
      return { text: query, embedding: embedText(query, EMULATED_MODEL, DIMENSIONS), sourceId: Number(source.id) };
    });
    const store = (mode: SearchMode, k = K) => (query: Query) =>
      searchChunks(pool, mode, { collectionId, dimensions: DIMENSIONS, language: "english", k, candidates: searchCandidates(k), embedding: query.embedding, query: query.text });

    const rows: SearchRow[] = [];
    const sourceFound = { vector: 0, keyword: 0, hybrid: 0 };
    for (const [mode, label] of [["vector", "store: vector (HNSW)"], ["keyword", "store: keyword (GIN full text)"], ["hybrid", "store: hybrid (RRF of both)"]] as const) {
      await timeEach(queries.slice(0, 20), store(mode));
      let found = 0;
      rows.push(row(label, await timeEach(queries, async (query) => {
        if ((await store(mode)(query)).some((hit) => hit.chunkId === query.sourceId)) found += 1;
      })));
      sourceFound[mode] = found / queries.length;
    }
    const unpruned = queries.slice(0, Math.min(50, queries.length));
    const keepEveryTerm = (query: Query) =>
      searchChunks(pool, "keyword", { collectionId, dimensions: DIMENSIONS, language: "english", k: K, candidates: searchCandidates(K), query: query.text, commonTermRows: Number.MAX_SAFE_INTEGER });
    rows.push(row("baseline: keyword keeping every query term (no frequency pruning)", await timeEach(unpruned, keepEveryTerm)));
    const exactQueries = queries.slice(0, Math.min(50, queries.length));
    const truth = new Map<Query, Array<{ id: number; distance: number }>>();
    rows.push(row("baseline: exact vector scan (no index)", await timeEach(exactQueries, async (query) => truth.set(query, await exactTopK(pool, collectionId, query, RECALL_K)))));
    let found = 0;
    for (const query of exactQueries) {
      const hits = new Set((await store("vector", RECALL_K)(query)).map((hit) => hit.chunkId));
      found += (truth.get(query) ?? []).filter((neighbour) => hits.has(neighbour.id)).length;
    }

    const api = (query: Query) => client.search("search", query.text, { k: K });
    rows.push(row("API: POST …/search (hybrid), query embedded through the queue", await timeEach(queries, api)));
    rows.push(row("API: same queries again, query embedding from the cache", await timeEach(queries, api)));
    const nearest = [...truth.values()].map((list) => list[0]?.distance ?? Number.NaN);
    const tenth = [...truth.values()].map((list) => list.at(-1)?.distance ?? Number.NaN);
    return {
      chunks: total,
      loadSeconds,
      indexSeconds,
      recallAt10: found / (exactQueries.length * RECALL_K),
      neighbourDistances: { first: percentile(nearest, 50), tenth: percentile(tenth, 50) },
      rows,
      sourceFound,
    };
  } finally {
    await pool.end();
    await herd.stop();
    await emulator.proc.stop();
    await database.drop();
  }
}

export function searchTable(result: SearchResult): string {
  const lines = ["| path | queries | p50 | p99 |", "|---|---:|---:|---:|"];
  for (const entry of result.rows) lines.push(`| ${entry.path} | ${entry.queries} | ${fmt(entry.p50, 2)} ms | ${fmt(entry.p99, 2)} ms |`);
  return lines.join("\n");
}

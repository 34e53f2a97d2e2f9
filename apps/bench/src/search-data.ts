import pg from "pg";
import { HerdClient } from "@herd/client";
import { embedText } from "@herd/ollama-emulator";
import { createCollectionIndex, vectorLiteral } from "@herd/store";
import { TextGenerator } from "./synthetic.js";

// The search benchmark's collection: synthetic manual text, loaded straight into PostgreSQL.

export const MODEL = "nomic-embed-text";
export const EMULATED_MODEL = "nomic-embed-text:latest";
export const DIMENSIONS = 768;
const CHUNKS_PER_DOCUMENT = 100;
const INSERT_BATCH = 1000;

export interface Query {
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

export interface Loaded {
  collectionId: number;
  loadSeconds: number;
  indexSeconds: number;
  queries: Query[];
}

/** Creates the collection through Herd, loads `total` chunks and builds its index. */
export async function prepare(pool: pg.Pool, herdUrl: string, total: number, queryCount: number): Promise<Loaded> {
  await new HerdClient({ baseUrl: herdUrl }).createCollection({ name: "search", model: MODEL });
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
  const queries = sources.rows.map((source) => {
    const query = text.queryFrom(source.text);
    return { text: query, embedding: embedText(query, EMULATED_MODEL, DIMENSIONS), sourceId: Number(source.id) };
  });
  return { collectionId, loadSeconds, indexSeconds, queries };
}


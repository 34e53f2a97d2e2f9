import type { CollectionView } from "@herd/jobs";
import type pg from "pg";
import { inTransaction, type Queryable } from "../database.js";
import type { UnfinishedIngestion } from "./documents.js";
import { indexedType, vectorIndexFor } from "./vector-index.js";

/** A collection row: the public view plus the surrogate key chunks and documents reference. */
export interface Collection extends Omit<CollectionView, "documents" | "chunks"> {
  id: number;
  /** The tenant that owns it (the API key's); every lookup is scoped to one. */
  tenant: string;
}

interface CollectionRow {
  id: string;
  tenant: string;
  name: string;
  model: string;
  dimensions: number;
  chunk_tokens: number;
  chunk_overlap: number;
  /** regconfig, which the driver reads as its name ("english"). */
  language: string;
  query_prefix: string;
  document_prefix: string;
  created_at: Date;
}

const COLUMNS = "id, tenant, name, model, dimensions, chunk_tokens, chunk_overlap, language, query_prefix, document_prefix, created_at";

function toCollection(row: CollectionRow): Collection {
  return {
    id: Number(row.id),
    tenant: row.tenant,
    name: row.name,
    model: row.model,
    dimensions: row.dimensions,
    chunkTokens: row.chunk_tokens,
    chunkOverlap: row.chunk_overlap,
    language: row.language,
    queryPrefix: row.query_prefix,
    documentPrefix: row.document_prefix,
    vectorIndex: vectorIndexFor(row.dimensions),
    createdAt: row.created_at.toISOString(),
  };
}

/** The text search configurations (collection languages) this database has, by name. */
export async function textSearchLanguages(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>("SELECT cfgname AS name FROM pg_ts_config ORDER BY cfgname");
  return rows.map((row) => row.name);
}

/** Creates a collection (language "english" and no prefixes unless given), or returns undefined when the tenant already has one of that name. */
export async function insertCollection(
  db: Queryable,
  input: Omit<Collection, "id" | "createdAt" | "language" | "vectorIndex" | "queryPrefix" | "documentPrefix"> & { language?: string; queryPrefix?: string; documentPrefix?: string },
): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(
    `INSERT INTO collections (tenant, name, model, dimensions, chunk_tokens, chunk_overlap, language, query_prefix, document_prefix) VALUES ($1, $2, $3, $4, $5, $6, $7::regconfig, $8, $9)
     ON CONFLICT (tenant, name) DO NOTHING RETURNING ${COLUMNS}`,
    [input.tenant, input.name, input.model, input.dimensions, input.chunkTokens, input.chunkOverlap, input.language ?? "english", input.queryPrefix ?? "", input.documentPrefix ?? ""],
  );
  return rows[0] ? toCollection(rows[0]) : undefined;
}

/**
 * Each collection has its own HNSW index over its rows, on the embedding cast to the
 * collection's dimension (one untyped column serves collections of every size), in half
 * precision past HNSW's 2,000 dimensions, none past 4,000 (see vector-index.ts). The two
 * integers come from the database row, never from a client.
 */
export async function createCollectionIndex(db: Queryable, collection: Pick<Collection, "id" | "dimensions">): Promise<void> {
  const id = Math.trunc(collection.id);
  const indexed = indexedType(collection.dimensions);
  if (!indexed) return;
  await db.query(`CREATE INDEX IF NOT EXISTS chunks_hnsw_${id} ON chunks USING hnsw ((embedding::${indexed.type}) ${indexed.operators}) WHERE collection_id = ${id}`);
}

/** A collection and its index, both or neither: a failed index would leave a collection its creator cannot create again. */
export async function createCollection(pool: pg.Pool, input: Parameters<typeof insertCollection>[1]): Promise<Collection | undefined> {
  return inTransaction(pool, async (client) => {
    const collection = await insertCollection(client, input);
    if (collection) await createCollectionIndex(client, collection);
    return collection;
  });
}

export async function findCollection(db: Queryable, tenant: string, name: string): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(`SELECT ${COLUMNS} FROM collections WHERE tenant = $1 AND name = $2`, [tenant, name]);
  return rows[0] ? toCollection(rows[0]) : undefined;
}

export async function listCollections(db: Queryable, tenant: string): Promise<Array<Collection & { documents: number; chunks: number }>> {
  const { rows } = await db.query<CollectionRow & { documents: string; chunks: string }>(
    `SELECT c.${COLUMNS.split(", ").join(", c.")},
            (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS documents,
            (SELECT count(*) FROM chunks k WHERE k.collection_id = c.id) AS chunks
       FROM collections c WHERE c.tenant = $1 ORDER BY c.name`,
    [tenant],
  );
  return rows.map((row) => ({ ...toCollection(row), documents: Number(row.documents), chunks: Number(row.chunks) }));
}

/**
 * Deletes the tenant's collection of that name with its documents, their contents and chunks (the
 * foreign keys cascade) and its HNSW index, in one transaction: a failure leaves all of it. Returns
 * what it held, with the documents an ingestion was still working on, or undefined when there is
 * no such collection. The index's DROP takes a short
 * exclusive lock on the chunks table, so searches of every collection wait for it.
 */
export async function deleteCollection(pool: pg.Pool, tenant: string, name: string): Promise<{ documents: number; chunks: number; unfinished: UnfinishedIngestion[] } | undefined> {
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: string; documents: string; chunks: string; unfinished: Array<{ id: number; ingestion_id: string }> | null }>(
      `WITH gone AS (DELETE FROM collections WHERE tenant = $1 AND name = $2 RETURNING id)
       SELECT gone.id,
              (SELECT count(*) FROM documents d WHERE d.collection_id = gone.id) AS documents,
              (SELECT count(*) FROM chunks k WHERE k.collection_id = gone.id) AS chunks,
              (SELECT json_agg(json_build_object('id', d.id, 'ingestion_id', d.ingestion_id))
                 FROM documents d
                WHERE d.collection_id = gone.id AND d.status = 'pending' AND d.ingestion_id IS NOT NULL) AS unfinished
         FROM gone`,
      [tenant, name],
    );
    const row = rows[0];
    if (!row) return undefined;
    await db.query(`DROP INDEX IF EXISTS chunks_hnsw_${Math.trunc(Number(row.id))}`);
    const unfinished = (row.unfinished ?? []).map((document) => ({ documentId: Number(document.id), ingestionId: document.ingestion_id }));
    return { documents: Number(row.documents), chunks: Number(row.chunks), unfinished };
  });
}

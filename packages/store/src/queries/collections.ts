import type { CollectionView } from "@herd/jobs";
import type { Queryable } from "../database.js";

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
  created_at: Date;
}

const COLUMNS = "id, tenant, name, model, dimensions, chunk_tokens, chunk_overlap, created_at";

function toCollection(row: CollectionRow): Collection {
  return {
    id: Number(row.id),
    tenant: row.tenant,
    name: row.name,
    model: row.model,
    dimensions: row.dimensions,
    chunkTokens: row.chunk_tokens,
    chunkOverlap: row.chunk_overlap,
    createdAt: row.created_at.toISOString(),
  };
}

/** Creates a collection, or returns undefined when the tenant already has one of that name. */
export async function insertCollection(db: Queryable, input: Omit<Collection, "id" | "createdAt">): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(
    `INSERT INTO collections (tenant, name, model, dimensions, chunk_tokens, chunk_overlap) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant, name) DO NOTHING RETURNING ${COLUMNS}`,
    [input.tenant, input.name, input.model, input.dimensions, input.chunkTokens, input.chunkOverlap],
  );
  return rows[0] ? toCollection(rows[0]) : undefined;
}

/**
 * Each collection has its own HNSW index over its rows, on the embedding cast to the
 * collection's dimension (one untyped column serves collections of every size). The two integers
 * come from the database row, never from a client.
 */
export async function createCollectionIndex(db: Queryable, collection: Pick<Collection, "id" | "dimensions">): Promise<void> {
  const id = Math.trunc(collection.id);
  const dimensions = Math.trunc(collection.dimensions);
  await db.query(
    `CREATE INDEX IF NOT EXISTS chunks_hnsw_${id} ON chunks USING hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) WHERE collection_id = ${id}`,
  );
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

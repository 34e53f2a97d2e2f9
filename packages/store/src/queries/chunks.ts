import type { Queryable } from "../database.js";

export interface ChunkInput {
  ordinal: number;
  heading: string | null;
  text: string;
  tokenCount: number;
  contentHash: string;
  embedding: number[];
}

export function vectorLiteral(vector: readonly number[]): string {
  return `[${vector.join(",")}]`;
}

/**
 * Upserts a document's chunks by position: an unchanged chunk (same content hash) is left alone,
 * a changed one is rewritten, so running this twice — a retried step — changes nothing.
 */
export async function upsertChunks(db: Queryable, collectionId: number, documentId: number, chunks: readonly ChunkInput[]): Promise<number> {
  if (chunks.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO chunks (collection_id, document_id, ordinal, heading, text, token_count, content_hash, embedding)
     SELECT $1, $2, c.ordinal, c.heading, c.text, c.token_count, c.content_hash, c.embedding
       FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::vector[])
            AS c (ordinal, heading, text, token_count, content_hash, embedding)
     ON CONFLICT (document_id, ordinal) DO UPDATE SET
       heading = EXCLUDED.heading, text = EXCLUDED.text, token_count = EXCLUDED.token_count,
       content_hash = EXCLUDED.content_hash, embedding = EXCLUDED.embedding
     WHERE chunks.content_hash IS DISTINCT FROM EXCLUDED.content_hash`,
    [
      collectionId,
      documentId,
      chunks.map((chunk) => chunk.ordinal),
      chunks.map((chunk) => chunk.heading),
      chunks.map((chunk) => chunk.text),
      chunks.map((chunk) => chunk.tokenCount),
      chunks.map((chunk) => chunk.contentHash),
      chunks.map((chunk) => vectorLiteral(chunk.embedding)),
    ],
  );
  return rowCount ?? 0;
}

/** Removes chunks past the document's new length (it got shorter). */
export async function deleteChunksFrom(db: Queryable, documentId: number, fromOrdinal: number): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM chunks WHERE document_id = $1 AND ordinal >= $2", [documentId, fromOrdinal]);
  return rowCount ?? 0;
}

export interface StoredChunk {
  id: number;
  documentId: number;
  ordinal: number;
  heading: string | null;
  text: string;
  tokenCount: number;
  contentHash: string;
}

export async function listDocumentChunks(db: Queryable, documentId: number): Promise<StoredChunk[]> {
  const { rows } = await db.query<{ id: string; document_id: string; ordinal: number; heading: string | null; text: string; token_count: number; content_hash: string }>(
    "SELECT id, document_id, ordinal, heading, text, token_count, content_hash FROM chunks WHERE document_id = $1 ORDER BY ordinal",
    [documentId],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    documentId: Number(row.document_id),
    ordinal: row.ordinal,
    heading: row.heading,
    text: row.text,
    tokenCount: row.token_count,
    contentHash: row.content_hash,
  }));
}

/** Content of a collection's chunks, for comparing two ingestion runs. */
export async function collectionFingerprint(db: Queryable, collectionId: number): Promise<Array<{ externalId: string; ordinal: number; contentHash: string; embedding: string }>> {
  const { rows } = await db.query<{ external_id: string; ordinal: number; content_hash: string; embedding: string }>(
    `SELECT d.external_id, c.ordinal, c.content_hash, c.embedding::text AS embedding
       FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE c.collection_id = $1 ORDER BY d.external_id, c.ordinal`,
    [collectionId],
  );
  return rows.map((row) => ({ externalId: row.external_id, ordinal: row.ordinal, contentHash: row.content_hash, embedding: row.embedding }));
}

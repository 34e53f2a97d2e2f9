import type { Queryable } from "../database.js";
import type { DocumentStatus } from "./documents.js";

/** A document still pending, with what it takes to queue its ingest job again. */
export interface PendingDocument {
  id: number;
  collectionId: number;
  externalId: string;
  contentHash: string;
  /** Null for rows written before ingestions were recorded on documents. */
  ingestionId: string | null;
  collection: { name: string; tenant: string; model: string; dimensions: number; chunkTokens: number; chunkOverlap: number; documentPrefix: string };
}

interface PendingRow {
  id: string;
  collection_id: string;
  external_id: string;
  content_hash: string;
  ingestion_id: string | null;
  name: string;
  tenant: string;
  model: string;
  dimensions: number;
  chunk_tokens: number;
  chunk_overlap: number;
  document_prefix: string;
}

/**
 * One page (by id, after `afterId`) of documents pending for longer than `olderThanMs`: an
 * upload's documents are pending until their ingest job stores them, so these are the ones whose
 * job may be gone. Walking by id reaches every one, however many are legitimately still queued.
 */
export async function findStalePendingDocuments(db: Queryable, options: { olderThanMs: number; afterId: number; limit: number }): Promise<PendingDocument[]> {
  const { rows } = await db.query<PendingRow>(
    `SELECT d.id, d.collection_id, d.external_id, d.content_hash, d.ingestion_id,
            c.name, c.tenant, c.model, c.dimensions, c.chunk_tokens, c.chunk_overlap, c.document_prefix
       FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.status = 'pending' AND d.id > $1 AND d.updated_at < now() - make_interval(secs => $2)
      ORDER BY d.id LIMIT $3`,
    [options.afterId, options.olderThanMs / 1000, options.limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    collectionId: Number(row.collection_id),
    externalId: row.external_id,
    contentHash: row.content_hash,
    ingestionId: row.ingestion_id,
    collection: { name: row.name, tenant: row.tenant, model: row.model, dimensions: row.dimensions, chunkTokens: row.chunk_tokens, chunkOverlap: row.chunk_overlap, documentPrefix: row.document_prefix },
  }));
}

/**
 * Records `ingestionId` on a pending document that has none (a row from before ingestions were
 * recorded). False when the row changed meanwhile (uploaded again, stored, deleted).
 */
export async function adoptPendingDocument(db: Queryable, documentId: number, ingestionId: string): Promise<boolean> {
  const { rowCount } = await db.query("UPDATE documents SET ingestion_id = $2 WHERE id = $1 AND status = 'pending' AND ingestion_id IS NULL", [documentId, ingestionId]);
  return (rowCount ?? 0) > 0;
}

/**
 * Fails a document whose ingest job failed for good, unless it was uploaded again (another
 * ingestion) or finished meanwhile. False when it did not apply.
 */
export async function failPendingDocument(db: Queryable, documentId: number, ingestionId: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    "UPDATE documents SET status = 'failed', error = $3, updated_at = now() WHERE id = $1 AND ingestion_id = $2 AND status = 'pending'",
    [documentId, ingestionId, error.slice(0, 2000)],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Fails every document an ingestion still has pending, with `error` (a canceled ingestion): the
 * ones it finished, and the ones a later upload took over, stay as they are. Returns the failed
 * documents.
 */
export async function failIngestionDocuments(db: Queryable, ingestionId: string, error: string): Promise<Array<{ documentId: number; externalId: string }>> {
  const { rows } = await db.query<{ id: string; external_id: string }>(
    "UPDATE documents SET status = 'failed', error = $2, updated_at = now() WHERE ingestion_id = $1 AND status = 'pending' RETURNING id, external_id",
    [ingestionId, error.slice(0, 2000)],
  );
  return rows.map((row) => ({ documentId: Number(row.id), externalId: row.external_id }));
}

/** Where each document an ingestion queued stands now, for rebuilding its progress record. */
export async function ingestionDocuments(db: Queryable, ingestionId: string): Promise<Array<{ externalId: string; status: DocumentStatus; chunkCount: number; error: string | null; warnings: string[] }>> {
  const { rows } = await db.query<{ external_id: string; status: DocumentStatus; chunk_count: number; error: string | null; warnings: string[] }>(
    "SELECT external_id, status, chunk_count, error, warnings FROM documents WHERE ingestion_id = $1 ORDER BY id",
    [ingestionId],
  );
  return rows.map((row) => ({ externalId: row.external_id, status: row.status, chunkCount: row.chunk_count, error: row.error, warnings: row.warnings }));
}

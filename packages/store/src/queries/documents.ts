import type { Queryable } from "../database.js";

export type DocumentStatus = "pending" | "ready" | "failed";

export interface DocumentRecord {
  id: number;
  collectionId: number;
  externalId: string;
  source: string | null;
  mimeType: string;
  contentHash: string;
  metadata: Record<string, unknown>;
  status: DocumentStatus;
  error: string | null;
  /** See DocumentView.warnings. */
  warnings: string[];
  chunkCount: number;
  chunkedHash: string | null;
}

interface DocumentRow {
  id: string;
  collection_id: string;
  external_id: string;
  source: string | null;
  mime_type: string;
  content_hash: string;
  metadata: Record<string, unknown>;
  status: DocumentStatus;
  error: string | null;
  warnings: string[];
  chunk_count: number;
  chunked_hash: string | null;
}

const COLUMNS = "id, collection_id, external_id, source, mime_type, content_hash, metadata, status, error, warnings, chunk_count, chunked_hash";

function toDocument(row: DocumentRow): DocumentRecord {
  return {
    id: Number(row.id),
    collectionId: Number(row.collection_id),
    externalId: row.external_id,
    source: row.source,
    mimeType: row.mime_type,
    contentHash: row.content_hash,
    metadata: row.metadata,
    status: row.status,
    error: row.error,
    warnings: row.warnings,
    chunkCount: row.chunk_count,
    chunkedHash: row.chunked_hash,
  };
}

export type DocumentUpsert = Pick<DocumentRecord, "collectionId" | "externalId" | "source" | "mimeType" | "contentHash" | "metadata"> & {
  /** The ingestion queuing it (its ingest job's id derives from it; see findStalePendingDocuments). */
  ingestionId?: string;
};

/** A document some ingestion was still working on (its ingest job's id derives from the pair). */
export interface UnfinishedIngestion {
  documentId: number;
  ingestionId: string;
}

export interface UpsertedDocument extends DocumentRecord {
  /**
   * The ingestion whose work on this document the upsert made useless: it was still pending,
   * with other content. Null when there was none (a new document, one already ready or failed,
   * or the same bytes again, which that ingestion still stores correctly).
   */
  replacedIngestionId: string | null;
}

/**
 * Creates or updates a document row. It becomes pending (to be chunked and embedded) unless the
 * same content, of the same type, is already ready. Existing chunks stay in place (and
 * searchable) until the new ones replace them in one transaction.
 */
export async function upsertDocument(db: Queryable, input: DocumentUpsert): Promise<UpsertedDocument> {
  // A statement of its own: a row locked in the upsert's WITH would be read after the upsert has
  // changed it, and skipped. In the caller's transaction, FOR UPDATE makes a concurrent upload of
  // the same document wait, so each upload replaces the ingestion queued just before it.
  const previous = await db.query<{ ingestion_id: string | null; status: DocumentStatus; content_hash: string }>(
    "SELECT ingestion_id, status, content_hash FROM documents WHERE collection_id = $1 AND external_id = $2 FOR UPDATE",
    [input.collectionId, input.externalId],
  );
  const { rows } = await db.query<DocumentRow>(
    `INSERT INTO documents (collection_id, external_id, source, mime_type, content_hash, metadata, status, ingestion_id)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
     ON CONFLICT (collection_id, external_id) DO UPDATE SET
       source = EXCLUDED.source, mime_type = EXCLUDED.mime_type, content_hash = EXCLUDED.content_hash,
       metadata = EXCLUDED.metadata, updated_at = now(), ingestion_id = EXCLUDED.ingestion_id,
       -- The same bytes, parsed the same way, stay ready: their chunks and vectors are still right
       -- (metadata is not part of them), so the ingest step finds nothing to do.
       status = CASE WHEN documents.status = 'ready' AND documents.content_hash = EXCLUDED.content_hash
                      AND documents.mime_type = EXCLUDED.mime_type THEN 'ready' ELSE 'pending' END,
       warnings = CASE WHEN documents.status = 'ready' AND documents.content_hash = EXCLUDED.content_hash
                        AND documents.mime_type = EXCLUDED.mime_type THEN documents.warnings ELSE '{}' END,
       error = NULL
     RETURNING ${COLUMNS}`,
    [input.collectionId, input.externalId, input.source, input.mimeType, input.contentHash, JSON.stringify(input.metadata), input.ingestionId ?? null],
  );
  const before = previous.rows[0];
  const replaced = before?.status === "pending" && before.content_hash !== input.contentHash && before.ingestion_id !== (input.ingestionId ?? null);
  return { ...toDocument(rows[0] as DocumentRow), replacedIngestionId: replaced ? before.ingestion_id : null };
}

export async function saveDocumentContent(db: Queryable, documentId: number, body: Buffer): Promise<void> {
  await db.query(
    `INSERT INTO document_contents (document_id, body) VALUES ($1, $2)
     ON CONFLICT (document_id) DO UPDATE SET body = EXCLUDED.body`,
    [documentId, body],
  );
}

export async function loadDocumentContent(db: Queryable, documentId: number): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ body: Buffer }>("SELECT body FROM document_contents WHERE document_id = $1", [documentId]);
  return rows[0]?.body;
}

export async function findDocument(db: Queryable, documentId: number): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(`SELECT ${COLUMNS} FROM documents WHERE id = $1`, [documentId]);
  return rows[0] ? toDocument(rows[0]) : undefined;
}

export async function findDocumentByExternalId(db: Queryable, collectionId: number, externalId: string): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(`SELECT ${COLUMNS} FROM documents WHERE collection_id = $1 AND external_id = $2`, [collectionId, externalId]);
  return rows[0] ? toDocument(rows[0]) : undefined;
}

/** The version of a document an ingest step works on: its row, holding the content it read. */
export type DocumentVersion = Pick<DocumentRecord, "id" | "contentHash">;

/**
 * Marks a document failed, if it still holds that content. False when it does not (deleted, or
 * uploaded again with other content): the failure is no longer its own.
 */
export async function markDocumentFailed(db: Queryable, document: DocumentVersion, error: string): Promise<boolean> {
  const { rowCount } = await db.query("UPDATE documents SET status = 'failed', error = $3, warnings = '{}', updated_at = now() WHERE id = $1 AND content_hash = $2", [
    document.id,
    document.contentHash,
    error.slice(0, 2000),
  ]);
  return (rowCount ?? 0) > 0;
}

/**
 * Marks a document ready with the chunks it now has and what they were built from, if it still
 * holds that content and was not failed meanwhile (its ingestion canceled). False otherwise: the
 * caller rolls its chunks back.
 */
export async function markDocumentReady(db: Queryable, document: DocumentVersion, chunkCount: number, chunkedHash: string, warnings: readonly string[] = []): Promise<boolean> {
  const { rowCount } = await db.query(
    "UPDATE documents SET status = 'ready', error = NULL, warnings = $5, chunk_count = $3, chunked_hash = $4, updated_at = now() WHERE id = $1 AND content_hash = $2 AND status <> 'failed'",
    [document.id, document.contentHash, chunkCount, chunkedHash, warnings.map((warning) => warning.slice(0, 2000))],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Deletes a document; its content and chunks go with it (ON DELETE CASCADE). Undefined when there
 * was none; otherwise the ingestion that was still working on it, if any.
 */
export async function deleteDocument(db: Queryable, collectionId: number, externalId: string): Promise<{ unfinished: UnfinishedIngestion | undefined } | undefined> {
  const { rows } = await db.query<{ id: string; ingestion_id: string | null; status: DocumentStatus }>(
    "DELETE FROM documents WHERE collection_id = $1 AND external_id = $2 RETURNING id, ingestion_id, status",
    [collectionId, externalId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { unfinished: row.status === "pending" && row.ingestion_id !== null ? { documentId: Number(row.id), ingestionId: row.ingestion_id } : undefined };
}

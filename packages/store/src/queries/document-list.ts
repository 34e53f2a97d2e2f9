import type { DocumentView } from "@herd/jobs";
import type { Queryable } from "../database.js";
import type { DocumentStatus } from "./documents.js";

export interface DocumentPage {
  /** Only documents in this state. */
  status?: DocumentStatus | undefined;
  /** Only documents whose id sorts after this one (the last id of the previous page). */
  after?: string | undefined;
  limit: number;
}

interface ListedRow {
  external_id: string;
  status: DocumentStatus;
  ingestion_id: string | null;
  error: string | null;
  warnings: string[];
  chunk_count: number;
  mime_type: string;
  source: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const LISTED = "external_id, status, ingestion_id, error, warnings, chunk_count, mime_type, source, metadata, created_at, updated_at";

function toView(row: ListedRow): DocumentView {
  return {
    id: row.external_id,
    status: row.status,
    ingestionId: row.ingestion_id,
    error: row.error,
    warnings: row.warnings,
    chunks: row.chunk_count,
    mimeType: row.mime_type,
    source: row.source,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * A page of a collection's documents in id order. Pages are keyed by the last id (the unique
 * index on collection and id serves both the order and the seek), so a page costs the same
 * however deep into the collection it is, and documents added meanwhile neither repeat nor shift
 * the ones after them.
 */
export async function listDocuments(db: Queryable, collectionId: number, page: DocumentPage): Promise<DocumentView[]> {
  const { rows } = await db.query<ListedRow>(
    `SELECT ${LISTED} FROM documents
      WHERE collection_id = $1 AND ($2::text IS NULL OR status = $2::text) AND ($3::text IS NULL OR external_id > $3::text)
      ORDER BY external_id LIMIT $4::int`,
    [collectionId, page.status ?? null, page.after ?? null, page.limit],
  );
  return rows.map(toView);
}

export async function findDocumentView(db: Queryable, collectionId: number, externalId: string): Promise<DocumentView | undefined> {
  const { rows } = await db.query<ListedRow>(`SELECT ${LISTED} FROM documents WHERE collection_id = $1 AND external_id = $2`, [collectionId, externalId]);
  return rows[0] ? toView(rows[0]) : undefined;
}

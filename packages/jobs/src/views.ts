import type { RetrievalDegraded } from "./payloads.js";
import type { JobFailure } from "./failures.js";
import type { JobKind } from "./models.js";

export type JobStatus = "queued" | "running" | "completed" | "failed" | "canceled";

/** The body of GET /v1/jobs/:id; also what a cache hit returns (with `id: null`). */
export interface JobView {
  id: string | null;
  type: JobKind;
  model: string;
  status: JobStatus;
  result?: unknown;
  error?: { code: string; message: string };
  attempts: number;
  instance?: string;
  cached?: boolean;
  timings: { queuedMs: number; runMs: number; totalMs: number };
}

/** Maps a BullMQ state to the public status. */
export function statusFromState(state: string): JobStatus | undefined {
  switch (state) {
    case "waiting":
    case "prioritized":
    case "delayed":
    case "waiting-children":
      return "queued";
    case "active":
      return "running";
    case "completed":
      return "completed";
    case "failed":
      return "failed";
    default:
      return undefined;
  }
}

export function failureToError(failure: JobFailure): { code: string; message: string } {
  return { code: failure.code, message: failure.message };
}

/*
 * Wire shapes of the collection, ingestion and search endpoints. They live here, beside
 * JobView, so the API, the store and @herd/client share one definition of what goes over HTTP.
 */

/** A collection as GET /v1/collections returns it (counts only on the single-collection read). */
export interface CollectionView {
  name: string;
  model: string;
  dimensions: number;
  chunkTokens: number;
  chunkOverlap: number;
  /** The PostgreSQL text search configuration keyword search stems with ("english", "german", "simple"…). */
  language: string;
  /** Put before each search query's text when it is embedded ("search_query: " for nomic-embed-text), "" for none. */
  queryPrefix: string;
  /** Put before each chunk's text when it is embedded ("search_document: " for nomic-embed-text), "" for none. */
  documentPrefix: string;
  /**
   * How vector search finds candidates: an HNSW index (up to 2,000 dimensions), one in half
   * precision (up to 4,000), or none (larger): every search then ranks all the collection's chunks.
   */
  vectorIndex: "hnsw" | "hnsw_halfvec" | "none";
  createdAt: string;
  documents?: number;
  chunks?: number;
}

/** A stored document as GET /v1/collections/:name/documents[/:id] returns it: the durable record of its ingestion. */
export interface DocumentView {
  /** The document id it was uploaded under (a file's path, or the id given). */
  id: string;
  /** pending: queued or being ingested; ready: its chunks are searchable; failed: see error. */
  status: "pending" | "ready" | "failed";
  /** The ingestion of its latest upload (GET or DELETE /v1/ingestions/:id); null for documents stored before ingestions were recorded. */
  ingestionId: string | null;
  error: string | null;
  /** What could not be read of it, though the rest was (a PDF's pages without text); empty when nothing. */
  warnings: string[];
  /** Chunks stored for it now (while a changed version is pending, the previous version's). */
  chunks: number;
  mimeType: string;
  source: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** The error of every document an ingestion's cancel (DELETE /v1/ingestions/:id) failed. */
export const INGESTION_CANCELED = "the ingestion was canceled";

/** The body of GET /v1/ingestions/:id. */
export interface IngestionSummary {
  id: string;
  collection: string;
  status: "running" | "completed" | "completed_with_errors";
  /** superseded: deleted, or uploaded again with other content, before this ingestion stored it. */
  documents: { total: number; done: number; failed: number; pending: number; superseded: number };
  chunks: { total: number; embedded: number };
  errors: Array<{ documentId: string; error: string }>;
  /** Documents stored with parts that could not be read (see DocumentView.warnings). */
  warnings: Array<{ documentId: string; warning: string }>;
  createdAt: string;
  /** When it was canceled (DELETE /v1/ingestions/:id); absent otherwise. */
  canceledAt?: string;
}

export type SearchMode = "vector" | "keyword" | "hybrid";

export interface SearchHit {
  chunkId: number;
  documentId: string;
  ordinal: number;
  heading: string | null;
  text: string;
  metadata: Record<string, unknown>;
  score: number;
  /** Rank (1 = best) in the vector and keyword lists the hit came from. */
  vectorRank: number | null;
  keywordRank: number | null;
}

/** The body of POST /v1/collections/:name/search. */
export interface SearchResponse {
  collection: string;
  mode: SearchMode;
  tookMs: number;
  results: SearchHit[];
  /** Present when a hybrid search ranked by keywords alone: its embedding model could not embed the query. */
  degraded?: RetrievalDegraded;
}

import type { Citation, CollectionView, DocumentView, IngestionSummary, JobView, RetrievalDegraded, SearchHit, SearchResponse } from "@herd/jobs";

export type { JobView, Citation, DocumentView, IngestionSummary, SearchHit, SearchResponse };
export type Collection = CollectionView;

export interface Accepted {
  id: string;
  status: "queued" | "running";
}

export interface AnswerResult {
  model: string;
  answer: string;
  citations: Citation[];
  /** Retrieved sources left out of the prompt: the model's context had no room for them. */
  sourcesOmitted?: number;
  /** Present when the sources were found by keywords alone (the embedding model was unavailable). */
  degraded?: RetrievalDegraded;
}

/** How an answer is asked: how many chunks, a metadata filter, and for a follow-up the conversation so far. */
export interface AnswerOptions {
  k?: number | undefined;
  filter?: Record<string, unknown> | undefined;
  history?: ReadonlyArray<{ role: "user" | "assistant"; content: string }> | undefined;
}

/** One line of a streamed answer (HerdClient.answerStream): the citations, a piece of text, or the end. */
export type AnswerEvent =
  | { citations: Citation[]; sourcesOmitted?: number; degraded?: RetrievalDegraded }
  | { delta: string }
  | { done: true; model: string; answer: string; done_reason?: string; prompt_eval_count: number; eval_count: number; cached: boolean };

export interface UploadOptions {
  /**
   * The encoding (a WHATWG label such as "windows-1252") of the uploaded text files that are not
   * valid UTF-8 and declare no encoding of their own (a byte order mark, an HTML <meta charset>).
   */
  fallbackCharset?: string;
}

/** A document to upload: its id (a path or name), its bytes or text, and optional MIME type and metadata. */
export interface UploadDocument {
  id: string;
  data: Uint8Array | string;
  mimeType?: string;
  metadata?: Record<string, unknown>;
}

-- Collections, documents and chunks for batch ingestion and retrieval.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE collections (
  id            bigserial PRIMARY KEY,
  name          text        NOT NULL UNIQUE,
  model         text        NOT NULL,
  dimensions    integer     NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
  chunk_tokens  integer     NOT NULL CHECK (chunk_tokens BETWEEN 16 AND 8192),
  chunk_overlap integer     NOT NULL CHECK (chunk_overlap >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
  id            bigserial PRIMARY KEY,
  collection_id bigint      NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  external_id   text        NOT NULL,
  source        text,
  mime_type     text        NOT NULL,
  content_hash  text        NOT NULL,
  metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  status        text        NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
  error         text,
  chunk_count   integer     NOT NULL DEFAULT 0,
  -- Hash of content + chunking settings that the stored chunks were built from.
  chunked_hash  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (collection_id, external_id)
);
CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops);

-- The uploaded bytes, kept apart so document rows stay small.
CREATE TABLE document_contents (
  document_id bigint PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
  body        bytea  NOT NULL
);

CREATE TABLE chunks (
  id            bigserial PRIMARY KEY,
  collection_id bigint  NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  document_id   bigint  NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  ordinal       integer NOT NULL,
  heading       text,
  text          text    NOT NULL,
  token_count   integer NOT NULL,
  content_hash  text    NOT NULL,
  -- Untyped so collections can differ in dimension; each collection gets an HNSW index on
  -- (embedding::vector(dim)) restricted to its rows (see createCollectionIndex).
  embedding     vector  NOT NULL,
  tsv           tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(heading, '') || ' ' || text)) STORED,
  UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_collection ON chunks (collection_id);

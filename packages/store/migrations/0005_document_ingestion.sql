-- The ingestion that last queued each document. Its ingest job's id is derived from it, so a
-- document left pending without that job (the queue's Redis lost its data, or refused the enqueue
-- after the row was written) can be found and queued again under the same id.
ALTER TABLE documents ADD COLUMN ingestion_id text;
CREATE INDEX documents_pending ON documents (id) WHERE status = 'pending';

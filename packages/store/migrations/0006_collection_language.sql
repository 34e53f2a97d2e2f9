-- Each collection's language: the PostgreSQL text search configuration its keyword search stems
-- and drops stop words with ('english' for every collection so far, and by default).
ALTER TABLE collections ADD COLUMN language regconfig NOT NULL DEFAULT 'english';

-- chunks.tsv was generated with 'english' for every row; a generated column cannot look up the
-- collection's language, so a trigger now writes it. Dropping the expression keeps every row's
-- value as it is (right: all of them are 'english') without rewriting the table or its index.
ALTER TABLE chunks ALTER COLUMN tsv DROP EXPRESSION;

CREATE FUNCTION herd_chunk_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tsv := to_tsvector((SELECT c.language FROM collections c WHERE c.id = NEW.collection_id), coalesce(NEW.heading, '') || ' ' || NEW.text);
  RETURN NEW;
END
$$;

CREATE TRIGGER chunks_tsv BEFORE INSERT OR UPDATE OF heading, text, collection_id ON chunks
  FOR EACH ROW EXECUTE FUNCTION herd_chunk_tsv();

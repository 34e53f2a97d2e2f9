-- What could not be read of a document that was ingested (a PDF's pages without text, say):
-- kept with the document so GET .../documents/:id tells why a page is never found.
ALTER TABLE documents ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';

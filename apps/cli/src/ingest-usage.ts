/** Apart from ingest.ts, so `herd help` prints it without loading the command. */
export const INGEST_USAGE = `Usage: herd ingest <folder|file>... --collection NAME [options]
       herd ingest --cancel <ingestion id>...

Uploads the files (folders recursively; hidden files skipped) and ingests them into the collection.
The ingestion runs in Herd: Ctrl-C during --wait stops only the waiting. --cancel stops ingestions:
their pending documents end failed ("the ingestion was canceled") and are not embedded; a document
that was ingested before keeps its previous chunks.

  --collection NAME   target collection (required)
  --model MODEL       create the collection with this embedding model if it does not exist
  --language NAME     when creating it: the language keyword search stems with (a PostgreSQL text
                      search configuration: english (default), german, french, spanish, simple…)
  --wait              show progress until every document is done, then a summary; exit 1 if any failed
  --metadata JSON     metadata stored with every document, e.g. '{"product":"HX-220"}'
  --fallback-charset LABEL
                      encoding of the text files that are not valid UTF-8 and do not declare one
                      (no byte order mark, no HTML <meta charset>), e.g. windows-1252
  --url URL           Herd API (default HERD_URL or http://127.0.0.1:8008); HERD_API_KEY is sent as the API key`;

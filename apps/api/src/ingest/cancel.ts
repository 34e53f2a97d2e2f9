import { INGESTION_CANCELED } from "@herd/jobs";
import { failIngestionDocuments } from "@herd/store";
import type { IngestDeps } from "./submit.js";
import { withdrawEmbeddings } from "./withdraw.js";

/**
 * Cancels an ingestion: every document it still has pending is failed with INGESTION_CANCELED (a
 * document being re-ingested keeps its previous chunks, as after any failed re-ingestion), and its
 * queued embedding batches are withdrawn. Its ingest jobs still in the queue find their document
 * failed and end at once. A store step still writing rolls back (markDocumentReady leaves a
 * failed document alone), so no canceled document ends stored.
 * Returns how many documents were canceled.
 */
export async function cancelIngestion(deps: Pick<IngestDeps, "db" | "progress" | "queues" | "redis" | "keys" | "logger">, ingestionId: string): Promise<number> {
  const canceled = await failIngestionDocuments(deps.db.pool, ingestionId, INGESTION_CANCELED);
  await deps.progress.cancel(
    ingestionId,
    canceled.map((document) => document.externalId),
    INGESTION_CANCELED,
  );
  await withdrawEmbeddings(deps, canceled.map((document) => ({ documentId: document.documentId, ingestionId })));
  return canceled.length;
}

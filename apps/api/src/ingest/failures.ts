import type { IngestMetrics } from "@herd/metrics";
import { failPendingDocument, findDocument, type Database } from "@herd/store";
import { doneState, type DocumentState, type IngestionProgress } from "./progress.js";

export interface FailureDeps {
  db: Database;
  progress: IngestionProgress;
  metrics: IngestMetrics;
}

/**
 * Marks failed the document of an ingest job that failed for good (its attempts spent, or a step
 * that threw an unrecoverable error), unless the document was uploaded again or stored meanwhile.
 * True when it applied. When it did not, the ingestion's progress is set to where the row stands:
 * a step can store the document and then fail on the progress write alone (Redis refusing it), and
 * nothing else would ever move that document out of "embedding".
 */
export async function failDocumentOfJob(deps: FailureDeps, job: { documentId: number; ingestionId: string; externalId: string; contentHash?: string | undefined }, cause: string): Promise<boolean> {
  const reason = `ingestion failed: ${cause}`;
  if (!(await failPendingDocument(deps.db.pool, job.documentId, job.ingestionId, reason))) {
    const row = await findDocument(deps.db.pool, job.documentId);
    const state: DocumentState | undefined =
      !row || (job.contentHash !== undefined && row.contentHash !== job.contentHash)
        ? { status: "superseded" }
        : row.status === "ready"
          ? doneState(row.chunkCount, row.warnings)
          : row.status === "failed"
            ? { status: "failed", error: row.error ?? reason }
            : undefined;
    if (state) await deps.progress.set(job.ingestionId, job.externalId, state);
    return false;
  }
  await deps.progress.set(job.ingestionId, job.externalId, { status: "failed", error: reason });
  deps.metrics.documents.inc({ outcome: "failed" });
  return true;
}

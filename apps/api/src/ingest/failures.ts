import type { IngestMetrics } from "@herd/metrics";
import { failPendingDocument, type Database } from "@herd/store";
import type { IngestionProgress } from "./progress.js";

export interface FailureDeps {
  db: Database;
  progress: IngestionProgress;
  metrics: IngestMetrics;
}

/**
 * Marks failed the document of an ingest job that failed for good (its attempts spent, or a step
 * that threw an unrecoverable error), unless the document was uploaded again or stored meanwhile.
 * True when it applied.
 */
export async function failDocumentOfJob(deps: FailureDeps, job: { documentId: number; ingestionId: string; externalId: string }, cause: string): Promise<boolean> {
  const reason = `ingestion failed: ${cause}`;
  if (!(await failPendingDocument(deps.db.pool, job.documentId, job.ingestionId, reason))) return false;
  await deps.progress.set(job.ingestionId, job.externalId, { status: "failed", error: reason });
  deps.metrics.documents.inc({ outcome: "failed" });
  return true;
}

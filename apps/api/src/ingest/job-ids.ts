/** The id of the job that ingests `documentId` for `ingestionId` (one per document and ingestion). */
export function ingestJobId(ingestionId: string, documentId: number): string {
  return `${ingestionId}-d${documentId}`;
}

import { Counter, type Registry } from "prom-client";

export class IngestMetrics {
  readonly documents: Counter<"outcome">;
  readonly chunks: Counter;
  readonly recovered: Counter<"action">;

  constructor(registry: Registry) {
    this.documents = new Counter({
      name: "herd_ingest_documents_total",
      help: "Documents ingested, by outcome: stored, unchanged (already up to date), failed.",
      labelNames: ["outcome"] as const,
      registers: [registry],
    });
    this.chunks = new Counter({
      name: "herd_ingest_chunks_total",
      help: "Chunks written to the database by ingestion.",
      registers: [registry],
    });
    this.recovered = new Counter({
      name: "herd_ingest_recovered_documents_total",
      help: "Pending documents whose ingest job was gone (queued again: requeued) or had failed for good (marked failed: failed).",
      labelNames: ["action"] as const,
      registers: [registry],
    });
  }
}

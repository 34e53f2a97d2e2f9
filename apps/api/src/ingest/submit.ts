import { createHash, randomBytes } from "node:crypto";
import type { Queue } from "bullmq";
import type { ApiConfig } from "@herd/config";
import { INGEST_QUEUE, jobOptions, type HerdKeys, type IngestJobData, type RetentionPolicy } from "@herd/jobs";
import { inTransaction, saveDocumentContent, upsertDocument, type Collection, type Database, type UnfinishedIngestion } from "@herd/store";
import type { QueueRegistry } from "../queues.js";
import { confirmReplicated, type ReplicationDeps } from "../replication.js";
import { cacheScopeOf } from "../prepare-job.js";
import type { IngestionProgress } from "./progress.js";
import type { UploadedDocument } from "./uploads.js";
import { ingestJobId } from "./job-ids.js";
import { withdrawEmbeddings } from "./withdraw.js";

export interface IngestDeps extends Omit<ReplicationDeps, "config"> {
  db: Database;
  keys: HerdKeys;
  queues: QueueRegistry;
  progress: IngestionProgress;
  retention: RetentionPolicy;
  embedBatch: number;
  config: Pick<ApiConfig, "cacheScope" | "replication">;
}

/**
 * Records the documents (content kept in Postgres, so a retried step never depends on the
 * upload) and queues one ingest job per document at batch priority. A document uploaded again
 * with other content while an earlier ingestion was still on it takes that ingestion's queued
 * embedding batches away (see withdrawEmbeddings).
 */
export async function startIngestion(deps: IngestDeps, collection: Collection, modelDimensions: number | undefined, documents: readonly UploadedDocument[]): Promise<string> {
  const ingestionId = newIngestionId();
  const records: Array<{ id: number; externalId: string; contentHash: string }> = [];
  const replaced: UnfinishedIngestion[] = [];
  for (const document of documents) {
    const contentHash = createHash("sha256").update(document.bytes).digest("hex");
    const record = await inTransaction(deps.db.pool, async (client) => {
      const row = await upsertDocument(client, { collectionId: collection.id, externalId: document.externalId, source: document.source, mimeType: document.mimeType, contentHash, metadata: document.metadata, ingestionId });
      await saveDocumentContent(client, row.id, document.bytes);
      return row;
    });
    records.push({ id: record.id, externalId: record.externalId, contentHash });
    if (record.replacedIngestionId !== null) replaced.push({ documentId: record.id, ingestionId: record.replacedIngestionId });
  }
  await deps.progress.create(ingestionId, collection.name, collection.tenant, records.map((record) => record.externalId));
  const queue: Queue = deps.queues.queue(INGEST_QUEUE);
  await queue.addBulk(records.map((record) => ingestJob(deps, collection, modelDimensions, ingestionId, record)));
  await confirmReplicated(deps, queue.toKey(ingestionId), { ingestionId });
  await withdrawEmbeddings(deps, replaced);
  return ingestionId;
}

export function newIngestionId(): string {
  return `ing_${randomBytes(12).toString("hex")}`;
}

/**
 * The ingest job of one document: its first step, at batch priority. Everything in it comes from
 * the collection, the document row and this process's settings, so the job queued again for a
 * document whose job was lost (see IngestRecovery) is the one its upload queued.
 */
export function ingestJob(
  deps: Pick<IngestDeps, "retention" | "embedBatch" | "config">,
  collection: Pick<Collection, "id" | "tenant" | "model" | "dimensions" | "chunkTokens" | "chunkOverlap" | "documentPrefix">,
  modelDimensions: number | undefined,
  ingestionId: string,
  record: { id: number; externalId: string; contentHash: string },
): { name: string; data: IngestJobData; opts: ReturnType<typeof jobOptions> & { jobId: string } } {
  const cacheScope = cacheScopeOf(deps.config, collection.tenant);
  const data: IngestJobData = {
    ingestionId,
    collectionId: collection.id,
    documentId: record.id,
    externalId: record.externalId,
    contentHash: record.contentHash,
    model: collection.model,
    dimensions: collection.dimensions,
    ...(modelDimensions !== undefined ? { modelDimensions } : {}),
    chunkTokens: collection.chunkTokens,
    chunkOverlap: collection.chunkOverlap,
    ...(collection.documentPrefix ? { documentPrefix: collection.documentPrefix } : {}),
    embedBatch: deps.embedBatch,
    step: "parse",
    round: 0,
    ...(cacheScope !== undefined ? { cacheScope } : {}),
  };
  return { name: "document", data, opts: { ...jobOptions(deps.retention, "batch"), jobId: ingestJobId(ingestionId, record.id) } };
}

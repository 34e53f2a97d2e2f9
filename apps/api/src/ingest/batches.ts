import type { Job } from "bullmq";
import type { HerdCache } from "@herd/cache";
import type { PinnedModelOptions } from "@herd/config";
import type { Chunk } from "@herd/ingest";
import { PRIORITIES, jobOptions, queueName, type EmbedJobData, type HerdKeys, type IngestJobData, type RetentionPolicy } from "@herd/jobs";
import type { RedisClient } from "@herd/redis";
import { withPins } from "../prepare-job.js";
import type { QueueRegistry } from "../queues.js";
import type { IngestionProgress } from "./progress.js";

/** An ingest job's embedding batch of a round: deterministic, so a step that runs again adds none twice. */
export function batchJobId(job: Job, round: number, batch: number): string {
  return `${job.id}-r${round}-b${batch}`;
}

/** Adds the given batches of `data.round` as children of the ingest job, at batch priority. */
export async function queueBatches(
  deps: { queues: QueueRegistry; cache: HerdCache; progress: IngestionProgress; retention: RetentionPolicy; modelOptions: PinnedModelOptions },
  job: Job,
  data: IngestJobData,
  chunks: readonly Chunk[],
  batches: readonly number[],
): Promise<void> {
  const queue = deps.queues.queue(queueName("embed", data.model));
  const cut = data.modelDimensions !== undefined && data.dimensions < data.modelDimensions;
  // The same runner options as the collection's search queries, or each would reload the model.
  const { options, keepAlive } = withPins(deps.modelOptions, data.model, undefined, undefined);
  await queue.addBulk(
    batches.map((batch) => {
      const slice = chunks.slice(batch * data.embedBatch, (batch + 1) * data.embedBatch);
      const payload: EmbedJobData = {
        model: data.model,
        requestModel: data.model,
        inputs: slice.map((chunk) => (data.documentPrefix ?? "") + chunk.embeddingText),
        ...(cut ? { dimensions: data.dimensions } : {}),
        ...(options ? { options } : {}),
        ...(keepAlive !== undefined ? { keepAlive } : {}),
        cache: deps.cache.enabled("embedding"),
        ...(data.cacheScope !== undefined ? { cacheScope: data.cacheScope } : {}),
        progress: { key: deps.progress.embeddedKey(data.ingestionId), field: data.externalId },
      };
      return {
        name: "embed",
        data: payload,
        opts: {
          ...jobOptions(deps.retention, "batch"),
          priority: PRIORITIES.batch,
          jobId: batchJobId(job, data.round, batch),
          parent: { id: job.id ?? "", queue: job.queueQualifiedName },
          // A failed batch must not leave the document waiting forever: the store step reads it.
          ignoreDependencyOnFailure: true,
        },
      };
    }),
  );
}

/** The result keys of the embedding batches of `data.round`. */
export function batchResultKeys(keys: HerdKeys, job: Job, data: IngestJobData): string[] {
  return Array.from({ length: data.batches ?? 0 }, (_, batch) => keys.result(batchJobId(job, data.round, batch)));
}

/** The batches' vectors from their results under `keys` (see batchResultKeys), and the batches whose result is gone. */
export async function batchVectors(redis: RedisClient, keys: string[], data: IngestJobData, chunks: readonly Chunk[]): Promise<{ vectors: Array<number[] | undefined>; missing: number[] }> {
  const results = keys.length === 0 ? [] : await redis.mget(keys);
  const vectors: Array<number[] | undefined> = new Array(chunks.length);
  const missing: number[] = [];
  results.forEach((text, batch) => {
    const embeddings = text ? (JSON.parse(text) as { embeddings: number[][] }).embeddings : undefined;
    if (!embeddings) {
      missing.push(batch);
      return;
    }
    embeddings.forEach((vector, i) => (vectors[batch * data.embedBatch + i] = vector));
  });
  return { vectors, missing };
}

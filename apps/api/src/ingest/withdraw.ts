import type { Job } from "bullmq";
import { INGEST_QUEUE, type HerdKeys } from "@herd/jobs";
import { coerceError, type Logger } from "@herd/logger";
import { publishOn, type RedisClient } from "@herd/redis";
import type { UnfinishedIngestion } from "@herd/store";
import type { QueueRegistry } from "../queues.js";
import { ingestJobId } from "./job-ids.js";

/** Ingest jobs looked up at once: enough to fill a pipeline, few enough to leave Redis to others. */
const CONCURRENCY = 50;

/**
 * Takes the embedding batches still waiting in the queue away from ingestions whose result nobody
 * will keep: their document was deleted (alone or with its collection), uploaded again with other
 * content, or its ingestion canceled. Otherwise every batch would still run on Ollama, at batch
 * priority but on the same slots, before the store step found out; where embedding is slower than
 * parsing (large documents, busy GPUs), that can be most of a large upload's GPU time.
 *
 * BullMQ removes each waiting batch from its ingest job's dependencies; the job, once none is
 * left, runs its store step, which records the document superseded (or failed, if canceled). A
 * batch a worker already holds is canceled like a job whose client went away (the cancel
 * channel): its Ollama call is aborted, or never made if it still waits for a slot, and it fails
 * as canceled, which its ingest job ignores. Returns how many documents still had an unfinished ingest job (batches or not).
 */
export async function withdrawEmbeddings(deps: { queues: QueueRegistry; redis: RedisClient; keys: HerdKeys; logger: Logger }, documents: readonly UnfinishedIngestion[]): Promise<number> {
  const queue = deps.queues.queue(INGEST_QUEUE);
  let withdrawn = 0;
  try {
    for (let start = 0; start < documents.length; start += CONCURRENCY) {
      const group = documents.slice(start, start + CONCURRENCY);
      const counts = await Promise.all(
        group.map(async (document) => {
          const job = await queue.getJob(ingestJobId(document.ingestionId, document.documentId));
          // Not only jobs waiting for their batches: a parse step may have queued them a moment
          // ago and not yet moved to wait for them (see IngestProcessor's look after queuing).
          if (!job || job.finishedOn !== undefined) return 0;
          await withdrawBatchesOf(job, deps);
          return 1;
        }),
      );
      withdrawn += counts.reduce<number>((sum, count) => sum + count, 0);
    }
  } catch (error) {
    // The deletion, upload or cancellation has happened; the batches left behind run and are then discarded.
    deps.logger.warn({ err: coerceError(error), documents: documents.length, withdrawn }, "could not withdraw the queued embedding batches of deleted, replaced or canceled documents; they will run and be discarded");
    return withdrawn;
  }
  if (withdrawn > 0) deps.logger.info({ documents: withdrawn }, "withdrew the embedding batches of deleted, replaced or canceled documents whose ingest jobs were unfinished");
  return withdrawn;
}

/**
 * Takes an ingest job's queued embedding batches away and cancels those a worker holds. Safe in
 * any state of the job: BullMQ skips locked batches, and moves the job on only if it waits for them.
 */
export async function withdrawBatchesOf(job: Job, deps: { redis: RedisClient; keys: HerdKeys }): Promise<void> {
  await job.removeUnprocessedChildren();
  await Promise.all((await heldBatches(job)).map((batchId) => publishOn(deps.redis, deps.keys.cancelChannel, batchId)));
}

/** The ids of the batches left in an ingest job's dependencies: those a worker holds (locked). */
async function heldBatches(job: Job): Promise<string[]> {
  const ids: string[] = [];
  let cursor = 0;
  do {
    const page = await job.getDependencies({ unprocessed: { cursor, count: 1000 } });
    // A child's key is "<prefix>:<queue>:<id>"; neither queue names nor batch ids hold a colon.
    for (const key of page.unprocessed ?? []) ids.push(key.slice(key.lastIndexOf(":") + 1));
    cursor = page.nextUnprocessedCursor ?? 0;
  } while (cursor !== 0);
  return ids;
}

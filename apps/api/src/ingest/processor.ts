import { DelayedError, MetricsTime, WaitingChildrenError, Worker, type Job } from "bullmq";
import { isOutOfMemory, type RedisClient } from "@herd/redis";
import type { HerdCache } from "@herd/cache";
import type { PinnedModelOptions } from "@herd/config";
import type { Chunk, ParsePool } from "@herd/ingest";
import { INGEST_QUEUE, IngestJobData, type HerdKeys, type RetentionPolicy } from "@herd/jobs";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import type { IngestMetrics } from "@herd/metrics";
import { deleteChunksFrom, findDocument, inTransaction, isDatabaseUnavailable, isForeignKeyViolation, markDocumentFailed, markDocumentReady, upsertChunks, type ChunkStatistics, type Database, type DocumentRecord } from "@herd/store";
import type { QueueRegistry } from "../queues.js";
import { batchResultKeys, batchVectors, queueBatches } from "./batches.js";
import { chunkedHashOf, loadChunks } from "./chunks.js";
import { failDocumentOfJob } from "./failures.js";
import { doneState, type IngestionProgress } from "./progress.js";
import { withdrawBatchesOf } from "./withdraw.js";

export interface IngestProcessorOptions {
  db: Database;
  redis: RedisClient;
  /** A connection for the BullMQ worker (blocking role: no retry limit, offline queue on). */
  connection: RedisClient;
  cache: HerdCache;
  queues: QueueRegistry;
  keys: HerdKeys;
  parsePool: ParsePool;
  progress: IngestionProgress;
  retention: RetentionPolicy;
  /** HERD_MODEL_OPTIONS: the embedding batches are sent with the model's pinned runner options. */
  modelOptions: PinnedModelOptions;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  metrics: IngestMetrics;
  /** Told how many chunk rows each stored document wrote (keeps keyword search's statistics current). */
  statistics: ChunkStatistics;
  logger: Logger;
}

/** Rounds of re-requesting embeddings whose results expired before the document is failed. */
const MAX_ROUNDS = 3;
/** What names a job's document, readable even when the rest of its data is not. */
const JobIdentity = IngestJobData.pick({ documentId: true, ingestionId: true, externalId: true, contentHash: true });
const DATABASE_RETRY_MS = 2000;
const REDIS_FULL_RETRY_MS = 1000;

/**
 * What the job's document row is to the job: its own to work on; superseded (deleted, or uploaded
 * again with other content: a newer job owns it); or failed from outside (its ingestion canceled).
 */
function standingOf(document: DocumentRecord | undefined, data: IngestJobData): "own" | "superseded" | "failed" {
  if (!document || document.contentHash !== data.contentHash) return "superseded";
  return document.status === "failed" ? "failed" : "own";
}

/** The document changed under a store step (uploaded again, or failed by a cancel): its transaction rolls back. */
class DocumentChanged extends Error {}

/**
 * Ingests one document per job, in two steps, as a BullMQ flow built at run time:
 * 1. parse: skip unchanged content, parse and chunk (worker thread, chunk cache), then add one
 *    embedding job per batch of chunks as children at batch priority and wait for them;
 * 2. store: check the children, gather vectors, and replace the document's chunks in one
 *    transaction.
 * Every step can run again (a killed process, a Postgres restart) and end with the same rows:
 * child ids are deterministic, chunks are upserted by position and content hash.
 */
export class IngestProcessor {
  readonly worker: Worker;

  constructor(private readonly options: IngestProcessorOptions) {
    this.worker = new Worker(INGEST_QUEUE, (job, token) => this.#process(job, token), {
      connection: options.connection,
      prefix: options.queues.bullPrefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      // Throughput history for the admin UI's charts (same setting as the job workers).
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
      autorun: true,
    });
    const warn = warnAtMostEvery(options.logger);
    this.worker.on("error", (error) => warn({ err: coerceError(error) }, "ingest worker error"));
    this.worker.on("failed", (job, error) => {
      options.logger.warn({ err: error, jobId: job?.id }, "ingest step failed");
      // Set only once the job has failed for good (no retry follows): its document is failed too.
      if (job && typeof job.finishedOn === "number") void this.#failedForGood(job, error);
    });
  }

  async #failedForGood(job: Job, error: Error): Promise<void> {
    const identity = JobIdentity.safeParse(job.data);
    if (!identity.success) {
      this.options.logger.error({ jobId: job.id }, "an ingest job failed for good with data that names no document");
      return;
    }
    try {
      await failDocumentOfJob(this.options, identity.data, error.message);
    } catch (markError) {
      this.options.logger.warn({ err: coerceError(markError), jobId: job.id }, "could not mark the document of a failed ingest job failed; the recovery pass will");
    }
  }

  async #process(job: Job, token: string | undefined): Promise<unknown> {
    const data = IngestJobData.parse(job.data);
    try {
      return data.step === "parse" ? await this.#parse(job, token, data) : await this.#store(job, token, data);
    } catch (error) {
      if (isDatabaseUnavailable(error) && token) {
        // Postgres is restarting or unreachable: wait and resume without spending an attempt.
        this.options.logger.warn({ err: coerceError(error), jobId: job.id }, "database unavailable; ingest step delayed");
        await job.moveToDelayed(Date.now() + DATABASE_RETRY_MS, token);
        throw new DelayedError();
      }
      if (isOutOfMemory(error) && token) {
        // The queue Redis refused a write (maxmemory under noeviction): every step repeats its
        // writes, so it runs again once memory is freed. Spending attempts here would fail the
        // document for good over a spell of a few seconds, perhaps with its chunks already stored.
        this.options.logger.warn({ err: coerceError(error), jobId: job.id }, "Redis is out of memory; ingest step delayed without spending an attempt");
        await job.moveToDelayed(Date.now() + REDIS_FULL_RETRY_MS, token);
        throw new DelayedError();
      }
      throw error;
    }
  }

  /**
   * Fails the document, unless it was deleted or uploaded again while the step ran (its content
   * then vanishes under the step, say): that is no failure of the document's.
   */
  async #fail(data: IngestJobData, reason: string): Promise<{ failed: string } | { superseded: true }> {
    if (!(await markDocumentFailed(this.options.db.pool, { id: data.documentId, contentHash: data.contentHash }, reason))) return this.#superseded(data);
    await this.options.progress.set(data.ingestionId, data.externalId, { status: "failed", error: reason });
    this.options.metrics.documents.inc({ outcome: "failed" });
    return { failed: reason };
  }

  /**
   * Its document was failed while the job waited (its ingestion canceled): nothing more is done
   * for it, and whatever failed it counted it. Only such a decision leaves a document failed
   * before its job ends, since every upload makes it pending again.
   */
  async #failedElsewhere(data: IngestJobData, error: string | null): Promise<{ failed: string }> {
    const reason = error ?? "failed";
    await this.options.progress.set(data.ingestionId, data.externalId, { status: "failed", error: reason });
    return { failed: reason };
  }

  /**
   * The job's document, or how the job ends when the document is no longer its to work on:
   * deleted or uploaded again since (the newer job owns it now), or failed from outside.
   */
  async #ownDocument(data: IngestJobData): Promise<{ document: DocumentRecord } | { ended: { superseded: true } | { failed: string } }> {
    const document = await findDocument(this.options.db.pool, data.documentId);
    const standing = standingOf(document, data);
    if (standing === "own" && document) return { document };
    if (standing === "failed") return { ended: await this.#failedElsewhere(data, document?.error ?? null) };
    return { ended: await this.#superseded(data) };
  }

  async #superseded(data: IngestJobData): Promise<{ superseded: true }> {
    await this.options.progress.set(data.ingestionId, data.externalId, { status: "superseded" });
    return { superseded: true };
  }

  async #parse(job: Job, token: string | undefined, data: IngestJobData): Promise<unknown> {
    const { db, cache, parsePool, progress } = this.options;
    const own = await this.#ownDocument(data);
    if ("ended" in own) return own.ended;
    const { document } = own;
    const chunkedHash = chunkedHashOf(document, data);
    if (document.status === "ready" && document.chunkedHash === chunkedHash) {
      await progress.set(data.ingestionId, data.externalId, doneState(document.chunkCount, document.warnings, true));
      this.options.metrics.documents.inc({ outcome: "unchanged" });
      return { unchanged: true };
    }
    const list = await loadChunks(db.pool, cache, parsePool, document, data, chunkedHash);
    if (!list.ok) return this.#fail(data, list.reason);
    // Parsing can take seconds, and a deletion, new upload or cancellation meanwhile finds this
    // step running, with no batches to take away yet: look again before queuing any.
    const still = await this.#ownDocument(data);
    if ("ended" in still) return still.ended;
    await progress.set(data.ingestionId, data.externalId, { status: "embedding", chunks: list.chunks.length });
    const batches = Math.ceil(list.chunks.length / data.embedBatch);
    const next = { ...data, step: "store" as const, chunkedHash, batches, round: 0 };
    await this.#queueEmbeddings(job, next, list.chunks, Array.from({ length: batches }, (_, i) => i));
    return this.#waitOrStore(job, token, next);
  }

  /**
   * Queues the batches of `data.round`, then looks at the document once more. A deletion, new
   * upload or cancellation since the last look took away whatever batches this job had then, which
   * was none: this look sees it and takes the new batches back itself; a later one finds them
   * queued and takes them (withdrawEmbeddings). The store step then records how the job ended.
   */
  async #queueEmbeddings(job: Job, data: IngestJobData, chunks: readonly Chunk[], batches: readonly number[]): Promise<void> {
    await queueBatches(this.options, job, data, chunks, batches);
    const [, document] = await Promise.all([job.updateData(data), findDocument(this.options.db.pool, data.documentId)]);
    if (standingOf(document, data) !== "own") await withdrawBatchesOf(job, this.options);
  }

  async #waitOrStore(job: Job, token: string | undefined, data: IngestJobData): Promise<unknown> {
    if (token && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
    return this.#store(job, token, data);
  }

  async #store(job: Job, token: string | undefined, data: IngestJobData): Promise<unknown> {
    const { db, cache, parsePool, progress } = this.options;
    const own = await this.#ownDocument(data);
    if ("ended" in own) return own.ended;
    const { document } = own;
    if (!data.chunkedHash) return this.#superseded(data);
    const failures = Object.values(await job.getIgnoredChildrenFailures());
    if (failures.length > 0) return this.#fail(data, `embedding failed: ${failures[0]}`);
    const list = await loadChunks(db.pool, cache, parsePool, document, data, data.chunkedHash);
    if (!list.ok) return this.#fail(data, list.reason);
    const resultKeys = batchResultKeys(this.options.keys, job, data);
    const { vectors, missing } = await batchVectors(this.options.redis, resultKeys, data, list.chunks);
    if (missing.length > 0) {
      // Results outlived their retention (a long outage): ask for every batch again under new
      // ids; the embedding cache answers the ones that were done.
      if (data.round + 1 >= MAX_ROUNDS) return this.#fail(data, `embeddings for ${missing.length} batches were lost`);
      const next = { ...data, round: data.round + 1 };
      const all = Array.from({ length: data.batches ?? 0 }, (_, batch) => batch);
      await this.#queueEmbeddings(job, next, list.chunks, all);
      return this.#waitOrStore(job, token, next);
    }
    const wrong = vectors.find((vector) => vector?.length !== data.dimensions);
    if (wrong) return this.#fail(data, `the model returned ${wrong.length}-dimensional vectors; the collection stores ${data.dimensions}`);
    const rows = list.chunks.map((chunk, i) => ({ ...chunk, embedding: vectors[i] as number[] }));
    let removed = 0;
    try {
      await inTransaction(db.pool, async (client) => {
        await upsertChunks(client, data.collectionId, data.documentId, rows);
        removed = await deleteChunksFrom(client, data.documentId, rows.length);
        if (!(await markDocumentReady(client, { id: data.documentId, contentHash: data.contentHash }, rows.length, data.chunkedHash as string, list.warnings))) throw new DocumentChanged();
      });
    } catch (error) {
      // Uploaded again, deleted (its chunks then reference a row that is gone) or its ingestion
      // canceled since the check above: these chunks are rolled back, and the step ends as the
      // document's state now says.
      if (error instanceof DocumentChanged) {
        const now = await this.#ownDocument(data);
        return "ended" in now ? now.ended : this.#superseded(data);
      }
      if (isForeignKeyViolation(error) && (await findDocument(db.pool, data.documentId))?.contentHash !== data.contentHash) return this.#superseded(data);
      throw error;
    }
    await progress.set(data.ingestionId, data.externalId, doneState(rows.length, list.warnings));
    this.options.metrics.documents.inc({ outcome: "stored" });
    this.options.metrics.chunks.inc(rows.length);
    // Not awaited: an ANALYZE of a large table takes seconds, and its failure is only logged.
    void this.options.statistics.recordWrites(rows.length + removed);
    await this.#dropResults(job, resultKeys);
    return { chunks: rows.length };
  }

  /**
   * The batches' vectors are stored in PostgreSQL now; their results would otherwise stay in the
   * queue Redis (which evicts nothing) for the whole retention, whatever the retention count:
   * 10 to 12 kB per 768-dimensional chunk. Should this step run again, it finds them gone and
   * asks again (the embedding cache answers), so a failure here costs only memory until they
   * expire: logged, never failing the stored document.
   */
  async #dropResults(job: Job, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.options.redis.del(...keys).catch((error: unknown) => this.options.logger.warn({ err: coerceError(error), jobId: job.id }, "could not drop a stored document's embedding results; they expire with the retention"));
  }

  async close(): Promise<void> {
    // With Redis unreachable, waiting for running steps to end cannot succeed (they can record
    // nothing) and would hold the shutdown to its deadline; their locks lapse and they run again.
    await this.worker.close(this.options.connection.status !== "ready");
  }
}

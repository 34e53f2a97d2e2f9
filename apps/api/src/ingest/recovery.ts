import type { Queue } from "bullmq";
import { randomBytes } from "node:crypto";
import { INGEST_QUEUE, type HerdKeys } from "@herd/jobs";
import type { RedisClient } from "@herd/redis";
import { coerceError, type Logger } from "@herd/logger";
import type { IngestMetrics } from "@herd/metrics";
import { adoptPendingDocument, findStalePendingDocuments, ingestionDocuments, type Database, type PendingDocument } from "@herd/store";
import type { FleetView } from "../fleet-view.js";
import type { QueueRegistry } from "../queues.js";
import { failDocumentOfJob } from "./failures.js";
import { doneState, type DocumentState, type IngestionProgress } from "./progress.js";
import { ingestJobId } from "./job-ids.js";
import { ingestJob, newIngestionId, type IngestDeps } from "./submit.js";

export interface IngestRecoveryOptions extends Pick<IngestDeps, "retention" | "embedBatch" | "config"> {
  db: Database;
  redis: RedisClient;
  keys: HerdKeys;
  queues: QueueRegistry;
  progress: IngestionProgress;
  fleet: FleetView;
  metrics: IngestMetrics;
  logger: Logger;
  /** How often to look; and how long a document must have been pending to be looked at. */
  intervalMs: number;
  pendingForMs: number;
}

export interface RecoveryOutcome {
  /** Stale pending documents looked at. */
  checked: number;
  /** Of those, queued again because their job was gone. */
  requeued: number;
  /** Of those, marked failed because their job had failed for good. */
  failed: number;
}

const PAGE = 500;

/**
 * Postgres holds every uploaded document; Redis holds the job that ingests it. A document can be
 * left pending with no job: the queue's Redis restarted without its data, or refused the enqueue
 * (out of memory) after the rows were written and the client never retried. A job can also fail
 * for good (its attempts spent on a step that kept throwing) without the document being marked.
 * This looks at documents pending for a while, now and then: a missing job is queued again
 * under its own id (a job still queued is left alone, and the same id makes a race with the upload
 * harmless), a failed one marks its document failed, and an ingestion record Redis lost is rebuilt
 * from the rows, so `GET /v1/ingestions/:id` answers again.
 */
export class IngestRecovery {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #closed = false;
  readonly #id = randomBytes(8).toString("hex");

  constructor(private readonly options: IngestRecoveryOptions) {}

  start(): void {
    this.#timer = setInterval(() => void this.#tick(), this.options.intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#closed) return;
    try {
      const outcome = await this.runIfTurn();
      if (outcome && (outcome.requeued > 0 || outcome.failed > 0)) this.options.logger.info(outcome, "ingestion recovery: pending documents whose job was gone or had failed");
    } catch (error) {
      // Redis or Postgres unreachable: the next tick tries again.
      this.options.logger.warn({ err: coerceError(error) }, "ingestion recovery could not run");
    }
  }

  /**
   * A pass, unless another API process has run one within the interval (undefined then): one
   * process per interval does the work, the others would only repeat it.
   */
  async runIfTurn(): Promise<RecoveryOutcome | undefined> {
    const { redis, keys, intervalMs } = this.options;
    if ((await redis.set(keys.ingestionRecoveryTurn, this.#id, "PX", Math.max(500, intervalMs - 250), "NX")) !== "OK") return undefined;
    return this.sweep();
  }

  /** One pass over every stale pending document. */
  async sweep(): Promise<RecoveryOutcome> {
    const run = this.#sweep();
    this.#running = run;
    try {
      return await run;
    } finally {
      this.#running = undefined;
    }
  }

  async #sweep(): Promise<RecoveryOutcome> {
    const outcome: RecoveryOutcome = { checked: 0, requeued: 0, failed: 0 };
    const queue = this.options.queues.queue(INGEST_QUEUE);
    const lostRecords = new Map<string, PendingDocument["collection"]>();
    let afterId = 0;
    for (;;) {
      if (this.#closed) break;
      const page = await findStalePendingDocuments(this.options.db.pool, { olderThanMs: this.options.pendingForMs, afterId, limit: PAGE });
      outcome.checked += page.length;
      const requeue: Array<PendingDocument & { ingestionId: string }> = [];
      await Promise.all(
        page.map(async (document) => {
          if (document.ingestionId === null) {
            // A row from before ingestions were recorded on documents: it gets one of its own.
            const ingestionId = newIngestionId();
            if (await adoptPendingDocument(this.options.db.pool, document.id, ingestionId)) requeue.push({ ...document, ingestionId });
            return;
          }
          const pending = { ...document, ingestionId: document.ingestionId };
          const state = await queue.getJobState(ingestJobId(pending.ingestionId, pending.id));
          if (state === "unknown") requeue.push(pending);
          else if (state === "failed" && (await this.#markFailed(queue, pending))) outcome.failed += 1;
        }),
      );
      if (requeue.length > 0) {
        await queue.addBulk(requeue.map((document) => ingestJob(this.options, { id: document.collectionId, ...document.collection }, this.#modelDimensions(document.collection.model), document.ingestionId, document)));
        outcome.requeued += requeue.length;
        this.options.metrics.recovered.inc({ action: "requeued" }, requeue.length);
        for (const document of requeue) lostRecords.set(document.ingestionId, document.collection);
      }
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      afterId = last.id;
    }
    for (const [ingestionId, collection] of lostRecords) await this.#restoreRecord(ingestionId, collection);
    return outcome;
  }

  #modelDimensions(model: string): number | undefined {
    return this.options.fleet.snapshot.models.get(model)?.embeddingLength;
  }

  async #markFailed(queue: Queue, document: PendingDocument & { ingestionId: string }): Promise<boolean> {
    const job = await queue.getJob(ingestJobId(document.ingestionId, document.id));
    const marked = await failDocumentOfJob(this.options, { documentId: document.id, ingestionId: document.ingestionId, externalId: document.externalId }, job?.failedReason || "the ingest job failed");
    if (marked) this.options.metrics.recovered.inc({ action: "failed" });
    return marked;
  }

  async #restoreRecord(ingestionId: string, collection: PendingDocument["collection"]): Promise<void> {
    const documents = await ingestionDocuments(this.options.db.pool, ingestionId);
    const states = documents.map((document): { externalId: string; state: DocumentState } => ({
      externalId: document.externalId,
      state:
        document.status === "ready"
          ? doneState(document.chunkCount, document.warnings)
          : document.status === "failed"
            ? { status: "failed", error: document.error ?? "failed" }
            : { status: "pending" },
    }));
    await this.options.progress.restore(ingestionId, collection.name, collection.tenant, states);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    // A pass under way stops at its next page (each of its writes is safe to cut short); its
    // error, if any, was already logged by #tick or goes to the caller of sweep().
    await this.#running?.catch(() => undefined);
  }
}

import { DelayedError, UnrecoverableError, WaitingChildrenError, WaitingError, type Job } from "bullmq";
import { decodeFailure, type JobKind } from "@herd/jobs";
import type { Logger } from "@herd/logger";
import { InstanceMetrics, WorkerJobMetrics, cacheMetrics, createRegistry, type BindingState, type CacheLayerCounts, type InstanceState, type Registry } from "@herd/metrics";

/** A worker process's Prometheus metrics: jobs run, instances, Ollama calls, cache lookups. */
export class WorkerMetrics {
  readonly registry: Registry;
  readonly jobs: WorkerJobMetrics;
  readonly instances: InstanceMetrics;

  constructor(state: { bindings: () => BindingState[]; instances: () => InstanceState[]; cache: () => Record<string, CacheLayerCounts> }) {
    this.registry = createRegistry("worker");
    this.jobs = new WorkerJobMetrics(this.registry);
    this.instances = new InstanceMetrics(this.registry, state);
    cacheMetrics(this.registry, state.cache);
  }
}

const HANDED_BACK = new Set([WaitingError.name, DelayedError.name, WaitingChildrenError.name]);

/**
 * Metrics and logs for one job's life on a binding: taken from the queue (with its wait), then
 * completed, failed for good, failed with a retry to come, or handed back untouched. Routine
 * transitions log at debug (every job, so production keeps them off); failures at warn.
 */
export class JobTracker {
  constructor(
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
    private readonly labels: { kind: JobKind; model: string; instance: string; queue: string },
  ) {}

  started(job: Job): number {
    const { kind, model, instance, queue } = this.labels;
    const waitMs = Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp);
    const priority = job.opts.priority === 1 ? "interactive" : job.opts.priority === undefined ? "none" : "batch";
    if (job.attemptsMade === 0) this.metrics.jobs.wait.observe({ kind, model, priority }, waitMs / 1000);
    this.logger.debug({ jobId: job.id, queue, instance, attempt: job.attemptsMade + 1, waitMs }, "job started");
    return performance.now();
  }

  /** Records how an attempt ended; true when the job itself ended (completed, or failed for good). */
  finished(job: Job, startedAt: number, error?: unknown): boolean {
    const { kind, model, instance, queue } = this.labels;
    const durationMs = Math.round((performance.now() - startedAt) * 10) / 10;
    if (error === undefined) {
      this.metrics.jobs.completed.inc({ kind, model, ollama: instance });
      this.metrics.jobs.run.observe({ kind, model, ollama: instance }, durationMs / 1000);
      this.logger.debug({ jobId: job.id, queue, instance, durationMs }, "job completed");
      return true;
    }
    const name = (error as { name?: unknown } | null)?.name;
    if (typeof name === "string" && HANDED_BACK.has(name)) {
      this.logger.debug({ jobId: job.id, queue, instance, durationMs }, "job handed back to the queue");
      return false;
    }
    const message = error instanceof Error ? error.message : String(error);
    const { code } = decodeFailure(message);
    const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    this.metrics.jobs.run.observe({ kind, model, ollama: instance }, durationMs / 1000);
    if (final) {
      this.metrics.jobs.failed.inc({ kind, model, code });
      // Its client went away or its document was deleted: no fault of the fleet's, and a deleted
      // upload cancels hundreds of batches at once, which would bury real warnings.
      if (code === "canceled") this.logger.info({ jobId: job.id, queue, instance, durationMs }, "job canceled");
      else this.logger.warn({ jobId: job.id, queue, instance, durationMs, code, attempt: job.attemptsMade + 1 }, "job failed");
    } else {
      this.metrics.jobs.retried.inc({ kind, model, code });
      this.logger.warn({ jobId: job.id, queue, instance, durationMs, code, attempt: job.attemptsMade + 1 }, "job attempt failed; it will be retried");
    }
    return final;
  }
}

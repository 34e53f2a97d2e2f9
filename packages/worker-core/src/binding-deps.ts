import type { Job } from "bullmq";
import { ownerOfJobName, type JobKind } from "@herd/jobs";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import type { BatchSlicer } from "./batch-slicer.js";
import type { BindingOptions } from "./binding.js";
import { HeldByOllamaWatch } from "./held-by-ollama.js";
import { ModelLoadWatch } from "./model-loads.js";
import type { ProcessorDeps } from "./processors.js";
import type { SlotGate, SlotRelease } from "./slot-gate.js";

/**
 * What a binding's processors run with: the worker's shared dependencies, the binding's slot gate
 * and batch slicer, and the log lines and watches (held by Ollama, model loads) of its instance
 * and model. `onCall` is set per pull loop.
 */
export function processorDeps(
  options: BindingOptions,
  gate: SlotGate,
  slicer: BatchSlicer,
  yieldSlot: (kind: JobKind, held: SlotRelease, priority: number) => Promise<SlotRelease | undefined>,
): ProcessorDeps {
  const { logger, monitor, model, metrics } = options;
  const warnTrim = warnAtMostEvery(logger);
  const watched = { instance: monitor.instance.name, model: model.model, logger };
  const held = new HeldByOllamaWatch({ ...watched, slots: model.slots, histogram: metrics.instances.held });
  const loads = new ModelLoadWatch({ ...watched, counter: metrics.instances.loads });
  return {
    ...options.deps,
    gate,
    slicer,
    monitor,
    model: model.model,
    servedElsewhere: (kind) => options.servedElsewhere?.(model.model, kind) ?? false,
    embeddingLength: model.embeddingLength,
    yieldSlot,
    onStoreError: (job, error) => logger.error({ err: coerceError(error), jobId: job.id }, "could not store a job result"),
    onTrimError: (job, error) => warnTrim({ err: coerceError(error), jobId: job.id }, "could not trim the queue's stored results; the older ones expire with the retention"),
    onReplyError: (job, error) => logger.warn({ err: coerceError(error), jobId: job.id }, "could not send a job's outcome to the waiting API process"),
    onCall: () => undefined,
    onHeld: (timing, inFlight) => held.record(timing, inFlight),
    onLoad: (loadMs, numCtx, sentAt) => loads.record(loadMs, numCtx, sentAt),
  };
}

/** A job that ended frees a place in its API key's concurrency quota (see @herd/access). */
export function releaseKeyQuota(deps: Pick<ProcessorDeps, "redis" | "keys">, job: Job, logger: Logger): void {
  const keyId = ownerOfJobName(job.name)?.keyId;
  if (!keyId || !job.id) return;
  deps.redis
    .zrem(deps.keys.keyInflight(keyId), job.id)
    .catch((error: unknown) => logger.warn({ err: coerceError(error), jobId: job.id }, "could not release the key's concurrency quota; it lapses on its own"));
}

import type { JobsOptions } from "bullmq";
import type { z } from "zod";
import type { JobKind } from "./models.js";
import { EmbedJobData, EmbedResult, GenerateJobData, GenerateResult } from "./payloads.js";
import { PRIORITIES, type PriorityClass } from "./requests.js";

export interface RetentionPolicy {
  retentionMs: number;
  retentionCount: number;
  attempts: number;
  backoffMs: number;
}

interface CatalogEntry<D extends z.ZodType, R extends z.ZodType> {
  data: D;
  result: R;
  /** Name given to jobs in BullMQ (visible in Bull Board). */
  jobName: string;
}

/** The single source of truth for job types: name → payload schema, result schema. */
export const jobCatalog = {
  embed: { data: EmbedJobData, result: EmbedResult, jobName: "embed" },
  generate: { data: GenerateJobData, result: GenerateResult, jobName: "generate" },
} as const satisfies Record<JobKind, CatalogEntry<z.ZodType, z.ZodType>>;

export type JobDataFor<K extends JobKind> = z.infer<(typeof jobCatalog)[K]["data"]>;
export type JobResultFor<K extends JobKind> = z.infer<(typeof jobCatalog)[K]["result"]>;

/**
 * Options every Herd job gets. Retention is bounded both by age and count (BullMQ keeps finished
 * jobs forever otherwise); retries back off exponentially with jitter so a fleet-wide hiccup does
 * not turn into a synchronised retry storm.
 */
export function jobOptions(policy: RetentionPolicy, priority: PriorityClass): JobsOptions {
  const ageSeconds = Math.max(1, Math.round(policy.retentionMs / 1000));
  return {
    priority: PRIORITIES[priority],
    attempts: policy.attempts,
    backoff: { type: "exponential", delay: policy.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: ageSeconds, count: policy.retentionCount },
    removeOnFail: { age: ageSeconds, count: policy.retentionCount },
  };
}

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

/**
 * A job's BullMQ name carries the tenant that submitted it (`embed@team-a`): the API checks it on
 * every read, in the same round trip as the job's other fields. Ingestion's own jobs have none.
 */
export function ownedJobName(kind: keyof typeof jobCatalog, tenant: string): string {
  return `${jobCatalog[kind].jobName}@${tenant}`;
}

export function tenantOfJobName(name: string | null | undefined): string | undefined {
  const at = name?.indexOf("@") ?? -1;
  return name && at >= 0 ? name.slice(at + 1) : undefined;
}

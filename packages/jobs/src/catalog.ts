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
 * A job's BullMQ name carries who submitted it (`embed@team-a/k3q0x7c1m2ab`: tenant, then API key
 * id): the API checks the tenant on every read, in the same round trip as the job's other fields,
 * and the worker releases the key's concurrency quota when the job ends. Ingestion's own jobs have
 * neither.
 */
export function ownedJobName(kind: keyof typeof jobCatalog, tenant: string, keyId?: string): string {
  return `${jobCatalog[kind].jobName}@${tenant}${keyId ? `/${keyId}` : ""}`;
}

export function ownerOfJobName(name: string | null | undefined): { tenant: string; keyId: string | undefined } | undefined {
  const at = name?.indexOf("@") ?? -1;
  if (!name || at < 0) return undefined;
  const [tenant, keyId] = name.slice(at + 1).split("/");
  return tenant ? { tenant, keyId: keyId || undefined } : undefined;
}

export function tenantOfJobName(name: string | null | undefined): string | undefined {
  return ownerOfJobName(name)?.tenant;
}

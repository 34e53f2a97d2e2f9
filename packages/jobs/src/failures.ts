/**
 * Machine-readable failure codes stored with a failed job. They are what clients branch on,
 * so they are part of the API contract (README, "Job errors").
 */
export const FAILURE_CODES = [
  "model_not_found",
  "bad_request",
  "instance_unavailable",
  "timeout",
  "invalid_response",
  "canceled",
  "stalled",
  "worker_outdated",
  "internal",
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface JobFailure {
  code: FailureCode;
  message: string;
  instance?: string;
}

/** BullMQ keeps one string per failure; Herd stores JSON in it so the code survives. */
export function encodeFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeFailure(failedReason: string | undefined): JobFailure {
  if (!failedReason) return { code: "internal", message: "job failed without a reason" };
  if (failedReason.startsWith("{")) {
    try {
      const parsed = JSON.parse(failedReason) as Partial<JobFailure>;
      if (typeof parsed.code === "string" && (FAILURE_CODES as readonly string[]).includes(parsed.code) && typeof parsed.message === "string") {
        return {
          code: parsed.code,
          message: parsed.message,
          ...(typeof parsed.instance === "string" ? { instance: parsed.instance } : {}),
        };
      }
    } catch {
      // Not one of ours: fall through and report BullMQ's own text.
    }
  }
  if (/stalled/i.test(failedReason)) return { code: "stalled", message: failedReason };
  return { code: "internal", message: failedReason };
}

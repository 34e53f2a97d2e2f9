import type { JobFailure } from "./failures.js";
import type { JobKind } from "./models.js";

export type JobStatus = "queued" | "running" | "completed" | "failed" | "canceled";

/** The body of GET /v1/jobs/:id; also what a cache hit returns (with `id: null`). */
export interface JobView {
  id: string | null;
  type: JobKind;
  model: string;
  status: JobStatus;
  result?: unknown;
  error?: { code: string; message: string };
  attempts: number;
  instance?: string;
  cached?: boolean;
  timings: { queuedMs: number; runMs: number; totalMs: number };
}

/** Maps a BullMQ state to the public status. */
export function statusFromState(state: string): JobStatus | undefined {
  switch (state) {
    case "waiting":
    case "prioritized":
    case "delayed":
    case "waiting-children":
      return "queued";
    case "active":
      return "running";
    case "completed":
      return "completed";
    case "failed":
      return "failed";
    default:
      return undefined;
  }
}

export function failureToError(failure: JobFailure): { code: string; message: string } {
  return { code: failure.code, message: failure.message };
}

import type { Job } from "bullmq";
import { withoutImages, type GenerateJobData } from "@herd/jobs";
import { coerceError, type Logger } from "@herd/logger";

/**
 * Drops a finished generate job's images from its data in Redis (see withoutImages): BullMQ keeps
 * finished jobs for HERD_JOB_RETENTION, and a few megabytes of base64 each would fill the queue
 * Redis, which must never evict. Fire and forget: the job's outcome is already recorded; if this
 * write fails, the images go when retention removes the job.
 */
export function releaseImages(job: Job, logger: Logger): void {
  // Looked at before anything else (most jobs carry no image; embeddings never do). Not parsed
  // again: the processor validated this data, and a parse re-checks every image's base64.
  const raw = job.data as { images?: unknown; messages?: unknown } | undefined;
  const messages: unknown[] = Array.isArray(raw?.messages) ? raw.messages : [];
  if (!Array.isArray(raw?.images) && !messages.some((message) => Array.isArray((message as { images?: unknown } | null)?.images))) return;
  const released = withoutImages(job.data as GenerateJobData);
  if (!released) return;
  job.updateData(released).catch((error: unknown) => {
    // Retention may already have removed the job (and its images with it).
    const gone = error instanceof Error && error.message.includes("Missing key");
    logger[gone ? "debug" : "warn"]({ err: coerceError(error), jobId: job.id }, "could not release a finished job's images; they go with the job at retention");
  });
}

import type { GenerateJobData } from "./payloads.js";

/** How many images a generate job carries (its prompt's and its messages'). */
export function countImages(data: Pick<GenerateJobData, "images" | "messages">): number {
  return (data.images?.length ?? 0) + (data.messages ?? []).reduce((sum, message) => sum + (message.images?.length ?? 0), 0);
}

/**
 * The job's data once it has finished, without its images: base64 images are most of such a job's
 * size, and BullMQ keeps finished jobs (HERD_JOB_RETENTION) in the queue Redis, which must not
 * evict. Undefined when there are none to drop.
 */
export function withoutImages(data: GenerateJobData): GenerateJobData | undefined {
  const count = countImages(data);
  if (count === 0) return undefined;
  const { images: _images, ...rest } = data;
  return {
    ...rest,
    ...(data.messages ? { messages: data.messages.map(({ images: _dropped, ...message }) => message) } : {}),
    imagesReleased: count,
  };
}

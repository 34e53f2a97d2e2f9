import type { Queue } from "bullmq";

/**
 * Milliseconds from `sinceEpochMs` until the last job in `ids` finished (completed or failed, by
 * BullMQ's own `finishedOn`), once all have; undefined if they have not within `timeoutMs` or
 * `ids` is empty. Reads BullMQ directly, so it measures the queue, not an API that may be down.
 */
export async function recoveryOf(queue: Queue, ids: Iterable<string>, sinceEpochMs: number, timeoutMs = 120_000): Promise<number | undefined> {
  const pending = new Set(ids);
  if (pending.size === 0) return undefined;
  const deadline = Date.now() + timeoutMs;
  let last = sinceEpochMs;
  while (pending.size > 0) {
    if (Date.now() > deadline) return undefined;
    for (const id of [...pending]) {
      const job = await queue.getJob(id);
      if (!job) {
        pending.delete(id);
        continue;
      }
      if (job.finishedOn !== undefined) {
        last = Math.max(last, job.finishedOn);
        pending.delete(id);
      }
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return last - sinceEpochMs;
}

/** Ids of the jobs active right now on the instance named `instance`. */
export async function activeOn(queue: Queue, instance: string): Promise<string[]> {
  return (await queue.getActive()).filter((job) => job.processedBy === instance).flatMap((job) => (job.id ? [job.id] : []));
}

export function countMap(map: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
}

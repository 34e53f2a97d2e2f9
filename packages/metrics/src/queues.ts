import { Gauge, type Registry } from "prom-client";

export const QUEUE_STATES = ["waiting", "prioritized", "active", "delayed", "waiting-children", "completed", "failed"] as const;

export interface CountableQueue {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/**
 * Jobs per queue and state, read from BullMQ when Prometheus scrapes (never on a timer). A
 * queue that cannot be read (Redis down) is left out of that scrape rather than failing it.
 */
export function queueMetrics(registry: Registry, queues: () => CountableQueue[], onError: (error: unknown) => void): void {
  new Gauge({
    name: "herd_queue_jobs",
    help: "Jobs in each queue by state (waiting and prioritized are both waiting to run; completed and failed are the retained ones).",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        queues().map(async (queue) => {
          try {
            const counts = await queue.getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch (error) {
            onError(error);
          }
        }),
      );
    },
  });
}

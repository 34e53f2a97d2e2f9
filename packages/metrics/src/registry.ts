import { Registry, collectDefaultMetrics } from "prom-client";

export type { Registry } from "prom-client";

/**
 * A registry for one process, with Node's process metrics (CPU, memory, event loop lag, GC) and a
 * `service` label ("api" or "worker") on every series.
 */
export function createRegistry(service: "api" | "worker"): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters (prom-client keeps them for compatibility); promtool rejects them.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) registry.removeSingleMetric(name);
  return registry;
}

/**
 * prom-client collects the metrics of a scrape concurrently: gauges that share one reading call
 * this, and the first of them to collect starts the round the others join.
 */
export function sharedPerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let round: Promise<T> | undefined;
  return () =>
    (round ??= read().finally(() => {
      round = undefined;
    }));
}

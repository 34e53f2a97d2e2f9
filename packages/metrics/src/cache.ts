import { Counter, type Registry } from "prom-client";

export interface CacheLayerCounts {
  hits: number;
  misses: number;
  errors: number;
}

/** Cache lookups per layer and result, read from the process's cache counters on each scrape. */
export function cacheMetrics(registry: Registry, stats: () => Record<string, CacheLayerCounts>): void {
  new Counter({
    name: "herd_cache_requests_total",
    help: "Cache lookups by layer (embedding, inference, chunk) and result (hit, miss, error).",
    labelNames: ["layer", "result"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [layer, counts] of Object.entries(stats())) {
        this.inc({ layer, result: "hit" }, counts.hits);
        this.inc({ layer, result: "miss" }, counts.misses);
        this.inc({ layer, result: "error" }, counts.errors);
      }
    },
  });
}

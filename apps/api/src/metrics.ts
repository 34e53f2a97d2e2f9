import type { Request } from "express";
import type { HerdCache } from "@herd/cache";
import { INGEST_QUEUE, queueName } from "@herd/jobs";
import { coerceError, type Logger } from "@herd/logger";
import { ApiJobMetrics, IngestMetrics, cacheMetrics, createRegistry, queueMetrics, type Registry } from "@herd/metrics";
import type { FleetView } from "./fleet-view.js";
import type { QueueRegistry } from "./queues.js";

export interface ApiMetrics {
  registry: Registry;
  jobs: ApiJobMetrics;
  ingest: IngestMetrics;
}

/** Paths under which a sub-app answers; its own routes are not visible to the request metrics. */
export const ADMIN_PATH = "/admin/queues";

/** The route label for requests the express router does not describe (the admin UI's sub-app). */
export function routeLabel(req: Request): string | undefined {
  return req.originalUrl.startsWith(ADMIN_PATH) ? ADMIN_PATH : undefined;
}

/**
 * The API's Prometheus metrics: requests, job requests by outcome, ingestion, cache lookups, and
 * queue depth per queue and state (read from BullMQ on each scrape, for every queue the fleet
 * serves plus the ingest queue).
 */
export function createApiMetrics(deps: { cache: HerdCache; queues: QueueRegistry; fleet: FleetView; logger: Logger }): ApiMetrics {
  const registry = createRegistry("api");
  cacheMetrics(registry, () => deps.cache.stats());
  let lastError = 0;
  queueMetrics(
    registry,
    () => {
      const names = new Set([INGEST_QUEUE]);
      for (const served of deps.fleet.snapshot.models.values()) for (const kind of served.kinds) names.add(queueName(kind, served.model));
      return [...names].map((name) => deps.queues.queue(name));
    },
    (error) => {
      if (Date.now() - lastError < 10_000) return;
      lastError = Date.now();
      deps.logger.warn({ err: coerceError(error) }, "could not read queue counts for /metrics");
    },
  );
  return { registry, jobs: new ApiJobMetrics(registry), ingest: new IngestMetrics(registry) };
}

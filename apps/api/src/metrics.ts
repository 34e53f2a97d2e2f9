import type { Request } from "express";
import type { HerdCache } from "@herd/cache";
import { INGEST_QUEUE, queueName } from "@herd/jobs";
import { atMostEvery, coerceError, type Logger } from "@herd/logger";
import type { FleetSnapshot } from "@herd/fleet";
import { ApiJobMetrics, IngestMetrics, cacheMetrics, createRegistry, dependencyMetrics, fleetMetrics, queueMetrics, redisMemoryMetrics, type FleetCounts, type Registry } from "@herd/metrics";
import { Cluster, type RedisClient } from "@herd/redis";
import type { Database } from "@herd/store";
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

export interface ApiMetricsDeps {
  cache: HerdCache;
  queues: QueueRegistry;
  fleet: FleetView;
  redis: RedisClient;
  cacheRedis: RedisClient;
  db: Database;
  logger: Logger;
}

function fleetCounts(snapshot: FleetSnapshot): FleetCounts {
  const instances = snapshot.workers.flatMap((worker) => worker.instances);
  const healthy = instances.filter((instance) => instance.healthy).length;
  const healthySlots = new Map([...snapshot.models.values()].map((served) => [served.model, served.healthySlots]));
  return { workers: snapshot.workers.length, instances: { healthy, unhealthy: instances.length - healthy }, healthySlots };
}

/**
 * The API's Prometheus metrics: requests, job requests by outcome, ingestion, cache lookups, and
 * queue depth per queue and state (read from BullMQ on each scrape, for every queue the fleet
 * serves plus the ingest queue), the fleet seen through heartbeats, and whether Redis and
 * Postgres answer.
 */
export function createApiMetrics(deps: ApiMetricsDeps): ApiMetrics {
  const registry = createRegistry("api");
  cacheMetrics(registry, () => deps.cache.stats());
  fleetMetrics(registry, () => fleetCounts(deps.fleet.snapshot));
  dependencyMetrics(registry, {
    redis: () => deps.redis.ping(),
    ...(deps.cacheRedis !== deps.redis ? { cache_redis: () => deps.cacheRedis.ping() } : {}),
    postgres: () => deps.db.pool.query("SELECT 1"),
  });
  // On a cluster INFO would go to any node, not the one holding Herd's slot: not reported there.
  const memory = (client: RedisClient) => (client instanceof Cluster ? {} : { [client === deps.redis ? "queue" : "cache"]: () => client.info("memory") });
  redisMemoryMetrics(registry, { ...memory(deps.redis), ...(deps.cacheRedis !== deps.redis ? memory(deps.cacheRedis) : {}) });
  const queueErrorLog = atMostEvery(10_000);
  queueMetrics(
    registry,
    () => {
      const names = new Set([INGEST_QUEUE]);
      for (const served of deps.fleet.snapshot.models.values()) for (const kind of served.kinds) names.add(queueName(kind, served.model));
      return [...names].map((name) => deps.queues.queue(name));
    },
    (error) => {
      queueErrorLog(() => deps.logger.warn({ err: coerceError(error) }, "could not read queue counts for /metrics"));
    },
  );
  return { registry, jobs: new ApiJobMetrics(registry), ingest: new IngestMetrics(registry) };
}

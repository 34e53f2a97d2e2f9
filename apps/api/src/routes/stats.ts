import { Router } from "express";
import type { RedisClient } from "@herd/redis";
import { CACHE_LAYERS, readCacheTotals, type HerdCache } from "@herd/cache";
import type { ApiConfig } from "@herd/config";
import { hostname } from "node:os";
import { instanceKey, reachableFrom, type InstanceStatus, type WorkerHeartbeat } from "@herd/fleet";
import type { HerdKeys } from "@herd/jobs";
import type { FleetView } from "../fleet-view.js";
import type { InstanceProber, ProbeResult } from "../instance-prober.js";

export interface StatsRouteDeps {
  config: ApiConfig;
  redis: RedisClient;
  cache: HerdCache;
  keys: HerdKeys;
  fleet: FleetView;
  prober: InstanceProber;
}

const round = (value: number) => Math.round(value * 10) / 10;
const host = hostname();

/** An instance this process cannot call, as the last probe of the worker reporting it saw it. */
function probeSeenByWorker(instance: InstanceStatus): ProbeResult {
  return {
    ok: instance.healthy,
    latencyMs: instance.lastProbeMs ?? 0,
    ...(instance.version ? { version: instance.version } : {}),
    ...(instance.healthy || !instance.lastError ? {} : { error: instance.lastError }),
  };
}

/** One instance as a worker sees it, with its models' counters summed and latency combined. */
function instanceStats(worker: WorkerHeartbeat, instance: InstanceStatus) {
  const sum = (pick: (model: InstanceStatus["models"][number]) => number) => instance.models.reduce((total, model) => total + pick(model), 0);
  const timed = instance.models.filter((model) => model.latencyMs && model.completed > 0);
  const weight = timed.reduce((total, model) => total + model.completed, 0);
  return {
    name: instance.name,
    url: instance.url,
    worker: worker.workerId,
    healthy: instance.healthy,
    ...(instance.version ? { version: instance.version } : {}),
    models: instance.models.map((model) => ({
      model: model.model,
      kinds: model.kinds,
      slots: model.slots,
      inFlight: model.inFlight,
      completed: model.completed,
      failed: model.failed,
      ...(model.latencyMs ? { latencyMs: model.latencyMs } : {}),
    })),
    slots: sum((model) => model.slots),
    inFlight: sum((model) => model.inFlight),
    completed: sum((model) => model.completed),
    failed: sum((model) => model.failed),
    // Mean weighted by calls; p95 is the worst model's (an upper bound for the instance).
    latencyMs:
      weight > 0
        ? {
            mean: round(timed.reduce((total, model) => total + (model.latencyMs?.mean ?? 0) * model.completed, 0) / weight),
            p95: Math.max(...timed.map((model) => model.latencyMs?.p95 ?? 0)),
          }
        : null,
    lastProbe: instance.lastProbeAt ? { at: instance.lastProbeAt, ms: instance.lastProbeMs ?? null } : null,
    ...(instance.lastError ? { lastError: instance.lastError } : {}),
  };
}

/**
 * Operational views kept compatible with the load balancer Herd replaces:
 * - /api/load-balancer-stats: per instance (as each worker reports it in its heartbeat): health,
 *   models, slots, calls in flight, completed, failed, mean and p95 latency, last probe;
 * - /api/advanced-cache-stats: per cache layer, fleet-wide hits, misses, hit rate, errors, TTL and
 *   approximate keys;
 * - /api/ollama-health: every known instance probed now (GET /api/version) with its latency.
 */
export function statsRouter(deps: StatsRouteDeps): Router {
  const router = Router();

  router.get("/api/load-balancer-stats", async (_req, res) => {
    const snapshot = await deps.fleet.fresh(250);
    const instances = snapshot.workers.flatMap((worker) => worker.instances.map((instance) => instanceStats(worker, instance)));
    const total = (pick: (instance: (typeof instances)[number]) => number) => instances.reduce((sum, instance) => sum + pick(instance), 0);
    res.json({
      strategy: "queue-pull",
      workers: snapshot.workers.length,
      instances,
      totals: {
        instances: instances.length,
        healthyInstances: instances.filter((instance) => instance.healthy).length,
        slots: total((instance) => instance.slots),
        inFlight: total((instance) => instance.inFlight),
        completed: total((instance) => instance.completed),
        failed: total((instance) => instance.failed),
      },
      updatedAt: new Date(snapshot.takenAt).toISOString(),
    });
  });

  router.get("/api/advanced-cache-stats", async (_req, res) => {
    const [totals, keys] = await Promise.all([
      readCacheTotals(deps.redis, deps.keys.cacheStats),
      Promise.all(CACHE_LAYERS.map((layer) => (deps.cache.enabled(layer) ? deps.cache.approximateKeys(layer) : Promise.resolve({ keys: 0, exact: true })))),
    ]);
    const layers = Object.fromEntries(
      CACHE_LAYERS.map((layer, i) => {
        const counts = totals[layer];
        const lookups = counts.hits + counts.misses;
        const stored = keys[i];
        return [
          layer,
          {
            enabled: deps.cache.enabled(layer),
            ttlSeconds: deps.config.cacheTtlSeconds[layer],
            hits: counts.hits,
            misses: counts.misses,
            hitRate: lookups > 0 ? Math.round((counts.hits / lookups) * 1000) / 1000 : null,
            errors: counts.errors,
            approximateKeys: stored?.keys ?? null,
            keysExact: stored?.exact ?? false,
          },
        ];
      }),
    );
    res.json({
      layers,
      memoryTier: { maxBytes: deps.config.cacheMemory.maxBytes, ttlMs: deps.config.cacheMemory.ttlMs },
      separateRedis: deps.config.cacheRedisUrl !== deps.config.redisUrl,
      scope: "fleet-wide counters since first start (every API and worker process adds its own every 2 s)",
    });
  });

  router.get("/api/ollama-health", async (_req, res) => {
    const snapshot = await deps.fleet.fresh(250);
    const known = new Map<string, { name: string; url: string; workers: string[]; healthyForWorkers: boolean[]; seen: InstanceStatus; reachable: boolean }>();
    for (const worker of snapshot.workers) {
      for (const instance of worker.instances) {
        const key = instanceKey(worker.host, instance.url);
        const entry = known.get(key) ?? { name: instance.name, url: instance.url, workers: [], healthyForWorkers: [], seen: instance, reachable: reachableFrom(host, worker.host, instance.url) };
        entry.workers.push(worker.workerId);
        entry.healthyForWorkers.push(instance.healthy);
        known.set(key, entry);
      }
    }
    const probes = await Promise.all(
      [...known.values()].map(async (entry) => ({
        entry,
        // An instance behind a loopback URL on another machine: what its worker's last probe saw.
        probe: entry.reachable ? await deps.prober.probe(entry.url, entry.name) : probeSeenByWorker(entry.seen),
      })),
    );
    const instances = probes.map(({ entry, probe }) => ({
      name: entry.name,
      url: entry.url,
      healthy: probe.ok,
      latencyMs: probe.latencyMs,
      ...(probe.version ? { version: probe.version } : {}),
      ...(probe.error ? { error: probe.error } : {}),
      pulling: entry.healthyForWorkers.every(Boolean),
      workers: entry.workers,
      probedBy: entry.reachable ? "api" : "worker",
    }));
    res.json({ healthy: instances.every((instance) => instance.healthy), checkedAt: new Date().toISOString(), instances });
  });

  return router;
}

import { Router } from "express";
import type { RedisClient } from "@herd/redis";
import type { FleetView } from "../fleet-view.js";

/** /health: the process is alive. /ready: RedisClient answers and at least one instance is healthy. */
export function healthRouter(deps: { redis: RedisClient; fleet: FleetView }): Router {
  const router = Router();
  router.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/ready", async (_req, res) => {
    let redis = "ok";
    try {
      if (deps.redis.status !== "ready") throw new Error(deps.redis.status);
      await deps.redis.ping();
    } catch (error) {
      redis = `unavailable (${(error as Error).message})`;
    }
    const snapshot = redis === "ok" ? await deps.fleet.fresh(1000) : deps.fleet.snapshot;
    const healthyInstances = snapshot.healthyInstances;
    const ready = redis === "ok" && healthyInstances > 0;
    if (!ready) res.setHeader("Retry-After", "1");
    res.status(ready ? 200 : 503).json({
      status: ready ? "ready" : "not_ready",
      redis,
      workers: snapshot.workers.length,
      healthyInstances,
      models: [...snapshot.models.keys()].sort(),
    });
  });
  return router;
}

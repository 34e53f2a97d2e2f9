import { Router } from "express";
import type { FleetView } from "../fleet-view.js";

/** GET /v1/fleet: every live worker with its instances, models, slots and health. */
export function fleetRouter(deps: { fleet: FleetView }): Router {
  const router = Router();
  router.get("/v1/fleet", async (_req, res) => {
    const snapshot = await deps.fleet.fresh(250);
    res.json({
      workers: snapshot.workers,
      models: [...snapshot.models.values()].map((served) => ({
        model: served.model,
        kinds: [...served.kinds].sort(),
        instances: served.instances,
        healthyInstances: served.healthyInstances,
        healthySlots: served.healthySlots,
        ...(served.capabilities ? { capabilities: [...served.capabilities].sort() } : {}),
        ...(served.contextLength !== undefined ? { contextLength: served.contextLength } : {}),
      })),
    });
  });
  return router;
}

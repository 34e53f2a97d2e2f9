import { Gauge, type Registry } from "prom-client";

export interface FleetCounts {
  /** Workers whose heartbeat is fresh. */
  workers: number;
  /** Instances reported by those workers, by health. */
  instances: { healthy: number; unhealthy: number };
  /** Slots on healthy instances, per model. */
  healthySlots: ReadonlyMap<string, number>;
}

/**
 * The fleet as the API sees it through worker heartbeats, read on each scrape. A scrape that finds
 * no workers reports 0 (the "no worker heartbeat" alert), unlike a worker's own `up` series, which
 * disappears with the worker.
 */
export function fleetMetrics(registry: Registry, counts: () => FleetCounts): void {
  new Gauge({
    name: "herd_fleet_workers",
    help: "Worker processes with a live heartbeat in Redis.",
    registers: [registry],
    collect() {
      this.set(counts().workers);
    },
  });
  new Gauge({
    name: "herd_fleet_instances",
    help: "Ollama instances reported by live workers, by state (healthy, unhealthy).",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const { instances } = counts();
      this.set({ state: "healthy" }, instances.healthy);
      this.set({ state: "unhealthy" }, instances.unhealthy);
    },
  });
  new Gauge({
    name: "herd_fleet_model_slots",
    help: "Slots on healthy instances for each model served by the fleet.",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [model, slots] of counts().healthySlots) this.set({ model }, slots);
    },
  });
}

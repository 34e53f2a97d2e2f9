import { instanceKey, type FleetRegistry, type WorkerHeartbeat } from "@herd/fleet";
import type { JobKind } from "@herd/jobs";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import type { SharedInstanceWatch } from "./shared-instances.js";

/**
 * What the other workers' heartbeats tell this one, read at each of its own: who else binds its
 * instances (SharedInstanceWatch), and which models their instances serve.
 */
export class FleetReader {
  #heartbeats: WorkerHeartbeat[] = [];
  readonly #warn: ReturnType<typeof warnAtMostEvery>;

  constructor(private readonly options: { registry: FleetRegistry; workerId: string; host: string; shared: SharedInstanceWatch; logger: Logger }) {
    this.#warn = warnAtMostEvery(options.logger, 60_000);
  }

  /** The live workers' heartbeats (this one's included), or undefined when they could not be read (the last read then stands). */
  async read(instances: ReadonlyArray<{ name: string; url: string }>): Promise<WorkerHeartbeat[] | undefined> {
    try {
      this.#heartbeats = await this.options.registry.list();
    } catch (error) {
      // Deferring or not, every binding still takes jobs: the next heartbeat tries again. Through a
      // Redis outage this fails on every heartbeat, which the heartbeat's own outage log reports.
      this.#warn({ err: coerceError(error) }, "could not read the fleet's heartbeats; deferrals and other workers' bindings unchanged");
      return undefined;
    }
    this.options.shared.observe(this.#heartbeats, instances);
    return this.#heartbeats;
  }

  /** Whether another worker's instance, not the one at `exceptUrl` (this worker's), healthy at its last heartbeat, serves `model` for `kind`. */
  serves(model: string, kind: JobKind, exceptUrl: string): boolean {
    const except = instanceKey(this.options.host, exceptUrl);
    return this.#heartbeats.some(
      (worker) =>
        worker.workerId !== this.options.workerId &&
        worker.instances.some((instance) => instance.healthy && instanceKey(worker.host, instance.url) !== except && instance.models.some((bound) => bound.model === model && bound.kinds.includes(kind))),
    );
  }
}

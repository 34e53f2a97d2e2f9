import type { RedisClient } from "@herd/redis";
import { FleetRegistry, FleetSnapshot } from "@herd/fleet";
import { coerceError, type Logger } from "@herd/logger";

/**
 * The API's cached picture of the fleet, refreshed on a timer and on demand (at most every
 * 100 ms) when a request names a model the last snapshot did not have.
 */
export class FleetView {
  readonly #registry: FleetRegistry;
  #snapshot = new FleetSnapshot([], 0);
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<FleetSnapshot> | undefined;
  #failing = false;

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly refreshMs: number,
    private readonly logger: Logger,
    private readonly onModels: (snapshot: FleetSnapshot) => void = () => undefined,
  ) {
    this.#registry = new FleetRegistry(redis, prefix);
  }

  get snapshot(): FleetSnapshot {
    return this.#snapshot;
  }

  start(): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.#timer.unref();
  }

  refresh(): Promise<FleetSnapshot> {
    this.#refreshing ??= this.#registry
      .list()
      .then((workers) => {
        if (this.#failing) this.logger.info("fleet refresh works again");
        this.#failing = false;
        this.#snapshot = new FleetSnapshot(workers, Date.now());
        this.onModels(this.#snapshot);
        return this.#snapshot;
      })
      .catch((error: unknown) => {
        // Once per outage: /ready and model checks keep using the last snapshot meanwhile.
        this.logger[this.#failing ? "debug" : "warn"]({ err: coerceError(error) }, "fleet refresh failed; using the last fleet snapshot");
        this.#failing = true;
        return this.#snapshot;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** The current snapshot, refreshed first if it is older than `maxAgeMs`. */
  async fresh(maxAgeMs = 100): Promise<FleetSnapshot> {
    if (Date.now() - this.#snapshot.takenAt <= maxAgeMs) return this.#snapshot;
    return this.refresh();
  }

  list() {
    return this.#registry.list();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

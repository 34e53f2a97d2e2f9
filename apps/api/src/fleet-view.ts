import type { RedisClient } from "@herd/redis";
import { FleetRegistry, FleetSnapshot } from "@herd/fleet";
import { OutageLog, type Logger } from "@herd/logger";

/**
 * The API's cached picture of the fleet, refreshed on a timer and on demand (at most every
 * 100 ms) when a request names a model the last snapshot did not have.
 */
export class FleetView {
  readonly #registry: FleetRegistry;
  #snapshot = new FleetSnapshot([], 0);
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<FleetSnapshot> | undefined;
  readonly #outage: OutageLog;

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly refreshMs: number,
    private readonly logger: Logger,
    private readonly onModels: (snapshot: FleetSnapshot) => void = () => undefined,
  ) {
    this.#registry = new FleetRegistry(redis, prefix);
    this.#outage = new OutageLog(logger, { failed: "fleet refresh failed; using the last fleet snapshot", recovered: "fleet refresh works again" });
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
        this.#outage.succeeded();
        this.#snapshot = new FleetSnapshot(workers, Date.now());
        this.onModels(this.#snapshot);
        return this.#snapshot;
      })
      .catch((error: unknown) => {
        // /ready and model checks keep using the last snapshot meanwhile.
        this.#outage.failed(error);
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

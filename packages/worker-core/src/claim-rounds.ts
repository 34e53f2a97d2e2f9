import type { ResolvedInstance } from "@herd/config";
import { coerceError, type Logger } from "@herd/logger";
import type { InstanceClaims } from "./instance-claims.js";
import type { InstanceMonitor } from "./instance-monitor.js";

/** What a claim round acts on: the worker's watched instances. */
export interface ClaimedInstances {
  monitors(): readonly InstanceMonitor[];
  watch(instance: ResolvedInstance): Promise<void>;
  unwatch(monitor: InstanceMonitor): Promise<void>;
  closing(): boolean;
}

/**
 * HERD_CLAIM_INSTANCES: on every heartbeat, renews the leases of the instances this worker serves,
 * lets go of any another worker took, and claims free ones up to `limit`. One round at a time.
 */
export class ClaimRounds {
  #round: Promise<void> | undefined;

  constructor(
    private readonly claims: InstanceClaims,
    private readonly instances: readonly ResolvedInstance[],
    private readonly limit: number,
    private readonly watched: ClaimedInstances,
    private readonly logger: Logger,
  ) {}

  run(): Promise<void> {
    if (this.watched.closing()) return Promise.resolve();
    this.#round ??= this.#run().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  /** Ends with the round under way, if any: shutdown waits for it, as it may be starting an instance. */
  async settled(): Promise<void> {
    await this.#round;
  }

  async #run(): Promise<void> {
    try {
      for (const monitor of [...this.watched.monitors()]) {
        if (await this.claims.renew(monitor.instance.url)) continue;
        this.logger.warn({ instance: monitor.instance.name, holder: await this.claims.holder(monitor.instance.url) }, "another worker holds this instance now; no longer serving it");
        await this.watched.unwatch(monitor);
      }
      const held = new Set(this.watched.monitors().map((monitor) => monitor.instance.url));
      for (const instance of this.instances) {
        if (this.watched.monitors().length >= this.limit || this.watched.closing()) break;
        if (held.has(instance.url) || !(await this.claims.tryClaim(instance.url))) continue;
        this.logger.info({ instance: instance.name }, "claimed instance");
        await this.watched.watch(instance);
      }
    } catch (error) {
      // Redis unreachable: keep serving what is held; leases are re-taken when it answers.
      this.logger.warn({ err: coerceError(error) }, "instance claims not renewed");
    }
  }
}

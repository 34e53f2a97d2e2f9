import { describeBinders, instanceKey, sharedInstances, SHARED_INSTANCE_ADVICE, type InstanceBinder, type WorkerHeartbeat } from "@herd/fleet";
import { atMostEvery, type Logger } from "@herd/logger";

/**
 * Watches, heartbeat after heartbeat, for other workers binding this worker's instances
 * (sharedInstances): each such instance is oversubscribed, and nothing else would say so. It
 * counts only workers seen publishing (a heartbeat newer than the one seen before), so the
 * heartbeat a killed worker leaves behind for a few seconds is not mistaken for a live one. The
 * warning, at most once a minute per instance, waits for a second reading in a row, so a
 * hand-over of a claimed instance (the old holder's last heartbeat still listing it) stays quiet.
 */
export class SharedInstanceWatch {
  /** Each other worker's heartbeat time when last read, and whether it has changed since first seen. */
  readonly #seen = new Map<string, { updatedAt: string; publishing: boolean }>();
  /** Per own instance (its key): the live workers also binding it at the last reading. */
  #others = new Map<string, InstanceBinder[]>();
  readonly #warners = new Map<string, (log: () => void) => void>();

  constructor(
    private readonly self: { workerId: string; host: string },
    private readonly logger: Logger,
  ) {}

  /** After each read of the fleet, with the instances this worker binds now. */
  observe(fleet: readonly WorkerHeartbeat[], own: readonly { name: string; url: string }[]): void {
    this.#track(fleet);
    const previous = this.#others;
    const others = new Map<string, InstanceBinder[]>();
    const ownKeys = new Set(own.map((instance) => instanceKey(this.self.host, instance.url)));
    for (const shared of sharedInstances(fleet)) {
      if (!ownKeys.has(shared.key)) continue;
      const live = shared.binders.filter((binder) => binder.workerId !== this.self.workerId && this.#seen.get(binder.workerId)?.publishing === true);
      if (live.length > 0) others.set(shared.key, live);
    }
    this.#others = others;
    for (const instance of own) {
      const key = instanceKey(this.self.host, instance.url);
      const live = others.get(key);
      if (!live || !previous.has(key)) continue;
      this.#warnerOf(key)(() =>
        this.logger.warn(
          { instance: instance.name, url: instance.url, otherWorkers: live.map((binder) => ({ workerId: binder.workerId, host: binder.host })) },
          `instance ${instance.name} is also bound by worker ${describeBinders(live)}: ${SHARED_INSTANCE_ADVICE}`,
        ),
      );
    }
  }

  /** How many other live workers bind the instance at `url` (0 when none, or not known yet). */
  othersOn(url: string): number {
    return this.#others.get(instanceKey(this.self.host, url))?.length ?? 0;
  }

  #track(fleet: readonly WorkerHeartbeat[]): void {
    const listed = new Set<string>();
    for (const worker of fleet) {
      if (worker.workerId === this.self.workerId) continue;
      listed.add(worker.workerId);
      const seen = this.#seen.get(worker.workerId);
      if (!seen) this.#seen.set(worker.workerId, { updatedAt: worker.updatedAt, publishing: false });
      else if (seen.updatedAt !== worker.updatedAt) this.#seen.set(worker.workerId, { updatedAt: worker.updatedAt, publishing: true });
    }
    // A worker gone from the fleet starts over if it comes back (a restart under the same id).
    for (const workerId of this.#seen.keys()) if (!listed.has(workerId)) this.#seen.delete(workerId);
  }

  #warnerOf(key: string): (log: () => void) => void {
    let warner = this.#warners.get(key);
    if (!warner) {
      warner = atMostEvery(60_000);
      this.#warners.set(key, warner);
    }
    return warner;
  }
}

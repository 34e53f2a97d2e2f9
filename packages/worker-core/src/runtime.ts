import { hostname } from "node:os";
import type { ResolvedInstance, WorkerConfig } from "@herd/config";
import type { Job } from "bullmq";
import { FleetRegistry, InstanceDescriptions, instanceKey, type InstanceDescription, type WorkerHeartbeat } from "@herd/fleet";
import { CacheStatsPublisher, HerdCache } from "@herd/cache";
import { herdKeys, type JobKind } from "@herd/jobs";
import { coerceError, OutageLog, type Logger } from "@herd/logger";
import { closeRedis, createRedisClient, hashTag, type RedisClient } from "@herd/redis";
import { Binding } from "./binding.js";
import type { DiscoveredModel } from "./discovery.js";
import { ClaimRounds } from "./claim-rounds.js";
import { ClockWatch } from "./clock-watch.js";
import { describeWorker, SharedIdWatch } from "./heartbeat.js";
import { SharedInstanceWatch } from "./shared-instances.js";
import { FleetReader } from "./fleet-reader.js";
import { InstanceClaims } from "./instance-claims.js";
import { fasterElsewhere, fasterIdlePeer, warmElsewhere } from "./job-router.js";
import { JobCancels } from "./job-cancels.js";
import { InstanceMonitor } from "./instance-monitor.js";
import { WorkerMetrics } from "./metrics.js";
import { sharedAbortController } from "./shared-signal.js";

export interface WorkerRuntimeOptions {
  config: WorkerConfig;
  logger: Logger;
}

/**
 * A worker process: one InstanceMonitor per configured Ollama instance, one Binding per
 * (instance, model) it discovers, and a heartbeat telling the API what this process serves.
 */
export class WorkerRuntime {
  readonly config: WorkerConfig;
  readonly #logger: Logger;
  readonly #connection: RedisClient;
  readonly #cacheRedis: RedisClient;
  readonly #cache: HerdCache;
  readonly #registry: FleetRegistry;
  readonly #cacheStats: CacheStatsPublisher;
  readonly monitors: InstanceMonitor[] = [];
  /** Prometheus metrics of this process; apps/worker serves them on HERD_METRICS_PORT. */
  readonly metrics: WorkerMetrics;
  readonly #bindings = new Map<string, Binding>();
  readonly #shutdown = sharedAbortController();
  readonly #startedAt = new Date();
  /** Read once, so the heartbeat and the keys of loopback instances (claims, deferral) always agree. */
  readonly #host = hostname();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  readonly #heartbeatOutage: OutageLog;
  readonly #sharedId: SharedIdWatch;
  readonly #sharedInstances: SharedInstanceWatch;
  readonly #fleet: FleetReader;
  readonly #clock: ClockWatch;
  readonly #descriptions: InstanceDescriptions;
  #closing: Promise<void> | undefined;
  /** Exclusive instance leases, when HERD_CLAIM_INSTANCES is set. */
  readonly #claims: InstanceClaims | undefined;
  readonly #cancels: JobCancels;
  readonly #claimRounds: ClaimRounds | undefined;

  constructor(private readonly options: WorkerRuntimeOptions) {
    this.config = options.config;
    this.#logger = options.logger;
    const queueRedis = { url: this.config.redisUrl, cluster: this.config.redisCluster };
    this.#connection = createRedisClient({ ...queueRedis, role: "blocking", logger: this.#logger, connectionName: `herd-worker-${this.config.workerId}` });
    this.#cacheRedis =
      this.config.cacheRedisUrl === this.config.redisUrl
        ? this.#connection
        : createRedisClient({ url: this.config.cacheRedisUrl, cluster: this.config.cacheRedisCluster, role: "cache", logger: this.#logger });
    this.#cache = new HerdCache({ redis: this.#cacheRedis, prefix: this.config.prefix, ttlSeconds: this.config.cacheTtlSeconds, memory: this.config.cacheMemory, logger: this.#logger });
    this.#registry = new FleetRegistry(this.#connection, this.config.prefix);
    this.#sharedId = new SharedIdWatch({ workerId: this.config.workerId, host: this.#host, pid: process.pid, startedAt: this.#startedAt.toISOString() }, this.#logger);
    this.#sharedInstances = new SharedInstanceWatch({ workerId: this.config.workerId, host: this.#host }, this.#logger);
    this.#fleet = new FleetReader({ registry: this.#registry, workerId: this.config.workerId, host: this.#host, shared: this.#sharedInstances, logger: this.#logger });
    this.#clock = new ClockWatch(this.#connection, this.#logger);
    this.#descriptions = new InstanceDescriptions(this.#connection, this.config.prefix);
    this.#heartbeatOutage = new OutageLog(this.#logger, { failed: "heartbeat not published; the API stops counting this worker after three missed ones", recovered: "heartbeat published again" });
    this.#cacheStats = new CacheStatsPublisher(this.#cache, this.#connection, herdKeys(this.config.prefix).cacheStats, this.#logger);
    this.#cancels = new JobCancels(queueRedis, herdKeys(this.config.prefix).cancelChannel, this.#logger);
    this.#claims =
      this.config.claimInstances === undefined
        ? undefined
        : new InstanceClaims(this.#connection, (url) => herdKeys(this.config.prefix).instanceClaim(instanceKey(this.#host, url)), this.config.workerId, this.config.heartbeatIntervalMs * 3);
    this.#claimRounds =
      this.#claims &&
      new ClaimRounds(
        this.#claims,
        this.config.instances,
        this.config.claimInstances ?? 0,
        { monitors: () => this.monitors, watch: (instance) => this.#watch(instance), unwatch: (monitor) => this.#unwatch(monitor), closing: () => this.#closing !== undefined },
        this.#logger,
      );
    this.metrics = new WorkerMetrics({
      bindings: () => this.bindings.map((binding) => ({ instance: binding.instanceName, model: binding.model.model, slots: binding.model.slots, inFlight: binding.gate.inFlight })),
      instances: () => this.monitors.map((monitor) => ({ instance: monitor.instance.name, healthy: monitor.healthy, otherWorkers: this.#sharedInstances.othersOn(monitor.instance.url) })),
      cache: () => this.#cache.stats(),
    });
  }

  get bindings(): Binding[] {
    return [...this.#bindings.values()];
  }

  /** Probes every instance once (so a healthy fleet pulls immediately), then keeps watching. */
  async start(): Promise<void> {
    if (this.#claimRounds) await this.#claimRounds.run();
    else await Promise.all(this.config.instances.map((instance) => this.#watch(instance)));
    await this.#publishHeartbeat();
    this.#cacheStats.start();
    this.#heartbeatTimer = setInterval(() => void this.#tick(), this.config.heartbeatIntervalMs);
    this.#heartbeatTimer.unref();
    this.#connection.on("ready", this.#onRedisReady);
  }

  /**
   * Redis is back after an outage: its heartbeat (and claims) lapsed meanwhile, or were lost with
   * a restart, and until this worker publishes again the API counts no live worker for its models
   * (503 no_live_workers). So they go out now, not at the next tick.
   */
  readonly #onRedisReady = (): void => {
    void this.#tick();
  };

  async #tick(): Promise<void> {
    await this.#claimRounds?.run();
    await this.#publishHeartbeat();
    await this.#readFleet();
  }

  /** What the other workers' heartbeats tell this one: who else binds its instances, and where jobs run faster. */
  async #readFleet(): Promise<void> {
    if (this.#closing) return;
    const fleet = await this.#fleet.read(this.monitors.map((monitor) => monitor.instance));
    if (fleet && this.config.routing !== "off") this.#updateDeferrals(fleet);
  }

  /** Which bindings leave their jobs to another worker's instance: clearly faster (fasterElsewhere) or warm where they are cold (warmElsewhere). */
  #updateDeferrals(fleet: WorkerHeartbeat[]): void {
    for (const monitor of this.monitors) {
      for (const binding of this.#bindingsOf(monitor)) {
        const own = { key: instanceKey(this.#host, monitor.instance.url), model: binding.model.model, kinds: binding.model.kinds, typicalCallMs: binding.typicalCallMs, loaded: binding.loaded };
        binding.setDeferring(fasterElsewhere(own, fleet, this.config.workerId) || warmElsewhere(own, fleet, this.config.workerId));
      }
    }
  }

  async #watch(instance: ResolvedInstance): Promise<void> {
    const monitor: InstanceMonitor = new InstanceMonitor({
      instance,
      defaultSlots: this.config.defaultSlots,
      probe: this.config.probe,
      discoveryIntervalMs: this.config.discoveryIntervalMs,
      logger: this.#logger.child({ instance: instance.name }),
      connections: 64,
      onModels: (models, description) => {
        this.#syncBindings(monitor, models);
        this.#describe(instance, description);
      },
      onHealth: (healthy) => {
        for (const binding of this.#bindingsOf(monitor)) void binding.setPulling(healthy).catch((error: unknown) => this.#logger.error({ err: coerceError(error) }, "pause/resume failed"));
        void this.#publishHeartbeat();
      },
    });
    this.monitors.push(monitor);
    await monitor.probeNow();
    monitor.start();
  }

  /** Publishes what the instance said of itself, for the API (see InstanceDescriptions). */
  #describe(instance: ResolvedInstance, description: InstanceDescription): void {
    this.#descriptions.publish(this.config.workerId, instance.url, description, this.config.discoveryIntervalMs * 3).catch((error: unknown) => {
      // Only an API that cannot call the instance itself needs it; the next discovery writes it again.
      this.#logger.warn({ err: coerceError(error), instance: instance.name }, "could not publish the instance's models for the API");
    });
  }

  /** Stops serving an instance: its bindings drain (running jobs finish), then its monitor stops. */
  async #unwatch(monitor: InstanceMonitor): Promise<void> {
    this.monitors.splice(this.monitors.indexOf(monitor), 1);
    const bindings = this.#bindingsOf(monitor);
    for (const binding of bindings) this.#bindings.delete(binding.key);
    await Promise.all(bindings.map((binding) => binding.close()));
    await monitor.close();
    await this.#descriptions.remove(this.config.workerId, [monitor.instance.url]).catch((error: unknown) => this.#logger.warn({ err: coerceError(error) }, "could not remove an instance's description; it expires on its own"));
  }

  #bindingsOf(monitor: InstanceMonitor): Binding[] {
    return this.bindings.filter((binding) => binding.key.startsWith(`${monitor.instance.name}/`));
  }

  /** The bindings of this worker on instances other than `exceptInstance` that serve `model` for `kind`. */
  #peersOf(model: string, kind: JobKind, exceptInstance: string): Binding[] {
    return this.bindings.filter((peer) => peer.instanceName !== exceptInstance && peer.model.model === model && peer.model.kinds.includes(kind));
  }

  /** Whether another instance of this worker, healthy and pulling, serves `model` for `kind`. */
  #peerServes(model: string, kind: JobKind, exceptInstance: string): boolean {
    return this.#peersOf(model, kind, exceptInstance).some((peer) => peer.pulling);
  }

  /** Whether an instance other than `monitor`'s serves `model` for `kind`: one of this worker's (#peerServes) or another worker's, healthy at its last heartbeat. */
  #servedElsewhere(model: string, kind: JobKind, monitor: InstanceMonitor): boolean {
    return this.#peerServes(model, kind, monitor.instance.name) || this.#fleet.serves(model, kind, monitor.instance.url);
  }

  #syncBindings(monitor: InstanceMonitor, models: DiscoveredModel[]): void {
    if (this.#closing) return;
    const wanted = new Map(models.map((model) => [`${monitor.instance.name}/${model.model}`, model]));
    for (const binding of this.#bindingsOf(monitor)) {
      const next = wanted.get(binding.key);
      const changed = !next || next.slots !== binding.model.slots || next.kinds.join() !== binding.model.kinds.join();
      if (changed) {
        this.#bindings.delete(binding.key);
        void binding.close().catch((error: unknown) => this.#logger.error({ err: coerceError(error) }, "closing binding failed"));
        this.#logger.info({ binding: binding.key }, "model no longer served as before; binding closed");
      }
    }
    for (const [key, model] of wanted) {
      if (this.#bindings.has(key)) continue;
      const binding = new Binding({
        monitor,
        model,
        connection: this.#connection,
        bullPrefix: hashTag(this.config.prefix),
        lockDurationMs: this.config.lockDurationMs,
        stalledIntervalMs: this.config.stalledIntervalMs,
        prefetch: this.config.prefetch,
        batchSlice: this.config.batchSlice,
        metrics: this.metrics,
        deps: {
          redis: this.#connection,
          keys: herdKeys(this.config.prefix),
          cache: this.#cache,
          resultTtlMs: this.config.jobs.retentionMs,
          resultKeep: this.config.jobs.retentionCount,
          timeouts: this.config.timeouts,
          shutdownSignal: this.#shutdown.signal,
          cancels: this.#cancels,
        },
        logger: this.#logger,
        peerServes: (model, kind, except) => this.#peerServes(model, kind, except),
        servedElsewhere: (model, kind) => this.#servedElsewhere(model, kind, monitor),
        ...(this.config.routing === "off" ? {} : { routeTo: (from: Binding, kind: JobKind, job: Job) => fasterIdlePeer(from, this.#peersOf(from.model.model, kind, from.instanceName), job) }),
      });
      this.#bindings.set(key, binding);
      binding.start();
      this.#logger.info({ binding: key, kinds: model.kinds, slots: model.slots }, "serving model");
    }
  }

  heartbeat(): WorkerHeartbeat {
    return describeWorker({ workerId: this.config.workerId, host: this.#host, startedAt: this.#startedAt, clockOffsetMs: this.#clock.offsetMs, monitors: this.monitors, bindingsOf: (monitor) => this.#bindingsOf(monitor) });
  }

  async #publishHeartbeat(): Promise<void> {
    if (this.#closing) return;
    await this.#clock.refresh();
    try {
      this.#sharedId.replaced(await this.#registry.publish(this.heartbeat(), this.config.heartbeatIntervalMs * 3));
      this.#heartbeatOutage.succeeded();
    } catch (error) {
      // Redis away or out of memory: one warning, not one every interval.
      this.#heartbeatOutage.failed(error);
    }
  }

  /**
   * Graceful stop, in reverse order of start: leave the fleet, stop fetching, let running jobs
   * finish until the deadline, then abort them and hand them back to the queue.
   */
  close(deadlineMs = this.config.shutdownTimeoutMs): Promise<void> {
    this.#closing ??= this.#close(deadlineMs);
    return this.#closing;
  }

  async #close(deadlineMs: number): Promise<void> {
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    this.#connection.off("ready", this.#onRedisReady);
    // A claim round under way may still be starting an instance: let it finish, so it is drained too.
    await this.#claimRounds?.settled();
    await this.#registry.leave(this.#sharedId.self).catch((error: unknown) => this.#logger.warn({ err: coerceError(error) }, "could not leave the fleet"));
    await this.#descriptions
      .remove(
        this.config.workerId,
        this.monitors.map((monitor) => monitor.instance.url),
      )
      .catch((error: unknown) => this.#logger.warn({ err: coerceError(error) }, "could not remove the instances' descriptions; they expire on their own"));
    const drained = Promise.all(this.bindings.map((binding) => binding.close()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), deadlineMs);
    });
    if ((await Promise.race([drained, deadline])) === "deadline") {
      this.#logger.warn({ deadlineMs }, "shutdown deadline reached; handing running jobs back");
      this.#shutdown.abort(new Error("shutdown deadline"));
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 2000))]);
    }
    clearTimeout(timer);
    await Promise.all(this.monitors.map((monitor) => monitor.close()));
    const claims = this.#claims;
    if (claims) {
      await Promise.all(this.monitors.map((monitor) => claims.release(monitor.instance.url))).catch((error: unknown) => this.#logger.warn({ err: coerceError(error) }, "instance claims not released; they expire on their own"));
    }
    await this.#cacheStats.close();
    await this.#cancels.close();
    if (this.#cacheRedis !== this.#connection) await closeRedis(this.#cacheRedis);
    await closeRedis(this.#connection);
  }
}

import type { ResolvedInstance } from "@herd/config";
import { normalizeModel } from "@herd/jobs";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import { OllamaClient, OllamaError } from "@herd/ollama-client";
import type { InstanceDescription } from "@herd/fleet";
import { discoverModels, type DiscoveredModel } from "./discovery.js";
import { sharedAbortController } from "./shared-signal.js";

export interface MonitorOptions {
  instance: ResolvedInstance;
  defaultSlots: number;
  probe: { intervalMs: number; timeoutMs: number; unhealthyAfter: number };
  discoveryIntervalMs: number;
  logger: Logger;
  /** Keep-alive connections for inference calls. */
  connections: number;
  /** After each discovery: the models to serve, and the instance's own answers (for the API). */
  onModels: (models: DiscoveredModel[], description: InstanceDescription) => void;
  onHealth: (healthy: boolean, reason: string) => void;
}

const MAX_QUARANTINE_MS = 60_000;
const SUCCESSES_TO_FORGIVE = 20;

/**
 * Watches one Ollama instance. States: not yet known → healthy ⇄ unhealthy.
 * - Probes (HEAD /) run every interval. `unhealthyAfter` failed probes in a row take the instance
 *   out and abort its in-flight calls: a server that cannot answer HEAD / will not answer them.
 * - Failed calls (connection errors, 5xx, timeouts, invalid bodies) in a row also take it out,
 *   then a quarantine that doubles on each trip (up to a minute) keeps an instance that answers
 *   probes but fails real work from flapping straight back in.
 * - Recovery: a successful probe after the quarantine, with models discovered.
 */
export class InstanceMonitor {
  readonly client: OllamaClient;
  readonly instance: ResolvedInstance;
  #healthy = false;
  #probeFailures = 0;
  #callFailures = 0;
  #successesSinceTrip = 0;
  #trips = 0;
  #quarantineUntil = 0;
  #discoveredAt = 0;
  #deadController = sharedAbortController();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The failing probes since the instance was last healthy (or since start) were reported. */
  #downReported = false;
  #probing: Promise<void> | undefined;
  /** The models the last discovery found, normalised. */
  #models: ReadonlySet<string> = new Set();
  #rediscovery: Promise<void> | undefined;
  version: string | undefined;
  /** The models the instance had loaded at the last probe (/api/ps), normalised; undefined when unknown. */
  loaded: ReadonlySet<string> | undefined;
  readonly #warnLoaded: (fields: object, message: string) => void;
  lastProbeAt: Date | undefined;
  lastProbeMs: number | undefined;
  lastError: string | undefined;

  constructor(private readonly options: MonitorOptions) {
    this.instance = options.instance;
    this.client = new OllamaClient({ url: options.instance.url, instance: options.instance.name, connections: options.connections });
    // Routing only loses a preference without it: a server too old for /api/ps is said every 10 minutes, not every probe.
    this.#warnLoaded = warnAtMostEvery(options.logger, 600_000);
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Aborted when probes declare the instance dead; pass it to every call on this instance. */
  get instanceSignal(): AbortSignal {
    return this.#deadController.signal;
  }

  start(): void {
    this.#probing = this.#tick();
  }

  /** Runs one probe (and discovery when due) right now; used at start-up and by tests. */
  async probeNow(): Promise<void> {
    await this.#probing;
    this.#probing = this.#probeOnce();
    await this.#probing;
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    await this.#probeOnce();
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#probing = this.#tick();
    }, this.options.probe.intervalMs);
    this.#timer.unref();
  }

  async #probeOnce(): Promise<void> {
    try {
      this.lastProbeMs = await this.client.probe(this.options.probe.timeoutMs);
      this.lastProbeAt = new Date();
      this.#probeFailures = 0;
      if (Date.now() - this.#discoveredAt >= this.options.discoveryIntervalMs || !this.#healthy) await this.#discover();
      if (!this.#healthy && Date.now() >= this.#quarantineUntil && this.#discoveredAt > 0) this.#setHealthy(true, "probe succeeded");
      await this.#readLoaded();
    } catch (error) {
      if (this.#closed) return;
      this.lastProbeAt = new Date();
      this.lastError = coerceError(error).message;
      this.#probeFailures += 1;
      if (this.#healthy && this.#probeFailures >= this.options.probe.unhealthyAfter) {
        this.#setHealthy(false, `${this.#probeFailures} probes failed: ${this.lastError}`);
        this.#deadController.abort(new Error("instance stopped answering probes"));
      } else if (!this.#healthy && !this.#downReported) {
        // Never healthy yet (a typo in HERD_INSTANCES, a GPU box still booting) or back in
        // quarantine: say so once, not on every probe.
        this.#downReported = true;
        this.options.logger.warn({ url: this.instance.url, err: coerceError(error), probeEveryMs: this.options.probe.intervalMs }, "instance not answering (or not an Ollama server); probing until it does");
      }
    }
  }

  /**
   * Which models the instance has loaded now (/api/ps): routing prefers an instance that has a
   * job's model loaded to one that would first load it (seconds, and maybe evicting another).
   */
  async #readLoaded(): Promise<void> {
    try {
      this.loaded = new Set((await this.client.loadedModels({ timeoutMs: this.options.probe.timeoutMs })).map(normalizeModel));
    } catch (error) {
      this.loaded = undefined;
      this.#warnLoaded({ err: coerceError(error) }, "could not read the models the instance has loaded (/api/ps); routing cannot prefer it for them meanwhile");
    }
  }

  async #discover(): Promise<void> {
    const timeoutMs = Math.max(this.options.probe.timeoutMs, 5000);
    this.version = await this.client.version({ timeoutMs });
    const { models, description } = await discoverModels(this.client, this.instance, this.options.defaultSlots, timeoutMs, (model, error) =>
      this.options.logger.warn({ err: coerceError(error), model }, "skipping model: /api/show failed"),
    );
    this.#discoveredAt = Date.now();
    this.#models = new Set(models.map((model) => model.model));
    this.options.onModels(models, description);
  }

  /**
   * A call for `model` was answered 404 although discovery found the model here: the instance's
   * models changed since (`ollama rm`, a restart with other models). Discovers again at once
   * (its binding then closes) and says whether the model is gone. False when discovery still
   * lists it or fails: the 404 is then the call's own, not a changed catalog.
   */
  async modelGone(model: string): Promise<boolean> {
    this.#rediscovery ??= this.#discover().finally(() => {
      this.#rediscovery = undefined;
    });
    try {
      await this.#rediscovery;
    } catch (error) {
      this.options.logger.warn({ err: coerceError(error), model }, "could not discover the instance's models again after a call found its model missing");
      return false;
    }
    return !this.#models.has(model);
  }

  recordSuccess(): void {
    this.#callFailures = 0;
    this.#successesSinceTrip += 1;
    if (this.#successesSinceTrip >= SUCCESSES_TO_FORGIVE) this.#trips = 0;
  }

  recordFailure(error: OllamaError): void {
    if (!error.instanceFault) return;
    this.lastError = error.message;
    this.#callFailures += 1;
    if (this.#healthy && this.#callFailures >= this.options.probe.unhealthyAfter) {
      this.#trips += 1;
      this.#successesSinceTrip = 0;
      const quarantine = Math.min(MAX_QUARANTINE_MS, this.options.probe.intervalMs * 2 ** (this.#trips - 1));
      this.#quarantineUntil = Date.now() + quarantine;
      this.#setHealthy(false, `${this.#callFailures} calls failed (${error.kind}: ${error.message}); quarantined ${quarantine}ms`);
    }
  }

  #setHealthy(healthy: boolean, reason: string): void {
    if (this.#healthy === healthy) return;
    this.#healthy = healthy;
    this.#downReported = !healthy;
    if (healthy) {
      this.#callFailures = 0;
      if (this.#deadController.signal.aborted) this.#deadController = sharedAbortController();
      this.options.logger.info({ reason }, "instance healthy: pulling jobs");
    } else {
      this.options.logger.warn({ reason }, "instance unhealthy: stopped pulling");
    }
    this.options.onHealth(healthy, reason);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#probing?.catch(() => undefined);
    await this.client.close();
  }
}

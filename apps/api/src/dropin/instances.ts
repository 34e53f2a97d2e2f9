import { hostname } from "node:os";
import { instanceKey, reachableFrom, type FleetSnapshot, type InstanceDescription, type InstanceDescriptions } from "@herd/fleet";
import { normalizeModel } from "@herd/jobs";
import { coerceError, warnAtMostEvery, type Logger } from "@herd/logger";
import { OllamaError } from "@herd/ollama-client";
import { ApiError, noLiveWorkers } from "../errors.js";
import type { FleetView } from "../fleet-view.js";
import type { InstanceProber } from "../instance-prober.js";

interface TagEntry {
  name: string;
  model?: string;
  [field: string]: unknown;
}

/** A healthy instance as the live workers report it. */
interface HealthyInstance {
  name: string;
  url: string;
  version?: string;
  models: string[];
  /** The worker that reported it (the first, when several share it). */
  workerId: string;
  /** Whether this process can call it: not a loopback URL of a worker on another machine. */
  reachable: boolean;
}

/** The model `requested` names, as the fleet spells it (Ollama matches names whatever their case). */
function servedName(snapshot: FleetSnapshot, requested: string): string {
  const model = normalizeModel(requested);
  return snapshot.spelling(model) ?? model;
}

/**
 * Answers the Ollama endpoints that describe models (/api/tags, /api/ps, /api/show, /api/version)
 * from the instances the live workers report, asked now. URLs come from the workers'
 * configuration through their heartbeats, never from a request. An instance a worker on another
 * machine reaches through a loopback URL (Ollama beside the worker, listening on 127.0.0.1) is
 * not one this process can call: /api/tags and /api/show answer from what it said at its worker's
 * last discovery (see InstanceDescriptions), and /api/ps leaves it out.
 */
export class FleetInstances {
  /** Clients poll /api/tags every few seconds: a missing description is said once a minute, not each time. */
  readonly #warnUndescribed: (fields: object, message: string) => void;

  constructor(
    private readonly fleet: FleetView,
    /** Owns the per-instance clients (shared with /api/ollama-health). */
    private readonly prober: InstanceProber,
    private readonly descriptions: InstanceDescriptions,
    private readonly logger: Logger,
    private readonly timeoutMs = 3000,
    private readonly host = hostname(),
  ) {
    this.#warnUndescribed = warnAtMostEvery(logger, 60_000);
  }

  /** What the instance said of itself at its worker's last discovery, when it has published it. */
  async #described(instance: HealthyInstance): Promise<InstanceDescription | undefined> {
    let described: InstanceDescription | undefined;
    try {
      described = await this.descriptions.read(instance.workerId, instance.url);
    } catch (error) {
      this.logger.warn({ err: coerceError(error), instance: instance.name }, "could not read an instance's description from Redis");
      return undefined;
    }
    if (!described) this.#warnUndescribed({ instance: instance.name, worker: instance.workerId }, "an instance on another machine has no description from its worker yet; left out");
    return described;
  }

  /** One instance's list, or none when it does not answer (it is left out, and that is logged). */
  async #list(instance: { name: string; url: string }, path: "/api/tags" | "/api/ps"): Promise<TagEntry[]> {
    try {
      const body = await this.prober.client(instance.url, instance.name).passthrough("GET", path, undefined, { timeoutMs: this.timeoutMs });
      return (body as { models?: TagEntry[] }).models ?? [];
    } catch (error) {
      this.logger.warn({ err: coerceError(error), instance: instance.name }, `${path} left out an instance that did not answer`);
      return [];
    }
  }

  /** Healthy instances, each once (several workers may report the same one; see instanceKey). */
  #healthy(snapshot: FleetSnapshot): HealthyInstance[] {
    const byKey = new Map<string, HealthyInstance>();
    for (const worker of snapshot.workers) {
      for (const instance of worker.instances) {
        const key = instanceKey(worker.host, instance.url);
        if (!instance.healthy || byKey.has(key)) continue;
        byKey.set(key, {
          name: instance.name,
          url: instance.url,
          ...(instance.version ? { version: instance.version } : {}),
          models: instance.models.map((binding) => binding.model),
          workerId: worker.workerId,
          reachable: reachableFrom(this.host, worker.host, instance.url),
        });
      }
    }
    return [...byKey.values()];
  }

  /** The healthy instances that serve `model` (as the fleet spells it, see servedName). */
  #serving(snapshot: FleetSnapshot, model: string): HealthyInstance[] {
    return this.#healthy(snapshot).filter((candidate) => candidate.models.includes(model));
  }

  /** The union of every healthy instance's /api/tags, limited to models a worker serves. */
  async tags(): Promise<{ models: TagEntry[] }> {
    const snapshot = await this.fleet.fresh(1000);
    const lists = await Promise.all(this.#healthy(snapshot).map(async (instance) => (instance.reachable ? this.#list(instance, "/api/tags") : ((await this.#described(instance))?.tags ?? []))));
    const models = new Map<string, TagEntry>();
    for (const entry of lists.flat()) {
      const name = normalizeModel(entry.name);
      if (snapshot.models.has(name) && !models.has(name)) models.set(name, entry);
    }
    return { models: [...models.values()] };
  }

  /** The union of every healthy instance's /api/ps (a model loaded on two instances is listed twice). */
  async ps(): Promise<{ models: TagEntry[] }> {
    const snapshot = await this.fleet.fresh(1000);
    const lists = await Promise.all(this.#healthy(snapshot).map((instance) => (instance.reachable ? this.#list(instance, "/api/ps") : [])));
    return { models: lists.flat() };
  }

  /** /api/show from a healthy instance that serves the model, with Ollama's own answer and status. */
  async show(body: Record<string, unknown>): Promise<unknown> {
    const requested = typeof body["model"] === "string" ? body["model"] : typeof body["name"] === "string" ? body["name"] : "";
    if (!requested) throw new ApiError(400, "invalid_request", "model is required");
    const snapshot = await this.fleet.fresh(1000);
    const model = servedName(snapshot, requested);
    const serving = this.#serving(snapshot, model);
    const instance = serving.find((candidate) => candidate.reachable) ?? serving[0];
    if (!instance && snapshot.workers.length === 0) throw noLiveWorkers(model);
    if (!instance) throw new ApiError(404, "model_not_served", `model '${requested}' not found`);
    if (!instance.reachable) {
      const shown = (await this.#described(instance))?.show[model];
      if (shown === undefined) throw new ApiError(502, "upstream_failed", `instance ${instance.name} is on another machine (a loopback URL of worker ${instance.workerId}) and its worker has not described ${model} yet`);
      return shown;
    }
    try {
      return await this.prober.client(instance.url, instance.name).passthrough("POST", "/api/show", { ...body, model: requested }, { timeoutMs: this.timeoutMs });
    } catch (error) {
      if (error instanceof OllamaError && error.status !== undefined && error.status < 500) throw new ApiError(error.status, "upstream_rejected", error.message);
      throw new ApiError(502, "upstream_failed", `instance ${instance.name} did not answer /api/show: ${(error as Error).message}`);
    }
  }

  /**
   * What an empty /api/generate or /api/chat asks of one Ollama, asked of every healthy instance
   * that serves `requested`: load the model (keeping it for `keepAlive`, with `options`), or unload it
   * (`keepAlive` 0). Instances this process cannot call (loopback URLs of workers on other
   * machines) are named in a warning; one that fails is logged, and only when every instance
   * asked failed is the request failed (with the first instance's reason).
   */
  async setLoaded(requested: string, mode: "generate" | "chat", keepAlive: string | number | undefined, timeoutMs: number, options?: Readonly<Record<string, unknown>>): Promise<void> {
    const snapshot = await this.fleet.fresh(1000);
    const model = servedName(snapshot, requested);
    const serving = this.#serving(snapshot, model);
    const callable = serving.filter((instance) => instance.reachable);
    const elsewhere = serving.filter((instance) => !instance.reachable).map((instance) => instance.name);
    const verb = isZeroDuration(keepAlive) ? "unload" : "load";
    if (elsewhere.length > 0) this.logger.warn({ model, instances: elsewhere }, `could not ${verb} the model on instances of workers on other machines (loopback URLs)`);
    const body = { model: requested, ...(mode === "generate" ? { prompt: "" } : { messages: [] }), ...(options ? { options } : {}), ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}) };
    const outcomes = await Promise.allSettled(callable.map((instance) => this.prober.client(instance.url, instance.name).passthrough("POST", `/api/${mode}`, body, { timeoutMs })));
    const failures = outcomes.flatMap((outcome, index) => (outcome.status === "rejected" ? [{ instance: callable[index]?.name, error: outcome.reason as unknown }] : []));
    for (const { instance, error } of failures) this.logger.warn({ err: coerceError(error), instance, model }, `an instance did not ${verb} the model`);
    const first = failures[0];
    if (!first || failures.length < callable.length) return;
    if (first.error instanceof OllamaError && first.error.status !== undefined && first.error.status < 500) throw new ApiError(first.error.status, "upstream_rejected", first.error.message);
    throw new ApiError(502, "upstream_failed", `no instance could ${verb} ${model}: ${(first.error as Error).message}`);
  }

  /** The oldest version among healthy instances: what every request can rely on. */
  async version(): Promise<string> {
    const versions = this.#healthy(await this.fleet.fresh(1000))
      .map((instance) => instance.version)
      .filter((version): version is string => version !== undefined);
    const numeric = (version: string) => version.split(/[.-]/).slice(0, 3).map((part) => Number.parseInt(part, 10) || 0);
    versions.sort((a, b) => {
      const [x, y] = [numeric(a), numeric(b)];
      for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    });
    return versions[0] ?? "0.0.0";
  }
}

/**
 * Whether Ollama reads `keepAlive` as zero, i.e. "unload now": a number of seconds, or a Go
 * duration string ("0", "0s", "0m0s"); a negative one keeps the model loaded for good.
 */
export function isZeroDuration(keepAlive: string | number | undefined): boolean {
  if (typeof keepAlive === "number") return keepAlive === 0;
  return typeof keepAlive === "string" && /^[-+]?(?:0|(?:(?:0+(?:\.0*)?|\.0+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.test(keepAlive.trim());
}

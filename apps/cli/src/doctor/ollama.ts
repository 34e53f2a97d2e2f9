import type { PinnedModelOptions, ResolvedInstance } from "@herd/config";
import { normalizeModel } from "@herd/jobs";
import { OllamaClient, OllamaError } from "@herd/ollama-client";
import { fail, ok, warn, type Finding } from "./report.js";

export interface InstanceReport {
  findings: Finding[];
  /** Models of each reachable instance, normalised ("name:tag"). */
  models: Map<string, Set<string>>;
}

/** An instance to check; `seenBy` when this machine cannot call it (see instancesFromHeartbeats). */
export interface InstanceToCheck extends Pick<ResolvedInstance, "name" | "url"> {
  /** A worker on another machine reaches it through a loopback URL: what its heartbeat says. */
  seenBy?: { workerId: string; host: string; healthy: boolean; version?: string | undefined; models: string[]; lastError?: string | undefined };
}

/** An instance only its worker can reach, judged by that worker's heartbeat. */
function seenByWorker(instance: InstanceToCheck & { seenBy: NonNullable<InstanceToCheck["seenBy"]> }): Finding {
  const { seenBy } = instance;
  const where = `${instance.url} on ${seenBy.host} (worker ${seenBy.workerId}; a loopback URL this machine cannot call, so as that worker sees it)`;
  if (!seenBy.healthy) return fail(`Ollama ${instance.name}`, `${where} is unhealthy${seenBy.lastError ? `: ${seenBy.lastError}` : ""}`);
  const listed = seenBy.models.length > 0 ? [...seenBy.models].sort().join(", ") : "no models served";
  return (seenBy.models.length > 0 ? ok : warn)(`Ollama ${instance.name}`, `${where}: Ollama ${seenBy.version ?? "version unknown"}; ${listed}`);
}

/** Each instance: reachable, Ollama's version, its models, and how long that took. */
export async function checkInstances(instances: ReadonlyArray<InstanceToCheck>, source: string, timeoutMs: number): Promise<InstanceReport> {
  if (instances.length === 0) {
    return { findings: [warn("Ollama instances", "none configured (HERD_INSTANCES) and no live worker reports any; herd start runs emulated ones for development")], models: new Map() };
  }
  const served = new Map<string, Set<string>>();
  const findings = await Promise.all(
    instances.map(async (instance): Promise<Finding> => {
      const check = `Ollama ${instance.name}`;
      if (instance.seenBy) {
        if (instance.seenBy.healthy) served.set(instance.name, new Set(instance.seenBy.models));
        return seenByWorker({ ...instance, seenBy: instance.seenBy });
      }
      const client = new OllamaClient({ url: instance.url, instance: instance.name, connections: 1 });
      const started = performance.now();
      try {
        const version = await client.version({ timeoutMs });
        const tags = await client.tags({ timeoutMs });
        const names = tags.models.map((model) => normalizeModel(model.name)).sort();
        served.set(instance.name, new Set(names));
        const ms = Math.round(performance.now() - started);
        const listed = names.length > 0 ? names.join(", ") : "no models pulled";
        return names.length > 0 ? ok(check, `${instance.url} (${source}): Ollama ${version}, ${ms} ms; ${listed}`) : warn(check, `${instance.url} (${source}): Ollama ${version}, ${ms} ms; ${listed}`);
      } catch (error) {
        const reason = error instanceof OllamaError ? `${error.kind}: ${error.message}` : (error as Error).message;
        return fail(check, `${instance.url} (${source}) is not reachable: ${reason}`);
      } finally {
        await client.close();
      }
    }),
  );
  // In the instances' own order, not the order they answered in, so every run prints the same.
  const models = new Map<string, Set<string>>();
  for (const instance of instances) {
    const names = served.get(instance.name);
    if (names) models.set(instance.name, names);
  }
  return { findings, models };
}

/** Every collection's embedding model must be on at least one reachable instance. */
export function checkCollectionModels(collections: ReadonlyArray<{ name: string; model: string }>, models: ReadonlyMap<string, ReadonlySet<string>>): Finding[] {
  const needed = new Map<string, string[]>();
  for (const collection of collections) {
    const model = normalizeModel(collection.model);
    needed.set(model, [...(needed.get(model) ?? []), collection.name]);
  }
  if (needed.size === 0) return [ok("models collections need", "no collections yet")];
  return [...needed].map(([model, names]) => {
    const on = [...models].filter(([, served]) => served.has(model)).map(([instance]) => instance);
    const which = `collection${names.length > 1 ? "s" : ""} ${names.join(", ")}`;
    return on.length > 0
      ? ok(`model ${model}`, `needed by ${which}; on ${on.join(", ")}`)
      : fail(`model ${model}`, `needed by ${which}, but no reachable instance has it: ollama pull ${model}`);
  });
}

/**
 * Every model HERD_MODEL_OPTIONS pins should be on a reachable instance: a pin for a name no
 * instance has (a typo, another tag) pins nothing, and the reloads it was meant to stop go on.
 */
export function checkPinnedModels(pins: PinnedModelOptions, models: ReadonlyMap<string, ReadonlySet<string>>): Finding[] {
  return Object.entries(pins).map(([model, pin]) => {
    const on = [...models].filter(([, served]) => [...served].some((name) => name.toLowerCase() === model)).map(([instance]) => instance);
    const pinned = `pinned ${JSON.stringify({ ...pin.options, ...(pin.keepAlive !== undefined ? { keep_alive: pin.keepAlive } : {}) })}`;
    if (on.length > 0) return ok(`pinned ${model}`, `${pinned}; on ${on.join(", ")}`);
    const known = [...new Set([...models.values()].flatMap((served) => [...served]))].sort();
    return warn(`pinned ${model}`, `HERD_MODEL_OPTIONS pins ${model} (${pinned}), but no reachable instance has it, so it pins nothing; the instances have ${known.length > 0 ? known.join(", ") : "no models"}`);
  });
}

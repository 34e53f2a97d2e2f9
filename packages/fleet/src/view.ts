import type { JobKind } from "@herd/jobs";
import type { WorkerHeartbeat } from "./heartbeat.js";

export interface ServedModel {
  model: string;
  kinds: Set<JobKind>;
  /** Slots on healthy instances. */
  healthySlots: number;
  instances: number;
  healthyInstances: number;
  /** Vector length reported by the instances serving it (embedding models). */
  embeddingLength: number | undefined;
  /** The smallest context length its instances report for it (their /api/show), when any does. */
  contextLength: number | undefined;
  /** Capabilities any of its instances lists; undefined once one of them lists none (unknown). */
  capabilities: Set<string> | undefined;
}

/** The fleet as the API sees it: which models are served, by how many healthy slots. */
export class FleetSnapshot {
  readonly models: ReadonlyMap<string, ServedModel>;

  constructor(
    readonly workers: readonly WorkerHeartbeat[],
    readonly takenAt: number,
  ) {
    const models = new Map<string, ServedModel>();
    for (const worker of workers) {
      for (const instance of worker.instances) {
        for (const binding of instance.models) {
          let served = models.get(binding.model);
          if (!served) {
            served = { model: binding.model, kinds: new Set(), healthySlots: 0, instances: 0, healthyInstances: 0, embeddingLength: binding.embeddingLength, contextLength: undefined, capabilities: new Set() };
            models.set(binding.model, served);
          }
          if (!binding.capabilities) served.capabilities = undefined;
          else for (const capability of binding.capabilities) served.capabilities?.add(capability);
          for (const kind of binding.kinds) served.kinds.add(kind);
          served.embeddingLength ??= binding.embeddingLength;
          if (binding.contextLength !== undefined) served.contextLength = Math.min(served.contextLength ?? Infinity, binding.contextLength);
          served.instances += 1;
          if (instance.healthy) {
            served.healthyInstances += 1;
            served.healthySlots += binding.slots;
          }
        }
      }
    }
    this.models = models;
  }

  serves(model: string, kind: JobKind): boolean {
    return this.models.get(model)?.kinds.has(kind) ?? false;
  }

  /**
   * The served model `model` (normalised) names: itself, or else the one served model (for `kind`,
   * when given) whose name differs only in case, as Ollama finds "LLAMA3.2" for llama3.2:latest.
   * Undefined when none does, or when several do (which of them was meant cannot be told).
   */
  spelling(model: string, kind?: JobKind): string | undefined {
    const fits = (served: ServedModel | undefined) => served !== undefined && (kind === undefined || served.kinds.has(kind));
    if (fits(this.models.get(model))) return model;
    const folded = model.toLowerCase();
    const matches = [...this.models.values()].filter((served) => fits(served) && served.model.toLowerCase() === folded);
    return matches.length === 1 ? matches[0]?.model : undefined;
  }

  /**
   * True when every instance serving `model` lists its capabilities and none lists `capability`:
   * the request would be refused by whichever instance ran it. False when unknown.
   */
  lacks(model: string, capability: string): boolean {
    const capabilities = this.models.get(model)?.capabilities;
    return capabilities !== undefined && !capabilities.has(capability);
  }

  /** Model names serving `kind`, sorted, for "model not served" errors. */
  modelsFor(kind: JobKind): string[] {
    return [...this.models.values()].filter((served) => served.kinds.has(kind)).map((served) => served.model).sort();
  }

  get healthyInstances(): number {
    return this.workers.reduce((sum, worker) => sum + worker.instances.filter((instance) => instance.healthy).length, 0);
  }
}

import type { ResolvedInstance } from "@herd/config";
import { normalizeModel, type JobKind } from "@herd/jobs";
import type { InstanceDescription } from "@herd/fleet";
import type { ModelInfo, OllamaClient, TagsResponse } from "@herd/ollama-client";

export interface DiscoveredModel {
  /** Normalised name ("name:tag"). */
  model: string;
  kinds: JobKind[];
  slots: number;
  embeddingLength: number | undefined;
  contextLength: number | undefined;
  /** As /api/show (or /api/tags) lists them; undefined when the instance does not say. */
  capabilities: string[] | undefined;
}

const EMBEDDING_FAMILY = /bert|embed/i;

/**
 * Which job kinds a model can serve. Ollama ≥ 0.6 lists capabilities in /api/show; older servers
 * do not, so fall back to the model family (embedding models are BERT-like) and name.
 */
export function kindsFor(model: string, info: ModelInfo): JobKind[] {
  const capabilities = info.capabilities;
  if (capabilities && capabilities.length > 0) {
    const kinds: JobKind[] = [];
    if (capabilities.includes("completion")) kinds.push("generate");
    if (capabilities.includes("embedding")) kinds.push("embed");
    return kinds;
  }
  return EMBEDDING_FAMILY.test(info.family ?? "") || /embed/i.test(model) ? ["embed"] : ["generate"];
}

/**
 * Slots for one model: an explicit per-model setting wins; embedding-only models get 1 because
 * Ollama always loads them with parallel=1; everything else gets the instance's (or default) slots.
 */
export function slotsFor(instance: ResolvedInstance, model: string, kinds: readonly JobKind[], defaultSlots: number): number {
  for (const [name, slots] of Object.entries(instance.models)) {
    if (normalizeModel(name) === model) return slots;
  }
  if (kinds.length === 1 && kinds[0] === "embed") return 1;
  return instance.slots ?? defaultSlots;
}

export interface Discovery {
  models: DiscoveredModel[];
  /** The instance's own answers, for the API to pass on (see InstanceDescriptions). */
  description: InstanceDescription;
}

export async function discoverModels(
  client: OllamaClient,
  instance: ResolvedInstance,
  defaultSlots: number,
  timeoutMs: number,
  onSkip: (model: string, error: unknown) => void,
): Promise<Discovery> {
  const tags: TagsResponse = await client.tags({ timeoutMs });
  const discovered: DiscoveredModel[] = [];
  const description: InstanceDescription = { tags: [], show: {} };
  for (const entry of tags.models) {
    const model = normalizeModel(entry.name);
    try {
      const { info, body } = await client.show(model, { timeoutMs });
      const capabilities = info.capabilities ?? entry.capabilities;
      const kinds = kindsFor(model, { ...info, capabilities });
      if (kinds.length === 0) continue;
      description.tags.push(entry);
      description.show[model] = body;
      discovered.push({
        model,
        kinds,
        slots: slotsFor(instance, model, kinds, defaultSlots),
        embeddingLength: info.embeddingLength,
        contextLength: info.contextLength,
        capabilities: capabilities && capabilities.length > 0 ? capabilities : undefined,
      });
    } catch (error) {
      onSkip(model, error);
    }
  }
  return { models: discovered, description };
}

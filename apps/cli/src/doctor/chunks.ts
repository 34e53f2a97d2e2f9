import type { PinnedModelOptions } from "@herd/config";
import { chunkTokensLimit, modelContext, normalizeModel } from "@herd/jobs";
import { OllamaClient } from "@herd/ollama-client";
import type { InstanceToCheck } from "./ollama.js";
import { ok, warn, type Finding } from "./report.js";

export interface CollectionChunking {
  name: string;
  model: string;
  chunkTokens: number;
}

/** What `model` reads of one input: its context length (/api/show on an instance that has it), or less when a smaller num_ctx is pinned. */
async function readsAtMost(model: string, instance: InstanceToCheck, pins: PinnedModelOptions, timeoutMs: number): Promise<{ tokens: number; why: string } | undefined> {
  const client = new OllamaClient({ url: instance.url, instance: instance.name, connections: 1 });
  try {
    const context = modelContext((await client.modelInfo(model, { timeoutMs })).contextLength, pins[model.toLowerCase()]?.options.num_ctx);
    return context && { tokens: context.tokens, why: context.requested ? "the num_ctx pinned for it in HERD_MODEL_OPTIONS" : `its context length on ${instance.name}` };
  } finally {
    await client.close();
  }
}

/**
 * Collections made before Herd limited chunk sizes may have chunks longer than their model reads
 * of an input: Ollama cuts each, so the end of every chunk is missing from its vector. Nothing
 * fails (the collection works, with poorer recall), so a warning per such collection.
 */
export async function checkChunkSizes(
  collections: readonly CollectionChunking[],
  instances: readonly InstanceToCheck[],
  served: ReadonlyMap<string, ReadonlySet<string>>,
  pins: PinnedModelOptions,
  timeoutMs: number,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  let checked = 0;
  const byModel = new Map<string, CollectionChunking[]>();
  for (const collection of collections) {
    const model = normalizeModel(collection.model);
    byModel.set(model, [...(byModel.get(model) ?? []), collection]);
  }
  for (const [model, ofModel] of byModel) {
    // An instance this machine can call (not one only its worker reaches) that has the model.
    const instance = instances.find((candidate) => !candidate.seenBy && served.get(candidate.name)?.has(model));
    if (!instance) continue;
    let reads: Awaited<ReturnType<typeof readsAtMost>>;
    try {
      reads = await readsAtMost(model, instance, pins, timeoutMs);
    } catch (error) {
      findings.push(warn(`chunk sizes for ${model}`, `could not read ${model}'s context length from ${instance.name}: ${(error as Error).message}`));
      continue;
    }
    if (!reads) continue;
    const limit = chunkTokensLimit(reads.tokens);
    for (const collection of ofModel) {
      checked += 1;
      if (collection.chunkTokens <= limit) continue;
      findings.push(
        warn(
          `collection ${collection.name}`,
          `chunks of up to ${collection.chunkTokens} tokens, but ${model} reads at most ${reads.tokens} tokens of an input (${reads.why}) and Ollama cuts the rest, so the ends of its chunks are missing from their vectors: create a collection with chunkTokens ${limit} or less and ingest its documents again`,
        ),
      );
    }
  }
  if (findings.length === 0 && checked > 0) findings.push(ok("chunk sizes", `the chunks of all ${checked} collection(s) fit what their model reads of an input`));
  return findings;
}

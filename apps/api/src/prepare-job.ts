import { createHash } from "node:crypto";
import type { ApiConfig, ModelPin, PinnedModelOptions } from "@herd/config";
import { decodeEmbeddingEntry, embeddingCacheKey, inferenceCacheKey, isCacheableGeneration, type HerdCache } from "@herd/cache";
import { normalizeModel, type AnswerSources, type EmbedJobData, type EmbedRequest, type GenerateJobData, type GenerateRequest, type JobKind, type ModelOptions } from "@herd/jobs";
import { ApiError } from "./errors.js";
import type { JsonChunks } from "./job-store.js";

/** What turning a request into a job needs. */
export interface PrepareDeps {
  config: ApiConfig;
  cache: HerdCache;
}

/** A validated request, shaped as the job it becomes, with its cache lookups. */
export interface Prepared<K extends JobKind> {
  kind: K;
  model: string;
  data: K extends "embed" ? EmbedJobData : GenerateJobData;
  /** Identical requests share this id while one is queued or running; undefined = never coalesce. */
  coalesceKey: string | undefined;
  /** The cached result body from process memory alone, synchronously, when all of it is there. */
  peek: () => JsonChunks | undefined;
  /** Returns the cached result body (with `model`) when every part is cached. */
  lookup: () => Promise<string | JsonChunks | undefined>;
}

const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]}");

/**
 * `{"model": …, "embeddings": [v1, v2, …], "prompt_eval_count": n}` from cached entries, or
 * undefined if one is missing. The count is left out when an entry has none.
 */
function embedBody(model: string, entries: ReadonlyArray<Buffer | null> | undefined): JsonChunks | undefined {
  if (!entries) return undefined;
  const parts: Buffer[] = [Buffer.from(`{"model":${JSON.stringify(model)},"embeddings":[`)];
  let tokens: number | undefined = 0;
  for (const [index, entry] of entries.entries()) {
    if (entry === null) return undefined;
    const decoded = decodeEmbeddingEntry(entry);
    if (index > 0) parts.push(COMMA);
    parts.push(decoded.vector);
    tokens = tokens === undefined || decoded.tokens === undefined ? undefined : tokens + decoded.tokens;
  }
  parts.push(tokens === undefined ? CLOSE : Buffer.from(`],"prompt_eval_count":${tokens}}`));
  return parts;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function withModel(model: string, storedWithoutModel: string): string {
  const rest = storedWithoutModel.slice(1);
  return `{"model":${JSON.stringify(model)}${rest === "}" ? "" : ","}${rest}`;
}

function checkText(field: string, text: string, maxChars: number): void {
  if (text.length > maxChars) throw new ApiError(413, "input_too_large", `${field}: ${text.length} characters is more than the limit of ${maxChars}`);
}

/**
 * The options and keep_alive a job for `model` is sent with: the request's, with what
 * HERD_MODEL_OPTIONS pins for the model in their place (one lookup). Applied before the cache key
 * is made, so requests that differ only in a pinned option share their cache entries and their job.
 */
export function withPins(pins: PinnedModelOptions, model: string, options: ModelOptions | undefined, keepAlive: string | number | undefined): { options: ModelOptions | undefined; keepAlive: string | number | undefined } {
  const pin = pinOf(pins, model);
  if (!pin) return { options, keepAlive };
  return { options: Object.keys(pin.options).length > 0 ? { ...options, ...pin.options } : options, keepAlive: pin.keepAlive ?? keepAlive };
}

/** What HERD_MODEL_OPTIONS pins for `model` (a normalised name), if anything. */
export function pinOf(pins: PinnedModelOptions, model: string): ModelPin | undefined {
  // Keys are normalised and lower-cased at start-up: Ollama's model names ignore case.
  return pins[model.toLowerCase()];
}

/** The cache scope of a request by `tenant`: the tenant itself, unless the cache is shared. */
export function cacheScopeOf(config: Pick<ApiConfig, "cacheScope">, tenant: string): string | undefined {
  return config.cacheScope === "tenant" ? tenant : undefined;
}

/** `model`: the served model the request names (see FleetSnapshot.spelling); by default its own name, normalised. */
export function prepareEmbed(deps: PrepareDeps, request: EmbedRequest, scope: string | undefined, model = normalizeModel(request.model)): Prepared<"embed"> {
  const { limits } = deps.config;
  const inputs = typeof request.input === "string" ? [request.input] : request.input;
  if (inputs.length === 0) throw new ApiError(400, "empty_input", "input: must contain at least one string");
  if (inputs.length > limits.maxInputs) throw new ApiError(413, "too_many_inputs", `input: ${inputs.length} inputs is more than the limit of ${limits.maxInputs}`);
  inputs.forEach((text, index) => {
    const field = typeof request.input === "string" ? "input" : `input[${index}]`;
    if (text.trim().length === 0) throw new ApiError(400, "empty_input", `${field}: must not be empty`);
    checkText(field, text, limits.maxInputChars);
  });
  const useCache = deps.cache.enabled("embedding");
  const { options, keepAlive } = withPins(deps.config.modelOptions, model, request.options, request.keep_alive);
  const keys = inputs.map((text) => embeddingCacheKey({ model, text, dimensions: request.dimensions, truncate: request.truncate, options, scope }));
  return {
    kind: "embed",
    model,
    data: {
      model,
      requestModel: request.model,
      inputs,
      ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
      ...(request.truncate !== undefined ? { truncate: request.truncate } : {}),
      ...(options ? { options } : {}),
      ...(keepAlive !== undefined ? { keepAlive } : {}),
      cache: useCache,
      ...(useCache && scope !== undefined ? { cacheScope: scope } : {}),
    },
    coalesceKey: keys.length === 1 ? keys[0] : sha256(keys.join(",")),
    peek: () => (useCache ? embedBody(request.model, deps.cache.peekMemory("embedding", keys)) : undefined),
    lookup: async () => (useCache ? embedBody(request.model, await deps.cache.getManyBuffers("embedding", keys)) : undefined),
  };
}

export function prepareGenerate(
  deps: PrepareDeps,
  request: GenerateRequest,
  answer: AnswerSources | undefined,
  stream: boolean,
  scope: string | undefined,
  model = normalizeModel(request.model),
): Prepared<"generate"> {
  const { limits } = deps.config;
  if (request.prompt !== undefined) checkText("prompt", request.prompt, limits.maxInputChars);
  if (request.system !== undefined) checkText("system", request.system, limits.maxInputChars);
  if (request.suffix !== undefined) checkText("suffix", request.suffix, limits.maxInputChars);
  request.messages?.forEach((message, index) => checkText(`messages[${index}].content`, message.content, limits.maxInputChars));
  if (request.messages && request.messages.length > limits.maxInputs) {
    throw new ApiError(413, "too_many_inputs", `messages: ${request.messages.length} messages is more than the limit of ${limits.maxInputs}`);
  }
  const mode = request.prompt !== undefined ? "generate" : "chat";
  const { options, keepAlive } = withPins(deps.config.modelOptions, model, request.options, request.keep_alive);
  const shape = {
    model,
    mode,
    ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
    // Go's zero values: an empty suffix or raw false is what Ollama does without them.
    ...(request.suffix ? { suffix: request.suffix } : {}),
    ...(request.raw ? { raw: true as const } : {}),
    ...(request.images && request.images.length > 0 ? { images: request.images } : {}),
    ...(request.messages ? { messages: request.messages } : {}),
    ...(request.system !== undefined ? { system: request.system } : {}),
    ...(options ? { options } : {}),
    ...(request.format !== undefined ? { format: request.format } : {}),
    ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
    ...(request.think !== undefined ? { think: request.think } : {}),
    ...(request.truncate === false ? { truncate: false as const } : {}),
    ...(request.shift === false ? { shift: false as const } : {}),
    ...(request.logprobs ? { logprobs: true as const } : {}),
    ...(request.logprobs && request.top_logprobs ? { topLogprobs: request.top_logprobs } : {}),
  } as const;
  const key = inferenceCacheKey({ ...shape, ...(answer ? { purpose: "answer" } : {}), scope });
  // Only deterministic generations coalesce: N identical sampled requests must get N samples.
  const deterministic = isCacheableGeneration(request.options, request.cache);
  const useCache = deterministic && deps.cache.enabled("inference");
  return {
    kind: "generate",
    model,
    data: {
      ...shape,
      requestModel: request.model,
      ...(keepAlive !== undefined ? { keepAlive } : {}),
      cacheKey: useCache ? key : null,
      ...(answer ? { answer } : {}),
      ...(stream ? { stream: true } : {}),
    },
    coalesceKey: deterministic && !stream ? key : undefined,
    peek: () => undefined,
    lookup: async () => {
      if (!useCache) return undefined;
      const stored = await deps.cache.get("inference", key);
      return stored === null ? undefined : withModel(request.model, stored);
    },
  };
}

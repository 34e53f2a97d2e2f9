import { createHash } from "node:crypto";
import { configure } from "safe-stable-stringify";
import type { GenerateJobData, ModelOptions } from "@herd/jobs";

const stableStringify = configure({ deterministic: true });

/** One hash over NUL-separated parts (NUL cannot occur in the JSON-derived parts' separators). */
function digest(parts: ReadonlyArray<string>): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

/**
 * Who may share a cached value: with a scope (a tenant), only requests of that scope hit it, so
 * a hit never tells one tenant what another asked. Scoped keys use their own version tag, so they
 * can never equal an unscoped key.
 */
function header(kind: string, scope: string | undefined, version = 1): string[] {
  return scope === undefined ? [`${kind}/v${version}`] : [`${kind}/v${version}/scoped`, scope];
}

/**
 * Version 2 entries carry the input's token count (see embedding-entry.ts): a new version, so a
 * process that knows only version 1's bare vectors (during a rolling upgrade) never reads one.
 */
const EMBEDDING_ENTRY_VERSION = 2;

/** Everything that changes a vector: model, the text, `dimensions`, truncation and runner options. */
export function embeddingCacheKey(input: { model: string; text: string; dimensions?: number | undefined; truncate?: boolean | undefined; options?: ModelOptions | undefined; scope?: string | undefined }): string {
  return digest([
    ...header("embed", input.scope, EMBEDDING_ENTRY_VERSION),
    input.model,
    input.dimensions === undefined ? "" : String(input.dimensions),
    input.truncate === false ? "strict" : "truncate",
    input.options ? (stableStringify(input.options) ?? "") : "",
    input.text,
  ]);
}

/**
 * The chunk layer's key for a document's chunk list (`chunkedHash` already covers its content and
 * chunking settings), kept apart per scope like the other layers.
 */
export function chunkCacheKey(chunkedHash: string, scope: string | undefined): string {
  return scope === undefined ? chunkedHash : digest([...header("chunk", scope), chunkedHash]);
}

type GenerationInput = Pick<GenerateJobData, "model" | "mode" | "prompt" | "suffix" | "raw" | "images" | "messages" | "system" | "options" | "format" | "tools" | "think" | "truncate" | "shift" | "logprobs" | "topLogprobs"> & {
  /** Results shaped differently for the same prompt (e.g. RAG answers with citations) cache apart. */
  purpose?: string;
  /** See embeddingCacheKey. */
  scope?: string | undefined;
};

/**
 * Everything that changes a generation: model, mode, prompt (and its images, suffix, raw) or
 * messages (with theirs), system, options, format, tools, think, truncate and shift turned off,
 * and logprobs (a result with them is not one without). The parts added after the first release
 * (images, tools, think, suffix, raw, truncate, shift, logprobs) are
 * appended only when given, so keys of requests without them stay as they were.
 */
export function inferenceCacheKey(input: GenerationInput): string {
  return digest([
    ...header("generate", input.scope),
    input.purpose ?? "",
    input.model,
    input.mode,
    input.system ?? "",
    input.prompt ?? "",
    input.messages ? (stableStringify(input.messages) ?? "") : "",
    input.options ? (stableStringify(input.options) ?? "") : "",
    input.format === undefined ? "" : (stableStringify(input.format) ?? ""),
    ...(input.tools && input.tools.length > 0 ? [`tools:${stableStringify(input.tools) ?? ""}`] : []),
    ...(input.think !== undefined ? [`think:${String(input.think)}`] : []),
    ...(input.images && input.images.length > 0 ? [`images:${input.images.join(",")}`] : []),
    // JSON-quoted: a NUL inside the suffix cannot pass for the separator of the next part.
    ...(input.suffix ? [`suffix:${JSON.stringify(input.suffix)}`] : []),
    ...(input.raw ? ["raw"] : []),
    ...(input.truncate === false ? ["truncate:false"] : []),
    ...(input.shift === false ? ["shift:false"] : []),
    ...(input.logprobs ? [`logprobs:${input.topLogprobs ?? 0}`] : []),
  ]);
}

/**
 * Generation is cached only when it is deterministic (temperature 0 or a fixed seed), unless the
 * request says otherwise: a sampled answer replayed from cache would silently stop varying.
 */
export function isCacheableGeneration(options: ModelOptions | undefined, explicit: boolean | undefined): boolean {
  if (explicit !== undefined) return explicit;
  if (!options) return false;
  return options.temperature === 0 || options.seed !== undefined;
}

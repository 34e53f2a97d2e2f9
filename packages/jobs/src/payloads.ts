import { z } from "zod";
import { ChatMessage, ModelOptions } from "./requests.js";

/** What an embed job carries in Redis. `model` is normalised; `requestModel` is echoed in results. */
export const EmbedJobData = z.object({
  model: z.string().min(1),
  requestModel: z.string().min(1),
  inputs: z.array(z.string()).min(1),
  dimensions: z.number().int().positive().optional(),
  truncate: z.boolean().optional(),
  options: ModelOptions.optional(),
  keepAlive: z.union([z.string(), z.number()]).optional(),
  /** Cache each input's vector when the job finishes (false when the embedding layer is off). */
  cache: z.boolean(),
});
export type EmbedJobData = z.infer<typeof EmbedJobData>;

export const GenerateJobData = z.object({
  model: z.string().min(1),
  requestModel: z.string().min(1),
  mode: z.enum(["generate", "chat"]),
  prompt: z.string().optional(),
  messages: z.array(ChatMessage).optional(),
  system: z.string().optional(),
  options: ModelOptions.optional(),
  format: z.union([z.literal("json"), z.record(z.string(), z.unknown())]).optional(),
  keepAlive: z.union([z.string(), z.number()]).optional(),
  /** Inference-cache key to fill on success, or null when this generation must not be cached. */
  cacheKey: z.string().nullable(),
});
export type GenerateJobData = z.infer<typeof GenerateJobData>;

export const EmbedResult = z.object({
  model: z.string(),
  embeddings: z.array(z.array(z.number())),
});
export type EmbedResult = z.infer<typeof EmbedResult>;

export const GenerateResult = z.object({
  model: z.string(),
  response: z.string().optional(),
  message: z.object({ role: z.literal("assistant"), content: z.string() }).optional(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().int().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
});
export type GenerateResult = z.infer<typeof GenerateResult>;

/**
 * The BullMQ return value. It is written to the job hash and to the events stream, so it stays
 * small: the result body itself is stored once under the job's result key.
 */
export const JobReturnValue = z.object({
  instance: z.string(),
  resultBytes: z.number().int().nonnegative(),
  /** Inputs answered from the embedding cache instead of Ollama. */
  cachedInputs: z.number().int().nonnegative().optional(),
});
export type JobReturnValue = z.infer<typeof JobReturnValue>;

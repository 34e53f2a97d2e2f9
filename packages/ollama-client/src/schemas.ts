import { z } from "zod";

export const ErrorBody = z.object({ error: z.string() });

export const EmbedResponse = z.object({
  model: z.string().optional(),
  // Vectors are checked element by element in validateVectors: zod would visit every value once
  // more (z.array(z.unknown()) parses each element), thousands per response.
  embeddings: z.custom<unknown[][]>((value) => Array.isArray(value) && value.every((vector) => Array.isArray(vector)), { message: "expected an array of arrays" }),
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
});

const Metrics = {
  done_reason: z.string().optional(),
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
  prompt_eval_duration: z.number().optional(),
  eval_count: z.number().optional(),
  eval_duration: z.number().optional(),
};

/** One alternative at a token's position; fields Ollama may add are kept. */
const TokenLogprob = z.looseObject({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).optional() });

/** A generated token's log probability, and the likeliest tokens at its position when asked for. */
export const Logprob = TokenLogprob.extend({ top_logprobs: z.array(TokenLogprob).optional() });
export type Logprob = z.infer<typeof Logprob>;

const Logprobs = z.array(Logprob).nullable().optional();

export const GenerateChunk = z.object({
  model: z.string().optional(),
  response: z.string(),
  thinking: z.string().optional(),
  done: z.boolean(),
  logprobs: Logprobs,
  ...Metrics,
});
export type GenerateChunk = z.infer<typeof GenerateChunk>;

/** A tool call as Ollama reports it; fields it may add (an id, an index) are kept. */
export const ToolCall = z.looseObject({
  function: z.looseObject({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()) }),
});
export type ToolCall = z.infer<typeof ToolCall>;

export const ChatChunk = z.object({
  model: z.string().optional(),
  message: z.object({ role: z.string(), content: z.string(), thinking: z.string().optional(), tool_calls: z.array(ToolCall).nullable().optional() }),
  done: z.boolean(),
  logprobs: Logprobs,
  ...Metrics,
});
export type ChatChunk = z.infer<typeof ChatChunk>;

/** Entries keep every field Ollama sent (loose): workers pass them on for the API's /api/tags. */
export const TagsResponse = z.object({
  models: z.array(
    z.looseObject({
      name: z.string(),
      model: z.string().optional(),
      size: z.number().optional(),
      digest: z.string().optional(),
      details: z.looseObject({ family: z.string().optional(), families: z.array(z.string()).nullable().optional() }).partial().optional(),
      capabilities: z.array(z.string()).optional(),
    }),
  ),
});
export type TagsResponse = z.infer<typeof TagsResponse>;

/** /api/ps: the models loaded now. */
export const PsResponse = z.object({ models: z.array(z.looseObject({ name: z.string(), model: z.string().optional() })) });

export const ShowResponse = z.object({
  details: z.object({ family: z.string().optional() }).partial().optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
  /** The Modelfile's PARAMETER lines ("num_ctx                        256"). */
  parameters: z.string().optional(),
  capabilities: z.array(z.string()).optional(),
});
export type ShowResponse = z.infer<typeof ShowResponse>;

export const VersionResponse = z.object({ version: z.string() });

import { z } from "zod";
import { JobRequest, type ChatMessage } from "@herd/jobs";
import { ApiError } from "../errors.js";

/** Ollama's request fields Herd passes on; others Ollama knows but Herd cannot honour are refused by name. */
const common = {
  model: z.string({ error: "model is required" }).min(1, "model is required"),
  stream: z.boolean().optional(),
  format: z.unknown().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  keep_alive: z.union([z.string(), z.number()]).optional(),
};
const UNSUPPORTED = ["template", "context"] as const;

export const OllamaGenerateBody = z
  .object({ ...common, prompt: z.string().optional(), suffix: z.string().optional(), system: z.string().optional(), raw: z.boolean().optional(), think: z.unknown().optional() })
  .passthrough();
export const OllamaChatBody = z.object({ ...common, messages: z.array(z.record(z.string(), z.unknown())).optional(), think: z.unknown().optional() }).passthrough();
export const OllamaEmbedBody = z
  .object({ model: common.model, input: z.unknown().optional(), truncate: z.boolean().optional(), dimensions: z.number().int().positive().optional(), options: common.options, keep_alive: common.keep_alive })
  .passthrough();
export const OllamaEmbeddingsBody = z.object({ model: common.model, prompt: z.string().optional(), options: common.options, keep_alive: common.keep_alive }).passthrough();

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || (typeof body === "object" && Object.keys(body).length === 0)) {
    throw new ApiError(400, "invalid_request", "missing request body");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(400, "invalid_request", parsed.error.issues[0]?.message ?? "invalid request");
  return parsed.data;
}

/** Whether a field says anything: Go's zero values (null, "", an empty list) are as good as absent to Ollama. */
function given(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null && value !== "";
}

function refuseUnsupported(body: Record<string, unknown>, mode: "generate" | "chat"): void {
  // Ollama's /api/generate has no tools (its Go struct has no such field): refused by name, not ignored.
  // Fill-in-the-middle and raw prompts belong to /api/generate: Ollama's chat has no such fields.
  for (const field of mode === "chat" ? UNSUPPORTED : [...UNSUPPORTED, "tools"]) {
    if (given(body[field]) && body[field] !== false) throw new ApiError(400, "unsupported_field", `"${field}" is not supported through Herd`);
  }
}

/** The native job request for an Ollama /api/generate or /api/chat body, validated like /v1/jobs. */
export function generationRequest(body: z.infer<typeof OllamaGenerateBody> | z.infer<typeof OllamaChatBody>, mode: "generate" | "chat"): JobRequest {
  refuseUnsupported(body, mode);
  const candidate = {
    type: "generate",
    model: body.model,
    ...(mode === "generate"
      ? {
          prompt: (body as { prompt?: string }).prompt ?? "",
          ...((body as { system?: string }).system !== undefined ? { system: (body as { system?: string }).system } : {}),
          ...(given(body["suffix"]) ? { suffix: body["suffix"] } : {}),
          ...(body["raw"] === true ? { raw: true } : {}),
          ...(given(body["images"]) ? { images: body["images"] } : {}),
        }
      : { messages: ((body as { messages?: Array<Record<string, unknown>> }).messages ?? []).map(chatMessage) }),
    ...(mode === "chat" && Array.isArray(body["tools"]) && given(body["tools"]) ? { tools: body["tools"] } : {}),
    ...(body.think !== undefined && body.think !== null ? { think: body.think } : {}),
    // null is Go's zero value: Ollama's default (on).
    ...(body["truncate"] !== undefined && body["truncate"] !== null ? { truncate: body["truncate"] } : {}),
    ...(body["shift"] !== undefined && body["shift"] !== null ? { shift: body["shift"] } : {}),
    ...ollamaLogprobs(body),
    ...(body.options ? { options: body.options } : {}),
    ...(body.format !== undefined && body.format !== "" && body.format !== null ? { format: body.format } : {}),
    ...(body.keep_alive !== undefined ? { keep_alive: body.keep_alive } : {}),
    priority: "interactive",
  };
  return toJobRequest(candidate);
}

/**
 * Ollama's logprobs and top_logprobs as the job's: Ollama checks top_logprobs' range first (its
 * words), and ignores top_logprobs without logprobs.
 */
function ollamaLogprobs(body: Record<string, unknown>): ReturnType<typeof logprobFields> {
  const top = body["top_logprobs"];
  if (typeof top === "number" && (top < 0 || top > 20)) throw new ApiError(400, "invalid_request", "top_logprobs must be between 0 and 20");
  return logprobFields(body["logprobs"] === true, top);
}

/** A drop-in's ask for log probabilities as the job request's fields: on, with `top` alternatives when it names some. */
export function logprobFields(on: boolean, top: unknown): { logprobs?: true; top_logprobs?: unknown } {
  if (!on) return {};
  return { logprobs: true, ...(top !== undefined && top !== null && top !== 0 ? { top_logprobs: top } : {}) };
}

/** An Ollama chat message as a job's message: its text, and its images and tool fields when present. */
function chatMessage(message: Record<string, unknown>): Record<string, unknown> {
  const optional = (["images", "tool_calls", "tool_name", "tool_call_id", "thinking"] as const).filter((field) => given(message[field]));
  return { role: message["role"], content: message["content"] ?? "", ...Object.fromEntries(optional.map((field) => [field, message[field]])) };
}

/** A chat message a drop-in built from its API's shape, before toJobRequest validates the request (and its role). */
export type DraftMessage = Omit<ChatMessage, "role"> & { role: string };

export function toJobRequest(candidate: unknown): JobRequest {
  const parsed = JobRequest.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(400, "invalid_request", issue ? `${issue.path.map(String).join(".")}${issue.path.length ? ": " : ""}${issue.message}` : "invalid request");
  }
  return parsed.data;
}

import { z } from "zod";
import type { JobRequest } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { toJobRequest } from "./ollama-requests.js";
import { offeredTools, ollamaToolCalls } from "./openai-tools.js";

export const OpenAiEmbeddingsBody = z
  .object({
    model: z.string({ error: "model is required" }).min(1, "model is required"),
    input: z.unknown(),
    dimensions: z.number().int().positive().optional(),
    encoding_format: z.enum(["float", "base64"], { error: "encoding_format must be \"float\" or \"base64\"" }).optional(),
    user: z.string().optional(),
  })
  .passthrough();

const ContentPart = z.object({ type: z.string(), text: z.string().optional() }).passthrough();
const Message = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool"], { error: "role must be system, developer, user, assistant or tool" }),
    content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  })
  .passthrough();

const ReasoningEffort = z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"], { error: 'must be "none", "minimal", "low", "medium", "high", "xhigh" or "max"' });

/** OpenAI's reasoning effort as Ollama's `think`: "none" turns thinking off; the rest map to Ollama's nearest level. */
const THINK_FOR_EFFORT = { none: false, minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "high", max: "high" } as const;

export const OpenAiChatBody = z
  .object({
    model: z.string({ error: "model is required" }).min(1, "model is required"),
    messages: z.array(Message, { error: "messages must be an array" }).min(1, "messages must not be empty"),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    seed: z.number().int().nullable().optional(),
    stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    frequency_penalty: z.number().nullable().optional(),
    presence_penalty: z.number().nullable().optional(),
    response_format: z.object({ type: z.string(), json_schema: z.object({ schema: z.record(z.string(), z.unknown()).optional() }).passthrough().optional() }).passthrough().optional(),
    n: z.number().int().optional(),
    tools: z.array(z.unknown(), { error: "tools must be an array" }).nullable().optional(),
    tool_choice: z.unknown().optional(),
    reasoning_effort: ReasoningEffort.nullable().optional(),
    reasoning: z.object({ effort: ReasoningEffort.nullable().optional() }).passthrough().nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
  })
  .passthrough();
export type OpenAiChatBody = z.infer<typeof OpenAiChatBody>;

export function parseOpenAi<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(400, "invalid_request", issue?.message ?? "invalid request", { details: { param: issue?.path.map(String).join(".") || null } });
  }
  return parsed.data;
}

/** The image types Ollama's OpenAI layer takes, as data URLs only (it fetches no remote image). */
const DATA_URL = /^data:image\/(?:jpeg|jpg|png|webp);base64,/;

function imageOf(part: z.infer<typeof ContentPart>, param: string): string {
  const imageUrl = part["image_url"];
  const url = typeof imageUrl === "string" ? imageUrl : typeof imageUrl === "object" && imageUrl !== null ? (imageUrl as { url?: unknown }).url : undefined;
  if (typeof url !== "string") throw new ApiError(400, "invalid_request", `${param}: image_url must be a URL or { "url": ... }`, { details: { param } });
  const match = DATA_URL.exec(url);
  if (!match) {
    const remote = /^https?:/i.test(url);
    throw new ApiError(400, remote ? "unsupported_field" : "invalid_request", remote ? `${param}: Herd (like Ollama) does not fetch images; send the image as a data URL (data:image/png;base64,...)` : `${param}: invalid image input (expected a data:image/jpeg, png or webp;base64 URL)`, { details: { param } });
  }
  return url.slice(match[0].length);
}

/** A message's text (its text parts joined) and its images (its image_url parts, as base64). */
function contentOf(content: z.infer<typeof Message>["content"], index: number): { text: string; images: string[] } {
  if (content === undefined || content === null) return { text: "", images: [] };
  if (typeof content === "string") return { text: content, images: [] };
  const images: string[] = [];
  const text = content
    .map((part, partIndex) => {
      if (part.type === "image_url") {
        images.push(imageOf(part, `messages.${index}.content.${partIndex}.image_url`));
        return "";
      }
      if (part.type !== "text") throw new ApiError(400, "unsupported_field", `messages[${index}]: content parts of type "${part.type}" are not supported through Herd`, { details: { param: `messages.${index}.content` } });
      return part.text ?? "";
    })
    .join("");
  return { text, images };
}

/** The native job request for a chat completion: sampling settings become Ollama options. */
export function chatRequest(body: OpenAiChatBody): JobRequest {
  if (body.n !== undefined && body.n !== 1) throw new ApiError(400, "unsupported_field", "n: only one choice per request is supported", { details: { param: "n" } });
  const tools = offeredTools({ tools: body.tools ?? undefined, tool_choice: body.tool_choice });
  const effort = body.reasoning_effort ?? body.reasoning?.effort ?? undefined;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const options = {
    ...(maxTokens != null ? { num_predict: maxTokens } : {}),
    ...(body.seed != null ? { seed: body.seed } : {}),
    ...(body.stop != null ? { stop: Array.isArray(body.stop) ? body.stop : [body.stop] } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { top_p: body.top_p } : {}),
    ...(body.frequency_penalty != null ? { frequency_penalty: body.frequency_penalty } : {}),
    ...(body.presence_penalty != null ? { presence_penalty: body.presence_penalty } : {}),
  };
  const format =
    body.response_format?.type === "json_object"
      ? "json"
      : body.response_format?.type === "json_schema"
        ? (body.response_format.json_schema?.schema ?? "json")
        : undefined;
  return toJobRequest({
    type: "generate",
    model: body.model,
    messages: chatMessages(body.messages),
    ...(tools ? { tools } : {}),
    ...(effort !== undefined ? { think: THINK_FOR_EFFORT[effort] } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
    ...(format !== undefined ? { format } : {}),
    priority: "interactive",
  });
}

/**
 * OpenAI messages as Ollama's: `developer` is a system message; image parts become the message's
 * images (one message with its text, as Ollama's own clients send it); an assistant's tool calls carry
 * their arguments as objects; a tool's answer names its tool (found by `tool_call_id`).
 */
function chatMessages(messages: OpenAiChatBody["messages"]): Array<Record<string, unknown>> {
  const toolNames = new Map<string, string>();
  return messages.map((message, index) => {
    const toolCalls = message.role === "assistant" ? ollamaToolCalls(message["tool_calls"], index, toolNames) : undefined;
    const callId = message["tool_call_id"];
    const toolName = message.role === "tool" && typeof callId === "string" ? toolNames.get(callId) : undefined;
    const { text, images } = contentOf(message.content, index);
    return {
      role: message.role === "developer" ? "system" : message.role,
      content: text,
      ...(images.length > 0 ? { images } : {}),
      ...(toolCalls ? { tool_calls: toolCalls } : {}),
      ...(toolName !== undefined ? { tool_name: toolName } : {}),
    };
  });
}

/** string | string[] only: token arrays cannot be passed on to Ollama. */
export function embeddingInputs(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === "string")) return input as string[];
  throw new ApiError(400, "invalid_request", "invalid input: expected a string or a non-empty array of strings (token arrays are not supported)", { details: { param: "input" } });
}

/** A vector as OpenAI's base64 encoding: little-endian float32. */
export function base64Vector(vector: readonly number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer.toString("base64");
}

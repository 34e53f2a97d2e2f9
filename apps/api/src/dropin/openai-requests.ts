import { z } from "zod";
import type { JobRequest } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { logprobFields, toJobRequest, type DraftMessage } from "./ollama-requests.js";
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

/** How many alternatives to list at each token position, as OpenAI (and Ollama) bound it. */
export const TopLogprobs = z.number({ error: "top_logprobs must be an integer" }).int("top_logprobs must be an integer").min(0, "top_logprobs must be between 0 and 20").max(20, "top_logprobs must be between 0 and 20").nullable().optional();

export const ReasoningEffort = z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"], { error: 'must be "none", "minimal", "low", "medium", "high", "xhigh" or "max"' });

/** OpenAI's reasoning effort as Ollama's `think`: "none" turns thinking off; the rest map to Ollama's nearest level. */
export const THINK_FOR_EFFORT = { none: false, minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "high", max: "high" } as const;

/** Streaming and sampling fields chat and legacy completions share. */
const SAMPLING = {
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  frequency_penalty: z.number().nullable().optional(),
  presence_penalty: z.number().nullable().optional(),
};

type Sampling = z.infer<z.ZodObject<typeof SAMPLING>>;

export const OpenAiChatBody = z
  .object({
    model: z.string({ error: "model is required" }).min(1, "model is required"),
    messages: z.array(Message, { error: "messages must be an array" }).min(1, "messages must not be empty"),
    ...SAMPLING,
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    response_format: z.object({ type: z.string(), json_schema: z.object({ schema: z.record(z.string(), z.unknown()).optional() }).passthrough().optional() }).passthrough().optional(),
    n: z.number().int().optional(),
    tools: z.array(z.unknown(), { error: "tools must be an array" }).nullable().optional(),
    tool_choice: z.unknown().optional(),
    reasoning_effort: ReasoningEffort.nullable().optional(),
    reasoning: z.object({ effort: ReasoningEffort.nullable().optional() }).passthrough().nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    logprobs: z.boolean({ error: "logprobs must be a boolean" }).nullable().optional(),
    top_logprobs: TopLogprobs,
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

/**
 * The image types Ollama's OpenAI layer takes, as data URLs only (it fetches no remote image);
 * `data:;base64,` (no type) too, as /api/chat takes unadorned base64.
 */
const DATA_URL = /^data:(?:image\/(?:jpeg|jpg|png|webp))?;base64,/;

export function imageOf(part: { image_url?: unknown } & Record<string, unknown>, param: string): string {
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

/**
 * A message's content as Ollama's OpenAI layer turns it into messages: a string is one message;
 * content parts become one message each, a text part with its text and an image part with its
 * image, so the model's template renders them as from Ollama itself.
 */
function partsOf(role: string, content: z.infer<typeof Message>["content"], index: number): DraftMessage[] {
  // No content (an assistant turn that only called tools) is one empty message, to carry the calls.
  if (content === undefined || content === null || content.length === 0) return [{ role, content: "" }];
  if (typeof content === "string") return [{ role, content }];
  return content.map((part, partIndex) => {
    if (part.type === "image_url") return { role, content: "", images: [imageOf(part, `messages.${index}.content.${partIndex}.image_url`)] };
    if (part.type !== "text") throw new ApiError(400, "unsupported_field", `messages[${index}]: content parts of type "${part.type}" are not supported through Herd`, { details: { param: `messages.${index}.content` } });
    return { role, content: part.text ?? "" };
  });
}

/** OpenAI's sampling settings as Ollama options, with the defaults Ollama's OpenAI layer sets (temperature and top_p 1). */
function samplingOptions(body: Sampling, maxTokens: number | null | undefined): Record<string, unknown> {
  return {
    ...(maxTokens != null ? { num_predict: maxTokens } : {}),
    ...(body.seed != null ? { seed: body.seed } : {}),
    ...(body.stop != null ? { stop: Array.isArray(body.stop) ? body.stop : [body.stop] } : {}),
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    ...(body.frequency_penalty != null ? { frequency_penalty: body.frequency_penalty } : {}),
    ...(body.presence_penalty != null ? { presence_penalty: body.presence_penalty } : {}),
  };
}

/** The most choices one request may ask for: each is a job, so n is bounded like a batch of inputs. */
export const MAX_CHOICES = 16;

/** OpenAI's `n`: how many choices to generate (1 when absent). */
export function choicesOf(n: number | null | undefined): number {
  if (n == null) return 1;
  if (n < 1 || n > MAX_CHOICES) throw new ApiError(400, "invalid_request", `n: must be between 1 and ${MAX_CHOICES} (each choice is a job of its own)`, { details: { param: "n" } });
  return n;
}

/** The native job request for a chat completion: sampling settings become Ollama options. */
export function chatRequest(body: OpenAiChatBody): JobRequest {
  choicesOf(body.n);
  if (body.top_logprobs != null && body.top_logprobs > 0 && body.logprobs !== true) {
    throw new ApiError(400, "invalid_request", "top_logprobs: logprobs must be true when top_logprobs is set", { details: { param: "top_logprobs" } });
  }
  const tools = offeredTools({ tools: body.tools ?? undefined, tool_choice: body.tool_choice });
  const effort = body.reasoning_effort ?? body.reasoning?.effort ?? undefined;
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
    options: samplingOptions(body, body.max_completion_tokens ?? body.max_tokens),
    ...(format !== undefined ? { format } : {}),
    ...logprobFields(body.logprobs === true, body.top_logprobs),
    priority: "interactive",
  });
}

/**
 * OpenAI messages as Ollama's: `developer` is a system message; content parts become messages of
 * their own (see partsOf); an assistant's reasoning is its thinking and its tool calls carry their
 * arguments as objects, on the last of its messages; a tool's answer names its tool (found by
 * `tool_call_id`).
 */
function chatMessages(messages: OpenAiChatBody["messages"]): Array<Record<string, unknown>> {
  const toolNames = new Map<string, string>();
  return messages.flatMap((message, index) => {
    const toolCalls = message.role === "assistant" ? ollamaToolCalls(message["tool_calls"], index, toolNames) : undefined;
    const callId = message["tool_call_id"];
    const toolName = message.role === "tool" && typeof callId === "string" ? toolNames.get(callId) : undefined;
    const reasoning = message.role === "assistant" && typeof message["reasoning"] === "string" && message["reasoning"] !== "" ? message["reasoning"] : undefined;
    const parts: Array<Record<string, unknown>> = partsOf(message.role === "developer" ? "system" : message.role, message.content, index);
    const last = parts.length - 1;
    parts[last] = {
      ...parts[last],
      ...(reasoning !== undefined ? { thinking: reasoning } : {}),
      ...(toolCalls ? { tool_calls: toolCalls } : {}),
      ...(toolName !== undefined ? { tool_name: toolName } : {}),
      ...(message.role === "tool" && typeof callId === "string" && callId !== "" ? { tool_call_id: callId } : {}),
    };
    return parts;
  });
}

export const OpenAiCompletionBody = z
  .object({
    model: z.string({ error: "model is required" }).min(1, "model is required"),
    // Ollama's layer takes one prompt string (its issue 5259: no arrays of prompts or tokens).
    prompt: z.string({ error: "prompt must be a string (arrays of prompts or of tokens are not supported)" }),
    suffix: z.string().nullable().optional(),
    ...SAMPLING,
    n: z.number().int().nullable().optional(),
    best_of: z.number().int().nullable().optional(),
    echo: z.boolean().nullable().optional(),
    // OpenAI's legacy limit: the log probabilities of the 0 to 5 likeliest tokens at each position.
    logprobs: z.number({ error: "logprobs must be an integer" }).int("logprobs must be an integer").min(0, "logprobs must be between 0 and 5").max(5, "logprobs must be between 0 and 5").nullable().optional(),
  })
  .passthrough();
export type OpenAiCompletionBody = z.infer<typeof OpenAiCompletionBody>;

/**
 * The native job request for a legacy completion: the prompt as is through the model's template
 * (as Ollama's layer sends it to /api/generate), `suffix` for fill-in-the-middle.
 */
export function completionRequest(body: OpenAiCompletionBody): JobRequest {
  choicesOf(body.n);
  if (body.best_of != null && body.best_of !== 1) throw new ApiError(400, "unsupported_field", "best_of: only one candidate per request is supported", { details: { param: "best_of" } });
  // Ollama ignores echo; through Herd it is refused rather than silently answered without.
  if (body.echo === true) throw new ApiError(400, "unsupported_field", "echo: the prompt is not repeated in the answer through Herd", { details: { param: "echo" } });
  return toJobRequest({
    type: "generate",
    model: body.model,
    prompt: body.prompt,
    ...(body.suffix ? { suffix: body.suffix } : {}),
    options: samplingOptions(body, body.max_tokens),
    ...logprobFields(body.logprobs != null, body.logprobs),
    priority: "interactive",
  });
}

/** string | string[] only: token arrays cannot be passed on to Ollama. */
export function embeddingInputs(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === "string")) return input as string[];
  // LangChain's Python OpenAIEmbeddings is the usual sender of token arrays: it tokenizes with
  // OpenAI's tokenizer first, which names nothing an Ollama model knows.
  const tokens = Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === "number" || (Array.isArray(item) && item.every((token) => typeof token === "number")));
  const hint = tokens ? " (LangChain's OpenAIEmbeddings sends them unless created with check_embedding_ctx_length=False)" : "";
  throw new ApiError(400, "invalid_request", `invalid input: expected a string or a non-empty array of strings; token arrays are not supported${hint}`, { details: { param: "input" } });
}

/** A vector as OpenAI's base64 encoding: little-endian float32. */
export function base64Vector(vector: readonly number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer.toString("base64");
}

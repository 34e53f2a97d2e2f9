import { z } from "zod";
import type { JobRequest, ToolCall } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { toJobRequest, type DraftMessage } from "./ollama-requests.js";

/** Anthropic's Messages API (`POST /v1/messages`), as Ollama's own Anthropic layer maps it onto /api/chat. */
const Block = z.record(z.string(), z.unknown());
export const AnthropicMessagesBody = z
  .object({
    model: z.string({ error: "model: Field required" }).min(1, "model: Field required"),
    max_tokens: z.number({ error: "max_tokens: Field required" }).int().positive("max_tokens: must be at least 1"),
    messages: z.array(z.object({ role: z.enum(["user", "assistant"], { error: 'role must be "user" or "assistant"' }), content: z.union([z.string(), z.array(Block)]) }).passthrough(), { error: "messages: Field required" }),
    system: z.union([z.string(), z.array(Block)]).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    temperature: z.number().min(0).max(1).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    top_k: z.number().int().nullable().optional(),
    stop_sequences: z.array(z.string()).nullable().optional(),
    tools: z.array(Block).nullable().optional(),
    tool_choice: z.object({ type: z.string() }).passthrough().nullable().optional(),
    thinking: z.object({ type: z.string() }).passthrough().nullable().optional(),
    output_config: z
      .object({ effort: z.string().nullable().optional(), format: z.object({ type: z.string(), schema: z.record(z.string(), z.unknown()).optional() }).passthrough().nullable().optional() })
      .passthrough()
      .nullable()
      .optional(),
  })
  .passthrough();
export type AnthropicMessagesBody = z.infer<typeof AnthropicMessagesBody>;

const invalid = (message: string) => new ApiError(400, "invalid_request", message);
const unsupported = (message: string) => new ApiError(400, "unsupported_field", message);

/** A base64 image block's data; Herd, like Ollama, fetches no image by URL. */
function imageOf(block: Record<string, unknown>, at: string): string {
  const source = block["source"] as { type?: unknown; data?: unknown } | undefined;
  if (source?.type !== "base64") throw unsupported(`${at}: only base64 image sources are supported (Herd, like Ollama, fetches no image)`);
  if (typeof source.data !== "string") throw invalid(`${at}.source.data: must be a base64 string`);
  return source.data;
}

/** A tool result's content: a string, or text and image blocks. */
function toolResultOf(content: unknown, at: string): { content: string; images: string[] } {
  if (content === undefined || content === null) return { content: "", images: [] };
  if (typeof content === "string") return { content, images: [] };
  if (!Array.isArray(content)) throw invalid(`${at}.content: must be a string or an array of blocks`);
  const images: string[] = [];
  let text = "";
  content.forEach((block: Record<string, unknown>, index) => {
    if (block["type"] === "text" && typeof block["text"] === "string") text += block["text"];
    else if (block["type"] === "image") images.push(imageOf(block, `${at}.content.${index}`));
  });
  return { content: text, images };
}

/**
 * One Anthropic message as Ollama messages, in the order Ollama's layer puts them: a user turn's
 * tool results first (tool messages, naming their tool), then its text and images; an assistant
 * turn's text, thinking and tool calls in one message.
 */
function convertMessage(message: AnthropicMessagesBody["messages"][number], index: number, toolNames: Map<string, string>): DraftMessage[] {
  const blocks = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
  let text = "";
  let thinking = "";
  const images: string[] = [];
  const calls: ToolCall[] = [];
  const results: DraftMessage[] = [];
  blocks.forEach((block, blockIndex) => {
    const at = `messages.${index}.content.${blockIndex}`;
    switch (block["type"]) {
      case "text":
        text += typeof block["text"] === "string" ? block["text"] : "";
        break;
      case "image":
        images.push(imageOf(block, at));
        break;
      case "tool_use": {
        const { id, name, input } = block as { id?: unknown; name?: unknown; input?: unknown };
        if (typeof id !== "string" || id === "") throw invalid(`${at}: tool_use block missing required 'id' field`);
        if (typeof name !== "string" || name === "") throw invalid(`${at}: tool_use block missing required 'name' field`);
        if (input !== undefined && (typeof input !== "object" || input === null || Array.isArray(input))) throw invalid(`${at}.input: must be an object`);
        toolNames.set(id, name);
        calls.push({ id, function: { name, arguments: (input ?? {}) as Record<string, unknown> } });
        break;
      }
      case "tool_result": {
        const useId = typeof block["tool_use_id"] === "string" && block["tool_use_id"] !== "" ? block["tool_use_id"] : undefined;
        const name = useId !== undefined ? toolNames.get(useId) : undefined;
        const result = toolResultOf(block["content"], at);
        results.push({ role: "tool", content: result.content, ...(result.images.length > 0 ? { images: result.images } : {}), ...(name !== undefined ? { tool_name: name } : {}), ...(useId !== undefined ? { tool_call_id: useId } : {}) });
        break;
      }
      case "thinking":
        thinking = typeof block["thinking"] === "string" ? block["thinking"] : "";
        break;
      case "redacted_thinking":
        // Encrypted by Anthropic for Anthropic's models: nothing an Ollama model could read.
        break;
      default:
        throw unsupported(`${at}: content blocks of type ${JSON.stringify(block["type"])} are not supported through Herd`);
    }
  });
  const own: DraftMessage[] =
    text !== "" || images.length > 0 || calls.length > 0 || thinking !== ""
      ? [{ role: message.role, content: text, ...(images.length > 0 ? { images } : {}), ...(calls.length > 0 ? { tool_calls: calls } : {}), ...(thinking !== "" ? { thinking } : {}) }]
      : [];
  return message.role === "user" ? [...results, ...own] : [...own, ...results];
}

function systemOf(system: AnthropicMessagesBody["system"]): string {
  if (typeof system === "string") return system;
  return (system ?? []).map((block) => (block["type"] === "text" && typeof block["text"] === "string" ? block["text"] : "")).join("");
}

/** Anthropic's tools (`{name, description, input_schema}`) as Ollama function tools, per tool_choice. */
function toolsOf(body: AnthropicMessagesBody): unknown[] | undefined {
  const choice = body.tool_choice?.type ?? "auto";
  if (choice === "none") return undefined;
  if (choice !== "auto") throw unsupported(`tool_choice: only "auto" and "none" are supported through Herd (Ollama cannot be made to call a tool), not ${JSON.stringify(choice)}`);
  const tools = (body.tools ?? []).map((tool, index) => {
    const type = tool["type"];
    if (type !== undefined && type !== null && type !== "custom") throw unsupported(`tools.${index}: server tools (${JSON.stringify(type)}) are not supported through Herd; offer your own tool instead`);
    if (typeof tool["name"] !== "string" || tool["name"] === "") throw invalid(`tools.${index}.name: Field required`);
    return {
      type: "function",
      function: { name: tool["name"], ...(typeof tool["description"] === "string" ? { description: tool["description"] } : {}), ...(tool["input_schema"] ? { parameters: tool["input_schema"] } : {}) },
    };
  });
  return tools.length > 0 ? tools : undefined;
}

/** `thinking` on or off, else output_config.effort as a level (xhigh and max are Ollama's "high" here). */
function thinkOf(body: AnthropicMessagesBody): boolean | "low" | "medium" | "high" | undefined {
  if (body.thinking?.type === "enabled") return true;
  if (body.thinking?.type === "disabled") return false;
  const effort = body.output_config?.effort?.trim().toLowerCase();
  if (effort === "low" || effort === "medium" || effort === "high") return effort;
  if (effort === "xhigh" || effort === "max") return "high";
  return undefined;
}

/** The native job request for a Messages API body: max_tokens is num_predict; no sampling default is imposed. */
export function messagesRequest(body: AnthropicMessagesBody): JobRequest {
  const toolNames = new Map<string, string>();
  const system = systemOf(body.system);
  const messages = [...(system !== "" ? [{ role: "system", content: system }] : []), ...body.messages.flatMap((message, index) => convertMessage(message, index, toolNames))];
  if (messages.length === 0) throw invalid("messages: at least one message is required");
  const think = thinkOf(body);
  const tools = toolsOf(body);
  // Structured output: Ollama's own layer drops it; Herd hands the schema to Ollama's `format`.
  const format = body.output_config?.format;
  if (format && format.type !== "json_schema") throw unsupported(`output_config.format.type: only "json_schema" is supported, not ${JSON.stringify(format.type)}`);
  return toJobRequest({
    type: "generate",
    model: body.model,
    messages,
    ...(tools ? { tools } : {}),
    ...(think !== undefined ? { think } : {}),
    ...(format ? { format: format.schema ?? "json" } : {}),
    options: {
      num_predict: body.max_tokens,
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...(body.top_p != null ? { top_p: body.top_p } : {}),
      ...(body.top_k != null ? { top_k: body.top_k } : {}),
      ...(body.stop_sequences && body.stop_sequences.length > 0 ? { stop: body.stop_sequences } : {}),
    },
    priority: "interactive",
  });
}

/** The characters Ollama's estimate counts in a content: text and thinking, and tool blocks whole (as JSON). */
function contentLength(content: unknown): number {
  if (content === undefined || content === null) return 0;
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return JSON.stringify(content).length;
  return (content as Array<Record<string, unknown>>).reduce((sum, block) => {
    const text = typeof block["text"] === "string" ? block["text"].length : 0;
    const thinking = typeof block["thinking"] === "string" ? block["thinking"].length : 0;
    const tool = block["type"] === "tool_use" || block["type"] === "tool_result" ? JSON.stringify(block).length : 0;
    return sum + text + thinking + tool;
  }, 0);
}

/**
 * Ollama's estimate of a request's input tokens (its count_tokens, and the input tokens of a
 * streamed message's start): a quarter of the characters of the system prompt, each message's
 * role and content, and each tool's name, description and schema; at least 1 when there is any.
 */
export function estimateInputTokens(body: { system?: unknown; messages?: unknown; tools?: unknown }): number {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ name?: unknown; description?: unknown; input_schema?: unknown }>) : [];
  const total =
    contentLength(body.system) +
    messages.reduce((sum, message) => sum + (typeof message.role === "string" ? message.role.length : 0) + contentLength(message.content), 0) +
    tools.reduce((sum, tool) => sum + contentLength(tool.name) + contentLength(tool.description) + (tool.input_schema ? JSON.stringify(tool.input_schema).length : 0), 0);
  const tokens = Math.floor(total / 4);
  return tokens === 0 && (messages.length > 0 || (body.system !== undefined && body.system !== null)) ? 1 : tokens;
}

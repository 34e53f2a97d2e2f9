import { z } from "zod";
import type { JobRequest, ToolCall } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { logprobFields, toJobRequest, type DraftMessage } from "./ollama-requests.js";
import { imageOf, ReasoningEffort, THINK_FOR_EFFORT, TopLogprobs } from "./openai-requests.js";
import { offeredTools } from "./openai-tools.js";

/**
 * OpenAI's Responses API (`POST /v1/responses`), stateless as Ollama's own layer serves it: the
 * whole conversation comes in `input` every time; nothing is stored for `previous_response_id`.
 */
export const OpenAiResponsesBody = z
  .object({
    model: z.string({ error: "model is required" }).min(1, "model is required"),
    input: z.union([z.string(), z.array(z.record(z.string(), z.unknown()))], { error: "input must be a string or an array of input items" }),
    instructions: z.string().nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    reasoning: z.object({ effort: ReasoningEffort.nullable().optional(), summary: z.string().nullable().optional() }).passthrough().nullable().optional(),
    text: z
      .object({ format: z.object({ type: z.string(), name: z.string().optional(), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullable().optional() }).passthrough().optional() })
      .passthrough()
      .nullable()
      .optional(),
    tools: z.array(z.record(z.string(), z.unknown()), { error: "tools must be an array" }).nullable().optional(),
    tool_choice: z.unknown().optional(),
    stream: z.boolean().nullable().optional(),
    previous_response_id: z.string().nullable().optional(),
    conversation: z.unknown().optional(),
    background: z.boolean().nullable().optional(),
    truncation: z.enum(["auto", "disabled"], { error: 'truncation must be "auto" or "disabled"' }).nullable().optional(),
    include: z.array(z.string(), { error: "include must be an array of strings" }).nullable().optional(),
    top_logprobs: TopLogprobs,
  })
  .passthrough();
export type OpenAiResponsesBody = z.infer<typeof OpenAiResponsesBody>;

const invalid = (param: string, message: string) => new ApiError(400, "invalid_request", `${param}: ${message}`, { details: { param } });
const unsupported = (param: string, message: string) => new ApiError(400, "unsupported_field", `${param}: ${message}`, { details: { param } });

/** A message item's content: a string, or input_text / output_text / input_image parts (text joined, images kept in order). */
function contentOf(content: unknown, param: string): { content: string; images: string[] } {
  if (content === undefined || content === null) return { content: "", images: [] };
  if (typeof content === "string") return { content, images: [] };
  if (!Array.isArray(content)) throw invalid(param, "must be a string or an array of content parts");
  const images: string[] = [];
  let text = "";
  content.forEach((part: unknown, index) => {
    const at = `${param}.${index}`;
    const { type } = (part ?? {}) as { type?: unknown };
    if (type === "input_text" || type === "output_text") {
      const value = (part as { text?: unknown }).text;
      if (typeof value !== "string") throw invalid(`${at}.text`, "must be a string");
      text += value;
    } else if (type === "input_image") {
      if ((part as { file_id?: unknown }).file_id) throw unsupported(`${at}.file_id`, "Herd stores no files; send the image as a data URL in image_url");
      images.push(imageOf(part as Record<string, unknown>, `${at}.image_url`));
    } else if (type === "input_file") {
      throw unsupported(at, "file inputs are not supported (as through Ollama)");
    } else {
      throw invalid(`${at}.type`, `unknown content type ${JSON.stringify(type)}`);
    }
  });
  return { content: text, images };
}

/** A reasoning item passed back: its thinking (Ollama sends it as plain text in encrypted_content), else its summary. */
function thinkingOf(item: Record<string, unknown>): string {
  if (typeof item["encrypted_content"] === "string" && item["encrypted_content"] !== "") return item["encrypted_content"];
  const summary = Array.isArray(item["summary"]) ? (item["summary"] as Array<{ text?: unknown }>) : [];
  return summary.map((part) => (typeof part.text === "string" ? part.text : "")).join("");
}

/**
 * The conversation as Ollama chat messages, as Ollama's layer builds it: `instructions` first as
 * a system message; function calls join the assistant message before them (or open one); a
 * function's output is a tool message naming its tool (found by `call_id`); a reasoning item
 * becomes the thinking of the next assistant message.
 */
function messagesOf(body: OpenAiResponsesBody): DraftMessage[] {
  const messages: DraftMessage[] = body.instructions ? [{ role: "system", content: body.instructions }] : [];
  if (typeof body.input === "string") return body.input === "" ? messages : [...messages, { role: "user", content: body.input }];
  const toolNames = new Map<string, string>();
  let thinking = "";
  body.input.forEach((item, index) => {
    const param = `input.${index}`;
    const type = item["type"] ?? (item["role"] !== undefined ? "message" : undefined);
    if (type === "reasoning") {
      thinking = thinkingOf(item);
    } else if (type === "message") {
      const role = item["role"];
      if (role !== "user" && role !== "assistant" && role !== "system" && role !== "developer") throw invalid(`${param}.role`, 'must be "user", "assistant", "system" or "developer"');
      const { content, images } = contentOf(item["content"], `${param}.content`);
      const message: DraftMessage = { role: role === "developer" ? "system" : role, content, ...(images.length > 0 ? { images } : {}) };
      if (role === "assistant" && thinking) {
        message.thinking = thinking;
        thinking = "";
      }
      messages.push(message);
    } else if (type === "function_call") {
      const { name, call_id: callId, arguments: text } = item as { name?: unknown; call_id?: unknown; arguments?: unknown };
      if (typeof name !== "string" || name === "") throw invalid(`${param}.name`, "must be a non-empty string");
      let args: unknown;
      try {
        args = typeof text === "string" && text !== "" ? JSON.parse(text) : {};
      } catch {
        throw invalid(`${param}.arguments`, "must be a JSON object encoded as a string");
      }
      if (typeof args !== "object" || args === null || Array.isArray(args)) throw invalid(`${param}.arguments`, "must be a JSON object encoded as a string");
      if (typeof callId === "string") toolNames.set(callId, name);
      const call: ToolCall = { ...(typeof callId === "string" ? { id: callId } : {}), function: { name, arguments: args as Record<string, unknown> } };
      const last = messages.at(-1);
      const target = last?.role === "assistant" ? last : { role: "assistant", content: "" };
      if (target !== last) messages.push(target);
      target.tool_calls = [...(target.tool_calls ?? []), call];
      if (thinking) {
        target.thinking = thinking;
        thinking = "";
      }
    } else if (type === "function_call_output") {
      const callId = item["call_id"];
      const output = item["output"];
      const { content, images } = typeof output === "string" ? { content: output, images: [] } : contentOf(output, `${param}.output`);
      const name = typeof callId === "string" ? toolNames.get(callId) : undefined;
      messages.push({ role: "tool", content, ...(images.length > 0 ? { images } : {}), ...(name !== undefined ? { tool_name: name } : {}), ...(typeof callId === "string" && callId !== "" ? { tool_call_id: callId } : {}) });
    } else {
      throw invalid(`${param}.type`, type === undefined ? "an input item needs a type" : `unknown input item type ${JSON.stringify(type)}`);
    }
  });
  if (thinking) messages.push({ role: "assistant", content: "", thinking });
  return messages;
}

/** Responses tools are flat (`{type, name, parameters}`); Ollama takes chat's nested function shape. */
function toolsOf(body: OpenAiResponsesBody): unknown[] | undefined {
  const tools = (body.tools ?? []).map((tool, index) => {
    if (tool["type"] !== "function") throw unsupported(`tools.${index}.type`, `only function tools can be offered through Herd (not ${JSON.stringify(tool["type"])})`);
    const { name, description, parameters } = tool as { name?: unknown; description?: unknown; parameters?: unknown };
    return { type: "function", function: { name, ...(typeof description === "string" ? { description } : {}), ...(parameters ? { parameters } : {}) } };
  });
  return offeredTools({ tools, tool_choice: body.tool_choice });
}

/** Whether the response's output text carries its log probabilities (`include`). */
function wantsLogprobs(body: OpenAiResponsesBody): boolean {
  return body.include?.includes("message.output_text.logprobs") === true;
}

/** The native job request for a Responses API body (temperature 1 when absent, as Ollama's layer sets it). */
export function responsesRequest(body: OpenAiResponsesBody): JobRequest {
  if (body.previous_response_id) throw unsupported("previous_response_id", "Herd stores no responses (as Ollama's layer, it is stateless): send the whole conversation in input");
  if (body.conversation !== undefined && body.conversation !== null) throw unsupported("conversation", "Herd stores no conversations: send the whole conversation in input");
  if (body.background) throw unsupported("background", "background responses are not supported: use POST /v1/jobs to submit and poll");
  const effort = body.reasoning?.effort ?? undefined;
  const format = body.text?.format?.type === "json_schema" ? body.text.format.schema : body.text?.format?.type === "json_object" ? "json" : undefined;
  const tools = toolsOf(body);
  const messages = messagesOf(body);
  if (messages.length === 0) throw invalid("input", "must not be empty");
  return toJobRequest({
    type: "generate",
    model: body.model,
    messages,
    ...(tools ? { tools } : {}),
    ...(effort !== undefined ? { think: THINK_FOR_EFFORT[effort] } : {}),
    options: {
      temperature: body.temperature ?? 1,
      ...(body.top_p != null ? { top_p: body.top_p } : {}),
      ...(body.max_output_tokens != null ? { num_predict: body.max_output_tokens } : {}),
    },
    ...(format !== undefined ? { format } : {}),
    ...logprobFields(wantsLogprobs(body), body.top_logprobs),
    // Asked for explicitly, "disabled" fails an input longer than the context, as OpenAI's does;
    // otherwise Ollama drops the oldest messages ("auto"), as through its own layer.
    ...(body.truncation === "disabled" ? { truncate: false } : {}),
    priority: "interactive",
  });
}

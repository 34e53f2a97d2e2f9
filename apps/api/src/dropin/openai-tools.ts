import type { ToolCall } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { newId } from "./respond.js";

/** What a chat completion's body says about tools: the tools offered and whether to offer them. */
export interface OpenAiToolFields {
  tools?: unknown[] | undefined;
  tool_choice?: unknown;
}

const invalid = (param: string, message: string) => new ApiError(400, "invalid_request", `${param}: ${message}`, { details: { param } });

/**
 * The tools to pass on to Ollama. `tool_choice` "auto" (the default) offers them and "none"
 * withholds them; Ollama cannot be made to call a tool, so "required" or a named function is
 * refused rather than silently ignored.
 */
export function offeredTools(body: OpenAiToolFields): unknown[] | undefined {
  const choice = body.tool_choice;
  if (choice === "none") return undefined;
  if (choice !== undefined && choice !== null && choice !== "auto") {
    throw new ApiError(400, "unsupported_field", 'tool_choice: only "auto" and "none" are supported through Herd (Ollama cannot be made to call a tool)', { details: { param: "tool_choice" } });
  }
  return body.tools && body.tools.length > 0 ? body.tools : undefined;
}

/**
 * An assistant message's OpenAI tool calls (arguments as JSON text) as Ollama's (arguments as an
 * object), and the ids they carry, so that later `tool` messages can name the tool they answer.
 */
export function ollamaToolCalls(calls: unknown, index: number, names: Map<string, string>): ToolCall[] | undefined {
  if (calls === undefined || calls === null) return undefined;
  const param = `messages.${index}.tool_calls`;
  if (!Array.isArray(calls)) throw invalid(param, "must be an array");
  if (calls.length === 0) return undefined;
  return calls.map((call: unknown, at) => {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    if (typeof fn?.name !== "string" || fn.name === "") throw invalid(`${param}.${at}.function.name`, "must be a non-empty string");
    let args: unknown = fn.arguments ?? "{}";
    if (typeof args === "string") {
      try {
        args = JSON.parse(args === "" ? "{}" : args);
      } catch {
        throw invalid(`${param}.${at}.function.arguments`, "must be a JSON object encoded as a string");
      }
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) throw invalid(`${param}.${at}.function.arguments`, "must be a JSON object encoded as a string");
    const id = (call as { id?: unknown }).id;
    if (typeof id === "string") names.set(id, fn.name);
    return { ...(typeof id === "string" ? { id } : {}), function: { name: fn.name, arguments: args as Record<string, unknown> } };
  });
}

/** A tool call in OpenAI's shape: an id, and the arguments as JSON text. `index` for stream deltas. */
export function openAiToolCall(call: ToolCall, index: number | undefined): Record<string, unknown> {
  return {
    ...(index !== undefined ? { index } : {}),
    id: call.id ?? newId("call_"),
    type: "function",
    function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments) },
  };
}

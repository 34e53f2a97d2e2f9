import { HttpError } from "./http.js";
import { contentWords } from "./generation.js";

/** A tool offered in a chat request, as far as the emulator reads it. */
export interface ToolSpec {
  name: string;
  words: Set<string>;
  properties: Record<string, { type?: unknown; enum?: unknown }>;
  required: string[] | undefined;
}

export interface EmulatedToolCall {
  function: { name: string; arguments: Record<string, unknown> };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `get_current_weather`, `getWeather`, `weather-lookup` → their words. */
function nameWords(name: string): string[] {
  return contentWords(name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_.-]+/g, " "));
}

/** The request's `tools`, rejected the way Go's decoder rejects a wrong shape. */
export function readTools(body: Record<string, unknown>): ToolSpec[] {
  const tools = body["tools"];
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new HttpError(400, "json: cannot unmarshal object into Go struct field ChatRequest.tools of type api.Tools");
  return tools.map((tool) => {
    const fn = record(record(tool)?.["function"]);
    if (!fn) throw new HttpError(400, "json: cannot unmarshal string into Go struct field ChatRequest.tools of type api.Tool");
    const name = typeof fn["name"] === "string" ? fn["name"] : "";
    const description = typeof fn["description"] === "string" ? fn["description"] : "";
    const parameters = record(fn["parameters"]) ?? {};
    const required = Array.isArray(parameters["required"]) ? parameters["required"].filter((key): key is string => typeof key === "string") : undefined;
    return { name, words: new Set([...nameWords(name), ...contentWords(description)]), properties: (record(parameters["properties"]) ?? {}) as ToolSpec["properties"], required };
  });
}

/** The argument a deterministic model fills in for one parameter, from the user's words. */
function argumentFor(property: { type?: unknown; enum?: unknown }, freeWords: string[], userText: string): unknown {
  if (Array.isArray(property.enum) && property.enum.length > 0) return property.enum[0];
  switch (property.type) {
    case "number":
    case "integer":
      return Number(/-?\d+(\.\d+)?/.exec(userText)?.[0] ?? 0);
    case "boolean":
      return true;
    case "array":
      return freeWords;
    case "object":
      return {};
    default:
      return freeWords.join(" ");
  }
}

/**
 * The call a model makes, deterministically: when the conversation ends with the user's turn, the
 * tool whose name and description share the most words with it (ties: the first offered); its
 * string parameters get the user's words that do not describe the tool ("weather in Paris" to
 * get_weather(city) gives city "paris"). No tool sharing a word, or a conversation that ends with a
 * tool's result: no call, the model answers in text (from that result).
 */
export function chooseToolCall(tools: ToolSpec[], messages: Array<{ role: string; content: string }>): EmulatedToolCall | undefined {
  const last = messages.at(-1);
  if (tools.length === 0 || last?.role !== "user") return undefined;
  const userWords = contentWords(last.content);
  let best: { tool: ToolSpec; score: number } | undefined;
  for (const tool of tools) {
    const score = new Set(userWords.filter((word) => tool.words.has(word))).size;
    if (score > 0 && (!best || score > best.score)) best = { tool, score };
  }
  if (!best) return undefined;
  const { tool } = best;
  const freeWords = [...new Set(userWords.filter((word) => !tool.words.has(word)))];
  const keys = tool.required ?? Object.keys(tool.properties);
  const args: Record<string, unknown> = {};
  for (const key of keys) args[key] = argumentFor(tool.properties[key] ?? {}, freeWords, last.content);
  return { function: { name: tool.name, arguments: args } };
}

/**
 * Ollama's error when its scheduler finds the model lacks a capability the request needs (tools,
 * insert): the full model name, as the scheduler words it.
 */
export function capabilityMissing(name: string, capability: "tools" | "insert"): HttpError {
  const slashes = name.split("/").length - 1;
  const full = slashes === 0 ? `registry.ollama.ai/library/${name}` : slashes === 1 ? `registry.ollama.ai/${name}` : name;
  return new HttpError(400, `${full} does not support ${capability}`);
}

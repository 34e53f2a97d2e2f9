import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS, EmulatorInstance } from "../src/index.js";
import { post } from "./http.js";

const WEATHER = {
  type: "function",
  function: {
    name: "get_current_weather",
    description: "Get the current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "The city" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] }, days: { type: "integer" } },
      required: ["city", "unit", "days"],
    },
  },
};
const PART = { type: "function", function: { name: "lookupPart", description: "Find a spare part number in the service manual", parameters: { type: "object", properties: { part: { type: "string" } } } } };
const ASK = [{ role: "user", content: "What will the weather be in Paris for 3 days?" }];

type Chat = { message: { role: string; content: string; tool_calls?: unknown[] }; done: boolean; done_reason?: string; eval_count?: number };

describe("emulator: tool calling on /api/chat", () => {
  let ollama: EmulatorInstance;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ models: [...DEFAULT_MODELS, completeModelSpec({ name: "plain-chat", kind: "generation" })] }).listen();
  });
  afterAll(() => ollama.close());

  it("calls the tool the question is about, with arguments from the question", async () => {
    const answer = await post(ollama.url, "/api/chat", { model: "llama3.2", messages: ASK, tools: [PART, WEATHER], stream: false });
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as Chat;
    expect(body.message).toEqual({ role: "assistant", content: "", tool_calls: [{ function: { name: "get_current_weather", arguments: { city: "paris days", unit: "celsius", days: 3 } } }] });
    expect(body).toMatchObject({ done: true, done_reason: "stop", eval_count: expect.any(Number) });
    // The other tool, by its camel-cased name and its description; no required list: every property.
    const part = JSON.parse((await post(ollama.url, "/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "Which spare part fits the pump?" }], tools: [WEATHER, PART], stream: false })).text) as Chat;
    expect(part.message.tool_calls).toEqual([{ function: { name: "lookupPart", arguments: { part: "fits pump" } } }]);
  });

  it("streams the call in a chunk of its own before the final chunk", async () => {
    const answer = await post(ollama.url, "/api/chat", { model: "llama3.2", messages: ASK, tools: [WEATHER] });
    const lines = answer.text.trim().split("\n").map((line) => JSON.parse(line) as Chat);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ done: false, message: { content: "", tool_calls: [{ function: { name: "get_current_weather" } }] } });
    expect(lines[1]).toMatchObject({ done: true, done_reason: "stop", message: { content: "" } });
    expect(lines[1]?.message.tool_calls).toBeUndefined();
  });

  it("answers in text when no tool fits, and from the tool's answer after a tool message", async () => {
    const unrelated = JSON.parse((await post(ollama.url, "/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "Hello there." }], tools: [WEATHER], stream: false })).text) as Chat;
    expect(unrelated.message.tool_calls).toBeUndefined();
    expect(unrelated.message.content).toMatch(/\S/);
    const followUp = [
      ...ASK,
      { role: "assistant", content: "", tool_calls: [{ function: { name: "get_current_weather", arguments: { city: "paris" } } }] },
      { role: "tool", tool_name: "get_current_weather", content: "Paris will be sunny with 21 degrees. The wind is calm." },
    ];
    const answered = JSON.parse((await post(ollama.url, "/api/chat", { model: "llama3.2", messages: followUp, tools: [WEATHER], stream: false })).text) as Chat;
    expect(answered.message.tool_calls).toBeUndefined();
    expect(answered.message.content).toContain("Paris will be sunny");
  });

  it("refuses tools for a model without the tools capability, and malformed tools, like Ollama", async () => {
    const plain = await post(ollama.url, "/api/chat", { model: "plain-chat", messages: ASK, tools: [WEATHER] });
    expect(plain.status).toBe(400);
    expect(JSON.parse(plain.text)).toEqual({ error: "registry.ollama.ai/library/plain-chat:latest does not support tools" });
    // Without tools the same model chats.
    expect((await post(ollama.url, "/api/chat", { model: "plain-chat", messages: ASK, stream: false })).status).toBe(200);
    const malformed = await post(ollama.url, "/api/chat", { model: "llama3.2", messages: ASK, tools: { name: "x" } });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toEqual({ error: expect.stringContaining("ChatRequest.tools") });
  });
});

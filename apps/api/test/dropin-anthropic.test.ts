import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePng, uniquePrefix } from "@herd/testing";
import { CAPABLE_MODELS, Stack } from "./stack.js";

const SYSTEM = "Answer from the manual.";
const QUESTION = "How often is the return filter changed?";
const TORQUE_TOOL: Anthropic.Tool = {
  name: "lookup_torque",
  description: "Look up the bolt torque in the service manual",
  input_schema: { type: "object", properties: { bolt: { type: "string" } }, required: ["bolt"] },
};

/** Anthropic's Messages API through Herd, driven by the official @anthropic-ai/sdk client and checked against the instance. */
describe("Anthropic Messages API", () => {
  let stack: Stack;
  let anthropic: Anthropic;
  let direct: Ollama;

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("anthropic"), fleet: { instances: 1, preload: true, models: CAPABLE_MODELS, latency: { evalTokenMs: 1 } }, waitHealthy: true });
    anthropic = new Anthropic({ baseURL: stack.url, apiKey: "not-needed", maxRetries: 0 });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
  }, 60_000);
  afterAll(() => stack?.close());

  /** The finished job whose last message says `content`. */
  const jobEndingWith = (model: string, content: string) => stack.finishedGenerateJob(model, (data) => data.messages?.at(-1)?.content === content);

  it("answers a system prompt and a message like the instance, in Anthropic's message shape", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: [{ role: "system", content: SYSTEM }, { role: "user", content: QUESTION }], options: { num_predict: 256 }, stream: false });
    const message = await anthropic.messages.create({ model: "llama3.2", max_tokens: 256, system: SYSTEM, messages: [{ role: "user", content: QUESTION }] });
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: "message",
      role: "assistant",
      model: "llama3.2",
      content: [{ type: "text", text: straight.message.content }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: straight.prompt_eval_count, output_tokens: straight.eval_count },
    });
    // max_tokens is num_predict; cut there, the stop reason says so. No sampling default is imposed.
    const cut = await anthropic.messages.create({ model: "llama3.2", max_tokens: 3, messages: [{ role: "user", content: "Why bleed the pump after a filter change?" }] });
    expect(cut.stop_reason).toBe("max_tokens");
    expect((await jobEndingWith("llama3.2:latest", "Why bleed the pump after a filter change?")).options).toEqual({ num_predict: 3 });
    // Structured output (output_config.format) is Ollama's format: the answer fills the schema.
    const schema = { type: "object", properties: { interval: { type: "string" } }, required: ["interval"] };
    const structured = await anthropic.messages.create({ model: "llama3.2", max_tokens: 256, messages: [{ role: "user", content: QUESTION }], output_config: { format: { type: "json_schema", schema } } });
    const expected = await direct.chat({ model: "llama3.2", messages: [{ role: "user", content: QUESTION }], format: schema, options: { num_predict: 256 }, stream: false });
    expect(structured.content).toEqual([{ type: "text", text: expected.message.content }]);
    expect(Object.keys(JSON.parse(expected.message.content) as object)).toEqual(["interval"]);
  });

  it("streams Anthropic's events, the text deltas adding up to the answer", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: [{ role: "user", content: QUESTION }], options: { num_predict: 256 }, stream: false });
    const stream = anthropic.messages.stream({ model: "llama3.2", max_tokens: 256, messages: [{ role: "user", content: QUESTION }] });
    const types: string[] = [];
    const deltas: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") deltas.push(event.delta.text);
    }
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(straight.message.content);
    expect(types.filter((type, index) => type !== types[index - 1])).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    // The client's own accumulation of the events is the whole message.
    expect(final).toMatchObject({ content: [{ type: "text", text: straight.message.content }], stop_reason: "end_turn", usage: { output_tokens: straight.eval_count } });
  });

  it("calls tools as tool_use blocks, and answers from tool_result blocks sent back", async () => {
    const ask = "What is the flange bolt torque?";
    const called = await anthropic.messages.create({ model: "llama3.2", max_tokens: 256, messages: [{ role: "user", content: ask }], tools: [TORQUE_TOOL] });
    expect(called.stop_reason).toBe("tool_use");
    expect(called.content).toEqual([{ type: "tool_use", id: expect.stringMatching(/\S/), name: "lookup_torque", input: { bolt: "flange" } }]);
    const use = called.content[0] as Anthropic.ToolUseBlock;
    const result = "The flange bolt needs 45 Nm of torque. Use a calibrated wrench.";
    const answered = await anthropic.messages.create({
      model: "llama3.2",
      max_tokens: 256,
      messages: [
        { role: "user", content: ask },
        { role: "assistant", content: called.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: result }] },
      ],
      tools: [TORQUE_TOOL],
    });
    expect(answered.content[0]).toMatchObject({ type: "text", text: expect.stringContaining("45 Nm") });
    const data = await jobEndingWith("llama3.2:latest", result);
    expect(data.messages).toEqual([
      { role: "user", content: ask },
      { role: "assistant", content: "", tool_calls: [{ id: use.id, function: { name: "lookup_torque", arguments: { bolt: "flange" } } }] },
      { role: "tool", content: result, tool_name: "lookup_torque", tool_call_id: use.id },
    ]);
    // Streamed, the call is a tool_use block whose input arrives as one JSON delta; the client parses it.
    const stream = anthropic.messages.stream({ model: "llama3.2", max_tokens: 256, messages: [{ role: "user", content: ask }], tools: [TORQUE_TOOL] });
    expect((await stream.finalMessage()).content).toEqual([{ type: "tool_use", id: expect.stringMatching(/\S/), name: "lookup_torque", input: { bolt: "flange" } }]);
    await expect(anthropic.messages.create({ model: "llama3.2", max_tokens: 64, messages: [{ role: "user", content: ask }], tools: [TORQUE_TOOL], tool_choice: { type: "any" } })).rejects.toMatchObject({
      status: 400,
      error: { type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("tool_choice") } },
    });
  });

  it("returns a thinking model's thinking as a thinking block, streamed first, and takes it back", async () => {
    const straight = await direct.chat({ model: "qwen3", messages: [{ role: "user", content: QUESTION }], think: true, options: { num_predict: 512 }, stream: false });
    const message = await anthropic.messages.create({ model: "qwen3", max_tokens: 512, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: QUESTION }] });
    expect(message.content).toEqual([{ type: "thinking", thinking: straight.message.thinking }, { type: "text", text: straight.message.content }]);
    const types: string[] = [];
    for await (const event of anthropic.messages.stream({ model: "qwen3", max_tokens: 512, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: QUESTION }] })) {
      if (event.type === "content_block_start") types.push(event.content_block.type);
    }
    expect(types).toEqual(["thinking", "text"]);
    await anthropic.messages.create({ model: "qwen3", max_tokens: 64, messages: [{ role: "user", content: QUESTION }, { role: "assistant", content: message.content as Anthropic.ContentBlockParam[] }, { role: "user", content: "And the suction filter?" }] });
    expect((await jobEndingWith("qwen3:latest", "And the suction filter?")).messages?.[1]).toEqual({ role: "assistant", content: straight.message.content, thinking: straight.message.thinking });
  });

  it("takes base64 image blocks for a vision model, and counts tokens as Ollama estimates them", async () => {
    const png = makePng(3, 2).toString("base64");
    const message = await anthropic.messages.create({
      model: "gemma3",
      max_tokens: 256,
      messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: png } }, { type: "text", text: "What does the gauge read?" }] }],
    });
    const straight = await direct.chat({ model: "gemma3", messages: [{ role: "user", content: "What does the gauge read?", images: [png] }], options: { num_predict: 256 }, stream: false });
    expect(message.content).toEqual([{ type: "text", text: straight.message.content }]);
    expect(straight.message.content).toMatch(/^I see one image/);
    // A quarter of the characters: role and content of each message, and the system prompt.
    const counted = await anthropic.messages.countTokens({ model: "llama3.2", system: SYSTEM, messages: [{ role: "user", content: QUESTION }] });
    expect(counted.input_tokens).toBe(Math.floor((SYSTEM.length + "user".length + QUESTION.length) / 4));
    const withTool = await anthropic.messages.countTokens({ model: "llama3.2", messages: [{ role: "user", content: [{ type: "text", text: QUESTION }] }], tools: [TORQUE_TOOL] });
    expect(withTool.input_tokens).toBe(Math.floor(("user".length + QUESTION.length + TORQUE_TOOL.name.length + (TORQUE_TOOL.description ?? "").length + JSON.stringify(TORQUE_TOOL.input_schema).length) / 4));
  });

  it("refuses what it cannot honour, in Anthropic's error shape", async () => {
    const refused = async (body: Record<string, unknown>) => {
      const answer = await stack.post("/v1/messages", { model: "llama3.2", max_tokens: 64, messages: [{ role: "user", content: QUESTION }], ...body });
      return { status: answer.status, type: answer.body.type, error: answer.body.error?.type, message: answer.body.error?.message as string | undefined };
    };
    expect(await refused({ max_tokens: undefined })).toMatchObject({ status: 400, type: "error", error: "invalid_request_error", message: expect.stringContaining("max_tokens") });
    expect(await refused({ tools: [{ type: "web_search_20250305", name: "web_search" }] })).toMatchObject({ status: 400, error: "invalid_request_error", message: expect.stringContaining("server tools") });
    expect(await refused({ messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://example.com/a.png" } }] }] })).toMatchObject({ status: 400, message: expect.stringContaining("base64") });
    expect(await refused({ messages: [{ role: "user", content: [{ type: "document", source: { type: "text", data: "x" } }] }] })).toMatchObject({ status: 400, message: expect.stringContaining('"document"') });
    expect(await refused({ model: "no-such-model" })).toMatchObject({ status: 404, error: "not_found_error", message: "model 'no-such-model' not found" });
    await expect(anthropic.messages.create({ model: "no-such-model", max_tokens: 8, messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

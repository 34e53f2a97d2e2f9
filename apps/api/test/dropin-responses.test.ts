import OpenAI from "openai";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePng, uniquePrefix } from "@herd/testing";
import { CAPABLE_MODELS, Stack } from "./stack.js";

const INSTRUCTIONS = "Answer from the manual.";
const QUESTION = "How often is the return filter changed?";
const TORQUE_TOOL: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "lookup_torque",
  description: "Look up the bolt torque in the service manual",
  parameters: { type: "object", properties: { bolt: { type: "string" } }, required: ["bolt"] },
  strict: false,
};

/** OpenAI's Responses API through Herd, driven by the official openai client and checked against the instance. */
describe("OpenAI Responses API", () => {
  let stack: Stack;
  let openai: OpenAI;
  let direct: Ollama;

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("responses"), fleet: { instances: 1, preload: true, models: CAPABLE_MODELS, latency: { evalTokenMs: 1 } }, waitHealthy: true });
    openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "not-needed", maxRetries: 0 });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
  }, 60_000);
  afterAll(() => stack?.close());

  /** The finished job whose last message says `content`. */
  const jobEndingWith = (model: string, content: string) => stack.finishedGenerateJob(model, (data) => data.messages?.at(-1)?.content === content);

  it("answers instructions and an input string like the instance, with OpenAI's response object", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: [{ role: "system", content: INSTRUCTIONS }, { role: "user", content: QUESTION }], options: { temperature: 0 }, stream: false });
    const response = await openai.responses.create({ model: "llama3.2", instructions: INSTRUCTIONS, input: QUESTION, temperature: 0 });
    expect(response.output_text).toBe(straight.message.content);
    expect(response).toMatchObject({ object: "response", status: "completed", model: "llama3.2", instructions: INSTRUCTIONS, error: null, incomplete_details: null, store: false });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output).toEqual([{ id: expect.stringMatching(/^msg_/), type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: straight.message.content, annotations: [], logprobs: [] }] }]);
    expect(response.usage).toMatchObject({ input_tokens: straight.prompt_eval_count, output_tokens: straight.eval_count, total_tokens: straight.prompt_eval_count + straight.eval_count });
    // Cut at max_output_tokens, OpenAI calls it incomplete; without temperature, Ollama's layer runs it at 1.
    const cut = await openai.responses.create({ model: "llama3.2", input: "Why bleed the pump after a filter change?", max_output_tokens: 3 });
    expect(cut).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [{ status: "incomplete" }] });
    expect((await jobEndingWith("llama3.2:latest", "Why bleed the pump after a filter change?")).options).toEqual({ temperature: 1, num_predict: 3 });
  });

  it("streams typed events in OpenAI's order, the text deltas adding up to the answer", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: [{ role: "user", content: QUESTION }], options: { temperature: 0 }, stream: false });
    const types: string[] = [];
    const deltas: string[] = [];
    const sequence: number[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of await openai.responses.create({ model: "llama3.2", input: QUESTION, temperature: 0, stream: true })) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === "response.output_text.delta") deltas.push(event.delta);
      if (event.type === "response.completed") completed = event.response;
    }
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(straight.message.content);
    const distinct = types.filter((type, index) => type !== types[index - 1]);
    expect(distinct).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(sequence).toEqual(sequence.map((_, index) => index));
    // The completed event carries the whole response (the client computes output_text only on non-streamed ones).
    expect(completed).toMatchObject({ status: "completed", output: [{ type: "message", content: [{ type: "output_text", text: straight.message.content }] }], usage: { output_tokens: straight.eval_count } });
    // On the wire: each event names its type, and nothing follows the last one.
    const raw = await fetch(`${stack.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "llama3.2", input: QUESTION, stream: true }) });
    expect(raw.headers.get("content-type")).toContain("text/event-stream");
    const text = await raw.text();
    expect(text.startsWith("event: response.created\ndata: {")).toBe(true);
    expect(text.trimEnd().split("\n\n").at(-1)).toMatch(/^event: response\.completed\ndata: /);
  });

  it("calls tools as function_call items, and answers from function_call_output items sent back", async () => {
    const ask = "What is the flange bolt torque?";
    const called = await openai.responses.create({ model: "llama3.2", input: ask, tools: [TORQUE_TOOL], temperature: 0 });
    expect(called.output).toEqual([{ id: expect.stringMatching(/^fc_/), type: "function_call", status: "completed", call_id: expect.stringMatching(/\S/), name: "lookup_torque", arguments: '{"bolt":"flange"}' }]);
    const call = called.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    const result = "The flange bolt needs 45 Nm of torque. Use a calibrated wrench.";
    const answered = await openai.responses.create({
      model: "llama3.2",
      input: [{ role: "user", content: ask }, call, { type: "function_call_output", call_id: call.call_id, output: result }],
      tools: [TORQUE_TOOL],
      temperature: 0,
    });
    expect(answered.output_text).toContain("45 Nm");
    // Ollama gets the call on an assistant message and the output as a tool message naming its tool.
    const data = await jobEndingWith("llama3.2:latest", result);
    expect(data.messages).toEqual([
      { role: "user", content: ask },
      { role: "assistant", content: "", tool_calls: [{ id: call.call_id, function: { name: "lookup_torque", arguments: { bolt: "flange" } } }] },
      { role: "tool", content: result, tool_name: "lookup_torque", tool_call_id: call.call_id },
    ]);
    // Streamed, the call arrives whole as its own output item.
    const types: string[] = [];
    for await (const event of await openai.responses.create({ model: "llama3.2", input: ask, tools: [TORQUE_TOOL], stream: true })) types.push(event.type);
    expect(types.slice(-5)).toEqual(["response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done", "response.completed"]);
    // tool_choice "none" withholds the tools; one Ollama cannot honour is refused.
    expect((await openai.responses.create({ model: "llama3.2", input: ask, tools: [TORQUE_TOOL], tool_choice: "none" })).output[0]?.type).toBe("message");
    await expect(openai.responses.create({ model: "llama3.2", input: ask, tools: [TORQUE_TOOL], tool_choice: "required" })).rejects.toMatchObject({ status: 400, code: "unsupported_field" });
  });

  it("returns a thinking model's thinking as a reasoning item, streamed before the answer, and takes it back", async () => {
    const straight = await direct.chat({ model: "qwen3", messages: [{ role: "user", content: QUESTION }], think: "low", options: { temperature: 0 }, stream: false });
    const response = await openai.responses.create({ model: "qwen3", input: QUESTION, reasoning: { effort: "low" }, temperature: 0 });
    expect(response.output[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: "reasoning", summary: [{ type: "summary_text", text: straight.message.thinking }], encrypted_content: straight.message.thinking });
    expect(response.output_text).toBe(straight.message.content);
    const types: string[] = [];
    for await (const event of await openai.responses.create({ model: "qwen3", input: QUESTION, reasoning: { effort: "low" }, stream: true })) types.push(event.type);
    expect(types.indexOf("response.reasoning_summary_text.done")).toBeLessThan(types.indexOf("response.output_text.delta"));
    expect(types.filter((type) => type === "response.output_item.done")).toHaveLength(2);
    // Sent back with the conversation, the reasoning item is the next assistant message's thinking.
    await openai.responses.create({ model: "qwen3", input: [{ role: "user", content: QUESTION }, ...response.output, { role: "user", content: "And the suction filter?" }] as OpenAI.Responses.ResponseInput, temperature: 0 });
    const data = await jobEndingWith("qwen3:latest", "And the suction filter?");
    expect(data.messages?.[1]).toEqual({ role: "assistant", content: straight.message.content, thinking: straight.message.thinking });
  });

  it("takes input_image parts as data URLs for a vision model", async () => {
    const png = makePng(3, 2).toString("base64");
    const response = await openai.responses.create({
      model: "gemma3",
      input: [{ role: "user", content: [{ type: "input_text", text: "What does the gauge read?" }, { type: "input_image", image_url: `data:image/png;base64,${png}`, detail: "auto" }] }],
      temperature: 0,
    });
    const straight = await direct.chat({ model: "gemma3", messages: [{ role: "user", content: "What does the gauge read?", images: [png] }], options: { temperature: 0 }, stream: false });
    expect(response.output_text).toBe(straight.message.content);
    expect(response.output_text).toMatch(/^I see one image: image 1 is a 3x2 PNG/);
  });

  it("refuses what a stateless Responses API cannot do, in OpenAI's error shape", async () => {
    const refused = async (body: Record<string, unknown>) => {
      const answer = await stack.post("/v1/responses", { model: "llama3.2", input: QUESTION, ...body });
      return { status: answer.status, code: answer.body.error?.code, param: answer.body.error?.param };
    };
    expect(await refused({ previous_response_id: "resp_123" })).toEqual({ status: 400, code: "unsupported_field", param: "previous_response_id" });
    expect(await refused({ background: true })).toEqual({ status: 400, code: "unsupported_field", param: "background" });
    expect(await refused({ include: ["message.output_text.logprobs"], top_logprobs: 21 })).toEqual({ status: 400, code: "invalid_request", param: "top_logprobs" });
    expect(await refused({ input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] })).toEqual({ status: 400, code: "unsupported_field", param: "input.0.content.0" });
    expect(await refused({ input: [{ type: "web_search_call" }] })).toEqual({ status: 400, code: "invalid_request", param: "input.0.type" });
    expect(await refused({ input: [{ type: "function_call", name: "f", call_id: "c", arguments: "{nope" }] })).toEqual({ status: 400, code: "invalid_request", param: "input.0.arguments" });
    expect(await refused({ tools: [{ type: "web_search" }] })).toEqual({ status: 400, code: "unsupported_field", param: "tools.0.type" });
    expect(await refused({ input: "" })).toEqual({ status: 400, code: "invalid_request", param: "input" });
    // truncation "disabled" fails an input longer than the context instead of dropping its oldest messages.
    const long = [{ role: "user", content: "Why is the hydraulic pump bled? ".repeat(1000) }];
    expect(await refused({ input: long, truncation: "disabled", max_output_tokens: 8, temperature: 0 })).toEqual({ status: 400, code: "bad_request", param: null });
    expect((await stack.post("/v1/responses", { model: "llama3.2", input: long, truncation: "auto", max_output_tokens: 4 })).body).toMatchObject({ status: "incomplete", truncation: "auto" });
    expect(await refused({ model: "no-such-model" })).toMatchObject({ status: 404, param: "model" });
  });
});

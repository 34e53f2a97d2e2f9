import OpenAI from "openai";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const MESSAGES = [
  { role: "system" as const, content: "Answer from the manual." },
  { role: "user" as const, content: "How often is the return filter changed?" },
];

/** The official `openai` client, unmodified, with Herd as its base URL. */
describe("OpenAI-compatible API, driven by the openai npm package", () => {
  let stack: Stack;
  let openai: OpenAI;
  let direct: Ollama;

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("dropin-openai"), fleet: { instances: 2, preload: true, latency: { evalTokenMs: 1 } }, waitHealthy: true });
    openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "not-needed", maxRetries: 0 });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
  }, 60_000);
  afterAll(() => stack?.close());

  it("answers n choices, each a job of its own (identical deterministic ones are one), plain and streamed", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: MESSAGES, options: { temperature: 1, top_p: 1 }, stream: false });
    const calls = stack.emulatorRequests("llama3.2:latest");
    const three = await openai.chat.completions.create({ model: "llama3.2", messages: MESSAGES, n: 3 });
    expect(three.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([0, 1, 2].map((index) => [index, straight.message.content, "stop"]));
    expect(three.usage).toEqual({ prompt_tokens: straight.prompt_eval_count, completion_tokens: 3 * straight.eval_count, total_tokens: straight.prompt_eval_count + 3 * straight.eval_count });
    // Sampled (temperature 1, no seed): three jobs, three calls.
    expect(stack.emulatorRequests("llama3.2:latest")).toBe(calls + 3);

    const texts = new Map<number, string>();
    const finishes = new Map<number, string | null>();
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of await openai.chat.completions.create({ model: "llama3.2", messages: MESSAGES, n: 2, stream: true, stream_options: { include_usage: true } })) {
      for (const choice of chunk.choices) {
        texts.set(choice.index, (texts.get(choice.index) ?? "") + (choice.delta.content ?? ""));
        if (choice.finish_reason) finishes.set(choice.index, choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect([...texts].sort()).toEqual([[0, straight.message.content], [1, straight.message.content]]);
    expect([...finishes].sort()).toEqual([[0, "stop"], [1, "stop"]]);
    expect(usage?.completion_tokens).toBe(2 * straight.eval_count);

    // With a seed the choices are the same generation: one job, one call, n copies.
    const seeded = stack.emulatorRequests("llama3.2:latest");
    const same = await openai.chat.completions.create({ model: "llama3.2", messages: [{ role: "user", content: "Which oil does the gearbox take?" }], n: 2, seed: 7 });
    expect(same.choices).toHaveLength(2);
    expect(same.choices[1]?.message.content).toBe(same.choices[0]?.message.content);
    expect(stack.emulatorRequests("llama3.2:latest")).toBe(seeded + 1);

    const legacy = await openai.completions.create({ model: "llama3.2", prompt: "Why bleed the pump?", n: 2 });
    expect(legacy.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(legacy.choices[1]?.text).toBe(legacy.choices[0]?.text);
    await expect(openai.chat.completions.create({ model: "llama3.2", messages: MESSAGES, n: 17 })).rejects.toMatchObject({ status: 400, param: "n" });
  });

  it("embeds a string and an array, as floats and as base64 (the client's default)", async () => {
    const straight = await direct.embed({ model: "nomic-embed-text", input: ["hydraulic pump", "return filter"] });
    // Without encoding_format the client asks for base64 and decodes it itself.
    const decoded = await openai.embeddings.create({ model: "nomic-embed-text", input: ["hydraulic pump", "return filter"] });
    expect(decoded.object).toBe("list");
    expect(decoded.data.map((entry) => entry.index)).toEqual([0, 1]);
    decoded.data.forEach((entry, i) => {
      expect(entry.embedding).toHaveLength(768);
      entry.embedding.forEach((value, j) => expect(value).toBeCloseTo(straight.embeddings[i]?.[j] ?? NaN, 5));
    });
    const floats = await openai.embeddings.create({ model: "nomic-embed-text", input: "hydraulic pump", encoding_format: "float" });
    floats.data[0]?.embedding.forEach((value, j) => expect(value).toBeCloseTo(straight.embeddings[0]?.[j] ?? NaN, 6));
    const shorter = await openai.embeddings.create({ model: "nomic-embed-text", input: "hydraulic pump", dimensions: 256, encoding_format: "float" });
    expect(shorter.data[0]?.embedding).toHaveLength(256);
  });

  it("completes a chat, answering like the instance", async () => {
    const completion = await openai.chat.completions.create({ model: "llama3.2", messages: MESSAGES, temperature: 0 });
    const straight = await direct.chat({ model: "llama3.2", messages: MESSAGES, stream: false, options: { temperature: 0 } });
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: straight.message.content });
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage?.completion_tokens).toBe(straight.eval_count);
    const cut = await openai.chat.completions.create({ model: "llama3.2", messages: MESSAGES, max_tokens: 3 });
    expect(cut.choices[0]?.finish_reason).toBe("length");
  });

  it("streams a chat as server-sent events ending with [DONE]", async () => {
    const stream = await openai.chat.completions.create({ model: "llama3.2", messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
    const deltas: string[] = [];
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      for (const choice of chunk.choices) {
        deltas.push(choice.delta.content ?? "");
        finishes.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    const straight = await direct.chat({ model: "llama3.2", messages: MESSAGES, stream: false });
    // Pieces arriving while a write is in flight travel together, so the count depends on timing.
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(straight.message.content);
    expect(finishes.at(-1)).toBe("stop");
    expect(finishes.slice(0, -1).every((finish) => finish === null)).toBe(true);
    expect(usage?.completion_tokens).toBe(straight.eval_count);
    // The raw stream ends with the [DONE] sentinel.
    const raw = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "llama3.2", messages: MESSAGES, stream: true }) });
    expect(raw.headers.get("content-type")).toContain("text/event-stream");
    expect((await raw.text()).endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("calls tools the OpenAI way: ids, JSON arguments, finish_reason tool_calls, streamed or not", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "lookup_torque", description: "Look up the bolt torque in the service manual", parameters: { type: "object", properties: { bolt: { type: "string" } }, required: ["bolt"] } } },
    ];
    const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "What is the flange bolt torque?" }];
    const completion = await openai.chat.completions.create({ model: "llama3.2", messages: ask, tools, temperature: 0 });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const call = choice?.message.tool_calls?.[0];
    expect(choice?.message.tool_calls).toHaveLength(1);
    expect(call).toMatchObject({ id: expect.stringMatching(/^call_/), type: "function", function: { name: "lookup_torque" } });
    expect(JSON.parse(call?.type === "function" ? call.function.arguments : "null")).toEqual({ bolt: "flange" });

    // Streamed: the calls arrive in one delta, with their index, before the finishing chunk.
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    const finishes: Array<string | null> = [];
    for await (const chunk of await openai.chat.completions.create({ model: "llama3.2", messages: ask, tools, stream: true })) {
      for (const streamed of chunk.choices) {
        deltas.push(...(streamed.delta.tool_calls ?? []));
        finishes.push(streamed.finish_reason);
      }
    }
    expect(deltas).toEqual([{ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "lookup_torque", arguments: '{"bolt":"flange"}' } }]);
    expect(finishes).toEqual([null, "tool_calls"]);

    // The tool's answer goes back by tool_call_id; Ollama gets the tool's name instead.
    const result = "The flange bolt needs 45 Nm of torque. Use a calibrated wrench.";
    const followUp: OpenAI.ChatCompletionMessageParam[] = [...ask, { role: "assistant", content: null, tool_calls: choice?.message.tool_calls ?? [] }, { role: "tool", tool_call_id: call?.id ?? "", content: result }];
    const answered = await openai.chat.completions.create({ model: "llama3.2", messages: followUp, tools, temperature: 0 });
    expect(answered.choices[0]?.finish_reason).toBe("stop");
    expect(answered.choices[0]?.message.content).toContain("45 Nm");
    // The same conversation in Ollama's shape, with tool_name and tool_call_id, is the very request the OpenAI one became: a cache hit.
    const native = await fetch(`${stack.url}/v1/jobs?wait=10000`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "generate",
        model: "llama3.2",
        messages: [...ask, { role: "assistant", content: "", tool_calls: [{ id: call?.id, function: { name: "lookup_torque", arguments: { bolt: "flange" } } }] }, { role: "tool", tool_name: "lookup_torque", tool_call_id: call?.id, content: result }],
        tools,
        // Ollama's OpenAI layer sets top_p 1 when the request has none; Herd's does the same.
        options: { temperature: 0, top_p: 1 },
      }),
    });
    expect(await native.json()).toMatchObject({ status: "completed", cached: true, result: { message: { content: answered.choices[0]?.message.content } } });

    // tool_choice: "none" leaves the tools out; one Ollama cannot honour is refused.
    const none = await openai.chat.completions.create({ model: "llama3.2", messages: ask, tools, tool_choice: "none" });
    expect(none.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: expect.stringMatching(/\S/) } });
    expect(none.choices[0]?.message.tool_calls).toBeUndefined();
    await expect(openai.chat.completions.create({ model: "llama3.2", messages: ask, tools, tool_choice: "required" })).rejects.toMatchObject({ status: 400, param: "tool_choice", code: "unsupported_field" });
    const badArguments: OpenAI.ChatCompletionMessageParam[] = [...ask, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "lookup_torque", arguments: "{not json" } }] }];
    await expect(openai.chat.completions.create({ model: "llama3.2", messages: badArguments, tools })).rejects.toMatchObject({ status: 400, param: "messages.1.tool_calls.0.function.arguments" });
  });

  it("lists the fleet's models", async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual(["all-minilm:latest", "llama3.2:latest", "nomic-embed-text:latest"]);
    expect((await openai.models.retrieve("llama3.2")).id).toBe("llama3.2:latest");
  });

  it("answers errors in OpenAI's shape", async () => {
    await expect(openai.chat.completions.create({ model: "no-such-model", messages: MESSAGES })).rejects.toMatchObject({ status: 404, type: "not_found_error", param: "model" });
    await expect(openai.embeddings.create({ model: "nomic-embed-text", input: [] })).rejects.toMatchObject({ status: 400, type: "invalid_request_error", param: "input" });
    // What LangChain's OpenAIEmbeddings sends by default: OpenAI token ids, which no Ollama model reads.
    await expect(openai.embeddings.create({ model: "nomic-embed-text", input: [[71, 88, 3524], [693, 4141]] })).rejects.toMatchObject({
      status: 400,
      param: "input",
      message: expect.stringContaining("token arrays are not supported (LangChain's OpenAIEmbeddings sends them unless created with check_embedding_ctx_length=False)"),
    });
    await expect(openai.embeddings.create({ model: "nomic-embed-text", input: [3, "pump"] as unknown as string[] })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/invalid input: expected a string or a non-empty array of strings; token arrays are not supported$/),
    });
    const bad = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "llama3.2" }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param: "messages", code: "invalid_request" } });
  });
});

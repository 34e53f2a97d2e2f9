import OpenAI from "openai";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const CODER = "qwen2.5-coder:1.5b";
const BEFORE = "def average(values):\n    total = sum(values)\n";
const AFTER = "\n    return result\n";

/**
 * Code completion through Herd: a suffix (fill-in-the-middle) and raw prompts through /v1/jobs,
 * Ollama's /api/generate and OpenAI's legacy /v1/completions, each checked against the instance.
 */
describe("fill-in-the-middle and raw prompts", () => {
  let stack: Stack;
  let herd: Ollama;
  let direct: Ollama;
  let openai: OpenAI;

  beforeAll(async () => {
    const models = [...DEFAULT_MODELS, completeModelSpec({ name: CODER, capabilities: ["completion", "insert"] })];
    stack = await Stack.start({ prefix: uniquePrefix("fim"), fleet: { instances: 1, preload: true, models }, waitHealthy: true });
    herd = new Ollama({ host: stack.url });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
    openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "not-needed", maxRetries: 0 });
  }, 60_000);
  afterAll(() => stack?.close());

  it("fills in the middle through /v1/jobs, caching each suffix apart", async () => {
    const expected = await direct.generate({ model: CODER, prompt: BEFORE, suffix: AFTER, options: { temperature: 0 }, stream: false });
    const otherSuffix = "\n    return total / count\n";
    const expectedOther = await direct.generate({ model: CODER, prompt: BEFORE, suffix: otherSuffix, options: { temperature: 0 }, stream: false });
    const done = await stack.run({ type: "generate", model: CODER, prompt: BEFORE, suffix: AFTER, options: { temperature: 0 } });
    expect(done).toMatchObject({ status: "completed", result: { response: expected.response } });
    const calls = stack.emulatorRequests(CODER);
    const again = await stack.post("/v1/jobs", { type: "generate", model: CODER, prompt: BEFORE, suffix: AFTER, options: { temperature: 0 } });
    expect(again).toMatchObject({ status: 200, body: { cached: true, result: { response: expected.response } } });
    // Another suffix is another middle: not the cached one.
    const other = await stack.run({ type: "generate", model: CODER, prompt: BEFORE, suffix: otherSuffix, options: { temperature: 0 } });
    expect(other.result.response).toBe(expectedOther.response);
    expect(other.result.response).not.toBe(expected.response);
    // Without a suffix the prompt is an ordinary one, cached apart from both.
    const plain = await stack.post("/v1/jobs?wait=10000", { type: "generate", model: CODER, prompt: BEFORE, options: { temperature: 0 } });
    expect(plain.body.status).toBe("completed");
    expect(plain.body.result.response).not.toBe(expected.response);
    expect(plain.body.cached).toBeUndefined();
    expect(stack.emulatorRequests(CODER)).toBe(calls + 2);
  });

  it("refuses a suffix for a model whose instances lack insert, before queueing, and a suffix or raw on a chat", async () => {
    const calls = stack.emulatorRequests("llama3.2:latest");
    const refused = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", prompt: BEFORE, suffix: AFTER });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: "unsupported_capability", message: '"llama3.2:latest" does not support suffix (no insert: fill-in-the-middle): its instances list completion, tools' } } });
    await expect(herd.generate({ model: "llama3.2", prompt: BEFORE, suffix: AFTER, stream: false })).rejects.toMatchObject({ status_code: 400, error: expect.stringContaining("does not support suffix") });
    const chat = await stack.post("/v1/jobs", { type: "generate", model: CODER, messages: [{ role: "user", content: "x" }], suffix: AFTER });
    expect(chat).toMatchObject({ status: 400, body: { error: { code: "invalid_request", message: expect.stringContaining("suffix") } } });
    const rawSystem = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", prompt: "x", raw: true, system: "Be brief." });
    expect(rawSystem).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("raw mode does not support template, system, or context") } } });
    expect(stack.emulatorRequests("llama3.2:latest")).toBe(calls);
  });

  it("passes Ollama clients' suffix and raw through /api/generate, streamed or not", async () => {
    const expected = (await direct.generate({ model: CODER, prompt: BEFORE, suffix: AFTER, stream: false })).response;
    expect((await herd.generate({ model: CODER, prompt: BEFORE, suffix: AFTER, stream: false })).response).toBe(expected);
    const pieces: string[] = [];
    for await (const part of await herd.generate({ model: CODER, prompt: BEFORE, suffix: AFTER, stream: true })) pieces.push(part.response ?? "");
    expect(pieces.join("")).toBe(expected);
    const raw = await herd.generate({ model: "llama3.2", prompt: "[INST] Why bleed the pump? [/INST]", raw: true, stream: false, options: { temperature: 0 } });
    expect(raw.response).toBe((await direct.generate({ model: "llama3.2", prompt: "[INST] Why bleed the pump? [/INST]", raw: true, stream: false, options: { temperature: 0 } })).response);
    expect(await stack.finishedGenerateJob("llama3.2:latest", (data) => data.prompt === "[INST] Why bleed the pump? [/INST]")).toMatchObject({ raw: true });
    // A raw prompt is cached apart from the same prompt through the template.
    const templated = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", prompt: "[INST] Why bleed the pump? [/INST]", options: { temperature: 0 } });
    expect(templated.status).toBe(202);
  });

  it("answers OpenAI's legacy completions, with a suffix, plain and streamed, with Ollama's sampling defaults", async () => {
    const expected = await direct.generate({ model: CODER, prompt: BEFORE, suffix: AFTER, options: { temperature: 0, top_p: 1 }, stream: false });
    const completion = await openai.completions.create({ model: CODER, prompt: BEFORE, suffix: AFTER, temperature: 0 });
    expect(completion).toMatchObject({ object: "text_completion", model: CODER, choices: [{ index: 0, text: expected.response, finish_reason: "stop" }] });
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.usage).toEqual({ prompt_tokens: expected.prompt_eval_count, completion_tokens: expected.eval_count, total_tokens: expected.prompt_eval_count + expected.eval_count });
    // Absent, temperature and top_p are 1, as Ollama's own OpenAI layer sets them.
    await openai.completions.create({ model: "llama3.2", prompt: "Why bleed the pump before the first start?", max_tokens: 3 });
    expect((await stack.finishedGenerateJob("llama3.2:latest", (data) => data.prompt === "Why bleed the pump before the first start?")).options).toEqual({ num_predict: 3, temperature: 1, top_p: 1 });

    const stream = await openai.completions.create({ model: CODER, prompt: BEFORE, suffix: AFTER, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const texts: string[] = [];
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("text_completion");
      for (const choice of chunk.choices) {
        texts.push(choice.text);
        finishes.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts.join("")).toBe(expected.response);
    expect(finishes.at(-1)).toBe("stop");
    expect(finishes.slice(0, -1).every((finish) => finish === null)).toBe(true);
    expect(usage?.completion_tokens).toBe(expected.eval_count);
    const cut = await openai.completions.create({ model: "llama3.2", prompt: "Why bleed the pump?", max_tokens: 2 });
    expect(cut.choices[0]?.finish_reason).toBe("length");
  });

  it("refuses what OpenAI's completions offer and Herd cannot honour, in OpenAI's error shape", async () => {
    const refused = async (body: Record<string, unknown>) => {
      const answer = await stack.post("/v1/completions", { model: CODER, prompt: BEFORE, ...body });
      return { status: answer.status, code: answer.body.error?.code, param: answer.body.error?.param, type: answer.body.error?.type };
    };
    expect(await refused({ prompt: ["a", "b"] })).toEqual({ status: 400, code: "invalid_request", param: "prompt", type: "invalid_request_error" });
    expect(await refused({ echo: true })).toEqual({ status: 400, code: "unsupported_field", param: "echo", type: "invalid_request_error" });
    expect(await refused({ logprobs: 6 })).toEqual({ status: 400, code: "invalid_request", param: "logprobs", type: "invalid_request_error" });
    expect(await refused({ n: 17 })).toEqual({ status: 400, code: "invalid_request", param: "n", type: "invalid_request_error" });
    expect(await refused({ model: "no-such-model" })).toMatchObject({ status: 404, param: "model" });
    expect((await stack.get("/v1/completions")).status).toBe(405);
  });

  it("sends OpenAI content parts to Ollama as messages of their own, as Ollama's OpenAI layer does", async () => {
    const answer = await openai.chat.completions.create({
      model: "llama3.2",
      messages: [
        { role: "user", content: [{ type: "text", text: "Here is the manual." }, { type: "text", text: "Why bleed the pump?" }] },
        { role: "assistant", content: "To remove air.", reasoning: "The manual says so." } as OpenAI.ChatCompletionAssistantMessageParam,
        { role: "user", content: [] },
        { role: "user", content: "And then?" },
      ],
      seed: 7,
    });
    expect(answer.choices[0]?.message.content).toBeTruthy();
    expect((await stack.finishedGenerateJob("llama3.2:latest", (data) => data.messages?.at(-1)?.content === "And then?")).messages).toEqual([
      { role: "user", content: "Here is the manual." },
      { role: "user", content: "Why bleed the pump?" },
      { role: "assistant", content: "To remove air.", thinking: "The manual says so." },
      { role: "user", content: "" },
      { role: "user", content: "And then?" },
    ]);
  });
});

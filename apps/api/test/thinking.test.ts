import OpenAI from "openai";
import { Ollama, type Message } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const ASK: Message[] = [{ role: "user", content: "How often is the return filter changed?" }];

/** A thinking model (qwen3 in the emulated fleet) through every door, checked against the instance itself. */
describe("thinking models through the queue", () => {
  let stack: Stack;
  let herd: Ollama;
  let direct: Ollama;
  let openai: OpenAI;

  beforeAll(async () => {
    const models = [...DEFAULT_MODELS, completeModelSpec({ name: "qwen3", capabilities: ["completion", "tools", "thinking"] })];
    stack = await Stack.start({ prefix: uniquePrefix("thinking"), fleet: { instances: 1, preload: true, models, latency: { evalTokenMs: 2 } }, waitHealthy: true });
    herd = new Ollama({ host: stack.url });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
    openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "not-needed", maxRetries: 0 });
  }, 60_000);
  afterAll(() => stack?.close());

  it("hands Ollama clients the thinking apart from the answer, streamed thinking first", async () => {
    const straight = await direct.chat({ model: "qwen3", messages: ASK, think: true, stream: false });
    expect(straight.message.thinking).toMatch(/\S/);
    const through = await herd.chat({ model: "qwen3", messages: ASK, think: true, stream: false });
    expect(through.message).toEqual(straight.message);

    const parts: Array<{ thinking: string; content: string }> = [];
    for await (const part of await herd.chat({ model: "qwen3", messages: ASK, think: true, stream: true })) parts.push({ thinking: part.message.thinking ?? "", content: part.message.content });
    expect(parts.map((part) => part.thinking).join("")).toBe(straight.message.thinking);
    expect(parts.map((part) => part.content).join("")).toBe(straight.message.content);
    const lastThought = parts.map((part) => part.thinking !== "").lastIndexOf(true);
    const firstWord = parts.findIndex((part) => part.content !== "");
    expect(lastThought).toBeGreaterThanOrEqual(0);
    expect(lastThought).toBeLessThan(firstWord);

    const generated = await herd.generate({ model: "qwen3", prompt: "Why is the pump loud?", think: "low", stream: false });
    expect(generated.thinking).toBe((await direct.generate({ model: "qwen3", prompt: "Why is the pump loud?", think: "low", stream: false })).thinking);
    // Without think, no thinking; on a model that cannot think, Ollama's own refusal.
    expect((await herd.chat({ model: "qwen3", messages: ASK, stream: false })).message.thinking).toBeUndefined();
    await expect(herd.chat({ model: "llama3.2", messages: ASK, think: true, stream: false })).rejects.toMatchObject({ status_code: 400, error: expect.stringContaining("does not support thinking") });
  });

  it("maps OpenAI's reasoning effort to think and answers the thinking as reasoning", async () => {
    const low = await direct.chat({ model: "qwen3", messages: ASK, think: "low", stream: false });
    const completion = await openai.chat.completions.create({ model: "qwen3", messages: [{ role: "user", content: "How often is the return filter changed?" }], reasoning_effort: "low" });
    const message = completion.choices[0]?.message as (OpenAI.ChatCompletionMessage & { reasoning?: string }) | undefined;
    expect(message?.reasoning).toBe(low.message.thinking);
    expect(message?.content).toBe(low.message.content);
    const none = await openai.chat.completions.create({ model: "qwen3", messages: [{ role: "user", content: "How often is the return filter changed?" }], reasoning_effort: "none" });
    expect((none.choices[0]?.message as { reasoning?: string }).reasoning).toBeUndefined();

    const reasoning: string[] = [];
    const content: string[] = [];
    for await (const chunk of await openai.chat.completions.create({ model: "qwen3", messages: [{ role: "user", content: "How often is the return filter changed?" }], reasoning_effort: "low", stream: true })) {
      for (const choice of chunk.choices) {
        const delta = choice.delta as { reasoning?: string; content?: string | null };
        if (delta.reasoning) reasoning.push(delta.reasoning);
        if (delta.content) content.push(delta.content);
      }
    }
    expect(reasoning.join("")).toBe(low.message.thinking);
    expect(content.join("")).toBe(low.message.content);
  });

  it("keeps the thinking in native job results and caches thinking and plain answers apart", async () => {
    const request = { type: "generate", model: "qwen3", messages: ASK, options: { temperature: 0 } };
    const thought = await stack.post("/v1/jobs?wait=10000", { ...request, think: true });
    expect(thought.body).toMatchObject({ status: "completed", result: { message: { thinking: expect.stringMatching(/^The user asks about/) } } });
    const plain = await stack.post("/v1/jobs?wait=10000", request);
    expect(plain.body.cached).toBeUndefined();
    expect(plain.body.result.message.thinking).toBeUndefined();
    const again = await stack.post("/v1/jobs?wait=10000", { ...request, think: true });
    expect(again.body).toMatchObject({ cached: true, result: { message: thought.body.result.message } });
    const bad = await stack.post("/v1/jobs", { ...request, think: "hard" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("think");
  });
});

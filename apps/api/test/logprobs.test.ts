import OpenAI from "openai";
import { Ollama, type Message } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const ASK: Message[] = [{ role: "user", content: "How often is the return filter changed?" }];
const PROMPT = "Why is the pump loud?";
type Entry = { token: string; logprob: number; top_logprobs?: Array<{ token: string; logprob: number }> };

/** The instance's entries as OpenAI lists them: each token with its UTF-8 bytes, alternatives too. */
function openAiShaped(entries: Entry[] | undefined) {
  const withBytes = (entry: { token: string; logprob: number }) => ({ token: entry.token, logprob: entry.logprob, bytes: [...Buffer.from(entry.token)] });
  return (entries ?? []).map((entry) => ({ ...withBytes(entry), top_logprobs: (entry.top_logprobs ?? []).map(withBytes) }));
}

/** Log probabilities through every door, each checked against what the instance itself answers. */
describe("logprobs through the queue", () => {
  let stack: Stack;
  let herd: Ollama;
  let direct: Ollama;
  let openai: OpenAI;

  beforeAll(async () => {
    const models = [...DEFAULT_MODELS, completeModelSpec({ name: "qwen3", capabilities: ["completion", "thinking"] })];
    stack = await Stack.start({ prefix: uniquePrefix("logprobs"), fleet: { instances: 1, preload: true, models, latency: { evalTokenMs: 2 } }, waitHealthy: true });
    herd = new Ollama({ host: stack.url });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
    openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "not-needed", maxRetries: 0 });
  }, 60_000);
  afterAll(() => stack?.close());

  it("keeps them in native job results, caches them apart, and refuses top_logprobs out of range or without logprobs", async () => {
    const straight = await direct.generate({ model: "llama3.2", prompt: PROMPT, logprobs: true, top_logprobs: 3, options: { temperature: 0 }, stream: false });
    expect(straight.logprobs?.length).toBeGreaterThan(3);
    const request = { type: "generate", model: "llama3.2", prompt: PROMPT, options: { temperature: 0 } };
    const done = await stack.run({ ...request, logprobs: true, top_logprobs: 3 });
    expect(done).toMatchObject({ status: "completed", result: { response: straight.response, logprobs: straight.logprobs } });
    expect(await stack.finishedGenerateJob("llama3.2:latest", (data) => data.prompt === PROMPT)).toMatchObject({ logprobs: true, topLogprobs: 3 });
    // The same prompt without them, or with fewer alternatives, is another result: not the cached one.
    const plain = await stack.post("/v1/jobs?wait=10000", request);
    expect(plain.body.cached).toBeUndefined();
    expect(plain.body.result.logprobs).toBeUndefined();
    const fewer = await stack.post("/v1/jobs?wait=10000", { ...request, logprobs: true, top_logprobs: 1 });
    expect(fewer.body.cached).toBeUndefined();
    expect((fewer.body.result.logprobs as Entry[]).every((entry) => entry.top_logprobs?.length === 1)).toBe(true);
    const again = await stack.post("/v1/jobs", { ...request, logprobs: true, top_logprobs: 3 });
    expect(again).toMatchObject({ status: 200, body: { cached: true, result: { logprobs: straight.logprobs } } });

    const bad = async (body: Record<string, unknown>) => {
      const answer = await stack.post("/v1/jobs", { ...request, ...body });
      return { status: answer.status, code: answer.body.error?.code, message: answer.body.error?.message };
    };
    expect(await bad({ logprobs: true, top_logprobs: 21 })).toEqual({ status: 400, code: "invalid_request", message: "top_logprobs: top_logprobs must be between 0 and 20" });
    expect(await bad({ top_logprobs: 2 })).toEqual({ status: 400, code: "invalid_request", message: 'top_logprobs: top_logprobs needs "logprobs": true' });
    expect(await bad({ logprobs: "yes" })).toMatchObject({ status: 400, code: "invalid_request", message: expect.stringMatching(/^logprobs: /) });
  });

  it("answers Ollama clients as the instance does, streamed with each piece's tokens, thinking included", async () => {
    const straight = await direct.chat({ model: "qwen3", messages: ASK, think: "low", logprobs: true, top_logprobs: 2, stream: false });
    const through = await herd.chat({ model: "qwen3", messages: ASK, think: "low", logprobs: true, top_logprobs: 2, stream: false });
    expect(through.message).toEqual(straight.message);
    expect(through.logprobs).toEqual(straight.logprobs);

    const entries: Entry[] = [];
    for await (const part of await herd.chat({ model: "qwen3", messages: ASK, think: "low", logprobs: true, top_logprobs: 2, stream: true })) {
      const text = `${part.message.thinking ?? ""}${part.message.content}`;
      // Each line carries the tokens of what it says.
      expect((part.logprobs ?? []).map((entry) => entry.token).join("")).toBe(text);
      entries.push(...(part.logprobs ?? []));
    }
    expect(entries).toEqual(straight.logprobs);

    const generated = await herd.generate({ model: "llama3.2", prompt: "What does the relief valve do?", logprobs: true, stream: false });
    expect(generated.logprobs).toEqual((await direct.generate({ model: "llama3.2", prompt: "What does the relief valve do?", logprobs: true, stream: false })).logprobs);
    // As on Ollama: top_logprobs alone asks for nothing; out of range is its 400.
    expect((await herd.generate({ model: "llama3.2", prompt: PROMPT, top_logprobs: 2, stream: false })).logprobs).toBeUndefined();
    await expect(herd.generate({ model: "llama3.2", prompt: PROMPT, logprobs: true, top_logprobs: 30, stream: false })).rejects.toMatchObject({ status_code: 400, error: "top_logprobs must be between 0 and 20" });
  });

  it("answers OpenAI's chat logprobs, plain and streamed, and the legacy completions' lists", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: ASK, logprobs: true, top_logprobs: 2, options: { temperature: 0, top_p: 1 }, stream: false });
    const expected = openAiShaped(straight.logprobs);
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "How often is the return filter changed?" }];
    const completion = await openai.chat.completions.create({ model: "llama3.2", messages, temperature: 0, logprobs: true, top_logprobs: 2 });
    expect(completion.choices[0]?.message.content).toBe(straight.message.content);
    expect(completion.choices[0]?.logprobs).toEqual({ content: expected, refusal: null });
    const without = await openai.chat.completions.create({ model: "llama3.2", messages, temperature: 0 });
    expect(without.choices[0]?.logprobs).toBeNull();

    const streamed: unknown[] = [];
    for await (const chunk of await openai.chat.completions.create({ model: "llama3.2", messages, temperature: 0, logprobs: true, top_logprobs: 2, stream: true })) {
      for (const choice of chunk.choices) {
        const content = choice.logprobs?.content ?? [];
        expect(content.map((entry) => entry.token).join("")).toBe(choice.delta.content ?? "");
        streamed.push(...content);
      }
    }
    expect(streamed).toEqual(expected);
    await expect(openai.chat.completions.create({ model: "llama3.2", messages, top_logprobs: 2 })).rejects.toMatchObject({ status: 400, param: "top_logprobs" });
    await expect(openai.chat.completions.create({ model: "llama3.2", messages, logprobs: true, top_logprobs: 21 })).rejects.toMatchObject({ status: 400, param: "top_logprobs" });

    const legacyStraight = await direct.generate({ model: "llama3.2", prompt: PROMPT, logprobs: true, top_logprobs: 2, options: { temperature: 0, top_p: 1 }, stream: false });
    const legacy = await openai.completions.create({ model: "llama3.2", prompt: PROMPT, temperature: 0, logprobs: 2 });
    const tokens = (legacyStraight.logprobs ?? []).map((entry) => entry.token);
    expect(legacy.choices[0]?.logprobs).toEqual({
      tokens,
      token_logprobs: (legacyStraight.logprobs ?? []).map((entry) => entry.logprob),
      top_logprobs: (legacyStraight.logprobs ?? []).map((entry) => Object.fromEntries((entry.top_logprobs ?? []).map((top) => [top.token, top.logprob]))),
      text_offset: tokens.map((_, index) => tokens.slice(0, index).join("").length),
    });
    const offsets: number[] = [];
    let text = "";
    for await (const chunk of await openai.completions.create({ model: "llama3.2", prompt: PROMPT, temperature: 0, logprobs: 0, stream: true })) {
      for (const choice of chunk.choices) {
        expect(choice.logprobs?.tokens?.join("")).toBe(choice.text);
        expect(choice.logprobs?.top_logprobs).toBeNull();
        offsets.push(...(choice.logprobs?.text_offset ?? []));
        text += choice.text;
      }
    }
    expect(text).toBe(legacyStraight.response);
    expect(offsets).toEqual(legacy.choices[0]?.logprobs?.text_offset);
  });

  it("lists them on the Responses API's output text when included, plain and streamed", async () => {
    const straight = await direct.chat({ model: "llama3.2", messages: ASK, logprobs: true, top_logprobs: 2, stream: false });
    const expected = openAiShaped(straight.logprobs);
    const input = "How often is the return filter changed?";
    const response = await openai.responses.create({ model: "llama3.2", input, include: ["message.output_text.logprobs"], top_logprobs: 2 });
    const message = response.output.find((item) => item.type === "message");
    expect(message?.type === "message" ? message.content : undefined).toEqual([{ type: "output_text", text: straight.message.content, annotations: [], logprobs: expected }]);
    const without = await openai.responses.create({ model: "llama3.2", input });
    const plain = without.output.find((item) => item.type === "message");
    expect(plain?.type === "message" ? plain.content[0] : undefined).toMatchObject({ logprobs: [] });

    const deltas: unknown[] = [];
    let done: unknown;
    for await (const event of await openai.responses.create({ model: "llama3.2", input, include: ["message.output_text.logprobs"], top_logprobs: 2, stream: true })) {
      if (event.type === "response.output_text.delta") {
        expect(event.logprobs.map((entry) => entry.token).join("")).toBe(event.delta);
        deltas.push(...event.logprobs);
      }
      if (event.type === "response.output_text.done") done = event.logprobs;
    }
    expect(deltas).toEqual(expected);
    expect(done).toEqual(expected);
  });
});

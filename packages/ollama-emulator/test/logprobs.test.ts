import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS, EmulatorInstance } from "../src/index.js";
import { post } from "./http.js";

type Entry = { token: string; logprob: number; top_logprobs?: Array<{ token: string; logprob: number }> };
type Line = { response?: string; thinking?: string; message?: { content: string; thinking?: string }; done: boolean; eval_count?: number; logprobs?: Entry[]; error?: string };

const ASK = [{ role: "user", content: "How often is the return filter changed?" }];

describe("emulator: logprobs and top_logprobs", () => {
  let ollama: EmulatorInstance;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ models: [...DEFAULT_MODELS, completeModelSpec({ name: "qwen3", capabilities: ["completion", "thinking"] })] }).listen();
  });
  afterAll(() => ollama.close());

  const once = async (path: string, body: Record<string, unknown>) => {
    const answer = await post(ollama.url, path, { stream: false, ...body });
    return { status: answer.status, body: JSON.parse(answer.text) as Line };
  };
  const lines = async (path: string, body: Record<string, unknown>) => (await post(ollama.url, path, body)).text.trim().split("\n").map((line) => JSON.parse(line) as Line);

  it("gives one entry per generated token, spelling out the text, and the likeliest tokens first with probabilities that add up to at most 1", async () => {
    const { body } = await once("/api/generate", { model: "llama3.2", prompt: "Why is the pump loud?", logprobs: true, top_logprobs: 3 });
    const entries = body.logprobs ?? [];
    expect(entries.length).toBe(body.eval_count);
    expect(entries.map((entry) => entry.token).join("")).toBe(body.response);
    for (const entry of entries) {
      expect(entry.logprob).toBeLessThan(0);
      expect(entry.top_logprobs?.length).toBe(3);
      expect(entry.top_logprobs?.[0]).toEqual({ token: entry.token, logprob: entry.logprob });
      const probabilities = (entry.top_logprobs ?? []).map((top) => Math.exp(top.logprob));
      expect(probabilities.reduce((sum, p) => sum + p, 0)).toBeLessThanOrEqual(1);
      expect([...probabilities].sort((a, b) => b - a)).toEqual(probabilities);
      expect(new Set(entry.top_logprobs?.map((top) => top.token)).size).toBe(3);
    }
    // Deterministic, and the same text with or without them.
    expect((await once("/api/generate", { model: "llama3.2", prompt: "Why is the pump loud?", logprobs: true, top_logprobs: 3 })).body.logprobs).toEqual(entries);
    const plain = await once("/api/generate", { model: "llama3.2", prompt: "Why is the pump loud?" });
    expect(plain.body.response).toBe(body.response);
    expect(plain.body.logprobs).toBeUndefined();
    // Without top_logprobs, only the chosen tokens; the most alternatives Ollama gives is 20.
    const bare = await once("/api/generate", { model: "llama3.2", prompt: "Why is the pump loud?", logprobs: true });
    expect(bare.body.logprobs?.map((entry) => entry.top_logprobs)).toEqual(entries.map(() => undefined));
    expect(bare.body.logprobs?.map((entry) => entry.logprob)).toEqual(entries.map((entry) => entry.logprob));
    const most = await once("/api/generate", { model: "llama3.2", prompt: "Why is the pump loud?", logprobs: true, top_logprobs: 20 });
    expect(most.body.logprobs?.every((entry) => entry.top_logprobs?.length === 20)).toBe(true);
  });

  it("streams each chunk's entries with it, thinking tokens included, and collects them all in a single answer", async () => {
    const whole = await once("/api/chat", { model: "qwen3", messages: ASK, think: "low", logprobs: true, top_logprobs: 2 });
    const streamed = await lines("/api/chat", { model: "qwen3", messages: ASK, think: "low", logprobs: true, top_logprobs: 2 });
    for (const line of streamed.filter((each) => !each.done)) {
      expect((line.logprobs ?? []).map((entry) => entry.token).join("")).toBe(`${line.message?.thinking ?? ""}${line.message?.content ?? ""}`);
    }
    expect(streamed.at(-1)?.logprobs).toBeUndefined();
    expect(streamed.flatMap((line) => line.logprobs ?? [])).toEqual(whole.body.logprobs);
    expect((whole.body.logprobs ?? []).map((entry) => entry.token).join("")).toBe(`${whole.body.message?.thinking ?? ""}${whole.body.message?.content ?? ""}`);
  });

  it("ignores top_logprobs without logprobs, and refuses one out of range in Ollama's words", async () => {
    expect((await once("/api/chat", { model: "llama3.2", messages: ASK, top_logprobs: 5 })).body.logprobs).toBeUndefined();
    expect(await once("/api/chat", { model: "llama3.2", messages: ASK, logprobs: true, top_logprobs: 21 })).toEqual({ status: 400, body: { error: "top_logprobs must be between 0 and 20" } });
    expect(await once("/api/generate", { model: "llama3.2", prompt: "x", top_logprobs: -1 })).toEqual({ status: 400, body: { error: "top_logprobs must be between 0 and 20" } });
    expect(await once("/api/chat", { model: "llama3.2", messages: ASK, logprobs: true, top_logprobs: 2.5 })).toEqual({ status: 400, body: { error: "json: cannot unmarshal number 2.5 into Go struct field ChatRequest.top_logprobs of type int" } });
    expect(await once("/api/generate", { model: "llama3.2", prompt: "x", logprobs: "yes" })).toEqual({ status: 400, body: { error: "json: cannot unmarshal string into Go struct field GenerateRequest.logprobs of type bool" } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS, EmulatorInstance } from "../src/index.js";
import { post } from "./http.js";

const ASK = [{ role: "user", content: "How often is the return filter changed?" }];
type Line = { response?: string; thinking?: string; message?: { content: string; thinking?: string }; done: boolean; done_reason?: string; eval_count?: number };

describe("emulator: thinking models", () => {
  let ollama: EmulatorInstance;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ models: [...DEFAULT_MODELS, completeModelSpec({ name: "qwen3", capabilities: ["completion", "tools", "thinking"] })] }).listen();
  });
  afterAll(() => ollama.close());

  const chat = async (body: Record<string, unknown>) => {
    const answer = await post(ollama.url, "/api/chat", { model: "qwen3", messages: ASK, stream: false, ...body });
    return { status: answer.status, body: JSON.parse(answer.text) as Line & { error?: string } };
  };

  it("thinks apart from the answer when asked, harder at higher levels, and not at all otherwise", async () => {
    const plain = await chat({});
    expect(plain.body.message?.thinking).toBeUndefined();
    const thought = await chat({ think: true });
    expect(thought.body.message?.thinking).toBe("The user asks about often, return, filter, changed. I should answer from what the conversation gives me and keep it short.");
    // The answer itself does not change with thinking.
    expect(thought.body.message?.content).toBe(plain.body.message?.content);
    expect(thought.body.eval_count).toBeGreaterThan(plain.body.eval_count ?? Infinity);
    const low = await chat({ think: "low" });
    const high = await chat({ think: "high" });
    expect(low.body.message?.thinking).toBe("The user asks about often, return, filter, changed.");
    expect(high.body.message?.thinking?.length).toBeGreaterThan(thought.body.message?.thinking?.length ?? Infinity);
    expect((await chat({ think: false })).body.message?.thinking).toBeUndefined();
    const generated = JSON.parse((await post(ollama.url, "/api/generate", { model: "qwen3", prompt: "Why is the pump loud?", think: "low", stream: false })).text) as Line;
    expect(generated.thinking).toBe("The user asks about pump, loud.");
  });

  it("streams the thinking first, then the answer", async () => {
    const answer = await post(ollama.url, "/api/chat", { model: "qwen3", messages: ASK, think: true });
    const lines = answer.text.trim().split("\n").map((line) => JSON.parse(line) as Line);
    const kinds = lines.map((line) => (line.done ? "done" : line.message?.thinking ? "thinking" : "content"));
    const firstContent = kinds.indexOf("content");
    expect(kinds.lastIndexOf("thinking")).toBeLessThan(firstContent);
    expect(kinds.at(-1)).toBe("done");
    expect(lines.map((line) => line.message?.thinking ?? "").join("")).toBe((await chat({ think: true })).body.message?.thinking);
    expect(lines.filter((line) => line.message?.thinking).every((line) => line.message?.content === "")).toBe(true);
  });

  it("counts thinking against num_predict", async () => {
    const cut = await chat({ think: true, options: { num_predict: 4 } });
    expect(cut.body).toMatchObject({ done_reason: "length", eval_count: 4, message: { content: "" } });
    expect(cut.body.message?.thinking).toBe("The user asks about");
  });

  it("refuses thinking for a model without it, and a bad think value, like Ollama", async () => {
    const refused = await post(ollama.url, "/api/chat", { model: "llama3.2", messages: ASK, think: true });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text)).toEqual({ error: '"llama3.2" does not support thinking' });
    expect((await post(ollama.url, "/api/chat", { model: "llama3.2", messages: ASK, think: false, stream: false })).status).toBe(200);
    const bad = await chat({ think: "hard" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("invalid think value");
  });
});

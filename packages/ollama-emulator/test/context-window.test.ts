import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorInstance } from "../src/index.js";
import { post } from "./http.js";

type Chat = { message?: { content: string }; done_reason?: string; prompt_eval_count?: number; eval_count?: number; error?: string };

const HISTORY = Array.from({ length: 12 }, (_, i) => [
  { role: "user", content: `Question ${i}: how is the hydraulic pump number ${i} bled after a filter change in the workshop?` },
  { role: "assistant", content: `Answer ${i}: open the bleed screw on pump ${i}, run it slowly until the oil comes out without bubbles, then close it.` },
]).flat();
const LAST = { role: "user", content: "And the suction filter?" };

describe("emulator: num_ctx, truncate and shift on /api/chat and /api/generate", () => {
  let ollama: EmulatorInstance;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({}).listen();
  });
  afterAll(() => ollama.close());

  const chat = async (body: Record<string, unknown>) => {
    const answer = await post(ollama.url, "/api/chat", { model: "llama3.2", stream: false, ...body });
    return { status: answer.status, body: JSON.parse(answer.text) as Chat };
  };

  it("drops the oldest messages to fit num_ctx (keeping the system prompt and the last message), or refuses without truncate", async () => {
    const messages = [{ role: "system", content: "Answer from the manual." }, ...HISTORY, LAST];
    const whole = await chat({ messages, options: { num_ctx: 4096 } });
    expect(whole.status).toBe(200);
    const fitted = await chat({ messages, options: { num_ctx: 128 } });
    expect(fitted.status).toBe(200);
    expect(fitted.body.prompt_eval_count).toBeLessThanOrEqual(128);
    expect(fitted.body.prompt_eval_count).toBeLessThan(whole.body.prompt_eval_count ?? 0);
    expect(await chat({ messages, options: { num_ctx: 128 }, truncate: false })).toEqual({ status: 400, body: { error: "the input length exceeds the context length" } });
    // Fitting needs no truncation: truncate false changes nothing.
    expect((await chat({ messages, options: { num_ctx: 4096 }, truncate: false })).body.prompt_eval_count).toBe(whole.body.prompt_eval_count);
  });

  it("stops at the end of num_ctx with done_reason length when shift is off", async () => {
    const messages = [...HISTORY.slice(0, 4), LAST];
    const free = await chat({ messages, options: { num_ctx: 4096 } });
    const prompt = free.body.prompt_eval_count ?? 0;
    const numCtx = prompt + 3;
    const shifted = await chat({ messages, options: { num_ctx: numCtx } });
    expect(shifted.body).toMatchObject({ done_reason: "stop", eval_count: free.body.eval_count });
    expect(free.body.eval_count).toBeGreaterThan(3);
    const stopped = await chat({ messages, options: { num_ctx: numCtx }, shift: false });
    expect(stopped.body).toMatchObject({ done_reason: "length" });
    expect(stopped.body.eval_count).toBeLessThanOrEqual(3);
    expect((await post(ollama.url, "/api/chat", { model: "llama3.2", messages, shift: "no" })).status).toBe(400);
  });

  it("cuts a prompt longer than num_ctx, or refuses it without truncate, on /api/generate", async () => {
    const prompt = HISTORY.map((message) => message.content).join(" ");
    const cut = JSON.parse((await post(ollama.url, "/api/generate", { model: "llama3.2", prompt, stream: false, options: { num_ctx: 64 } })).text) as { prompt_eval_count: number };
    expect(cut.prompt_eval_count).toBe(64);
    const refused = await post(ollama.url, "/api/generate", { model: "llama3.2", prompt, stream: false, options: { num_ctx: 64 }, truncate: false });
    expect({ status: refused.status, body: JSON.parse(refused.text) }).toEqual({ status: 400, body: { error: "the input length exceeds the context length" } });
  });

  it("answers from what the runner kept of a cut prompt: its first num_keep tokens and its end, not the middle", async () => {
    const filler = Array.from({ length: 40 }, (_, i) => `[${i + 2}] The coolant hose number ${i} is replaced every spring.`).join("\n\n");
    const prompt = `Sources:\n\n[1] Bleed the hydraulic pump through its bleed screw before the first start.\n\n${filler}\n\nQuestion: How do I bleed the hydraulic pump?`;
    const generate = async (numCtx: number) => JSON.parse((await post(ollama.url, "/api/generate", { model: "llama3.2", prompt, stream: false, options: { num_ctx: numCtx, temperature: 0 } })).text) as { response: string; prompt_eval_count: number };
    const stats = async () => {
      const snapshot = JSON.parse(await fetch(`${ollama.url}/_emulator/stats`).then((r) => r.text())) as { models: Record<string, { promptsTruncated: number }> };
      return snapshot.models["llama3.2:latest"]?.promptsTruncated;
    };
    await post(ollama.url, "/_emulator/reset", {});
    const whole = await generate(4096);
    expect(whole.response).toContain("bleed screw");
    expect(await stats()).toBe(0);
    const cut = await generate(120);
    expect(cut.prompt_eval_count).toBe(120);
    expect(cut.response).not.toContain("bleed screw");
    expect(await stats()).toBe(1);
  });
});

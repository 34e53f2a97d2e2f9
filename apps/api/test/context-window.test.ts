import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const HISTORY = Array.from({ length: 12 }, (_, i) => [
  { role: "user", content: `Question ${i}: how is the hydraulic pump number ${i} bled after a filter change in the workshop?` },
  { role: "assistant", content: `Answer ${i}: open the bleed screw on pump ${i}, run it slowly until the oil comes out without bubbles, then close it.` },
]).flat();
const MESSAGES = [{ role: "system", content: "Answer from the manual." }, ...HISTORY, { role: "user", content: "And the suction filter?" }];

/** Ollama's truncate and shift reach the instance through the queue and every door that has them. */
describe("truncate and shift", () => {
  let stack: Stack;
  let herd: Ollama;
  let direct: Ollama;

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("context-window"), fleet: { instances: 1, preload: true }, waitHealthy: true });
    herd = new Ollama({ host: stack.url });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
  }, 60_000);
  afterAll(() => stack?.close());

  it("fails a conversation longer than num_ctx with truncate false, at once and without blaming the instance", async () => {
    const options = { num_ctx: 128, seed: 1 };
    const fitted = await stack.run({ type: "generate", model: "llama3.2", messages: MESSAGES, options });
    const straight = await direct.chat({ model: "llama3.2", messages: MESSAGES, options, stream: false });
    expect(fitted.result.prompt_eval_count).toBe(straight.prompt_eval_count);
    expect(fitted.result.prompt_eval_count).toBeLessThanOrEqual(128);
    const refused = await stack.run({ type: "generate", model: "llama3.2", messages: MESSAGES, options, truncate: false });
    expect(refused).toMatchObject({ status: "failed", attempts: 1, error: { code: "bad_request", message: expect.stringContaining("the input length exceeds the context length") } });
    expect((await stack.get("/ready")).status).toBe(200);
    // Through Ollama's own API, the same refusal Ollama gives.
    await expect(herd.chat({ model: "llama3.2", messages: MESSAGES, options, truncate: false, stream: false } as Parameters<Ollama["chat"]>[0] & { stream: false })).rejects.toMatchObject({
      status_code: 400,
      error: expect.stringContaining("the input length exceeds the context length"),
    });
  });

  it("stops at the end of num_ctx with shift false, cached apart from the same request with shift on", async () => {
    const messages = MESSAGES.slice(-5);
    const free = await direct.chat({ model: "llama3.2", messages, options: { seed: 1 }, stream: false });
    const options = { num_ctx: free.prompt_eval_count + 3, seed: 1 };
    const shifted = await stack.run({ type: "generate", model: "llama3.2", messages, options });
    expect(shifted.result).toMatchObject({ done_reason: "stop", eval_count: free.eval_count });
    const stopped = await stack.run({ type: "generate", model: "llama3.2", messages, options, shift: false });
    const straight = await direct.chat({ model: "llama3.2", messages, options, shift: false, stream: false } as Parameters<Ollama["chat"]>[0] & { stream: false });
    expect(stopped.result).toMatchObject({ done_reason: "length", message: { content: straight.message.content }, eval_count: straight.eval_count });
    expect(stopped.result.eval_count).toBeLessThanOrEqual(3);
    const again = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", messages, options, shift: false });
    expect(again).toMatchObject({ status: 200, body: { cached: true, result: { done_reason: "length" } } });
    // Through Ollama's API too.
    const viaOllama = await herd.chat({ model: "llama3.2", messages, options, shift: false, stream: false } as Parameters<Ollama["chat"]>[0] & { stream: false });
    expect(viaOllama).toMatchObject({ done_reason: "length", message: { content: straight.message.content } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const MODEL = "nomic-embed-text";

/**
 * Ollama counts an embedding call's tokens (`prompt_eval_count`); clients bill and budget with
 * it (OpenAI's `usage`). Herd reports what the instance counted, from the queue and the cache.
 */
describe("embedding token counts", () => {
  let stack: Stack;
  let instanceUrl: string;

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("embed-tokens"), fleet: { instances: 1 }, waitHealthy: true });
    instanceUrl = stack.fleet.instances[0]?.url ?? "";
  }, 60_000);
  afterAll(() => stack?.close());

  /** What the instance itself counts for `input`. */
  async function counted(input: string | string[]): Promise<number> {
    const response = await fetch(`${instanceUrl}/api/embed`, { method: "POST", body: JSON.stringify({ model: MODEL, input }) });
    const body = (await response.json()) as { prompt_eval_count?: number };
    if (body.prompt_eval_count === undefined) throw new Error("the emulator reported no prompt_eval_count");
    return body.prompt_eval_count;
  }

  it("reports the instance's count for a job, and the same count when the cache answers", async () => {
    const input = "torque the drain plug of the gearbox to 45 Nm";
    const expected = await counted(input);
    expect(expected).toBeGreaterThan(1);
    const first = await stack.run({ type: "embed", model: MODEL, input });
    expect(first.status).toBe("completed");
    expect(first.cached).toBeUndefined();
    expect(first.result.prompt_eval_count).toBe(expected);
    const again = await stack.post("/v1/jobs", { type: "embed", model: MODEL, input });
    expect(again.status).toBe(200);
    expect(again.body.cached).toBe(true);
    expect(again.body.result.prompt_eval_count).toBe(expected);
    expect(again.body.result.embeddings).toEqual(first.result.embeddings);
  });

  it("counts a batch as the instance does, and shares its count among the inputs it caches", async () => {
    const inputs = ["replace the return filter element", "bleed", "check the hydraulic oil level before every shift"];
    const expected = await counted(inputs);
    const batch = await stack.run({ type: "embed", model: MODEL, input: inputs, priority: "batch" });
    expect(batch.result.prompt_eval_count).toBe(expected);

    // Each input alone is now a cache hit; their shares add up to the batch's count.
    const shares: number[] = [];
    for (const input of inputs) {
      const hit = await stack.post("/v1/jobs", { type: "embed", model: MODEL, input });
      expect(hit.body.cached).toBe(true);
      shares.push(hit.body.result.prompt_eval_count);
    }
    expect(shares.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(shares.every((share) => share > 0)).toBe(true);

    // A batch with one cached input and one new: the worker embeds only the new one.
    const fresh = "drain the coolant into an approved container";
    const mixed = await stack.run({ type: "embed", model: MODEL, input: [inputs[2], fresh], priority: "batch" });
    expect(mixed.cached).toBeUndefined();
    expect(mixed.result.prompt_eval_count).toBe((shares[2] ?? NaN) + (await counted(fresh)));
  });

  it("answers Ollama's prompt_eval_count and OpenAI's usage through the drop-ins", async () => {
    const input = ["loosen the bleed screw", "close the bleed screw when the oil runs clear"];
    const expected = await counted(input);
    const ollama = await stack.post("/api/embed", { model: MODEL, input });
    expect(ollama.status).toBe(200);
    expect(ollama.body.prompt_eval_count).toBe(expected);
    const openai = await stack.post("/v1/embeddings", { model: MODEL, input, encoding_format: "float" });
    expect(openai.status).toBe(200);
    expect(openai.body.usage).toEqual({ prompt_tokens: expected, total_tokens: expected });
  });
});

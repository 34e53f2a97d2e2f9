import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS, EmulatorInstance } from "../src/index.js";
import { post } from "./http.js";

const BEFORE = "def average(values):\n    total = sum(values)\n";
const AFTER = "\n    return result\n";

type Generated = { response: string; done: boolean; done_reason?: string; context?: number[]; prompt_eval_count?: number };

describe("emulator: suffix (fill-in-the-middle) and raw prompts on /api/generate", () => {
  let ollama: EmulatorInstance;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ models: [...DEFAULT_MODELS, completeModelSpec({ name: "qwen2.5-coder:1.5b", capabilities: ["completion", "insert"] })] }).listen();
  });
  afterAll(() => ollama.close());

  const generate = async (body: Record<string, unknown>) => {
    const answer = await post(ollama.url, "/api/generate", { stream: false, ...body });
    return { status: answer.status, body: JSON.parse(answer.text) as Generated & { error?: string } };
  };

  it("fills in the middle on a model with the insert capability: same input, same middle; another suffix, another middle", async () => {
    const first = await generate({ model: "qwen2.5-coder:1.5b", prompt: BEFORE, suffix: AFTER });
    expect(first.status).toBe(200);
    expect(first.body.response).toMatch(/^\w+(_\w+)+$/);
    expect((await generate({ model: "qwen2.5-coder:1.5b", prompt: BEFORE, suffix: AFTER })).body.response).toBe(first.body.response);
    const other = await generate({ model: "qwen2.5-coder:1.5b", prompt: BEFORE, suffix: "\n    return total / count\n" });
    expect(other.body.response).not.toBe(first.body.response);
    // The suffix is part of what the model reads.
    const bare = await generate({ model: "qwen2.5-coder:1.5b", prompt: BEFORE });
    expect(first.body.prompt_eval_count).toBeGreaterThan(bare.body.prompt_eval_count ?? Infinity);
    // An empty suffix is Go's zero value: no fill-in-the-middle at all.
    expect((await generate({ model: "qwen2.5-coder:1.5b", prompt: BEFORE, suffix: "" })).body.response).toBe(bare.body.response);
  });

  it("refuses a suffix for a model without insert, and raw with a system prompt, in Ollama's words", async () => {
    expect(await generate({ model: "llama3.2", prompt: BEFORE, suffix: AFTER })).toEqual({ status: 400, body: { error: "registry.ollama.ai/library/llama3.2:latest does not support insert" } });
    expect(await generate({ model: "llama3.2", prompt: BEFORE, raw: true, system: "Be brief." })).toEqual({ status: 400, body: { error: "raw mode does not support template, system, or context" } });
    expect(await generate({ model: "llama3.2", prompt: BEFORE, suffix: 3 })).toEqual({ status: 400, body: { error: "json: cannot unmarshal number into Go struct field GenerateRequest.suffix of type string" } });
  });

  it("answers a raw prompt without the context array, as Ollama does", async () => {
    const raw = await generate({ model: "llama3.2", prompt: "[INST] Why bleed the pump? [/INST]", raw: true });
    expect(raw.status).toBe(200);
    expect(raw.body.context).toBeUndefined();
    expect((await generate({ model: "llama3.2", prompt: "[INST] Why bleed the pump? [/INST]" })).body.context?.length).toBeGreaterThan(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const LLAMA = "llama3.2:latest";
const NOMIC = "nomic-embed-text:latest";
/** Neither is the emulated model's own context length (llama3.2 4096, nomic-embed-text 2048). */
const PINNED_LLAMA_CTX = 3072;
const PINNED_NOMIC_CTX = 24;

const MANUAL = [
  "# Hydraulic pump",
  "Bleed the hydraulic pump before the first start: open the bleed screw until oil runs without bubbles, then close it.",
  "# Return filter",
  "Replace the return filter element every 500 operating hours or when the clogging indicator shows red.",
  "# Relief valve",
  "The relief valve opens at 210 bar; never adjust it while the pump is running.",
].join("\n\n");

// HERD_MODEL_OPTIONS: clients asking for other runner options than the loaded model's make Ollama
// reload it; with the options pinned, every call for the model reaches Ollama with the same ones.
describe("runner options pinned per model (HERD_MODEL_OPTIONS)", () => {
  let stack: Stack;
  const loads = (model: string) => stack.fleet.instances.reduce((sum, instance) => sum + (instance.stats().models[model]?.loads ?? 0), 0);

  beforeAll(async () => {
    stack = await Stack.start({
      prefix: uniquePrefix("model-options"),
      // Loaded with the models' own context lengths, as a box that served other clients before.
      fleet: { instances: 1, slots: [2], preload: true },
      env: { HERD_MODEL_OPTIONS: JSON.stringify({ "Llama3.2": { num_ctx: PINNED_LLAMA_CTX, keep_alive: "-1s" }, "nomic-embed-text": { num_ctx: PINNED_NOMIC_CTX }, "all-minilm": { keep_alive: "-1s" } }) },
    });
  }, 60_000);
  afterAll(() => stack?.close());

  it("loads a model with its pinned options, and no client's own num_ctx reloads it", async () => {
    const before = loads(LLAMA);
    // What `ollama run` sends first: an empty prompt, which loads the model on the fleet.
    const load = await stack.post("/api/generate", { model: "llama3.2", prompt: "", options: { num_ctx: 16_384 }, keep_alive: "1m" });
    expect(load.body).toMatchObject({ done: true, done_reason: "load" });
    expect(loads(LLAMA)).toBe(before + 1);
    // Kept for good, as pinned, not for the minute asked.
    const ps = (await (await fetch(`${stack.fleet.instances[0]?.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string }> };
    expect(new Date(ps.models.find((model) => model.name === LLAMA)?.expires_at ?? 0).getFullYear()).toBeGreaterThan(2100);

    const asked = [undefined, 2048, 8192, 16_384];
    for (const [i, numCtx] of asked.entries()) {
      const job = await stack.run({ type: "generate", model: "llama3.2", prompt: `Why bleed the pump? (${i})`, options: { temperature: 0, ...(numCtx ? { num_ctx: numCtx } : {}) } });
      expect(job).toMatchObject({ status: "completed" });
    }
    const chat = await stack.post("/api/chat", { model: "LLAMA3.2", messages: [{ role: "user", content: "And the filter?" }], stream: false, options: { num_ctx: 512 } });
    expect(chat.status).toBe(200);
    const openai = await stack.post("/v1/chat/completions", { model: "llama3.2", messages: [{ role: "user", content: "And the valve?" }] });
    expect(openai.status).toBe(200);
    expect(loads(LLAMA)).toBe(before + 1);
    const recorded = await stack.finishedGenerateJob(LLAMA, (data) => data.prompt === "Why bleed the pump? (2)");
    expect(recorded.options).toEqual({ temperature: 0, num_ctx: PINNED_LLAMA_CTX });
  });

  it("gives requests that differ only in a pinned option one cache entry", async () => {
    const first = await stack.run({ type: "generate", model: "llama3.2", prompt: "Which oil for the pump?", options: { temperature: 0, num_ctx: 1024 } });
    expect(first).toMatchObject({ status: "completed" });
    const requests = stack.emulatorRequests(LLAMA);
    const again = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", prompt: "Which oil for the pump?", options: { num_ctx: 32_768, temperature: 0 } });
    expect(again.status).toBe(200);
    expect(again.body.result.response).toBe(first.result.response);
    expect(stack.emulatorRequests(LLAMA)).toBe(requests);
  });

  it("embeds with the pinned context (Ollama truncates to it), for queries and for ingested documents alike", async () => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const pinned = await stack.run({ type: "embed", model: "nomic-embed-text", input: long, options: { num_ctx: 8192 } });
    expect(pinned.result.prompt_eval_count).toBe(PINNED_NOMIC_CTX);
    // A model nothing pins keeps the client's options.
    const free = await stack.run({ type: "embed", model: "all-minilm", input: long, options: { num_ctx: 200 } });
    expect(free.result.prompt_eval_count).toBeGreaterThan(PINNED_NOMIC_CTX);

    const loaded = loads(NOMIC);
    // Chunks that fit the pinned context (see chunk-limits.test.ts): 24 tokens leave room for 16 without a prefix.
    expect((await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text", chunkTokens: 16, chunkOverlap: 0, documentPrefix: "" })).status).toBe(201);
    const accepted = await stack.post("/v1/collections/manuals/documents", { documents: [{ id: "pump.md", text: MANUAL }] });
    expect(accepted.status).toBe(202);
    const summary = await stack.ingestionSettled(accepted.body.ingestionId);
    expect(summary).toMatchObject({ status: "completed", documents: { done: 1 } });
    expect(summary.chunks.total).toBeGreaterThan(1);
    const search = await stack.post("/v1/collections/manuals/search", { query: "bleed the hydraulic pump", k: 2 });
    expect(search.status).toBe(200);
    expect(search.body.results[0].documentId).toBe("pump.md");
    // Batches and queries alternated on one instance without a reload between them.
    expect(loads(NOMIC)).toBe(loaded);
  });

  it("keeps a model loaded whatever keep_alive a client sends, when its keep_alive is pinned", async () => {
    const loaded = async () => {
      const ps = (await (await fetch(`${stack.fleet.instances[0]?.url}/api/ps`)).json()) as { models: Array<{ name: string }> };
      return ps.models.map((model) => model.name).sort();
    };
    // keep_alive 0: unload once this request is done. Pinned for all-minilm, the request's own for nomic-embed-text.
    for (const model of ["all-minilm", "nomic-embed-text"]) {
      const response = await stack.post("/api/embed", { model, input: `coolant level check for ${model}`, keep_alive: 0 });
      expect(response.status).toBe(200);
    }
    expect(await loaded()).toContain("all-minilm:latest");
    expect(await loaded()).not.toContain("nomic-embed-text:latest");
    // The fleet view says so too, from the worker's next look at the instance's /api/ps.
    const loadedInFleet = async (model: string) => {
      const fleet = (await stack.get("/v1/fleet")).body as { workers: Array<{ instances: Array<{ models: Array<{ model: string; loaded?: boolean }> }> }> };
      return fleet.workers[0]?.instances[0]?.models.find((entry) => entry.model === model)?.loaded;
    };
    await waitFor(async () => (await loadedInFleet("nomic-embed-text:latest")) === false && (await loadedInFleet("all-minilm:latest")) === true, { message: "/v1/fleet shows which models are loaded" });
    const minilmLoads = loads("all-minilm:latest");
    expect((await stack.post("/api/embed", { model: "all-minilm", input: "belt tension", keep_alive: "0s" })).status).toBe(200);
    expect(loads("all-minilm:latest")).toBe(minilmLoads);
  });
});

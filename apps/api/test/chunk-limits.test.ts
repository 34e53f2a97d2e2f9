import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

describe("a collection's chunks fit what its embedding model reads of an input", () => {
  let stack: Stack;
  beforeAll(async () => {
    // all-minilm reads 256 tokens; mxbai-embed-large 512; nomic-embed-text 2048, here pinned to 512.
    const models = [...DEFAULT_MODELS, completeModelSpec({ name: "mxbai-embed-large", kind: "embedding", embeddingLength: 1024, contextLength: 512 })];
    stack = await Stack.start({ prefix: uniquePrefix("chunk-limits"), fleet: { instances: 1, models }, env: { HERD_MODEL_OPTIONS: JSON.stringify({ "nomic-embed-text": { num_ctx: 512 } }) } });
  });
  afterAll(() => stack?.close());

  const create = (body: Record<string, unknown>) => stack.post("/v1/collections", body);

  it("takes a smaller default chunk size for a model that reads fewer tokens than the default chunk has", async () => {
    expect((await create({ name: "minilm", model: "all-minilm" })).body).toMatchObject({ chunkTokens: 204, chunkOverlap: 32 });
    expect((await create({ name: "mxbai", model: "mxbai-embed-large" })).body).toMatchObject({ chunkTokens: 256, chunkOverlap: 32 });
    expect((await create({ name: "minilm-small", model: "all-minilm", chunkTokens: 24 })).body).toMatchObject({ chunkTokens: 24, chunkOverlap: 6 });
  });

  it("refuses chunks whose end the model would cut, naming the most it takes", async () => {
    const cases = [
      [{ name: "a", model: "all-minilm", chunkTokens: 256 }, "chunkTokens: all-minilm:latest reads at most 256 tokens of an input (its context length)", "use at most 204"],
      [{ name: "b", model: "mxbai-embed-large", chunkTokens: 512 }, "mxbai-embed-large:latest reads at most 512 tokens", "use at most 409"],
      // The pinned num_ctx is what Ollama runs the model with; the document prefix takes its share.
      [{ name: "c", model: "nomic-embed-text", chunkTokens: 1024 }, "reads at most 512 tokens of an input (the num_ctx pinned for it in HERD_MODEL_OPTIONS)", "use at most 404"],
    ] as const;
    for (const [body, reason, advice] of cases) {
      const refused = await create(body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe("invalid_request");
      expect(refused.body.error.message).toContain(reason);
      expect(refused.body.error.message).toContain(advice);
    }
    expect((await create({ name: "c", model: "nomic-embed-text", chunkTokens: 404 })).status).toBe(201);
    expect((await create({ name: "d", model: "all-minilm", chunkTokens: 100, chunkOverlap: 100 })).body.error.message).toContain("chunkOverlap: must be smaller than chunkTokens");
  });
});

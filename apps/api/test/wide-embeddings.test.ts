import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/**
 * Embedding models wider than pgvector's HNSW limits (2,000 dimensions; 4,000 in half precision),
 * such as qwen3-embedding (2,560 at 4b, 4,096 at 8b): their collections are created with the
 * index that fits, or none, and ingest and search like any other.
 */
describe("collections of embedding models wider than 2,000 dimensions", () => {
  let stack: Stack;
  beforeAll(async () => {
    const models = [
      ...DEFAULT_MODELS,
      completeModelSpec({ name: "qwen3-embedding:4b", kind: "embedding", embeddingLength: 2560 }),
      completeModelSpec({ name: "qwen3-embedding:8b", kind: "embedding", embeddingLength: 4096 }),
    ];
    stack = await Stack.start({ prefix: uniquePrefix("wide"), fleet: { instances: 1, preload: true, models }, waitHealthy: true });
  }, 60_000);
  afterAll(() => stack?.close());

  it.each([
    ["qwen3-embedding:4b", 2560, "hnsw_halfvec"],
    ["qwen3-embedding:8b", 4096, "none"],
    ["nomic-embed-text", 768, "hnsw"],
  ])("%s (%i dimensions): index %s; documents ingest and are found", async (model, dimensions, vectorIndex) => {
    const name = `wide-${dimensions}`;
    const created = await stack.post("/v1/collections", { name, model });
    expect([created.status, created.body.dimensions, created.body.vectorIndex]).toEqual([201, dimensions, vectorIndex]);
    expect((await stack.get(`/v1/collections/${name}`)).body.vectorIndex).toBe(vectorIndex);
    const submitted = await stack.post(`/v1/collections/${name}/documents`, {
      documents: [
        { id: "breather.md", text: "# Gearbox\n\nCheck the gearbox breather every month." },
        { id: "filter.md", text: "# Coolant\n\nReplace the coolant filter every 500 hours." },
      ],
    });
    expect(submitted.status).toBe(202);
    await waitFor(async () => (await stack.get(`/v1/ingestions/${submitted.body.ingestionId as string}`)).body.documents.done === 2, { message: "the documents to be stored" });
    const search = await stack.post(`/v1/collections/${name}/search`, { query: "coolant filter replacement", mode: "vector", k: 1 });
    expect([search.status, search.body.results.map((hit: { documentId: string }) => hit.documentId)]).toEqual([200, ["filter.md"]]);
  });
});

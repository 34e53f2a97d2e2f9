import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { uniquePrefix, waitFor } from "@herd/testing";
import { defaultPrefixes } from "../src/embedding-prefixes.js";
import { Stack } from "./stack.js";

const NOMIC = { queryPrefix: "search_query: ", documentPrefix: "search_document: " };
const MXBAI = { queryPrefix: "Represent this sentence for searching relevant passages: ", documentPrefix: "" };
const NONE = { queryPrefix: "", documentPrefix: "" };

describe("the task prefixes retrieval models are trained with", () => {
  it("are known by the model's base name, whatever its tag, namespace or case", () => {
    expect(defaultPrefixes("nomic-embed-text:latest")).toEqual(NOMIC);
    expect(defaultPrefixes("NOMIC-EMBED-TEXT:v1.5")).toEqual(NOMIC);
    expect(defaultPrefixes("someone/nomic-embed-text:latest")).toEqual(NOMIC);
    expect(defaultPrefixes("mxbai-embed-large:335m")).toEqual(MXBAI);
    expect(defaultPrefixes("embeddinggemma:300m")).toEqual({ queryPrefix: "task: search result | query: ", documentPrefix: "title: none | text: " });
    expect(defaultPrefixes("qwen3-embedding:8b")).toEqual({ queryPrefix: "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: ", documentPrefix: "" });
    expect(defaultPrefixes("all-minilm:latest")).toEqual(NONE);
    expect(defaultPrefixes("nomic-embed-text-custom:latest")).toEqual(NONE);
  });
});

describe("collections embed their chunks and queries behind their model's task prefixes", () => {
  let stack: Stack;
  beforeAll(async () => {
    const models = [...DEFAULT_MODELS, completeModelSpec({ name: "mxbai-embed-large", kind: "embedding", embeddingLength: 1024 })];
    stack = await Stack.start({ prefix: uniquePrefix("embed-prefix"), fleet: { instances: 1, preload: true, recordInputs: true, models } });
  });
  afterAll(() => stack?.close());

  const inputs = () => (stack.fleet.instances[0]?.embedCalls() ?? []).flatMap((call) => call.inputs);

  it("takes the model's known prefixes by default, or the ones the request names", async () => {
    const created = async (body: Record<string, unknown>) => {
      const response = await stack.post("/v1/collections", body);
      expect(response.status).toBe(201);
      return { queryPrefix: response.body.queryPrefix, documentPrefix: response.body.documentPrefix };
    };
    expect(await created({ name: "nomic", model: "nomic-embed-text" })).toEqual(NOMIC);
    expect(await created({ name: "mxbai", model: "mxbai-embed-large" })).toEqual(MXBAI);
    expect(await created({ name: "minilm", model: "all-minilm" })).toEqual(NONE);
    expect(await created({ name: "plain", model: "nomic-embed-text", queryPrefix: "", documentPrefix: "" })).toEqual(NONE);
    expect(await created({ name: "own", model: "all-minilm", queryPrefix: "query: ", documentPrefix: "passage: " })).toEqual({ queryPrefix: "query: ", documentPrefix: "passage: " });
    expect((await stack.get("/v1/collections/nomic")).body).toMatchObject(NOMIC);
    for (const [body, message] of [
      [{ name: "bad", model: "all-minilm", queryPrefix: 5 }, "queryPrefix"],
      [{ name: "bad", model: "all-minilm", documentPrefix: "x".repeat(501) }, "documentPrefix: is too long"],
    ] as const) {
      const refused = await stack.post("/v1/collections", body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain(message);
    }
  });

  it("sends the document prefix before each chunk and the query prefix before each search", async () => {
    const text = "# Bleeding\n\nBleed the hydraulic pump through its bleed screw before the first start.";
    const accepted = await stack.post("/v1/collections/nomic/documents", { documents: [{ id: "bleeding.md", text }] });
    await waitFor(async () => ((await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body.status === "completed") || undefined, { message: "ingestion" });
    expect(inputs()).toContain("search_document: Bleeding\n\nBleed the hydraulic pump through its bleed screw before the first start.");
    const found = await stack.post("/v1/collections/nomic/search", { query: "How do I bleed the pump?", mode: "vector" });
    expect(found.body.results[0]).toMatchObject({ documentId: "bleeding.md" });
    expect(inputs()).toContain("search_query: How do I bleed the pump?");

    // A collection without prefixes embeds the text alone.
    const plain = await stack.post("/v1/collections/plain/documents", { documents: [{ id: "belt.md", text: "Tension the drive belt monthly." }] });
    await waitFor(async () => ((await stack.get(`/v1/ingestions/${plain.body.ingestionId}`)).body.status === "completed") || undefined, { message: "ingestion" });
    await stack.post("/v1/collections/plain/search", { query: "belt tension", mode: "vector" });
    expect(inputs()).toEqual(expect.arrayContaining(["Tension the drive belt monthly.", "belt tension"]));
  });
});

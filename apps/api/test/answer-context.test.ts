import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const DOCUMENTS = 30;
const QUESTION = "How do I bleed the hydraulic pump through the bleed screw?";

/** About 220 words on press `n`'s hydraulic pump: each document one chunk, each sharing words with the question. */
function manual(n: number): string {
  const lines = Array.from({ length: 6 }, (_, i) => `The hydraulic pump of press ${n} is inspected every ${n + i} weeks, its coolant hose ${n}-${i} is replaced every spring and its return filter is cleaned after ${(n + i) * 10} hours of running.`);
  return `# Press ${n}\n\n${lines.join(" ")}\n`;
}

const BLEEDING = `# Bleeding\n\nBleed the hydraulic pump through the bleed screw marked B7 before the first start. ${manual(0).split("\n\n")[1]}`;

describe("RAG answers fit the model's context window", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("answer-ctx"), fleet: { instances: 1, preload: true } });
    await stack.post("/v1/collections", { name: "presses", model: "nomic-embed-text" });
    const documents = [{ id: "bleeding.md", text: BLEEDING }, ...Array.from({ length: DOCUMENTS - 1 }, (_, i) => ({ id: `press-${i + 1}.md`, text: manual(i + 1) }))];
    const accepted = await stack.post("/v1/collections/presses/documents", { documents });
    expect(accepted.status).toBe(202);
    const summary = await waitFor(async () => {
      const body = (await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body;
      return body.status !== "running" ? body : undefined;
    }, { timeoutMs: 60_000, message: "ingestion" });
    expect(summary).toMatchObject({ status: "completed", documents: { done: DOCUMENTS } });
  }, 90_000);
  afterAll(() => stack?.close());

  const truncatedPrompts = () => stack.fleet.instances.reduce((sum, instance) => sum + (instance.stats().models["llama3.2:latest"]?.promptsTruncated ?? 0), 0);

  it("sends the best sources that fit, so Ollama never cuts the prompt, and says how many were left out", async () => {
    const search = await stack.post("/v1/collections/presses/search", { query: QUESTION, k: DOCUMENTS });
    expect(search.body.results).toHaveLength(DOCUMENTS);
    expect(search.body.results[0].documentId).toBe("bleeding.md");
    const response = await stack.post("/v1/collections/presses/answer?wait=20000", { question: QUESTION, model: "llama3.2", k: DOCUMENTS });
    expect(response.body).toMatchObject({ status: "completed" });
    const result = response.body.result as { answer: string; citations: Array<{ documentId: string }>; sourcesOmitted?: number };
    // Thirty sources of ~230 tokens do not fit llama3.2's 4096: Ollama would have kept the prompt's
    // end and dropped its beginning, the instructions and the best sources with it.
    expect(result.sourcesOmitted).toBeGreaterThan(0);
    expect(result.citations.length).toBeGreaterThan(3);
    expect(result.citations.length + (result.sourcesOmitted ?? 0)).toBe(DOCUMENTS);
    expect(result.citations.map((citation) => citation.documentId)).toEqual(search.body.results.slice(0, result.citations.length).map((hit: { documentId: string }) => hit.documentId));
    expect(result.answer).toContain("bleed screw marked B7");
    expect(truncatedPrompts()).toBe(0);

    const streamed = await fetch(`${stack.url}/v1/collections/presses/answer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: QUESTION, model: "llama3.2", k: DOCUMENTS, stream: true }) });
    const lines = (await streamed.text()).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toEqual({ citations: result.citations, sourcesOmitted: result.sourcesOmitted });
    expect(lines.at(-1)).toMatchObject({ done: true, answer: result.answer });

    // Sources that all fit: nothing is said about omissions.
    const few = await stack.post("/v1/collections/presses/answer?wait=20000", { question: QUESTION, model: "llama3.2", k: 3 });
    expect(few.body.result.citations).toHaveLength(3);
    expect(few.body.result).not.toHaveProperty("sourcesOmitted");
    expect(truncatedPrompts()).toBe(0);
  });

  it("knows the model's own context length from the workers' discovery", async () => {
    const fleet = await stack.get("/v1/fleet");
    expect(fleet.body.models).toContainEqual(expect.objectContaining({ model: "llama3.2:latest", contextLength: 4096 }));
    expect(fleet.body.workers[0].instances[0].models).toContainEqual(expect.objectContaining({ model: "nomic-embed-text:latest", embeddingLength: 768, contextLength: 2048 }));
  });

  it("refuses a question that leaves no room for sources in the context", async () => {
    const requestsBefore = stack.emulatorRequests("llama3.2:latest");
    const embedsBefore = stack.emulatorRequests("nomic-embed-text:latest");
    const response = await stack.post("/v1/collections/presses/answer", { question: "Is it a fan or a pump? ".repeat(400), model: "llama3.2" });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("question_too_long");
    expect(response.body.error.message).toContain("llama3.2's 4096-token context");
    expect(stack.emulatorRequests("llama3.2:latest")).toBe(requestsBefore);
    // Refused before the search: the question was not even embedded.
    expect(stack.emulatorRequests("nomic-embed-text:latest")).toBe(embedsBefore);
  });
});

import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const CORPUS = fileURLToPath(new URL("../../../corpus/", import.meta.url));
const QUESTIONS = JSON.parse(readFileSync(`${CORPUS}questions.json`, "utf8")) as Array<{ question: string; expected: string[] }>;
/** Hybrid must clear this recall@5; keyword-only and vector-only must each stay below it. */
const BAR = 0.91;

describe("retrieval quality on the corpus in the repo", () => {
  let stack: Stack;
  const recall: Record<string, number> = {};
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("recall"), fleet: { instances: 2, preload: true } });
    await stack.post("/v1/collections", { name: "press", model: "nomic-embed-text", chunkTokens: 200, chunkOverlap: 20 });
    const files = readdirSync(`${CORPUS}manuals`);
    const documents = files.map((file) => ({ id: file, filename: file, base64: readFileSync(`${CORPUS}manuals/${file}`).toString("base64") }));
    const accepted = await stack.post("/v1/collections/press/documents", { documents });
    const summary = await waitFor(async () => {
      const body = (await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body;
      return body.status !== "running" ? body : undefined;
    }, { timeoutMs: 60_000, message: "corpus ingestion" });
    expect(summary).toMatchObject({ status: "completed", documents: { total: files.length, done: files.length } });
  }, 90_000);
  afterAll(() => stack?.close());

  async function measure(mode: string): Promise<number> {
    let total = 0;
    const misses: string[] = [];
    for (const { question, expected } of QUESTIONS) {
      const response = await stack.post("/v1/collections/press/search", { query: question, k: 5, mode });
      const found = new Set((response.body.results as Array<{ documentId: string }>).map((hit) => hit.documentId));
      const share = expected.filter((doc) => found.has(doc)).length / expected.length;
      if (share < 1) misses.push(`${question} → ${[...found].join(", ")}`);
      total += share;
    }
    recall[mode] = total / QUESTIONS.length;
    console.log(`${mode}: recall@5 ${recall[mode]?.toFixed(3)}\n  ${misses.join("\n  ")}`);
    return recall[mode] ?? 0;
  }

  it("hybrid search clears the bar that keyword-only and vector-only search do not", async () => {
    const keyword = await measure("keyword");
    const vector = await measure("vector");
    const hybrid = await measure("hybrid");
    expect(hybrid).toBeGreaterThanOrEqual(BAR);
    expect(keyword).toBeLessThan(BAR);
    expect(vector).toBeLessThan(BAR);
  });
});

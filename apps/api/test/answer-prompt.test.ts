import { describe, expect, it } from "vitest";
import type { SearchHit } from "@herd/store";
import { countTokens } from "@herd/ollama-emulator";
import { answerPrompt, estimateTokens, fitAnswer, promptBudget, SYSTEM_PROMPT, type Turn } from "../src/answer-prompt.js";
import { ApiError } from "../src/errors.js";

const SENTENCE = "Open the bleed screw of the hydraulic pump and run it slowly until the oil comes out without bubbles.";

function hit(n: number, words = 200): SearchHit {
  const text = Array.from({ length: Math.ceil(words / SENTENCE.split(" ").length) }, () => SENTENCE).join(" ");
  return { chunkId: n, documentId: `manual-${n}.md`, ordinal: 0, heading: `Section ${n}`, text, metadata: {}, score: 1 / n, vectorRank: n, keywordRank: n };
}

const HITS = Array.from({ length: 40 }, (_, i) => hit(i + 1));

describe("fitting a RAG answer's prompt to the model's context", () => {
  it("keeps the best sources that fit, in order, and says how many it left out", () => {
    const fitted = fitAnswer("How do I bleed the pump?", HITS, [], 4096, "llama3.2");
    expect(fitted.hits.length).toBeGreaterThan(3);
    expect(fitted.hits.length).toBeLessThan(HITS.length);
    expect(fitted.hits).toEqual(HITS.slice(0, fitted.hits.length));
    expect(fitted.omitted).toBe(HITS.length - fitted.hits.length);
    const prompt = `${SYSTEM_PROMPT}\n${answerPrompt("How do I bleed the pump?", fitted.hits)}`;
    expect(estimateTokens(prompt)).toBeLessThanOrEqual(promptBudget(4096));
    // A bigger context takes more of them; everything fits a big enough one.
    expect(fitAnswer("How do I bleed the pump?", HITS, [], 8192, "llama3.2").hits.length).toBeGreaterThan(fitted.hits.length);
    expect(fitAnswer("How do I bleed the pump?", HITS, [], 131_072, "llama3.2")).toMatchObject({ omitted: 0, hits: HITS });
  });

  it("estimates at least what the emulator's tokenizer counts, which stands in for a model's", () => {
    for (const text of [SENTENCE, answerPrompt("How?", HITS.slice(0, 5)), "液压泵的排气方法是打开排气螺钉。".repeat(30), "Die Entlüftungsschraube öffnen, bis das Öl blasenfrei austritt. ".repeat(20)]) {
      expect(estimateTokens(text)).toBeGreaterThanOrEqual(countTokens(text));
    }
  });

  it("cuts the best source when even it alone does not fit, rather than leaving the answer without sources", () => {
    const long = hit(1, 3000);
    const fitted = fitAnswer("How do I bleed the pump?", [long, hit(2)], [], 1024, "llama3.2");
    expect(fitted.omitted).toBe(1);
    expect(fitted.hits).toHaveLength(1);
    expect(long.text.startsWith(fitted.hits[0]?.text ?? "-")).toBe(true);
    expect(fitted.hits[0]?.text.length).toBeLessThan(long.text.length);
    expect(estimateTokens(`${SYSTEM_PROMPT}\n${answerPrompt("How do I bleed the pump?", fitted.hits)}`)).toBeLessThanOrEqual(promptBudget(1024));
  });

  it("keeps the latest turns of a conversation (a quarter of the room first), then sources, then older turns", () => {
    const history: Turn[] = Array.from({ length: 30 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `Turn ${i}: ${SENTENCE} ${SENTENCE}` }));
    const fitted = fitAnswer("And how often?", HITS, history, 4096, "llama3.2");
    expect(fitted.history.length).toBeGreaterThan(0);
    expect(fitted.history.length).toBeLessThan(history.length);
    expect(fitted.history).toEqual(history.slice(history.length - fitted.history.length));
    expect(fitted.hits.length).toBeGreaterThan(0);
    const alone = fitAnswer("And how often?", HITS, [], 4096, "llama3.2");
    expect(fitted.hits.length).toBeLessThan(alone.hits.length);
    // With few sources, the room they leave goes to older turns.
    const few = fitAnswer("And how often?", HITS.slice(0, 1), history, 4096, "llama3.2");
    expect(few.history.length).toBeGreaterThan(fitted.history.length);
  });

  it("refuses a question that leaves no room for sources, naming the context and how to widen it", () => {
    const question = `${"Why does the pump whine at start? ".repeat(300)}`;
    let refused: unknown;
    try {
      fitAnswer(question, HITS, [], 2048, "llama3.2");
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 400, code: "question_too_long" });
    expect((refused as Error).message).toMatch(/llama3\.2's 2048-token context.*HERD_MODEL_OPTIONS.*HERD_OLLAMA_CONTEXT_LENGTH/);
    expect(fitAnswer(question, HITS, [], 32_768, "llama3.2").hits.length).toBeGreaterThan(0);
  });
});

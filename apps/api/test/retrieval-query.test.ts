import { describe, expect, it } from "vitest";
import { retrievalQuery } from "../src/answer-prompt.js";

describe("what an answer's question is searched with", () => {
  it("is the question alone without history, and the user's previous question before it with", () => {
    expect(retrievalQuery("How often?")).toBe("How often?");
    const history = [
      { role: "user", content: " Should I check the belt? " },
      { role: "assistant", content: "Yes, weekly." },
    ];
    expect(retrievalQuery("How often?", history)).toBe("Should I check the belt?\nHow often?");
    expect(retrievalQuery("How often?", [{ role: "assistant", content: "Hello." }])).toBe("How often?");
  });

  it("takes at most the first 1000 characters of a long previous turn (a pasted log, not a question)", () => {
    const query = retrievalQuery("Why?", [{ role: "user", content: "x".repeat(50_000) }]);
    expect(query).toBe(`${"x".repeat(1000)}\nWhy?`);
  });
});

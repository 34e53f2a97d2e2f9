import { describe, expect, it } from "vitest";
import { decodeEmbeddingEntry, decodeEmbeddingText, encodeEmbeddingEntry, shareTokens } from "../src/index.js";

describe("cached embedding entries", () => {
  it("keep the token count in front of the vector's text, as bytes and as text", () => {
    const entry = encodeEmbeddingEntry("[0.25,-0.5]", 12);
    expect(entry).toBe("12|[0.25,-0.5]");
    const bytes = decodeEmbeddingEntry(Buffer.from(entry));
    expect(bytes.tokens).toBe(12);
    expect(bytes.vector.toString()).toBe("[0.25,-0.5]");
    expect(decodeEmbeddingText(entry)).toEqual({ vector: "[0.25,-0.5]", tokens: 12 });
    expect(decodeEmbeddingText(encodeEmbeddingEntry("[1]", 0))).toEqual({ vector: "[1]", tokens: 0 });
  });

  it("read an entry without a count as a bare vector with no count", () => {
    expect(decodeEmbeddingText("[0.1,0.2]")).toEqual({ vector: "[0.1,0.2]", tokens: undefined });
    expect(decodeEmbeddingEntry(Buffer.from("[0.1]")).vector.toString()).toBe("[0.1]");
    expect(decodeEmbeddingText("|[0.1]")).toEqual({ vector: "[0.1]", tokens: undefined });
  });
});

describe("shareTokens", () => {
  it("gives a lone input the call's whole count", () => {
    expect(shareTokens(37, ["anything"])).toEqual([37]);
  });

  it("shares a call's count by input length, the shares adding up to it exactly", () => {
    expect(shareTokens(10, ["aaaa", "a"])).toEqual([8, 2]);
    expect(shareTokens(7, ["abc", "abc", "abc"])).toEqual([3, 2, 2]);
    const texts = ["hydraulic pump", "return filter element", "x", "bleed the pump before the first start"];
    for (const total of [0, 1, 3, 4, 57, 1000]) {
      const shares = shareTokens(total, texts);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      expect(shares.every((share) => Number.isInteger(share) && share >= 0)).toBe(true);
    }
    // Longer inputs never get fewer tokens than shorter ones.
    const shares = shareTokens(57, texts);
    expect(shares[3]).toBeGreaterThanOrEqual(shares[1] ?? 0);
    expect(shares[1]).toBeGreaterThanOrEqual(shares[0] ?? 0);
    expect(shares[0]).toBeGreaterThanOrEqual(shares[2] ?? 0);
  });
});

import { describe, expect, it } from "vitest";
import { StreamAssembler } from "../src/stream-assembler.js";

function assembler() {
  const out: string[] = [];
  return { out, stream: new StreamAssembler((text) => out.push(text)) };
}

describe("StreamAssembler", () => {
  it("passes pieces on in order and sends nothing twice at the end", () => {
    const { out, stream } = assembler();
    stream.piece({ seq: 0, text: "Bleed" });
    stream.piece({ seq: 1, text: " the pump" });
    expect(stream.finish("Bleed the pump")).toBe(true);
    expect(out).toEqual(["Bleed", " the pump"]);
  });

  it("follows the thinking of the same pieces apart from their text", () => {
    const out: string[] = [];
    const stream = new StreamAssembler((piece) => out.push(`text:${piece}`), (piece) => out.push(`thinking:${piece}`));
    for (const piece of [{ seq: 0, text: "", thinking: "The user" }, { seq: 1, text: "Bleed", thinking: " asks." }, { seq: 2, text: " it" }]) stream.piece(piece);
    expect(stream.finish("Bleed it.", "The user asks.")).toBe(true);
    // Each piece's thinking before its text; the end sends only what is missing.
    expect(out).toEqual(["thinking:The user", "thinking: asks.", "text:Bleed", "text: it", "text:."]);
    // A final thinking that contradicts what was streamed is reported like text.
    expect(stream.finish("Bleed it.", "Something else.")).toBe(false);
  });

  it("a retried job that repeats what was sent continues seamlessly", () => {
    const { out, stream } = assembler();
    stream.piece({ seq: 0, text: "Bleed" });
    stream.piece({ seq: 1, text: " the" });
    // The instance died; the retry starts over with the same text.
    stream.piece({ seq: 0, text: "Bleed" });
    stream.piece({ seq: 1, text: " the pump" });
    expect(stream.finish("Bleed the pump first.")).toBe(true);
    expect(out.join("")).toBe("Bleed the pump first.");
    expect(out).toEqual(["Bleed", " the", " pump", " first."]);
  });

  it("a retry that says something else is reported, and nothing contradicting is sent", () => {
    const { out, stream } = assembler();
    stream.piece({ seq: 0, text: "Bleed the" });
    stream.piece({ seq: 0, text: "Drain the tank" });
    expect(stream.diverged).toBe(true);
    expect(stream.finish("Drain the tank")).toBe(false);
    expect(out).toEqual(["Bleed the"]);
  });

  it("a missed piece stops the live stream; the end is filled in from the result", () => {
    const { out, stream } = assembler();
    stream.piece({ seq: 0, text: "Bleed" });
    stream.piece({ seq: 2, text: " pump" });
    stream.piece({ seq: 3, text: " first" });
    expect(out).toEqual(["Bleed"]);
    expect(stream.finish("Bleed the pump first")).toBe(true);
    expect(out).toEqual(["Bleed", " the pump first"]);
  });

  it("sends each token's log probabilities once, with the piece they came with, across a retry and the end", () => {
    const out: Array<[string, string, string[]]> = [];
    const tokens = (entries: Array<{ token: string }> | undefined) => (entries ?? []).map((entry) => entry.token);
    const stream = new StreamAssembler((text, logprobs) => out.push(["text", text, tokens(logprobs)]), (text, logprobs) => out.push(["thinking", text, tokens(logprobs)]));
    const lp = (token: string) => ({ token, logprob: -0.1 });
    stream.piece({ seq: 0, text: "", thinking: "Hm.", logprobs: [lp("Hm"), lp(".")] });
    // A piece with thinking and text: the thinking's tokens go with the thinking, the rest with the text.
    stream.piece({ seq: 1, text: "Bleed", thinking: " Ok.", logprobs: [lp(" Ok"), lp("."), lp("Bleed")] });
    // The retry repeats what was sent, then goes on: only the new tokens' entries go out.
    stream.piece({ seq: 0, text: "", thinking: "Hm.", logprobs: [lp("Hm"), lp(".")] });
    stream.piece({ seq: 1, text: "Bleed it", thinking: " Ok.", logprobs: [lp(" Ok"), lp("."), lp("Bleed"), lp(" it")] });
    expect(stream.finish("Bleed it now", "Hm. Ok.", ["Hm", ".", " Ok", ".", "Bleed", " it", " now"].map(lp))).toBe(true);
    expect(out).toEqual([
      ["thinking", "Hm.", ["Hm", "."]],
      ["thinking", " Ok.", [" Ok", "."]],
      ["text", "Bleed", ["Bleed"]],
      ["text", " it", [" it"]],
      ["text", " now", [" now"]],
    ]);
    // The end of the thinking and the whole answer filled in from the result at once: split the same way.
    const late: Array<[string, string, string[]]> = [];
    const filled = new StreamAssembler((text, logprobs) => late.push(["text", text, tokens(logprobs)]), (text, logprobs) => late.push(["thinking", text, tokens(logprobs)]));
    filled.piece({ seq: 0, text: "", thinking: "Hm.", logprobs: [lp("Hm"), lp(".")] });
    expect(filled.finish("Bleed it", "Hm. Ok.", ["Hm", ".", " Ok", ".", "Bleed", " it"].map(lp))).toBe(true);
    expect(late).toEqual([
      ["thinking", "Hm.", ["Hm", "."]],
      ["thinking", " Ok.", [" Ok", "."]],
      ["text", "Bleed it", ["Bleed", " it"]],
    ]);
    // Thinking nobody listens for: its entries ride on the text.
    const unheard: Array<[string, string[]]> = [];
    const plain = new StreamAssembler((text, logprobs) => unheard.push([text, tokens(logprobs)]));
    plain.piece({ seq: 0, text: "Bleed", thinking: "Hm.", logprobs: [lp("Hm"), lp("."), lp("Bleed")] });
    expect(unheard).toEqual([["Bleed", ["Hm", ".", "Bleed"]]]);
    // Entries with no new text (a chunk that only carried them) still go out, on an empty piece.
    const bare: Array<[string, string[]]> = [];
    const other = new StreamAssembler((text, logprobs) => bare.push([text, tokens(logprobs)]));
    other.piece({ seq: 0, text: "", logprobs: [lp("<tool>")] });
    expect(bare).toEqual([["", ["<tool>"]]]);
  });

  it("ignores progress that is not a token piece", () => {
    const { out, stream } = assembler();
    stream.piece(42);
    stream.piece({ seq: -1, text: "x" });
    expect(out).toEqual([]);
  });
});

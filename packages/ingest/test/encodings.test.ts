import { describe, expect, it } from "vitest";
import { applyFallbackCharset, canonicalCharset, charsetParameter, withCharset } from "../src/index.js";
import { parseAndChunk, parseDocument } from "../src/parsing.js";

const latin1 = (text: string) => Buffer.from(text, "latin1");
const utf16 = (text: string, order: "le" | "be") => {
  const le = Buffer.from(`\ufeff${text}`, "utf16le");
  return order === "le" ? le : Buffer.from(le).swap16();
};
const textOf = async (bytes: Uint8Array, type: string) => (await parseDocument(bytes, type)).map((block) => block.text).join("\n");
const settings = { chunkTokens: 60, chunkOverlap: 15 };

describe("MIME charset parameters", () => {
  it("reads the charset parameter whatever its case and quoting", () => {
    expect(charsetParameter("text/plain; charset=Windows-1252")).toBe("windows-1252");
    expect(charsetParameter('text/html;format=flowed; CHARSET="ISO-8859-15"')).toBe("iso-8859-15");
    expect(charsetParameter("text/plain")).toBeUndefined();
    expect(charsetParameter("text/plain; charset=")).toBeUndefined();
  });

  it("stores one spelling per encoding: UTF-8 left out, aliases canonical, no charset on PDF", () => {
    expect(canonicalCharset("latin1")).toBe("windows-1252");
    expect(canonicalCharset("bogus")).toBeUndefined();
    expect(withCharset("text/plain", "latin1")).toBe("text/plain; charset=windows-1252");
    expect(withCharset("text/markdown", "UTF8")).toBe("text/markdown");
    expect(withCharset("application/pdf", "windows-1252")).toBe("application/pdf");
    expect(withCharset("text/plain", "bogus")).toBe("text/plain; charset=bogus");
    expect(withCharset("text/plain", undefined)).toBe("text/plain");
  });
});

describe("decoding text documents", () => {
  it("decodes the charset the MIME type declares", async () => {
    expect(await textOf(latin1("Café crème: purger la pompe."), "text/plain; charset=windows-1252")).toBe("Café crème: purger la pompe.");
    const shiftJis = Buffer.from([0x83, 0x7c, 0x83, 0x93, 0x83, 0x76]); // ポンプ
    expect(await textOf(shiftJis, "text/markdown; charset=shift_jis")).toBe("ポンプ");
  });

  it("follows a byte order mark, which outranks a declared charset", async () => {
    expect(await textOf(utf16("Bleed the pump (UTF-16LE).", "le"), "text/plain")).toBe("Bleed the pump (UTF-16LE).");
    expect(await textOf(utf16("Bleed the pump (UTF-16BE).", "be"), "text/plain")).toBe("Bleed the pump (UTF-16BE).");
    expect(await textOf(utf16("Entlüften", "le"), "text/plain; charset=windows-1252")).toBe("Entlüften");
    expect(await textOf(Buffer.from("\ufeff# Überschrift\n\nText.", "utf8"), "text/markdown")).toBe("Überschrift\nText.");
  });

  it("reads an HTML page's own <meta charset>, but not from a Markdown file", async () => {
    const page = latin1('<html><head><meta charset="windows-1252"><title>x</title></head><body><h1>Ventil prüfen</h1></body></html>');
    expect(await textOf(page, "text/html")).toBe("Ventil prüfen");
    const pragma = latin1('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head><body><p>Dichtung wechseln: größer.</p></body></html>');
    expect(await textOf(pragma, "text/html")).toBe("Dichtung wechseln: größer.");
    const markdown = latin1('<meta charset="windows-1252">\n\nPrüfen.');
    expect(await parseAndChunk({ bytes: markdown, type: "text/markdown", ...settings })).toMatchObject({ ok: false, reason: expect.stringContaining("not valid UTF-8") });
  });

  it("fails text that is not valid in its encoding, saying how to declare another", async () => {
    const undeclared = await parseAndChunk({ bytes: latin1("Café"), type: "text/plain", ...settings });
    expect(undeclared).toMatchObject({ ok: false, reason: expect.stringMatching(/^the text is not valid UTF-8; .*charset=windows-1252.*--fallback-charset/) });
    const declared = await parseAndChunk({ bytes: latin1("Café"), type: "text/plain; charset=utf-8", ...settings });
    expect(declared).toEqual({ ok: false, reason: "the text is not valid utf-8, the encoding it declares" });
    const oddUtf16 = await parseAndChunk({ bytes: new Uint8Array([0xff, 0xfe, 0x41]), type: "text/plain", ...settings });
    expect(oddUtf16).toEqual({ ok: false, reason: "the text is not valid utf-16le, the encoding it declares" });
    expect(await parseAndChunk({ bytes: latin1("x"), type: "text/plain; charset=bogus", ...settings })).toEqual({ ok: false, reason: 'unsupported charset "bogus"' });
  });
});

describe("an upload's fallback charset", () => {
  it("applies only to text that is not UTF-8 and declares nothing of its own", () => {
    expect(applyFallbackCharset(latin1("Café"), "text/plain", "windows-1252")).toBe("text/plain; charset=windows-1252");
    expect(applyFallbackCharset(Buffer.from("Café", "utf8"), "text/plain", "windows-1252")).toBe("text/plain");
    expect(applyFallbackCharset(latin1("plain ASCII"), "text/plain", "windows-1252")).toBe("text/plain");
    expect(applyFallbackCharset(utf16("Café", "le"), "text/plain", "windows-1252")).toBe("text/plain");
    expect(applyFallbackCharset(latin1('<meta charset="iso-8859-15"><p>Café</p>'), "text/html", "windows-1252")).toBe("text/html");
    expect(applyFallbackCharset(latin1("Café"), "text/plain; charset=iso-8859-15", "windows-1252")).toBe("text/plain; charset=iso-8859-15");
    expect(applyFallbackCharset(latin1("%PDF-1.4 é"), "application/pdf", "windows-1252")).toBe("application/pdf");
    expect(applyFallbackCharset(latin1("Café"), "text/plain", undefined)).toBe("text/plain");
  });
});

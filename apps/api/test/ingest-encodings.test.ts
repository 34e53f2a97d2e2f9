import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCollection } from "@herd/store";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const latin1 = (text: string) => Buffer.from(text, "latin1");
const LEGACY = "Entlüftung der Pumpe: vor dem ersten Start öffnen, bis Öl ohne Blasen austritt.";
const MODERN = "Dichtungen prüfen: alle 2000 Stunden die Wellendichtung erneuern.";

describe("text documents in other encodings than UTF-8", () => {
  const prefix = uniquePrefix("encodings");
  let stack: Stack;
  let db: pg.Pool;
  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true } });
    db = new pg.Pool({ connectionString: stack.api.db.url, max: 1 });
    const created = await stack.post("/v1/collections", { name: "handbuch", model: "all-minilm", language: "German" });
    expect(created.status).toBe(201);
    expect(created.body.language).toBe("german");
  });
  afterAll(async () => {
    await db?.end();
    await stack?.close();
  });


  /** The stored MIME type and chunk text of each document, by id. */
  async function stored(): Promise<Map<string, { mimeType: string; status: string; text: string }>> {
    const collection = await findCollection(db, "local", "handbuch");
    const { rows } = await db.query<{ external_id: string; mime_type: string; status: string; text: string | null }>(
      "SELECT d.external_id, d.mime_type, d.status, string_agg(c.text, ' ' ORDER BY c.ordinal) AS text FROM documents d LEFT JOIN chunks c ON c.document_id = d.id WHERE d.collection_id = $1 GROUP BY d.id",
      [collection?.id],
    );
    return new Map(rows.map((row) => [row.external_id, { mimeType: row.mime_type, status: row.status, text: row.text ?? "" }]));
  }

  it("reads the charset a JSON document's MIME type declares; JSON text is characters already", async () => {
    const documents = [
      { id: "legacy.txt", base64: latin1(LEGACY).toString("base64"), mimeType: "text/plain; charset=ISO-8859-1" },
      { id: "text.txt", text: MODERN, mimeType: "text/plain; charset=windows-1252" },
      { id: "undeclared.txt", base64: latin1(LEGACY).toString("base64") },
      { id: "bogus.txt", base64: latin1(LEGACY).toString("base64"), mimeType: "text/plain; charset=klingon" },
    ];
    const accepted = await stack.post("/v1/collections/handbuch/documents", { documents });
    expect(accepted.status).toBe(202);
    const summary = await stack.ingestionSettled(accepted.body.ingestionId);
    expect(summary.documents).toMatchObject({ total: 4, done: 2, failed: 2 });
    expect(summary.errors).toEqual(
      expect.arrayContaining([
        { documentId: "undeclared.txt", error: expect.stringMatching(/^the text is not valid UTF-8; .*charset=windows-1252/) },
        { documentId: "bogus.txt", error: 'unsupported charset "klingon"' },
      ]),
    );
    const rows = await stored();
    expect(rows.get("legacy.txt")).toMatchObject({ mimeType: "text/plain; charset=windows-1252", status: "ready", text: LEGACY });
    expect(rows.get("text.txt")).toMatchObject({ mimeType: "text/plain", status: "ready", text: MODERN });
    // The collection is German: "Pumpen" finds "Pumpe" (English stemming would not).
    const found = await stack.post("/v1/collections/handbuch/search", { query: "Pumpen", k: 1, mode: "keyword" });
    expect(found.body.results[0]).toMatchObject({ documentId: "legacy.txt" });
  });

  it("re-ingests the same bytes once their encoding is declared", async () => {
    const again = await stack.post("/v1/collections/handbuch/documents", {
      documents: [{ id: "undeclared.txt", base64: latin1(LEGACY).toString("base64"), mimeType: "text/plain; charset=windows-1252" }],
    });
    expect((await stack.ingestionSettled(again.body.ingestionId)).documents).toMatchObject({ total: 1, done: 1, failed: 0 });
    expect((await stored()).get("undeclared.txt")).toMatchObject({ mimeType: "text/plain; charset=windows-1252", status: "ready", text: LEGACY });
  });

  it("applies a multipart upload's fallbackCharset only to the files that need it", async () => {
    const form = new FormData();
    form.append("fallbackCharset", "windows-1252");
    form.append("file", new Blob([latin1(LEGACY)]), "alt/entlueftung.txt");
    form.append("file", new Blob([Buffer.from(MODERN, "utf8")]), "neu/dichtungen.md");
    form.append("file", new Blob([latin1('<html><head><meta charset="iso-8859-15"></head><body><p>Größe: 40 Nm.</p></body></html>')]), "alt/drehmoment.html");
    const response = await fetch(`${stack.url}/v1/collections/handbuch/documents`, { method: "POST", body: form });
    expect(response.status).toBe(202);
    const summary = await stack.ingestionSettled(((await response.json()) as { ingestionId: string }).ingestionId);
    expect(summary.documents).toMatchObject({ total: 3, done: 3, failed: 0 });
    const rows = await stored();
    expect(rows.get("alt/entlueftung.txt")).toMatchObject({ mimeType: "text/plain; charset=windows-1252", text: LEGACY });
    expect(rows.get("neu/dichtungen.md")).toMatchObject({ mimeType: "text/markdown", text: MODERN });
    expect(rows.get("alt/drehmoment.html")).toMatchObject({ mimeType: "text/html", text: "Größe: 40 Nm." });
  });

  it("keeps the non-ASCII characters of multipart file names, which browsers, curl and the CLI send as UTF-8", async () => {
    const form = new FormData();
    form.append("file", new Blob([Buffer.from(MODERN, "utf8")]), "Prüfungen/Öl-Wechsel.md");
    form.append("file", new Blob([Buffer.from("检查液压泵的密封。", "utf8")]), "液压泵.txt");
    const response = await fetch(`${stack.url}/v1/collections/handbuch/documents`, { method: "POST", body: form });
    expect(response.status).toBe(202);
    const summary = await stack.ingestionSettled(((await response.json()) as { ingestionId: string }).ingestionId);
    expect(summary.documents).toMatchObject({ total: 2, done: 2, failed: 0 });
    const ids = [...(await stored()).keys()];
    expect(ids).toEqual(expect.arrayContaining(["Prüfungen/Öl-Wechsel.md", "液压泵.txt"]));
    expect(ids.filter((id) => id.includes("Ã") || id.includes("æ"))).toEqual([]);
  });

  it("finds a word however its accented letters are written: composed (NFC) or a base and a combining mark (NFD)", async () => {
    const nfd = (text: string) => text.normalize("NFD");
    const submitted = await stack.post("/v1/collections/handbuch/documents", {
      documents: [
        { id: "mac/entlueftung.txt", text: nfd("Entlüftung des Ölkreislaufs nach dem Filterwechsel.") },
        { id: "win/spannung.txt", text: "Prüfspannung der Ventilspule messen." },
      ],
    });
    expect(submitted.status).toBe(202);
    expect((await stack.ingestionSettled(submitted.body.ingestionId as string)).documents).toMatchObject({ total: 2, done: 2, failed: 0 });
    for (const [query, id] of [["Ölkreislauf", "mac/entlueftung.txt"], [nfd("Prüfspannung"), "win/spannung.txt"]] as const) {
      const { body } = await stack.post("/v1/collections/handbuch/search", { query, mode: "keyword", k: 1 });
      expect(body.results.map((hit: { documentId: string }) => hit.documentId), query).toEqual([id]);
    }
  });

  it("refuses an unknown fallbackCharset, naming the field", async () => {
    const form = new FormData();
    form.append("fallbackCharset", "klingon");
    form.append("file", new Blob([latin1(LEGACY)]), "x.txt");
    const response = await fetch(`${stack.url}/v1/collections/handbuch/documents`, { method: "POST", body: form });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_request", message: expect.stringMatching(/^fallbackCharset: unsupported charset/) });
    const json = await stack.post("/v1/collections/handbuch/documents", { fallbackCharset: "klingon", documents: [{ id: "y.txt", text: "x" }] });
    expect(json.status).toBe(400);
    expect(json.body.error.message).toMatch(/^fallbackCharset: unsupported charset/);
  });
});

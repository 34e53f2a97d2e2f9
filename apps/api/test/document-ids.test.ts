import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

const DECOMPOSED = "Pru\u0308fung.md";
const COMPOSED = "Pr\u00fcfung.md";

describe("document ids written composed or decomposed name one document", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("doc-ids"), fleet: { instances: 1, preload: true } });
    expect((await stack.post("/v1/collections", { name: "handbuch", model: "all-minilm" })).status).toBe(201);
  });
  afterAll(() => stack?.close());

  const upload = async (id: string, text: string) => {
    const accepted = await stack.post("/v1/collections/handbuch/documents", { documents: [{ id, text }] });
    expect(accepted.status).toBe(202);
    return stack.ingestionSettled(accepted.body.ingestionId);
  };
  const listed = async () => ((await stack.get("/v1/collections/handbuch/documents")).body.documents as Array<{ id: string }>).map((document) => document.id);

  it("stores an id composed (NFC), so an upload from macOS and one from elsewhere replace each other", async () => {
    await upload(DECOMPOSED, "Die Pumpe vor dem ersten Start entlüften.");
    expect(await listed()).toEqual([COMPOSED]);
    await upload(COMPOSED, "Die Pumpe vor jedem Start entlüften.");
    expect(await listed()).toEqual([COMPOSED]);
    for (const id of [COMPOSED, DECOMPOSED]) {
      const found = await stack.get(`/v1/collections/handbuch/documents/${encodeURIComponent(id)}`);
      expect(found.status).toBe(200);
      expect(found.body.id).toBe(COMPOSED);
    }
    const search = await stack.post("/v1/collections/handbuch/search", { query: "Pumpe entlüften", mode: "keyword" });
    expect(search.body.results.map((hit: { documentId: string; text: string }) => [hit.documentId, hit.text])).toEqual([[COMPOSED, "Die Pumpe vor jedem Start entlüften."]]);
  });

  it("refuses both forms in one upload as the same id, and deletes by either", async () => {
    const both = await stack.post("/v1/collections/handbuch/documents", { documents: [{ id: COMPOSED, text: "a" }, { id: DECOMPOSED, text: "b" }] });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain(`the id "${COMPOSED}" appears twice`);
    const form = new FormData();
    form.append("file", new Blob(["Den Ölstand täglich prüfen."], { type: "text/plain" }), `O\u0308l.txt`);
    const multipart = await fetch(`${stack.url}/v1/collections/handbuch/documents`, { method: "POST", body: form });
    expect(multipart.status).toBe(202);
    await stack.ingestionSettled(((await multipart.json()) as { ingestionId: string }).ingestionId);
    expect((await listed()).sort()).toEqual([COMPOSED, "\u00d6l.txt"].sort());
    const deleted = await fetch(`${stack.url}/v1/collections/handbuch/documents/${encodeURIComponent(DECOMPOSED)}`, { method: "DELETE" });
    expect(await deleted.json()).toEqual({ deleted: COMPOSED });
    expect(await listed()).toEqual(["\u00d6l.txt"]);
  });
});

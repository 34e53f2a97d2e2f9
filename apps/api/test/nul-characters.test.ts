import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/**
 * U+0000 is valid JSON (and can be sent in a path as %00, or in a file) but PostgreSQL cannot
 * store it in text or jsonb: each request holding it in a field that reaches the database gets a
 * 400 naming the field (a 404 for a name in the path, which no collection or document can have),
 * and a document whose text holds it is stored without it. Run on the embedded database, where a
 * failed statement once also failed the next request.
 */
describe("the NUL character in requests and documents", () => {
  const prefix = uniquePrefix("nul");
  let stack: Stack;
  beforeAll(async () => {
    // No in-process cache tier: a test below rewrites a chunk cache entry in Redis, as an earlier version left it.
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true }, database: "embedded", env: { HERD_CACHE_MEMORY: "0" } });
    expect((await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text" })).status).toBe(201);
  }, 60_000);
  afterAll(() => stack?.close());

  const nul = "\u0000";
  const documents = (document: Record<string, unknown>) => ({ documents: [{ id: "a.txt", text: "The pump seal.", ...document }] });
  const cases: Array<{ name: string; path: string; body: unknown; field: string }> = [
    { name: "search query", path: "/v1/collections/manuals/search", body: { query: `pump${nul}seal` }, field: "query" },
    { name: "search filter value", path: "/v1/collections/manuals/search", body: { query: "pump", filter: { area: { name: `x${nul}` } } }, field: "filter.area.name" },
    { name: "search filter key", path: "/v1/collections/manuals/search", body: { query: "pump", filter: { [`a${nul}`]: "x" } }, field: 'filter."a\\u0000"' },
    { name: "answer question", path: "/v1/collections/manuals/answer", body: { question: `why${nul}`, model: "llama3.2" }, field: "question" },
    { name: "answer history", path: "/v1/collections/manuals/answer", body: { question: "why", model: "llama3.2", history: [{ role: "user", content: `pump${nul}` }] }, field: "history.0.content" },
    { name: "document id", path: "/v1/collections/manuals/documents", body: documents({ id: `a${nul}.txt` }), field: "documents.0.id" },
    { name: "document file name", path: "/v1/collections/manuals/documents", body: documents({ id: undefined, filename: `a${nul}.txt` }), field: "documents.0.filename" },
    { name: "document MIME type", path: "/v1/collections/manuals/documents", body: documents({ mimeType: `text/plain${nul}` }), field: "documents.0.mimeType" },
    { name: "document metadata", path: "/v1/collections/manuals/documents", body: documents({ metadata: { tags: ["ok", `b${nul}`] } }), field: "documents.0.metadata.tags.1" },
  ];

  it.each(cases)("$name → 400 naming $field", async ({ path, body, field }) => {
    const response = await stack.post(path, body);
    expect([response.status, response.body.error?.code]).toEqual([400, "invalid_request"]);
    expect(response.body.error.message).toBe(`${field}: must not contain the NUL character (\\u0000), which PostgreSQL cannot store`);
  });

  it("refuses it in a multipart upload's metadata and file names", async () => {
    // Written by hand: a file name can carry %00 only RFC 5987-encoded (filename*=), which FormData does not write.
    const upload = async (fileName: string, metadata: string) => {
      const boundary = "herd-nul-test";
      const body = [
        `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${metadata}\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename*=UTF-8''${encodeURIComponent(fileName)}\r\nContent-Type: text/plain\r\n\r\nThe pump seal.\r\n`,
        `--${boundary}--\r\n`,
      ].join("");
      const response = await fetch(`${stack.url}/v1/collections/manuals/documents`, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body });
      return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
    };
    const metadata = await upload("a.txt", JSON.stringify({ area: `x${nul}` }));
    expect([metadata.status, metadata.body.error?.message]).toEqual([400, "metadata.area: must not contain the NUL character (\\u0000), which PostgreSQL cannot store"]);
    const fileName = await upload(`a${nul}.txt`, "{}");
    expect([fileName.status, fileName.body.error?.message]).toEqual([400, "file name: must not contain the NUL character (\\u0000), which PostgreSQL cannot store"]);
    // The same request without them is taken: the refusals above are for the NUL alone.
    expect((await upload("multipart.txt", JSON.stringify({ area: "x" }))).status).toBe(202);
  });

  it("answers 404 for a collection or document named with %00 in the path, and 400 for a listing cursor holding it", async () => {
    const answers = await Promise.all([
      stack.get("/v1/collections/manuals/documents/a%00b.txt"),
      stack.get("/v1/collections/man%00uals/documents"),
      fetch(`${stack.url}/v1/collections/manuals/documents/a%00b.txt`, { method: "DELETE" }).then(async (response) => ({ status: response.status, body: await response.json() })),
      fetch(`${stack.url}/v1/collections/man%00uals`, { method: "DELETE" }).then(async (response) => ({ status: response.status, body: await response.json() })),
      stack.get("/v1/collections/manuals/documents?after=a%00"),
    ]);
    expect(answers.map((answer) => [answer.status, answer.body.error?.code])).toEqual([
      [404, "document_not_found"],
      [404, "collection_not_found"],
      [404, "document_not_found"],
      [404, "collection_not_found"],
      [400, "invalid_request"],
    ]);
    expect(answers[4]?.body.error.message).toMatch(/^after: must not contain the NUL character/);
  });

  it("stores a document whose text holds it, without it, and finds it by its words", async () => {
    // UTF-16LE without a byte order mark, declared as nothing: read as UTF-8, a NUL follows every letter.
    const utf16 = Buffer.from("Check the gearbox breather monthly.", "utf16le").toString("base64");
    const submitted = await stack.post("/v1/collections/manuals/documents", {
      documents: [
        { id: "pdf-like.txt", text: `Replace the${nul} coolant filter${nul}${nul} every 500 hours.` },
        { id: "utf16.txt", base64: utf16 },
      ],
    });
    expect(submitted.status).toBe(202);
    const ingestion = await waitFor(async () => {
      const { body } = await stack.get(`/v1/ingestions/${submitted.body.ingestionId as string}`);
      return body.documents.pending === 0 ? body : undefined;
    }, { message: "the ingestion to finish" });
    expect(ingestion.documents).toMatchObject({ total: 2, done: 2, failed: 0 });
    for (const [query, id, text] of [
      ["coolant filter", "pdf-like.txt", "Replace the coolant filter every 500 hours."],
      ["gearbox breather", "utf16.txt", "Check the gearbox breather monthly."],
    ] as const) {
      const { status, body } = await stack.post("/v1/collections/manuals/search", { query, mode: "keyword", k: 1 });
      expect(status).toBe(200);
      expect(body.results.map((hit: { documentId: string; text: string }) => [hit.documentId, hit.text])).toEqual([[id, text]]);
    }
  });

  it("parses a document again rather than store chunks a cache entry from before this fix holds with NUL", async () => {
    const ingest = async () => {
      const submitted = await stack.post("/v1/collections/manuals/documents", { documents: [{ id: "cached.txt", text: "Grease the ram guides weekly." }] });
      return waitFor(async () => {
        const { body } = await stack.get(`/v1/ingestions/${submitted.body.ingestionId as string}`);
        return body.documents.pending === 0 ? body.documents : undefined;
      }, { message: "the ingestion to finish" });
    };
    expect(await ingest()).toMatchObject({ done: 1, failed: 0 });
    // What an earlier version cached for this content: the same chunks with the NUL its parser kept.
    const redis = testRedis();
    try {
      const keys = (await redis.keys(`{${prefix}}:cache:chunk:*`)).filter((key) => !key.endsWith(":warnings"));
      const entries = await Promise.all(keys.map(async (key) => [key, (await redis.get(key)) ?? ""] as const));
      const [key, value] = entries.find(([, cached]) => cached.includes("Grease the ram guides")) ?? [];
      if (!key || !value) throw new Error("no chunk cache entry for the document");
      await redis.set(key, value.replaceAll("ram guides", "ram\\u0000 guides"), "KEEPTTL");
    } finally {
      redis.disconnect();
    }
    expect((await fetch(`${stack.url}/v1/collections/manuals/documents/cached.txt`, { method: "DELETE" })).status).toBe(200);
    expect(await ingest()).toMatchObject({ done: 1, failed: 0 });
    const { body } = await stack.post("/v1/collections/manuals/search", { query: "grease ram guides", mode: "keyword", k: 1 });
    expect(body.results.map((hit: { documentId: string; text: string }) => [hit.documentId, hit.text])).toEqual([["cached.txt", "Grease the ram guides weekly."]]);
  });
});

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INGEST_QUEUE, queueName } from "@herd/jobs";
import { collectionFingerprint, findCollection } from "@herd/store";
import { makePdf, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { HerdClient } from "@herd/client";
import { Stack } from "./stack.js";

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

const DOCS = {
  "pump.md": "# Hydraulic pump\n\nThe hydraulic pump must be bled before first use. Open the bleed screw until oil flows without bubbles.\n\n## Seals\n\nReplace the pump shaft seal every 2000 hours.",
  "valve.html": "<h1>Relief valve</h1><p>The relief valve opens at 210 bar.</p><h2>Adjustment</h2><p>Turn the adjustment screw clockwise to raise the opening pressure.</p>",
  "belt.txt": "Drive belt tension\n\nCheck the drive belt tension weekly. A loose belt squeals at start-up.",
};


describe("document ingestion, search and answers", () => {
  const prefix = uniquePrefix("ingest");
  let stack: Stack;
  let db: pg.Pool;
  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 2, slots: [2], preload: true, latency: { embedMs: 2, evalTokenMs: 2 } }, env: { HERD_MAX_UPLOAD_BYTES: "1mb" } });
    db = new pg.Pool({ connectionString: stack.api.db.url, max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await stack?.close();
  });

  async function rows(name: string) {
    const collection = await findCollection(db, "local", name);
    if (!collection) throw new Error("no collection");
    const { rows: chunks } = await db.query("SELECT c.id, d.external_id, c.ordinal, c.content_hash FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.collection_id = $1 ORDER BY d.external_id, c.ordinal", [collection.id]);
    return { chunks, fingerprint: await collectionFingerprint(db, collection.id) };
  }

  it("creates a collection for a served embedding model, refusing bad ones", async () => {
    const created = await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text", chunkTokens: 64, chunkOverlap: 8 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "manuals", model: "nomic-embed-text:latest", dimensions: 768, chunkTokens: 64 });
    expect((await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text" })).body.error.code).toBe("collection_exists");
    // A name in another case is the served model, recorded as the fleet serves it.
    const anyCase = await stack.post("/v1/collections", { name: "any-case", model: "NOMIC-Embed-Text", chunkTokens: 64, chunkOverlap: 8 });
    expect(anyCase.body).toMatchObject({ name: "any-case", model: "nomic-embed-text:latest", dimensions: 768 });
    expect((await stack.post("/v1/collections", { name: "x", model: "llama3.2" })).status).toBe(404);
    expect((await stack.post("/v1/collections", { name: "bad name!", model: "nomic-embed-text" })).status).toBe(400);
    expect((await stack.post("/v1/collections", { name: "y", model: "nomic-embed-text", dimensions: 4096 })).status).toBe(400);
    expect(created.body.language).toBe("english");
    const unknownLanguage = await stack.post("/v1/collections", { name: "z", model: "nomic-embed-text", language: "klingon" });
    expect(unknownLanguage.status).toBe(400);
    expect(unknownLanguage.body.error.message).toMatch(/^language: the database has no text search configuration "klingon"; it has .*german/);
  });

  it("ingests text, Markdown, HTML and PDF; a corrupt PDF fails alone with its reason", async () => {
    const pdf = makePdf([["Coolant filter", "Change the coolant filter every 500 hours of operation."]]);
    const documents = [
      { id: "pump.md", base64: b64(DOCS["pump.md"]), mimeType: "text/markdown", metadata: { area: "hydraulics" } },
      { id: "valve.html", text: DOCS["valve.html"], mimeType: "text/html", metadata: { area: "hydraulics" } },
      { id: "belt.txt", text: DOCS["belt.txt"], metadata: { area: "drive" } },
      { id: "coolant.pdf", base64: b64(pdf), mimeType: "application/pdf", metadata: { area: "cooling" } },
      { id: "broken.pdf", base64: b64(Buffer.concat([pdf.subarray(0, 120), Buffer.from("this is not the rest of a pdf")])), mimeType: "application/pdf" },
      { id: "image.png", base64: b64("not really a png"), mimeType: "image/png" },
    ];
    const accepted = await stack.post("/v1/collections/manuals/documents", { documents });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("location")).toBe(`/v1/ingestions/${accepted.body.ingestionId}`);
    const summary = await stack.ingestionSettled(accepted.body.ingestionId);
    expect(summary).toMatchObject({ status: "completed_with_errors", collection: "manuals", documents: { total: 6, done: 4, failed: 2, pending: 0 } });
    expect(summary.chunks.embedded).toBe(summary.chunks.total);
    expect(summary.errors).toEqual(
      expect.arrayContaining([
        { documentId: "broken.pdf", error: expect.stringContaining("PDF") },
        { documentId: "image.png", error: expect.stringContaining('unsupported type "image/png"') },
      ]),
    );
    const { chunks } = await rows("manuals");
    expect(chunks.length).toBe(summary.chunks.total);
    expect(new Set(chunks.map((row: { external_id: string }) => row.external_id))).toEqual(new Set(["pump.md", "valve.html", "belt.txt", "coolant.pdf"]));
    const listed = await stack.get("/v1/collections/manuals");
    expect(listed.body).toMatchObject({ documents: 6, chunks: chunks.length });

    // The embedding batches' results (ids <ingest job>-r<round>-b<batch>) served their purpose
    // once the vectors were stored: none stays behind in the queue Redis.
    const redis = testRedis();
    try {
      const batchResults = async () => (await redis.keys(`{${prefix}}:result:*`)).filter((key) => /-r\d+-b\d+$/.test(key));
      await waitFor(async () => (await batchResults()).length === 0, { message: "the stored documents' batch results to be dropped" });
      const embedQueue = stack.api.queues.queue(queueName("embed", "nomic-embed-text:latest"));
      const embedJobs = await embedQueue.getCompleted();
      expect(embedJobs.filter((job) => /-r\d+-b\d+$/.test(job.id ?? "")).length).toBeGreaterThan(0);
      // Nor are they in the queue's list of results kept by count, which could drop them before their document is stored.
      const tracked = await redis.lrange(`{${prefix}}:results:${embedQueue.name}`, 0, -1);
      expect(tracked.filter((id) => /-r\d+-b\d+$/.test(id))).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it("re-ingesting unchanged documents adds no rows, changes nothing and embeds nothing", async () => {
    const before = await rows("manuals");
    const requestsBefore = stack.emulatorRequests("nomic-embed-text:latest");
    const again = await stack.post("/v1/collections/manuals/documents", {
      documents: [
        { id: "pump.md", base64: b64(DOCS["pump.md"]), mimeType: "text/markdown", metadata: { area: "hydraulics" } },
        { id: "belt.txt", text: DOCS["belt.txt"], metadata: { area: "drive" } },
      ],
    });
    const summary = await stack.ingestionSettled(again.body.ingestionId);
    expect(summary).toMatchObject({ status: "completed", documents: { done: 2, failed: 0 } });
    expect(await rows("manuals")).toEqual(before);
    expect(stack.emulatorRequests("nomic-embed-text:latest")).toBe(requestsBefore);
  });

  it("replaces a changed document's chunks", async () => {
    const changed = `${DOCS["belt.txt"]}\n\nReplace the belt when cracks appear on the ribs.`;
    const accepted = await stack.post("/v1/collections/manuals/documents", { documents: [{ id: "belt.txt", text: changed, metadata: { area: "drive" } }] });
    await stack.ingestionSettled(accepted.body.ingestionId);
    const { chunks } = await rows("manuals");
    const collection = await findCollection(db, "local", "manuals");
    const { rows: text } = await db.query("SELECT string_agg(c.text, ' ') AS text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = 'belt.txt' AND d.collection_id = $1", [collection?.id]);
    expect(text[0]?.text).toContain("cracks appear on the ribs");
    expect(chunks.length).toBeGreaterThan(0);
  });

  it("stores a PDF with pages without text, naming those pages in a warning; the warning follows the document", async () => {
    const scanned = makePdf([["Fuse F3 protects the pump motor."], [], ["Relay K1 switches the heater."], []]);
    const warning = "pages 2, 4 of 4 have no text (pictures of pages, a scan?): not searchable until made so with OCR, e.g. ocrmypdf";
    const upload = async (collection: string, pdf: Buffer) => {
      const accepted = await stack.post(`/v1/collections/${collection}/documents`, { documents: [{ id: "wiring.pdf", base64: b64(pdf), mimeType: "application/pdf" }] });
      return stack.ingestionSettled(accepted.body.ingestionId);
    };
    const first = await upload("manuals", scanned);
    expect(first).toMatchObject({ status: "completed", documents: { done: 1, failed: 0 }, warnings: [{ documentId: "wiring.pdf", warning }] });
    expect((await stack.get("/v1/collections/manuals/documents/wiring.pdf")).body).toMatchObject({ status: "ready", warnings: [warning] });
    // Unchanged: nothing is parsed again, and the warning still stands.
    expect(await upload("manuals", scanned)).toMatchObject({ warnings: [{ documentId: "wiring.pdf", warning }] });
    // The same chunks for another collection come from the chunk cache, with their warning.
    expect(await upload("any-case", scanned)).toMatchObject({ warnings: [{ documentId: "wiring.pdf", warning }] });
    expect((await stack.get("/v1/collections/any-case/documents/wiring.pdf")).body.warnings).toEqual([warning]);
    // A version whose pages all have text has none.
    expect(await upload("manuals", makePdf([["Fuse F3 protects the pump motor."], ["Relay K1 switches the heater."]]))).toMatchObject({ warnings: [] });
    expect((await stack.get("/v1/collections/manuals/documents/wiring.pdf")).body.warnings).toEqual([]);
    for (const collection of ["manuals", "any-case"]) expect((await fetch(`${stack.url}/v1/collections/${collection}/documents/wiring.pdf`, { method: "DELETE" })).status).toBe(200);
  });

  it("fails an old binary .ppt, .xls or .rtf naming its format and what to do, by its name alone", async () => {
    const ole = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]);
    const documents = [
      { id: "training.PPT", base64: b64(ole) },
      { id: "parts.xls", base64: b64(ole) },
      { id: "notes.rtf", base64: b64("{\\rtf1\\ansi Bleed the pump.}") },
    ];
    const accepted = await stack.post("/v1/collections/any-case/documents", { documents });
    const summary = await stack.ingestionSettled(accepted.body.ingestionId);
    expect(summary.errors).toEqual(
      expect.arrayContaining([
        { documentId: "training.PPT", error: "an old binary PowerPoint file (.ppt), which Herd does not read: save it as .pptx" },
        { documentId: "parts.xls", error: "an old binary Excel file (.xls), which Herd does not read: save it as .xlsx" },
        { documentId: "notes.rtf", error: "an RTF file, which Herd does not read: save it as .docx" },
      ]),
    );
  });

  it("searches by hybrid (default), vector and keyword, with a metadata filter", async () => {
    const hybrid = await stack.post("/v1/collections/manuals/search", { query: "How do I bleed the hydraulic pump?", k: 3 });
    expect(hybrid.status).toBe(200);
    expect(hybrid.body.mode).toBe("hybrid");
    expect(hybrid.body.results[0]).toMatchObject({ documentId: "pump.md", metadata: { area: "hydraulics" } });
    expect(hybrid.body.results[0].score).toBeGreaterThan(0);
    const keyword = await stack.post("/v1/collections/manuals/search", { query: "relief valve opening pressure", mode: "keyword" });
    expect(keyword.body.results[0].documentId).toBe("valve.html");
    expect(keyword.body.results[0].vectorRank).toBeNull();
    const vector = await stack.post("/v1/collections/manuals/search", { query: "coolant filter change interval", mode: "vector", k: 1 });
    expect(vector.body.results).toHaveLength(1);
    expect(vector.body.results[0].documentId).toBe("coolant.pdf");
    const filtered = await stack.post("/v1/collections/manuals/search", { query: "pump", filter: { area: "drive" } });
    expect(filtered.body.results.every((hit: { documentId: string }) => hit.documentId === "belt.txt")).toBe(true);
  });

  it("answers a question from the retrieved chunks, with citations", async () => {
    const response = await stack.post("/v1/collections/manuals/answer?wait=10000", { question: "At what pressure does the relief valve open?", model: "llama3.2" });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ type: "generate", status: "completed" });
    expect(response.body.result.answer).toContain("The relief valve opens at 210 bar.");
    expect(response.body.result.citations[0]).toMatchObject({ documentId: "valve.html", chunkId: expect.any(Number), heading: "Relief valve", excerpt: expect.stringContaining("210 bar") });
    const polled = await stack.get(`/v1/jobs/${response.body.id}`);
    expect(polled.body.result).toEqual(response.body.result);
  });

  it("answers a follow-up from the conversation so far: searched with the previous question, asked as a chat", async () => {
    const history = [
      { role: "user", content: "Should I check the drive belt tension?" },
      { role: "assistant", content: "Yes: a belt that is too slack squeals." },
    ];
    // "Which pressure?" alone is about the relief valve; after a question about the belt, the
    // previous question is searched with it and the belt's manual comes first.
    const alone = await stack.post("/v1/collections/manuals/answer?wait=10000", { question: "Which pressure?", model: "llama3.2", k: 1 });
    expect(alone.body.result.citations[0].documentId).toBe("valve.html");
    const followUp = await stack.post("/v1/collections/manuals/answer?wait=10000", { question: "Which pressure?", history, model: "llama3.2", k: 1 });
    expect(followUp.body).toMatchObject({ status: "completed" });
    expect(followUp.body.result.citations[0].documentId).toBe("belt.txt");
    // The model sees the conversation: the emulator answers from the sentences of all it was sent
    // that share the question's words, the earlier answer's among them.
    const seen = await stack.post("/v1/collections/manuals/answer?wait=10000", { question: "What squeals?", history, model: "llama3.2" });
    expect(seen.body.result.answer).toContain("Yes: a belt that is too slack squeals.");
    const streamed = await fetch(`${stack.url}/v1/collections/manuals/answer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: "What squeals?", history, model: "llama3.2", stream: true }) });
    const last = JSON.parse((await streamed.text()).trim().split("\n").at(-1) ?? "{}") as { answer?: string };
    expect(last.answer).toBe(seen.body.result.answer);
    for (const [history, message] of [
      [[{ role: "system", content: "x" }], "history.0.role"],
      [[{ role: "user", content: 1 }], "history.0.content: must be a string"],
      [Array.from({ length: 101 }, () => ({ role: "user", content: "x" })), "history: has more than 100 turns"],
    ] as const) {
      const refused = await stack.post("/v1/collections/manuals/answer", { question: "How often?", history, model: "llama3.2" });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain(message);
    }
  });

  it("streams an answer as NDJSON: the citations, the text piece by piece, then the whole answer", async () => {
    const question = "At what pressure does the relief valve open?";
    const streamed = async () => {
      const response = await fetch(`${stack.url}/v1/collections/manuals/answer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question, model: "llama3.2", stream: true }) });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
      return (await response.text()).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    };
    const lines = await streamed();
    const [first, ...rest] = lines;
    const last = rest.pop();
    expect(first).toEqual({ citations: expect.arrayContaining([expect.objectContaining({ documentId: "valve.html", excerpt: expect.stringContaining("210 bar") })]) });
    const deltas = rest.map((line) => line["delta"]);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((delta) => typeof delta === "string" && delta.length > 0)).toBe(true);
    expect(last).toMatchObject({ done: true, model: "llama3.2", cached: false, eval_count: expect.any(Number) });
    expect(last?.["answer"]).toContain("The relief valve opens at 210 bar.");
    expect(deltas.join("").trim()).toBe(last?.["answer"]);
    // The same answer and citations as the answer job, which waits for the whole of it.
    const whole = await stack.post("/v1/collections/manuals/answer?wait=10000", { question, model: "llama3.2" });
    expect(whole.body.result.answer).toBe(last?.["answer"]);
    expect(whole.body.result.citations).toEqual(first?.["citations"]);
    // Asked again, the generation comes from the cache: the text in one piece.
    const again = await streamed();
    expect(again.at(-1)).toMatchObject({ done: true, cached: true, answer: last?.["answer"] });
    expect(again.slice(1, -1).map((line) => line["delta"]).join("")).toBe(last?.["answer"]);
  });

  it("a client that leaves a streamed answer cancels its generation and frees the slot", async () => {
    for (const instance of stack.fleet.instances) await instance.setFault({ mode: "slow", rate: 1, factor: 50, status: 500, scope: "inference" });
    try {
      const leaving = new AbortController();
      const client = new HerdClient({ baseUrl: stack.url });
      const events = client.answerStream("manuals", "Explain the relief valve at length, please.", "llama3.2", { signal: leaving.signal });
      for await (const event of events) {
        if ("delta" in event) break;
      }
      leaving.abort();
      expect(await stack.generationStopped("llama3.2:latest")).toBe(1);
    } finally {
      for (const instance of stack.fleet.instances) await instance.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
  });

  it("rejects bad retrieval input with clear errors", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["/v1/collections/nope/search", { query: "x" }, 404, "collection_not_found"],
      ["/v1/collections/manuals/search", { query: "   " }, 400, "empty_query"],
      ["/v1/collections/manuals/search", { query: "x", k: 0 }, 400, "invalid_k"],
      ["/v1/collections/manuals/search", { query: "x", k: 101 }, 400, "invalid_k"],
      ["/v1/collections/manuals/search", { query: "x", mode: "fuzzy" }, 400, "invalid_request"],
      ["/v1/collections/manuals/answer", { question: "", model: "llama3.2" }, 400, "empty_query"],
      ["/v1/collections/manuals/answer", { question: "why?", model: "nope" }, 404, "model_not_served"],
      // Refused before the stream starts: a JSON error with its status, not a line of the stream.
      ["/v1/collections/manuals/answer", { question: "why?", model: "nope", stream: true }, 404, "model_not_served"],
      ["/v1/collections/manuals/answer?wait=1000", { question: "why?", model: "llama3.2", stream: true }, 400, "invalid_wait"],
      ["/v1/collections/manuals/answer", { question: "why?", model: "llama3.2", stream: "yes" }, 400, "invalid_request"],
      ["/v1/collections/nope/documents", { documents: [{ text: "x" }] }, 404, "collection_not_found"],
      ["/v1/collections/manuals/documents", { documents: [] }, 400, "invalid_request"],
      ["/v1/collections/manuals/documents", { documents: [{ id: "a", text: "x", base64: "eA==" }] }, 400, "invalid_request"],
      ["/v1/collections/manuals/documents", { documents: [{ id: "a", text: "x" }, { id: "a", text: "y" }] }, 400, "invalid_request"],
    ];
    for (const [path, body, status, code] of cases) {
      const response = await stack.post(path, body);
      expect({ path, status: response.status, code: response.body.error?.code }).toEqual({ path, status, code });
    }
  });

  it("takes multipart uploads, refuses oversized ones, and deletes a document with its chunks", async () => {
    const form = new FormData();
    form.append("metadata", JSON.stringify({ area: "lubrication" }));
    form.append("file", new Blob(["# Grease\n\nGrease the bearings monthly with lithium grease."], { type: "text/markdown" }), "guides/grease.md");
    const response = await fetch(`${stack.url}/v1/collections/manuals/documents`, { method: "POST", body: form });
    expect(response.status).toBe(202);
    const summary = await stack.ingestionSettled(((await response.json()) as { ingestionId: string }).ingestionId);
    expect(summary.documents).toMatchObject({ total: 1, done: 1 });
    const found = await stack.post("/v1/collections/manuals/search", { query: "lithium grease bearings", k: 1 });
    expect(found.body.results[0]).toMatchObject({ documentId: "guides/grease.md", metadata: { area: "lubrication" } });

    const deleted = await fetch(`${stack.url}/v1/collections/manuals/documents/guides/grease.md`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    const after = await stack.post("/v1/collections/manuals/search", { query: "lithium grease bearings", k: 5 });
    expect(after.body.results.some((hit: { documentId: string }) => hit.documentId === "guides/grease.md")).toBe(false);
    expect((await fetch(`${stack.url}/v1/collections/manuals/documents/guides/grease.md`, { method: "DELETE" })).status).toBe(404);

    const big = new FormData();
    big.append("file", new Blob([Buffer.alloc(2 * 1024 * 1024, 97)]), "big.txt");
    const tooBig = await fetch(`${stack.url}/v1/collections/manuals/documents`, { method: "POST", body: big });
    expect(tooBig.status).toBe(413);
  });

  it("fails a document at once when its ingest job fails for good, with the job's reason", async () => {
    expect((await stack.post("/v1/collections", { name: "doomed", model: "nomic-embed-text" })).status).toBe(201);
    await stack.api.ingest.worker.pause();
    let ingestionId: string;
    try {
      const accepted = await stack.post("/v1/collections/doomed/documents", { documents: [{ id: "gear.md", text: "# Gearbox\n\nChange the gearbox oil every 1000 hours." }] });
      expect(accepted.status).toBe(202);
      ingestionId = accepted.body.ingestionId as string;
      const [job] = await stack.api.queues.queue(INGEST_QUEUE).getJobs(["prioritized", "waiting"]).then((jobs) => jobs.filter((candidate) => candidate.data.ingestionId === ingestionId));
      // Data no step accepts: every attempt throws, so the job fails for good.
      await job?.updateData({ ...job.data, step: "no-such-step" });
      expect(job).toBeDefined();
    } finally {
      stack.api.ingest.worker.resume();
    }
    const summary = await stack.ingestionSettled(ingestionId);
    expect(summary).toMatchObject({ status: "completed_with_errors", documents: { total: 1, failed: 1, pending: 0 } });
    expect(summary.errors[0].error).toMatch(/^ingestion failed: .*step/s);
    const { rows } = await db.query("SELECT d.status, d.error FROM documents d JOIN collections c ON c.id = d.collection_id WHERE c.name = 'doomed'");
    expect(rows).toEqual([{ status: "failed", error: summary.errors[0].error }]);
  });

  it("analyzes the chunks table itself once ingestion has changed enough of it (keyword search reads its statistics)", async () => {
    const analyzed = async () => Number((await db.query<{ n: string }>("SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'chunks'")).rows[0]?.n ?? 0);
    const before = await analyzed();
    expect((await stack.post("/v1/collections", { name: "long", model: "nomic-embed-text", chunkTokens: 64, chunkOverlap: 8 })).status).toBe(201);
    // About 80 chunks of 64 tokens: past the first ANALYZE's threshold of 50 rows written.
    const text = Array.from({ length: 80 }, (_, i) => `## Step ${i}\n\n${Array.from({ length: 50 }, (_, j) => `word${(i * 7 + j) % 300}`).join(" ")}.`).join("\n\n");
    const accepted = await stack.post("/v1/collections/long/documents", { documents: [{ id: "long.md", text, mimeType: "text/markdown" }] });
    const summary = await stack.ingestionSettled(accepted.body.ingestionId);
    expect(summary.chunks.total).toBeGreaterThan(50);
    // Counted by PostgreSQL as a manual ANALYZE (autovacuum's would be autoanalyze_count); its statistics reach the view within seconds.
    await waitFor(async () => (await analyzed()) > before, { timeoutMs: 20_000, message: "an ANALYZE of the chunks table" });
    const stats = await db.query("SELECT 1 FROM pg_stats WHERE tablename = 'chunks' AND attname = 'tsv' AND most_common_elems IS NOT NULL");
    expect(stats.rowCount).toBe(1);
  });
});

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HerdClient, HerdError } from "@herd/client";
import { RedisServer, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/** How many requests to `route` the API has answered 503, from its own metrics. */
async function refusedOn(url: string, route: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const line = metrics.split("\n").find((entry) => entry.startsWith("herd_http_request_duration_seconds_count") && entry.includes(`route="${route}"`) && entry.includes('status="503"'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("@herd/client against a running Herd", () => {
  let stack: Stack;
  let client: HerdClient;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("client"), fleet: { instances: 1, slots: [2], preload: true, latency: { embedMs: 30 } } });
    client = new HerdClient({ baseUrl: stack.url, longPollMs: 5000 });
  });
  afterAll(() => stack?.close());

  it("submits, waits and returns typed results", async () => {
    const vectors = await client.embed("nomic-embed-text", ["client one", "client two"]);
    expect(vectors).toHaveLength(2);
    expect(vectors[0]).toHaveLength(768);
    const submitted = await client.submit({ type: "generate", model: "llama3.2", prompt: "Hello.", options: { num_predict: 3 } });
    expect("id" in submitted && submitted.id).toBeTruthy();
    const view = await client.wait((submitted as { id: string }).id);
    expect(view).toMatchObject({ status: "completed", type: "generate" });
  });

  it("raises HerdError with the API's status and code", async () => {
    await expect(client.embed("nope", "x")).rejects.toMatchObject({ name: "HerdError", status: 404, code: "model_not_served" });
    await expect(client.job("nope")).rejects.toBeInstanceOf(HerdError);
    const unreachable = new HerdClient({ baseUrl: "http://127.0.0.1:9" });
    await expect(unreachable.collections()).rejects.toMatchObject({ status: 0, code: "unreachable" });
  });

  it("creates a collection, ingests, searches and answers", async () => {
    expect(await client.collection("docs")).toBeUndefined();
    expect(await client.createCollection({ name: "docs", model: "nomic-embed-text" })).toMatchObject({ queryPrefix: "search_query: ", documentPrefix: "search_document: " });
    expect(await client.createCollection({ name: "bare", model: "nomic-embed-text", queryPrefix: "", documentPrefix: "" })).toMatchObject({ queryPrefix: "", documentPrefix: "" });
    const id = await client.ingest("docs", [
      { id: "a/pump.md", data: "# Pump\n\nBleed the pump before the first start.", mimeType: "text/markdown" },
      { id: "b/valve.txt", data: new TextEncoder().encode("The relief valve opens at 210 bar.") },
    ], { source: "client-test" });
    const readings: number[] = [];
    const summary = await client.waitForIngestion(id, { pollMs: 50, onProgress: (reading) => readings.push(reading.documents.done) });
    expect(summary).toMatchObject({ status: "completed", documents: { total: 2, done: 2 } });
    expect(readings.at(-1)).toBe(2);
    const found = await client.search("docs", "relief valve pressure", { k: 1 });
    expect(found.results[0]).toMatchObject({ documentId: "b/valve.txt", metadata: { source: "client-test" } });
    const answer = await client.answer("docs", "When must the pump be bled?", "llama3.2");
    expect(answer.answer).toContain("Bleed the pump before the first start.");
    expect(answer.citations[0]?.documentId).toBe("a/pump.md");
    // Streamed: the citations, the pieces of text, then the whole answer (the same answer).
    const events = [];
    for await (const event of client.answerStream("docs", "When must the pump be bled?", "llama3.2")) events.push(event);
    expect(events[0]).toEqual({ citations: answer.citations });
    const pieces = events.slice(1, -1).map((event) => ("delta" in event ? event.delta : ""));
    expect(pieces.join("").trim()).toBe(answer.answer);
    expect(events.at(-1)).toMatchObject({ done: true, answer: answer.answer });
    await expect(async () => {
      for await (const event of client.answerStream("docs", "Why?", "nope")) expect(event).toBeUndefined();
    }).rejects.toMatchObject({ name: "HerdError", status: 404, code: "model_not_served" });
    // A follow-up with the conversation so far: the model sees the earlier turns.
    const history = [{ role: "user" as const, content: "What about noises?" }, { role: "assistant" as const, content: "A dry pump bearing squeals." }];
    expect((await client.answer("docs", "What squeals?", "llama3.2", { history })).answer).toContain("A dry pump bearing squeals.");
    const followUp = [];
    for await (const event of client.answerStream("docs", "What squeals?", "llama3.2", { history })) followUp.push(event);
    expect(followUp.at(-1)).toMatchObject({ done: true, answer: expect.stringContaining("A dry pump bearing squeals.") });
    await client.deleteDocument("docs", "a/pump.md");
    expect((await client.collection("docs"))?.documents).toBe(1);
  });
});

describe("@herd/client reading a streamed answer", () => {
  it("throws when the stream ends before its last line (the connection cut mid-answer)", async () => {
    // A server that sends the first lines of an answer and closes, as a restarting API would.
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end('{"citations":[]}\n{"delta":"Bleed the"}\n');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const client = new HerdClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const events: unknown[] = [];
      await expect(async () => {
        for await (const event of client.answerStream("docs", "How?", "llama3.2")) events.push(event);
      }).rejects.toMatchObject({ name: "HerdError", code: "incomplete_stream" });
      expect(events).toEqual([{ citations: [] }, { delta: "Bleed the" }]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("@herd/client while no worker is live", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("client-retry"), fleet: { instances: 1, preload: true } });
    await stack.worker.close(2000);
    await waitFor(async () => (await stack.get("/ready")).status === 503, { message: "/ready to see no worker" });
  });
  afterAll(() => stack?.close());

  const refusedSubmits = () => refusedOn(stack.url, "/v1/jobs");

  it("gives up with the 503 once its timeout is spent", async () => {
    const client = new HerdClient({ baseUrl: stack.url });
    await expect(client.embed("nomic-embed-text", "no worker", { timeoutMs: 1000 })).rejects.toMatchObject({ status: 503, code: "no_live_workers" });
  });

  it("retries a refused submit after its Retry-After and returns the result once a worker is back", async () => {
    const client = new HerdClient({ baseUrl: stack.url, longPollMs: 5000 });
    const before = await refusedSubmits();
    const vectors = client.embed("nomic-embed-text", "submitted while no worker was live", { timeoutMs: 30_000 });
    await waitFor(async () => (await refusedSubmits()) > before, { message: "the client's submit to be refused" });
    await stack.startWorker();
    const [vector] = await vectors;
    expect(vector).toHaveLength(768);
  });
});

describe("@herd/client while the queue Redis is full", () => {
  let redis: RedisServer;
  let admin: Redis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    stack = await Stack.start({ prefix: uniquePrefix("client-oom"), fleet: { instances: 1, preload: true }, redisUrl: redis.url, ownRedis: true, waitHealthy: true });
  });
  afterAll(async () => {
    await stack?.close();
    admin?.disconnect();
    await redis?.close();
  });

  const refusedUploads = () => refusedOn(stack.url, "/v1/collections/:name/documents");

  it("sends a refused upload again after its Retry-After, and the ingestion completes", async () => {
    const client = new HerdClient({ baseUrl: stack.url });
    await client.createCollection({ name: "full", model: "nomic-embed-text" });
    await admin.config("SET", "maxmemory", "1");
    // Settled into a value at once, so a rejection is this test's failure, not an unhandled one.
    const uploaded = client.ingest("full", [{ id: "pump.md", data: "# Pump\n\nBleed the pump before the first start.", mimeType: "text/markdown" }], undefined, { timeoutMs: 60_000 }).then(
      (id) => ({ id }),
      (error: unknown) => ({ error }),
    );
    try {
      await waitFor(async () => (await refusedUploads()) > 0, { message: "the client's upload to be refused" });
    } finally {
      await admin.config("SET", "maxmemory", "0");
    }
    const outcome = await uploaded;
    if ("error" in outcome) throw outcome.error;
    const summary = await client.waitForIngestion(outcome.id, { pollMs: 50 });
    expect(summary).toMatchObject({ status: "completed", documents: { total: 1, done: 1 } });
  });

  it("gives up with the 503 once its timeout is spent", async () => {
    const client = new HerdClient({ baseUrl: stack.url });
    await admin.config("SET", "maxmemory", "1");
    try {
      await expect(client.ingest("full", [{ id: "valve.md", data: "# Valve", mimeType: "text/markdown" }], undefined, { timeoutMs: 1000 })).rejects.toMatchObject({ status: 503, code: "redis_out_of_memory" });
    } finally {
      await admin.config("SET", "maxmemory", "0");
    }
  });
});

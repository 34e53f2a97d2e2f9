import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueName, type GenerateJobData } from "@herd/jobs";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

describe("hybrid search while the collection's embedding model cannot embed the query", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("search-degraded"), fleet: { instances: 1, preload: true } });
    await stack.post("/v1/collections", { name: "manuals", model: "nomic-embed-text" });
    const documents = [
      { id: "bleeding.md", text: "# Bleeding\n\nBleed the hydraulic pump through its bleed screw before the first start." },
      { id: "belt.md", text: "# Belt\n\nTension the drive belt every month." },
    ];
    const accepted = await stack.post("/v1/collections/manuals/documents", { documents });
    await stack.ingestionSettled(accepted.body.ingestionId);
  });
  afterAll(() => stack?.close());

  const healthy = async () => ((await (await fetch(`${stack.url}/ready`)).json()) as { healthyInstances: number }).healthyInstances;

  it("answers at once from its keywords, saying so, while no instance is healthy; and an answer finds its sources so", async () => {
    const before = await stack.post("/v1/collections/manuals/search", { query: "bleed the pump" });
    expect(before.body).not.toHaveProperty("degraded");
    await stack.fleet.instances[0]?.setFault({ mode: "refuse", rate: 1, factor: 10, status: 500, scope: "all" });
    await waitFor(async () => (await healthy()) === 0 || undefined, { message: "the instance seen unhealthy" });

    // A query whose vector is cached still ranks by vectors too.
    const cached = await stack.post("/v1/collections/manuals/search", { query: "bleed the pump" });
    expect(cached.status).toBe(200);
    expect(cached.body).not.toHaveProperty("degraded");
    expect(cached.body.results[0].vectorRank).not.toBeNull();

    const search = await stack.post("/v1/collections/manuals/search", { query: "bleed the hydraulic pump" });
    // Before: the query's embedding waited in a queue nobody pulled, and after 30 s the search failed 504.
    expect(search.status).toBe(200);
    expect(await stack.api.queues.queue(queueName("embed", "nomic-embed-text:latest")).getJobCounts("waiting", "prioritized", "active", "delayed")).toEqual({ waiting: 0, prioritized: 0, active: 0, delayed: 0 });
    expect(search.body).toMatchObject({ mode: "hybrid", degraded: { code: "embedding_unavailable", message: "ranked by keywords alone: nomic-embed-text:latest has no healthy instance now" } });
    expect(search.body.results.map((hit: { documentId: string }) => hit.documentId)).toEqual(["bleeding.md"]);

    // An answer finds its sources the same way, and its job (queued until a generation instance is back) carries why.
    const answer = await stack.post("/v1/collections/manuals/answer?wait=50", { question: "How do I bleed the pump?", model: "llama3.2" });
    expect(answer.status).toBe(202);
    const job = await stack.api.queues.queue(queueName("generate", "llama3.2:latest")).getJob(answer.body.id);
    expect((job?.data as GenerateJobData).answer).toMatchObject({ citations: [expect.objectContaining({ documentId: "bleeding.md" })], degraded: { code: "embedding_unavailable" } });
    expect((await fetch(`${stack.url}/v1/jobs/${answer.body.id}`, { method: "DELETE" })).status).toBe(200);
  }, 60_000);

  it("ranks by vectors again once an instance is healthy", async () => {
    await stack.fleet.instances[0]?.clearFault();
    await waitFor(async () => (await healthy()) === 1 || undefined, { message: "the instance healthy again" });
    const search = await stack.post("/v1/collections/manuals/search", { query: "bleed the pump" });
    expect(search.body).not.toHaveProperty("degraded");
    expect(search.body.results[0].vectorRank).not.toBeNull();
  });
});

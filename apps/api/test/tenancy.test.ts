import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeys, ConcurrencyQuota } from "@herd/access";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

describe("tenants (one per API key) see only their own jobs, collections and ingestions", () => {
  const prefix = uniquePrefix("tenancy");
  const redis = testRedis();
  let stack: Stack;
  let teamA = "";
  let teamB = "";
  let teamA2 = "";

  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true, latency: { evalTokenMs: 5 } }, env: { HERD_AUTH: "keys", HERD_KEY_CACHE: "0" } });
    const keys = new ApiKeys(redis, prefix, 0);
    teamA = (await keys.create({ name: "team-a" })).token;
    teamA2 = (await keys.create({ name: "team-a-ci", tenant: "team-a" })).token;
    teamB = (await keys.create({ name: "team-b" })).token;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    redis.disconnect();
  });

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it("another tenant's job is 404, exactly like an unknown id, for reads, long polls and cancels", async () => {
    const job = await call(teamA, "POST", "/v1/jobs", { type: "generate", model: "llama3.2", prompt: "Describe the pump seal in detail." });
    expect(job.status).toBe(202);
    const unknown = await call(teamB, "GET", "/v1/jobs/generate.bGxhbWEzLjI6bGF0ZXN0.000000000000000000000000");
    for (const path of [`/v1/jobs/${job.body.id}`, `/v1/jobs/${job.body.id}?wait=20000`]) {
      const other = await call(teamB, "GET", path);
      expect(other.status, path).toBe(404);
      expect(other.body.error.code).toBe(unknown.body.error.code);
    }
    expect((await call(teamB, "DELETE", `/v1/jobs/${job.body.id}`)).status).toBe(404);
    // Another key of the same tenant sees it.
    const mine = await call(teamA2, "GET", `/v1/jobs/${job.body.id}?wait=20000`);
    expect(mine.status).toBe(200);
    expect(mine.body.status).toBe("completed");
  });

  it("identical requests coalesce within a tenant, never across tenants", async () => {
    const request = { type: "generate", model: "llama3.2", prompt: "What is the maximum system pressure?", options: { temperature: 0 } };
    const [a1, a2, b1] = await Promise.all([call(teamA, "POST", "/v1/jobs", request), call(teamA2, "POST", "/v1/jobs", request), call(teamB, "POST", "/v1/jobs", request)]);
    expect(a1.body.id).toBe(a2.body.id);
    expect(b1.body.id).not.toBe(a1.body.id);
    expect((await call(teamB, "GET", `/v1/jobs/${a1.body.id}`)).status).toBe(404);
    expect((await call(teamB, "GET", `/v1/jobs/${b1.body.id}?wait=20000`)).body.status).toBe("completed");
  });

  it("cached results are kept per tenant: a cache hit never reveals another tenant's request", async () => {
    const body = { type: "embed", model: "nomic-embed-text", input: "torque of the prototype pump housing bolts" };
    const first = await call(teamA, "POST", "/v1/jobs?wait=20000", body);
    expect(first.body).toMatchObject({ status: "completed" });
    expect(first.body.cached).toBeUndefined();
    // The same tenant (another of its keys) hits the cache at once.
    const sameTenant = await call(teamA2, "POST", "/v1/jobs", body);
    expect(sameTenant.status).toBe(200);
    expect(sameTenant.body.cached).toBe(true);
    // Another tenant computes it: same vector, but no sign that anyone asked before.
    const otherTenant = await call(teamB, "POST", "/v1/jobs?wait=20000", body);
    expect(otherTenant.body.status).toBe("completed");
    expect(otherTenant.body.cached).toBeUndefined();
    expect(otherTenant.body.result.embeddings).toEqual(first.body.result.embeddings);
    expect((await call(teamB, "POST", "/v1/jobs", body)).body.cached).toBe(true);
  });

  it("one tenant's batch backlog does not hold up another tenant's interactive job", async () => {
    // Team A queues a batch backlog on the single generation slot; team B then asks interactively.
    const batch = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(teamA, "POST", "/v1/jobs", { type: "generate", model: "llama3.2", prompt: `Batch summary ${i} of the pump manual.`, priority: "batch" })),
    );
    const interactive = await call(teamB, "POST", "/v1/jobs?wait=20000", { type: "generate", model: "llama3.2", prompt: "Quick: what is E-402?" });
    expect(interactive.status).toBe(200);
    const views = await Promise.all(batch.map((job) => call(teamA, "GET", `/v1/jobs/${job.body.id}`)));
    // At most the batch jobs already on the slots (plus one fetched ahead) ran before team B's.
    const slots = stack.worker.bindings.filter((binding) => binding.model.model === "llama3.2:latest").reduce((sum, binding) => sum + binding.model.slots, 0);
    const finishedBefore = views.filter((view) => view.body.status === "completed").length;
    expect(finishedBefore).toBeLessThanOrEqual(slots + 1);
    expect(views.filter((view) => view.body.status !== "completed").length).toBeGreaterThan(0);
    await Promise.all(batch.map((job) => call(teamA, "GET", `/v1/jobs/${job.body.id}?wait=30000`)));
  });

  it("a key's concurrency quota caps its queued and running jobs; finished and canceled jobs free places", async () => {
    const keys = new ApiKeys(redis, prefix, 0);
    const { token: capped, key } = await keys.create({ name: "team-capped", concurrency: 2 });
    const submit = (i: number) => call(capped, "POST", "/v1/jobs", { type: "generate", model: "llama3.2", prompt: `Long answer ${i} about the hydraulic press.` });
    const [first, second] = [await submit(1), await submit(2)];
    expect([first.status, second.status]).toEqual([202, 202]);
    const refused = await fetch(`${stack.url}/v1/jobs`, { method: "POST", headers: { authorization: `Bearer ${capped}`, "content-type": "application/json" }, body: JSON.stringify({ type: "generate", model: "llama3.2", prompt: "One too many." }) });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("concurrency_limited");
    // Other keys are not affected.
    expect((await call(teamB, "POST", "/v1/jobs", { type: "generate", model: "llama3.2", prompt: "Unrelated." })).status).toBe(202);
    // Canceling the queued one (if it has not started yet) or waiting for both frees the places.
    const canceled = await call(capped, "DELETE", `/v1/jobs/${second.body.id}`);
    expect([200, 409]).toContain(canceled.status);
    await call(capped, "GET", `/v1/jobs/${first.body.id}?wait=20000`);
    if (canceled.status === 409) await call(capped, "GET", `/v1/jobs/${second.body.id}?wait=20000`);
    await waitFor(async () => (await new ConcurrencyQuota(redis, prefix).count(key.id)) === 0, { message: "the quota emptied" });
    expect((await submit(3)).status).toBe(202);
  });

  it("OpenAI's n choices each count against the key's quota: more than it allows is a 429, and the admitted choices' jobs are given back", async () => {
    const keys = new ApiKeys(redis, prefix, 0);
    const { token, key } = await keys.create({ name: "team-choices", concurrency: 2 });
    const ask = (n: number) =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "Describe the hydraulic press at length." }], n }),
      });
    const refused = await ask(3);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("concurrency_limited");
    await waitFor(async () => (await new ConcurrencyQuota(redis, prefix).count(key.id)) === 0, { message: "the admitted choices to give their places back" });
    const two = await ask(2);
    expect(two.status).toBe(200);
    expect(((await two.json()) as { choices: unknown[] }).choices).toHaveLength(2);
  });

  it("collections, their documents, searches, answers and ingestions belong to the tenant", async () => {
    expect((await call(teamA, "POST", "/v1/collections", { name: "manuals", model: "nomic-embed-text" })).status).toBe(201);
    const upload = await call(teamA, "POST", "/v1/collections/manuals/documents", { documents: [{ id: "pump.md", text: "# Pump\n\nBleed the pump before the first start." }] });
    expect(upload.status).toBe(202);
    await waitFor(async () => (await call(teamA, "GET", `/v1/ingestions/${upload.body.ingestionId}`)).body.status === "completed", { message: "ingestion" });

    expect((await call(teamB, "GET", "/v1/collections")).body.collections).toEqual([]);
    for (const [method, path, body] of [
      ["GET", "/v1/collections/manuals", undefined],
      ["POST", "/v1/collections/manuals/search", { query: "bleed the pump" }],
      ["POST", "/v1/collections/manuals/answer", { question: "How do I bleed the pump?", model: "llama3.2" }],
      ["POST", "/v1/collections/manuals/documents", { documents: [{ id: "x.md", text: "x" }] }],
      ["DELETE", "/v1/collections/manuals/documents/pump.md", undefined],
      ["GET", `/v1/ingestions/${upload.body.ingestionId}`, undefined],
    ] as const) {
      expect((await call(teamB, method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    // Team B may use the same name for a collection of its own.
    expect((await call(teamB, "POST", "/v1/collections", { name: "manuals", model: "nomic-embed-text" })).status).toBe(201);
    expect((await call(teamB, "POST", "/v1/collections/manuals/search", { query: "bleed the pump" })).body.results).toEqual([]);
    const search = await call(teamA, "POST", "/v1/collections/manuals/search", { query: "bleed the pump" });
    expect(search.body.results[0]?.documentId).toBe("pump.md");
  });
});

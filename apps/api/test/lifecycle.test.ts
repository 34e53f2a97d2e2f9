import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueName } from "@herd/jobs";
import { RedisServer, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { parseServerTiming } from "../src/server-timing.js";
import { Stack } from "./stack.js";

const EMBED_QUEUE = queueName("embed", "nomic-embed-text");

describe("job lifecycle", () => {
  const prefix = uniquePrefix("life");
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({
      prefix,
      fleet: { instances: 1, latency: { embedMs: 400 }, preload: true },
      env: { HERD_MAX_WAITING_PER_MODEL: "3", HERD_CACHE_EMBEDDING_TTL: "off" },
    });
  });
  afterAll(() => stack?.close());

  it("reports queued, running and completed with timings, attempts and instance", async () => {
    const submitted = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: "lifecycle one" });
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get("location")).toBe(`/v1/jobs/${submitted.body.id}`);
    expect(submitted.body.status).toBe("queued");
    const running = await waitFor(async () => {
      const view = await stack.get(`/v1/jobs/${submitted.body.id}`);
      return view.body.status === "running" ? view.body : undefined;
    }, { message: "running" });
    expect(running).toMatchObject({ type: "embed", model: "nomic-embed-text:latest", attempts: 1, instance: "ollama-0" });
    expect(running.result).toBeUndefined();
    const done = await stack.get(`/v1/jobs/${submitted.body.id}?wait=5000`);
    expect(done.body).toMatchObject({ status: "completed", attempts: 1, instance: "ollama-0" });
    expect(done.body.result.model).toBe("nomic-embed-text");
    expect(done.body.result.embeddings).toHaveLength(1);
    expect(done.body.result.embeddings[0]).toHaveLength(768);
    expect(done.body.timings.runMs).toBeGreaterThanOrEqual(300);
    expect(done.body.timings.totalMs).toBeGreaterThanOrEqual(done.body.timings.runMs);
  });

  it("reads a job whose result the worker stored as completed, before BullMQ records the completion", async () => {
    const submitted = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: "lifecycle stored before completed" });
    const id = submitted.body.id as string;
    await waitFor(async () => (await stack.get(`/v1/jobs/${id}`)).body.status === "running", { message: "running" });
    // What the worker writes first (then its reply, then BullMQ's completion, one round trip later).
    const redis = testRedis();
    try {
      await redis.set(`{${prefix}}:result:${id}`, '{"model":"nomic-embed-text","embeddings":[[0.6,0.8]]}', "PX", 60_000);
      const read = await stack.get(`/v1/jobs/${id}`);
      expect(read.body).toMatchObject({ id, status: "completed", attempts: 1, instance: "ollama-0", result: { embeddings: [[0.6, 0.8]] } });
    } finally {
      redis.disconnect();
    }
    await stack.get(`/v1/jobs/${id}?wait=5000`);
  });

  it("returns the finished job in one round trip with ?wait on submit", async () => {
    const response = await stack.post("/v1/jobs?wait=5000", { type: "embed", model: "nomic-embed-text", input: ["sync a", "sync b"] });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("completed");
    expect(response.body.result.embeddings).toHaveLength(2);
    // Server-Timing says where the API spent the time: queuing it, then waiting for the worker
    // (two inputs of 400 ms each on the instance), with no read after the worker's reply. The
    // worker's reply splits the wait: its slot wait, the Ollama call, its own work, and the rest.
    const timing = parseServerTiming(response.headers.get("server-timing"));
    expect(timing.map((entry) => entry.name)).toEqual(["enqueue", "wait", "slot", "ollama", "worker", "queue"]);
    const part = (name: string) => timing.find((entry) => entry.name === name)?.durationMs ?? Number.NaN;
    expect(part("wait")).toBeGreaterThanOrEqual(700);
    expect(timing[1]?.description).toBe("queued and running, answered by reply");
    expect(part("enqueue")).toBeLessThan(part("wait"));
    expect(part("ollama")).toBeGreaterThanOrEqual(700);
    expect(part("ollama")).toBeLessThanOrEqual(part("wait"));
    for (const name of ["slot", "worker", "queue"]) expect(part(name)).toBeGreaterThanOrEqual(0);
    // The parts add up to the wait, give or take the moment the worker starts before BullMQ's add
    // has returned to the API (then its parts overlap the enqueue segment, and the rest is 0).
    const worker = part("slot") + part("ollama") + part("worker");
    expect(worker).toBeLessThanOrEqual(part("wait") + part("enqueue"));
    expect(part("queue")).toBeCloseTo(Math.max(0, part("wait") - worker), 1);
  });

  it("answers a waiting submit with the result its worker sends, in the view a later read returns", async () => {
    const waits = async (via: string) => (await stack.api.metrics.jobs.waits.get()).values.find((value) => value.labels["via"] === via)?.value ?? 0;
    const [replies, events] = [await waits("reply"), await waits("event")];
    const response = await stack.post("/v1/jobs?wait=5000", { type: "embed", model: "nomic-embed-text", input: "answered by reply" });
    expect(response.status).toBe(200);
    expect(await waits("reply")).toBe(replies + 1);
    expect(await waits("event")).toBe(events);
    // The reply is sent before BullMQ records the completion: wait for the record, then compare.
    const stored = await waitFor(async () => {
      const view = await stack.get(`/v1/jobs/${response.body.id}`);
      return view.body.status === "completed" ? view.body : undefined;
    }, { message: "the completion recorded" });
    const { timings: sentTimings, ...sent } = response.body;
    const { timings: storedTimings, ...rest } = stored;
    expect(sent).toEqual(rest);
    expect(sent).toMatchObject({ status: "completed", attempts: 1, instance: "ollama-0" });
    // Both finish times are the worker's clock, taken a moment apart.
    expect(Math.abs(sentTimings.totalMs - storedTimings.totalMs)).toBeLessThanOrEqual(50);
    expect(sentTimings.queuedMs).toBe(storedTimings.queuedMs);
  });

  it("tells a waiting submit how its job ended by the worker's reply, without reading the queue's events", async () => {
    const queue = queueName("embed", "all-minilm");
    const waits = async (via: string) => (await stack.api.metrics.jobs.waits.get()).values.find((value) => value.labels["via"] === via)?.value ?? 0;
    const before = { reply: await waits("reply"), event: await waits("event"), state: await waits("state") };
    const fine = await stack.post("/v1/jobs?wait=5000", { type: "embed", model: "all-minilm", input: "a short one" });
    expect(fine.body.status).toBe("completed");
    // Too long for the model's context with truncation off: Ollama answers 400, so it fails for good at once.
    const failed = await stack.post("/v1/jobs?wait=5000", { type: "embed", model: "all-minilm", input: "word ".repeat(400), truncate: false });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ status: "failed", attempts: 1, error: { code: "bad_request" } });
    expect({ reply: await waits("reply"), event: await waits("event"), state: await waits("state") }).toEqual({ ...before, reply: before.reply + 2 });
    expect(stack.api.queues.eventQueues).not.toContain(queue);
    // A long poll needs the events: it starts reading them, and still finds the finished job.
    const polled = await stack.get(`/v1/jobs/${failed.body.id}?wait=5000`);
    expect(polled.body).toMatchObject({ status: "failed", error: { code: "bad_request" } });
    expect(parseServerTiming(polled.headers.get("server-timing")).map((entry) => entry.name)).toEqual(["wait", "read"]);
    expect(stack.api.queues.eventQueues).toContain(queue);
  });

  it("cancels a queued job, refuses to cancel a running one, and reports canceled", async () => {
    // Eight inputs, 400 ms each: the slot stays busy for seconds, well past the steps below even on a
    // loaded machine (one input, 400 ms, was once finished before the refused cancel).
    const running = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: Array.from({ length: 8 }, (_, i) => `occupies the slot ${i}`) });
    await waitFor(async () => (await stack.get(`/v1/jobs/${running.body.id}`)).body.status === "running", { message: "first job running" });
    const submittedAfter = Date.now();
    const queued = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: "will be canceled" });
    const submittedBefore = Date.now();
    // The job is created by then; once the clock has moved on, a cancel comes measurably later.
    await waitFor(async () => (await stack.get(`/v1/jobs/${queued.body.id}`)).body.status === "queued" && Date.now() > submittedBefore, { message: "second job queued" });
    const canceled = await fetch(`${stack.url}/v1/jobs/${queued.body.id}`, { method: "DELETE" });
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as { status: string }).status).toBe("canceled");
    const view = (await stack.get(`/v1/jobs/${queued.body.id}`)).body as { status: string; canceledAt: string; timings: { queuedMs: number; runMs: number; totalMs: number } };
    expect(view.status).toBe("canceled");
    // It was queued from its creation (within the submit) to the cancel: no run, and no zeros.
    const created = Date.parse(view.canceledAt) - view.timings.queuedMs;
    expect(created).toBeGreaterThanOrEqual(submittedAfter);
    expect(created).toBeLessThanOrEqual(submittedBefore);
    expect(view.timings).toEqual({ queuedMs: view.timings.queuedMs, runMs: 0, totalMs: view.timings.queuedMs });
    const again = await fetch(`${stack.url}/v1/jobs/${queued.body.id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    const busy = await fetch(`${stack.url}/v1/jobs/${running.body.id}`, { method: "DELETE" });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe("job_running");
    await stack.get(`/v1/jobs/${running.body.id}?wait=20000`);
    const finished = await fetch(`${stack.url}/v1/jobs/${running.body.id}`, { method: "DELETE" });
    expect(finished.status).toBe(409);
    const unknown = await fetch(`${stack.url}/v1/jobs/embed.bm9uZTpsYXRlc3Q.0123456789abcdef01234567`, { method: "DELETE" });
    expect(unknown.status).toBe(404);
  });

  it("answers 429 with Retry-After when a model's queue is full", async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => ({ type: "embed", model: "nomic-embed-text", input: `fill ${i}` }));
    const responses = [];
    for (const body of bodies) responses.push(await stack.post("/v1/jobs", body));
    const rejected = responses.filter((response) => response.status === 429);
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected[0]?.body.error.code).toBe("queue_full");
    expect(rejected[0]?.headers.get("retry-after")).toBe("1");
    const accepted = responses.filter((response) => response.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    await Promise.all(accepted.map((response) => stack.get(`/v1/jobs/${response.body.id}?wait=10000`)));
    await waitFor(async () => (await stack.api.queues.queue(EMBED_QUEUE).getJobCountByTypes("waiting", "prioritized", "active")) === 0, { timeoutMs: 15_000, message: "queue drained" });
  });

  it("reports readiness from Redis and the fleet", async () => {
    const ready = await stack.get("/ready");
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready", redis: "ok", healthyInstances: 1 });
    expect((await stack.get("/health")).body).toEqual({ status: "ok" });
  });
});

describe("Redis outage", () => {
  let redis: RedisServer;
  let stack: Stack;
  beforeAll(async () => {
    redis = await RedisServer.start();
    stack = await Stack.start({ prefix: uniquePrefix("outage"), redisUrl: redis.url, fleet: { instances: 1, preload: true } });
  });
  afterAll(async () => {
    await redis.restart();
    await stack?.close();
    await redis?.close();
  });

  it("answers 503 with Retry-After while Redis is down, stays up, and recovers", async () => {
    const body = { type: "embed", model: "nomic-embed-text", input: "before the outage" };
    const accepted = await stack.post("/v1/jobs", body);
    expect(accepted.status).toBe(202);
    await stack.get(`/v1/jobs/${accepted.body.id}?wait=5000`);

    await redis.stop();
    const during = await stack.post("/v1/jobs", { ...body, input: "during the outage" });
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe("redis_unavailable");
    expect(during.headers.get("retry-after")).toBe("1");
    const poll = await stack.get(`/v1/jobs/${accepted.body.id}`);
    expect(poll.status).toBe(503);
    const ready = await stack.get("/ready");
    expect(ready.status).toBe(503);
    expect((await stack.get("/health")).status).toBe(200);

    await redis.restart();
    const after = await waitFor(async () => {
      const response = await stack.post("/v1/jobs?wait=5000", { ...body, input: "after the outage" });
      return response.status === 200 ? response : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, message: "the API to accept jobs again" });
    expect(after.body.status).toBe("completed");
  });
});

describe("no live worker", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("noworker"), fleet: { instances: 1, preload: true } });
  });
  afterAll(() => stack?.close());

  it("answers 503 with Retry-After while no worker is live, 404 only for a model the live fleet lacks", async () => {
    const body = { type: "embed", model: "nomic-embed-text", input: "while the workers restart" };
    expect((await stack.post("/v1/jobs", { ...body, model: "mxbai-embed-large" })).status).toBe(404);

    // Leaving the fleet removes the worker's heartbeat at once.
    await stack.worker.close(2000);
    await waitFor(async () => (await stack.get("/ready")).status === 503, { message: "/ready to see no worker" });
    for (const [path, request] of [
      ["/v1/jobs", body],
      ["/v1/jobs", { ...body, model: "mxbai-embed-large" }],
      ["/api/embed", { model: "nomic-embed-text", input: "drop-in" }],
      ["/v1/collections", { name: "manuals", model: "nomic-embed-text" }],
    ] as const) {
      const response = await stack.post(path, request);
      expect(response.status, `${path} ${JSON.stringify(request)}`).toBe(503);
      expect(response.headers.get("retry-after")).toBe("2");
      if (path !== "/api/embed") expect(response.body.error.code).toBe("no_live_workers");
    }

    await stack.startWorker();
    const after = await waitFor(async () => {
      const response = await stack.post("/v1/jobs?wait=5000", body);
      return response.status === 200 ? response : undefined;
    }, { timeoutMs: 20_000, message: "a submit to succeed once a worker is back" });
    expect(after.body.status).toBe("completed");
    expect((await stack.post("/v1/jobs", { ...body, model: "mxbai-embed-large" })).status).toBe(404);
  });
});

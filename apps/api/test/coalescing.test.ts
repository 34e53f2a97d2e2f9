import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRIORITIES, queueName } from "@herd/jobs";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const EMBED = "nomic-embed-text:latest";

describe("cache and coalescing", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Calls long enough that the 50 "concurrent" submits below all arrive while their job runs, even
    // on a slow moment of a 2-core machine (at 250 ms the last ones once arrived after it finished).
    stack = await Stack.start({ prefix: uniquePrefix("coalesce"), fleet: { instances: 2, latency: { embedMs: 1000 }, preload: true } });
  });
  afterAll(() => stack?.close());

  async function jobCount(): Promise<number> {
    const counts = await stack.api.queues.queue(queueName("embed", EMBED)).getJobCounts();
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  }

  it("answers a repeat from the cache with 200, the same body shape, and no job", async () => {
    const body = { type: "embed", model: "nomic-embed-text", input: "cached sentence about torque" };
    const first = await stack.run(body);
    expect(first.status).toBe("completed");
    const callsBefore = stack.emulatorRequests(EMBED);
    const jobsBefore = await jobCount();

    const repeat = await stack.post("/v1/jobs", body);
    expect(repeat.status).toBe(200);
    expect(repeat.headers.get("location")).toBeNull();
    expect(repeat.body).toMatchObject({ id: null, type: "embed", model: EMBED, status: "completed", cached: true });
    expect(repeat.headers.get("server-timing")).toMatch(/^cache;dur=\d+\.\d\d;desc="validated, answered from the cache"$/);
    expect(repeat.body.result).toEqual(first.result);
    expect(Object.keys(repeat.body).sort()).toEqual(expect.arrayContaining(Object.keys(first).filter((key) => key !== "instance")));
    expect(stack.emulatorRequests(EMBED)).toBe(callsBefore);
    expect(await jobCount()).toBe(jobsBefore);
  });

  it("takes a model name in another case as the served model, as Ollama does, and echoes it as written", async () => {
    const text = "case of the model name";
    const upper = await stack.run({ type: "embed", model: "Nomic-Embed-Text", input: text });
    // The served model's job, queue and cache entries; the result names the model as requested.
    expect(upper).toMatchObject({ status: "completed", model: EMBED, result: { model: "Nomic-Embed-Text" } });
    const callsBefore = stack.emulatorRequests(EMBED);
    const lower = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input: text });
    expect(lower.status).toBe(200);
    expect(lower.body).toMatchObject({ cached: true, model: EMBED, result: { model: "nomic-embed-text", embeddings: upper.result.embeddings } });
    expect(stack.emulatorRequests(EMBED)).toBe(callsBefore);
    const generated = await stack.post("/api/generate", { model: "LLAMA3.2", prompt: "hi", stream: false, options: { num_predict: 3 } });
    expect(generated.status).toBe(200);
    expect(generated.body.model).toBe("LLAMA3.2");
  });

  it("turns 50 identical concurrent submits into exactly one Ollama call", async () => {
    const body = { type: "embed", model: "nomic-embed-text", input: "fifty identical requests" };
    const before = stack.emulatorRequests(EMBED);
    const responses = await Promise.all(Array.from({ length: 50 }, () => stack.post("/v1/jobs", body)));
    const ids = new Set(responses.filter((response) => response.status === 202).map((response) => response.body.id));
    expect(responses.every((response) => response.status === 202 || (response.status === 200 && response.body.cached))).toBe(true);
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const done = await stack.get(`/v1/jobs/${id}?wait=10000`);
    expect(done.body.status).toBe("completed");
    expect(stack.emulatorRequests(EMBED) - before).toBe(1);
  });

  it("lets a request that missed the cache just before a job completed join that job instead of calling Ollama again", async () => {
    const body = { type: "embed", model: "nomic-embed-text", input: "a request at the completion's edge" };
    const redis = testRedis();
    try {
      const cacheKeys = async () => new Set(await redis.keys(`{${stack.apiConfig.prefix}}:cache:embedding:*`));
      const before = await cacheKeys();
      const first = await stack.run(body);
      expect(first.status).toBe("completed");
      const written = [...(await cacheKeys())].filter((key) => !before.has(key));
      expect(written).toHaveLength(1);
      // The API's lookup for the next request ran before the worker cached the vector: as if, the
      // entry is gone; the job itself has completed and BullMQ has finished with it.
      await redis.del(written[0] as string);
      const dedupKeys = await redis.keys(`{${stack.apiConfig.prefix}}:${queueName("embed", EMBED)}:de:*`);
      const ttls = await Promise.all(dedupKeys.map((key) => redis.pttl(key)));
      expect(ttls.some((ttl) => ttl > 0 && ttl <= 5000)).toBe(true);
      const callsBefore = stack.emulatorRequests(EMBED);

      // Without wait, the joined job's own state is the answer: completed, so its view at once.
      const joinedDone = await stack.post("/v1/jobs", body);
      expect(joinedDone.status).toBe(200);
      expect(joinedDone.body).toMatchObject({ id: first.id, status: "completed" });
      expect(joinedDone.body.result).toEqual(first.result);
      const late = await stack.post("/v1/jobs?wait=10000", body);
      expect(late.status).toBe(200);
      expect(late.body).toMatchObject({ id: first.id, status: "completed" });
      expect(late.body.result).toEqual(first.result);
      expect(stack.emulatorRequests(EMBED)).toBe(callsBefore);
      // The grace lapses: past it, the same request (still uncached) is a new job and a new call.
      await redis.del(written[0] as string);
      await waitFor(async () => (await Promise.all(dedupKeys.map((key) => redis.exists(key)))).every((exists) => exists === 0), { timeoutMs: 10_000 });
      const again = await stack.post("/v1/jobs?wait=10000", body);
      expect(again.body).toMatchObject({ status: "completed" });
      expect(again.body.id).not.toBe(first.id);
      expect(stack.emulatorRequests(EMBED)).toBe(callsBefore + 1);
    } finally {
      redis.disconnect();
    }
  });

  it("lifts a queued batch job to interactive priority when an interactive request joins it", async () => {
    const queue = stack.api.queues.queue(queueName("embed", EMBED));
    const submit = async (input: string, priority: "interactive" | "batch", status = "queued") => {
      const response = await stack.post("/v1/jobs", { type: "embed", model: "nomic-embed-text", input, priority });
      expect(response.status).toBe(202);
      expect(response.body.status).toBe(status);
      return response.body.id as string;
    };
    // From an idle fleet, both instances' single embedding slot busy, so the batch jobs below stay queued.
    await waitFor(async () => {
      const counts = await queue.getJobCounts("active", "waiting", "prioritized");
      return (counts["active"] ?? 0) + (counts["waiting"] ?? 0) + (counts["prioritized"] ?? 0) === 0;
    });
    const blockers = [await submit("promotion blocker one", "interactive"), await submit("promotion blocker two", "interactive")];
    await waitFor(async () => (await Promise.all(blockers.map((id) => stack.get(`/v1/jobs/${id}`)))).every((view) => view.body.status === "running"), { timeoutMs: 5000 });
    // A request joining a running job is told it is running, not queued.
    expect(await submit("promotion blocker one", "interactive", "running")).toBe(blockers[0]);
    const batch = [await submit("promotion batch one", "batch"), await submit("promotion batch two", "batch"), await submit("promotion batch three", "batch")];
    const joined = await submit("promotion batch three", "interactive");
    expect(joined).toBe(batch[2]);
    expect((await queue.getJob(joined))?.priority).toBe(PRIORITIES.interactive);
    for (const id of [...blockers, ...batch]) expect((await stack.get(`/v1/jobs/${id}?wait=10000`)).body.status).toBe("completed");
    const startedAt = async (id: string) => (await queue.getJob(id))?.processedOn ?? Number.NaN;
    // Promoted, the last batch job runs in the first round after the blockers; unpromoted, it would run last.
    expect(await startedAt(joined)).toBeLessThan(await startedAt(batch[1] as string));
  });

  it("does not coalesce sampled generations: each one is its own job", async () => {
    const body = { type: "generate", model: "llama3.2", prompt: "Say something.", options: { temperature: 0.8, num_predict: 4 } };
    const responses = await Promise.all(Array.from({ length: 3 }, () => stack.post("/v1/jobs", body)));
    expect(new Set(responses.map((response) => response.body.id)).size).toBe(3);
    await Promise.all(responses.map((response) => stack.get(`/v1/jobs/${response.body.id}?wait=10000`)));
  });

  it("runs a resubmitted request again after a failure instead of returning the stale failure", async () => {
    // Longer than all-minilm's 256-token context with truncate:false: Ollama answers 400, unrecoverable.
    const body = { type: "embed", model: "all-minilm", input: "word ".repeat(400), truncate: false };
    const first = await stack.run(body);
    expect(first.status).toBe("failed");
    expect(first.error).toEqual({ code: "bad_request", message: "the input length exceeds the context length" });
    expect(first.attempts).toBe(1);
    const callsBefore = stack.emulatorRequests("all-minilm:latest");
    const second = await stack.run(body);
    expect(second.status).toBe("failed");
    expect(second.id).not.toBe(first.id);
    expect(stack.emulatorRequests("all-minilm:latest")).toBe(callsBefore + 1);
  });

  it("keeps every key it writes under the {prefix} hash tag (Redis Cluster safe)", async () => {
    const redis = testRedis();
    try {
      const prefix = stack.apiConfig.prefix;
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await redis.scan(cursor, "MATCH", `*${prefix}*`, "COUNT", 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== "0");
      expect(keys.length).toBeGreaterThan(10);
      expect(keys.filter((key) => !key.startsWith(`{${prefix}}:`))).toEqual([]);
      for (const kind of ["cache:embedding:", "result:", "fleet:worker", "embed.nomic-embed-text~3Alatest:"]) {
        expect(keys.some((key) => key.startsWith(`{${prefix}}:${kind}`)), kind).toBe(true);
      }
    } finally {
      redis.disconnect();
    }
  });

  it("serves deterministic generations from the inference cache", async () => {
    const body = { type: "generate", model: "llama3.2", prompt: "The valve is red. What colour is the valve?", options: { temperature: 0 } };
    const first = await stack.run(body);
    expect(first.result.response).toContain("The valve is red.");
    const repeat = await stack.post("/v1/jobs", body);
    expect(repeat.status).toBe(200);
    expect(repeat.body.cached).toBe(true);
    expect(repeat.body.result).toEqual(first.result);
  });
});

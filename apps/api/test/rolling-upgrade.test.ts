import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJobId, ownedJobName, queueName, type GenerateJobData } from "@herd/jobs";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/** A job queued by an API newer than the worker: fields the worker's catalog does not know. */
describe("rolling upgrades: a job with fields the worker does not know", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("upgrade"), fleet: { instances: 1, preload: true } });
  }, 60_000);
  afterAll(() => stack?.close());

  /** Queues `data` as a newer API would (2 attempts, quick backoff) and waits for the job to fail. */
  const failedJob = async (model: string, data: object) => {
    const id = createJobId("generate", model);
    await stack.api.queues.queue(queueName("generate", model)).add(ownedJobName("generate", "local"), data, { jobId: id, attempts: 2, backoff: { type: "fixed", delay: 20 } });
    return waitFor(async () => {
      const view = await stack.get(`/v1/jobs/${id}`);
      return view.body?.status === "failed" ? view.body : undefined;
    }, { message: "the job with an unknown field to fail" });
  };

  it("is refused, retried and failed as worker_outdated, never run without those fields", async () => {
    const model = "llama3.2:latest";
    const data: GenerateJobData & { watermark: string } = { model, requestModel: "llama3.2", mode: "generate", prompt: "Why is the pump loud?", cacheKey: null, watermark: "v9" };
    const calls = stack.emulatorRequests(model);
    expect(await failedJob(model, data)).toMatchObject({ attempts: 2, error: { code: "worker_outdated", message: expect.stringContaining("does not know the job field watermark") } });
    expect(stack.emulatorRequests(model)).toBe(calls);
    // The same request without the unknown field runs.
    const { watermark: _watermark, ...known } = data;
    const knownId = createJobId("generate", model);
    await stack.api.queues.queue(queueName("generate", model)).add(ownedJobName("generate", "local"), known, { jobId: knownId, attempts: 2 });
    const done = await waitFor(async () => {
      const view = await stack.get(`/v1/jobs/${knownId}`);
      return view.body?.status === "completed" ? view.body : undefined;
    }, { message: "the job without it to complete" });
    expect(done.result.response).toMatch(/\S/);
  });

  it("treats an unknown field inside the data (a chat message's) the same way, not as a bad payload", async () => {
    const model = "llama3.2:latest";
    const data = { model, requestModel: "llama3.2", mode: "chat", messages: [{ role: "user", content: "Why is the pump loud?", lang: "en" }], cacheKey: null };
    const calls = stack.emulatorRequests(model);
    expect(await failedJob(model, data)).toMatchObject({ attempts: 2, error: { code: "worker_outdated", message: expect.stringContaining("does not know the job field messages.0.lang") } });
    expect(stack.emulatorRequests(model)).toBe(calls);
  });
});

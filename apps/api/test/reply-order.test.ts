import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

interface Seen {
  command: string;
  key: string;
  source: string;
}

/**
 * A waiting client's answer is the worker's reply. Nothing the worker writes that the client
 * does not need (the cache's copy of the result) may go to Redis before it: each such write is
 * a system call, about 0.1 ms, on the client's path. Redis's MONITOR shows the order in which the
 * worker's commands arrived.
 */
describe("the worker replies before it writes the cache", () => {
  const prefix = uniquePrefix("reply-order");
  const tag = `{${prefix}}`;
  let stack: Stack;
  let monitorClient: Redis;
  const seen: Seen[] = [];

  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true } });
    monitorClient = testRedis();
    const monitor = await monitorClient.monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      const [command, key] = args;
      if (command && key?.startsWith(tag)) seen.push({ command: command.toLowerCase(), key, source });
    });
  });
  afterAll(async () => {
    monitorClient?.disconnect();
    await stack?.close();
  });

  /** The worker's result write, reply and cache write for the job `jobId`, in arrival order. */
  async function workerWrites(jobId: string, cacheLayer: string): Promise<Seen[]> {
    const isResult = (entry: Seen) => entry.command === "set" && entry.key === `${tag}:result:${jobId}`;
    const isCache = (entry: Seen) => entry.command === "set" && entry.key.startsWith(`${tag}:cache:${cacheLayer}:`);
    await waitFor(() => seen.some(isResult) && seen.some(isCache), { message: "the worker's result and cache writes in MONITOR" });
    const start = seen.findIndex(isResult);
    return seen.slice(start).filter((entry) => isResult(entry) || isCache(entry) || (entry.command === "publish" && entry.key.startsWith(`${tag}:replies:`)));
  }

  it("for an embedding: result, reply, then the cache's copy, all on one connection", async () => {
    const submitted = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: "reply order of a waited embedding" });
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("completed");
    const writes = await workerWrites(submitted.body.id, "embedding");
    expect(writes.map((entry) => entry.command)).toEqual(["set", "publish", "set"]);
    expect(new Set(writes.map((entry) => entry.source)).size).toBe(1);
  });

  it("for a deterministic generation: result, reply, then the inference cache's copy", async () => {
    const submitted = await stack.post("/v1/jobs?wait=20000", { type: "generate", model: "llama3.2", prompt: "reply order of a waited generation", options: { temperature: 0 } });
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("completed");
    const writes = await workerWrites(submitted.body.id, "inference");
    expect(writes.map((entry) => entry.command)).toEqual(["set", "publish", "set"]);
    expect(new Set(writes.map((entry) => entry.source)).size).toBe(1);
  });
});

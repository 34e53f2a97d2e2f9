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
 * A waiting client's answer is the worker's reply, and a client that asks again the moment it has
 * it must hit the cache. So the worker sends the cache's copy of the result (the cache lives in the
 * queue Redis by default) ahead of the result and the reply, in the same socket write: Redis
 * stores the copy before it publishes the reply, and no write of its own (a system call, about
 * 0.1 ms) lies on the client's path. Redis's MONITOR shows the order in which the commands arrived.
 */
describe("the worker writes the cache's copy with its reply, ahead of it", () => {
  const prefix = uniquePrefix("reply-order");
  const tag = `{${prefix}}`;
  let stack: Stack;
  let monitorClient: Redis;
  /** The connection in MONITOR mode: ioredis's monitor() opens one of its own beside monitorClient. */
  let monitor: Redis | undefined;
  const seen: Seen[] = [];

  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true } });
    monitorClient = testRedis();
    monitor = await monitorClient.monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      const [command, key] = args;
      if (command && key?.startsWith(tag)) seen.push({ command: command.toLowerCase(), key, source });
    });
  });
  afterAll(async () => {
    // Left open, it went on receiving every command of the later tests' traffic, and ioredis could
    // take one such line for a reply: "Command queue state error" failed the suite once in CI.
    monitor?.disconnect();
    monitorClient?.disconnect();
    await stack?.close();
  });

  /**
   * The worker's cache write, result write and reply for the job `jobId`, in arrival order (each
   * job's input is new, so the cache write just before its result is its own).
   */
  async function workerWrites(jobId: string, cacheLayer: string): Promise<Seen[]> {
    const isResult = (entry: Seen) => entry.command === "set" && entry.key === `${tag}:result:${jobId}`;
    const isCache = (entry: Seen) => entry.command === "set" && entry.key.startsWith(`${tag}:cache:${cacheLayer}:`);
    const isReply = (entry: Seen) => entry.command === "publish" && entry.key.startsWith(`${tag}:replies:`);
    await waitFor(() => seen.some(isResult), { message: "the worker's result write in MONITOR" });
    const result = seen.findIndex(isResult);
    const cache = seen.slice(0, result).findLastIndex(isCache);
    return seen
      .slice(cache === -1 ? result : cache)
      .filter((entry) => isResult(entry) || isCache(entry) || isReply(entry))
      .slice(0, 3)
      .map((entry) => ({ ...entry, command: isCache(entry) ? "cache" : isResult(entry) ? "result" : "reply" }));
  }

  it("for an embedding: the cache's copy, the result, then the reply, all on one connection", async () => {
    const submitted = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: "reply order of a waited embedding" });
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("completed");
    const writes = await workerWrites(submitted.body.id, "embedding");
    expect(writes.map((entry) => entry.command)).toEqual(["cache", "result", "reply"]);
    expect(new Set(writes.map((entry) => entry.source)).size).toBe(1);
  });

  it("for a deterministic generation: the inference cache's copy, the result, then the reply", async () => {
    const submitted = await stack.post("/v1/jobs?wait=20000", { type: "generate", model: "llama3.2", prompt: "reply order of a waited generation", options: { temperature: 0 } });
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("completed");
    const writes = await workerWrites(submitted.body.id, "inference");
    expect(writes.map((entry) => entry.command)).toEqual(["cache", "result", "reply"]);
    expect(new Set(writes.map((entry) => entry.source)).size).toBe(1);
  });
});

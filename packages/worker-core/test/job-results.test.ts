import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { decodeReply, herdKeys, type JobReply } from "@herd/jobs";
import { subscribeOn } from "@herd/redis";
import { countSocketWrites, deletePrefix, RedisServer, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { createLogger } from "@herd/logger";
import { HerdCache } from "@herd/cache";
import { JobClock, storeResult, type ResultDeps } from "../src/job-results.js";
import { InstanceMonitor } from "../src/instance-monitor.js";
import { onSlot } from "../src/processors.js";
import { SlotGate } from "../src/slot-gate.js";

/**
 * How a job's result, its reply to the waiting API process and BullMQ's completion leave the
 * worker: result and reply together, the completion only once Redis has stored the result.
 */
describe("storeResult on real Redis", () => {
  const prefix = uniquePrefix("job-results");
  const channel = herdKeys(prefix).replies("api-1");
  const redis = testRedis();
  const subscriber = testRedis();
  const queueConnection = testRedis();
  const queue = new Queue("results", { connection: queueConnection, prefix: `{${prefix}}` });
  const reader = testRedis();
  const replies: JobReply[] = [];
  const cacheOnReply = new Map<string, Promise<string | null>>();
  const cache = new HerdCache({ redis, prefix, ttlSeconds: { embedding: 60, inference: 60, chunk: 60 }, logger: createLogger({ name: "job-results-test", level: "silent", format: "json" }) });
  const cacheKeyOf = (jobId: string) => cache.key("embedding", jobId);
  const errors: unknown[] = [];
  const deps: ResultDeps = {
    redis,
    cache,
    keys: herdKeys(prefix),
    resultTtlMs: 60_000,
    resultKeep: 1000,
    monitor: { instance: { name: "emu-0" } },
    onStoreError: (_job, error) => errors.push(error),
    onTrimError: (_job, error) => errors.push(error),
    onReplyError: (_job, error) => errors.push(error),
  };

  let subscriberReconnects = 0;
  subscriber.on("reconnecting", () => (subscriberReconnects += 1));

  beforeAll(async () => {
    await redis.ping();
    await subscribeOn(subscriber, channel, (message) => {
      const reply = decodeReply(message);
      if (!reply) return;
      replies.push(reply);
      // What a client does the moment it has its answer: ask again, and hit the cache.
      cacheOnReply.set(reply.header.jobId, reader.get(cacheKeyOf(reply.header.jobId)));
    });
  });
  afterAll(async () => {
    await queue.close();
    await deletePrefix(redis, prefix);
    queueConnection.disconnect();
    subscriber.disconnect();
    reader.disconnect();
    redis.disconnect();
  });

  it("sends the cache's copy, the result and the reply in one write; the results' trim and what the processor and BullMQ send after it resolves leave in a second", async () => {
    const job = await queue.add("embed", { inputs: ["x"] });
    const result = '{"model":"m","embeddings":[[1]]}';
    const writes = countSocketWrites(redis);
    try {
      await storeResult(deps, job, result, channel, new JobClock(), { layer: "embedding", entries: [[job.id ?? "", result]] });
      expect(writes.counts).toEqual({ single: 0, batched: [3] });
      // Stand-ins for a progress count and BullMQ's completion, issued as the processor returns.
      expect(await Promise.all([redis.ping(), redis.ping()])).toEqual(["PONG", "PONG"]);
      expect(writes.counts).toEqual({ single: 0, batched: [3, 3] });
    } finally {
      writes.restore();
    }
    // Once seen in CI (not reproduced since): the reply did not arrive. Say what the subscriber saw.
    await waitFor(() => replies.some((reply) => reply.header.jobId === job.id), { message: "the reply on pub/sub" }).catch(async (error: unknown) => {
      const [, listeners] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
      throw new Error(`${(error as Error).message}; subscriber ${subscriber.status}, ${subscriberReconnects} reconnect(s), ${listeners} listener(s) on the channel, ${replies.length} other repl(ies)`);
    });
    expect(replies.find((reply) => reply.header.jobId === job.id)?.result.toString()).toBe(result);
    expect(await redis.get(deps.keys.result(job.id ?? ""))).toBe(result);
    expect(await redis.lrange(deps.keys.results(job.queueName), 0, -1)).toEqual([job.id]);
    // Redis stored the cache's copy before it sent the reply: a repeat right after the answer is a hit.
    expect(await cacheOnReply.get(job.id ?? "")).toBe(result);
    expect(errors).toEqual([]);
  });
});

/**
 * Redis out of memory (`maxmemory` reached under `noeviction`) refuses the result's SET but still
 * runs BullMQ's completion script, whose first write is one Redis lets through. A completion sent
 * behind a refused result would record the job as completed without it: the API would then read
 * an accepted job as unknown.
 */
describe("storeResult when Redis refuses the result (out of memory)", () => {
  const prefix = uniquePrefix("job-results-oom");
  let server: RedisServer;
  let connection: Redis;
  let admin: Redis;
  let queue: Queue;
  let worker: Worker | undefined;

  beforeAll(async () => {
    server = await RedisServer.start(undefined, ["--maxmemory-policy", "noeviction"]);
    connection = new Redis(server.url, { maxRetriesPerRequest: null });
    admin = new Redis(server.url);
    queue = new Queue("results", { connection: admin, prefix: `{${prefix}}` });
  });
  afterAll(async () => {
    await admin.config("SET", "maxmemory", "0");
    await worker?.close();
    await queue.close();
    connection.disconnect();
    admin.disconnect();
    await server.close();
  });

  it("fails the attempt, so the job is retried and completes with its result instead of completing without it", async () => {
    const deps: ResultDeps = {
      redis: connection,
      cache: new HerdCache({ redis: connection, prefix, ttlSeconds: { embedding: 0, inference: 0, chunk: 0 }, logger: createLogger({ name: "job-results-test", level: "silent", format: "json" }) }),
      keys: herdKeys(prefix),
      resultTtlMs: 60_000,
      resultKeep: 1000,
      monitor: { instance: { name: "emu-0" } },
      onStoreError: () => undefined,
      onTrimError: () => undefined,
      onReplyError: () => undefined,
    };
    const result = '{"model":"m","embeddings":[[3]]}';
    const refusals: string[] = [];
    const job = await queue.add("embed", { inputs: ["x"] }, { attempts: 3, backoff: { type: "fixed", delay: 50 } });
    const completed = new Promise<Job>((resolve) => {
      worker = new Worker(
        "results",
        async (running: Job) => {
          // Redis runs out of memory just as this attempt stores its result.
          if (running.attemptsMade === 0) await admin.config("SET", "maxmemory", "1");
          try {
            await storeResult(deps, running, result, undefined, new JobClock());
          } catch (error) {
            refusals.push((error as Error).message);
            // Memory is freed before BullMQ records the failed attempt, so the retry can run.
            await admin.config("SET", "maxmemory", "0");
            throw error;
          }
          return { stored: true };
        },
        { connection, prefix: `{${prefix}}` },
      );
      worker.on("completed", resolve);
    });
    const done = await completed;
    expect(done.id).toBe(job.id);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/^OOM /);
    expect(done.attemptsMade).toBe(2);
    // Completed means its result is there: without the wait for the SET's answer, the first
    // attempt completed here with no result stored.
    expect(await admin.get(deps.keys.result(job.id ?? ""))).toBe(result);
  });
});

/** How a call learns that a waiting job took the slot it freed (its request then goes first). */
describe("onSlot tells the call whether its slot went straight to a waiting job", () => {
  const prefix = uniquePrefix("on-slot");
  const connection = testRedis();
  const queue = new Queue("slots", { connection, prefix: `{${prefix}}` });
  // Never started (no probes): the call below does not go to an instance.
  const monitor = new InstanceMonitor({
    instance: { name: "emu-0", url: "http://127.0.0.1:9", slots: 1, models: {}, weight: 1 },
    defaultSlots: 1,
    probe: { intervalMs: 60_000, timeoutMs: 1000, unhealthyAfter: 2 },
    discoveryIntervalMs: 60_000,
    logger: createLogger({ name: "on-slot-test", level: "silent", format: "json" }),
    connections: 1,
    onModels: () => undefined,
    onHealth: () => undefined,
  });
  afterAll(async () => {
    await monitor.close();
    await queue.close();
    await deletePrefix(connection, prefix);
    connection.disconnect();
  });

  /** Runs a call on `gate` that frees its slot as Ollama's answer starts; `during` runs while it holds it. */
  async function callFreeingSlot(gate: SlotGate, clock: JobClock, during: () => void = () => undefined): Promise<boolean> {
    const job = await queue.add("embed", {});
    const deps = { gate, monitor, model: "nomic-embed-text:latest", servedElsewhere: () => false, onCall: () => undefined, shutdownSignal: new AbortController().signal };
    const { result } = await onSlot(deps, job, undefined, async (slotFree) => {
      during();
      return slotFree();
    }, { clock });
    return result;
  }

  it("says no when nothing waits for the slot", async () => {
    const clock = new JobClock();
    expect(await callFreeingSlot(new SlotGate(1), clock)).toBe(false);
  });

  it("says yes when a job fetched ahead waits at the gate", async () => {
    const gate = new SlotGate(1);
    const clock = new JobClock();
    let waiter: Promise<() => boolean> | undefined;
    // While the slot is held, the next job waits at the gate, as a prefetched one does.
    expect(await callFreeingSlot(gate, clock, () => (waiter = gate.acquire()))).toBe(true);
    const release = await waiter;
    expect(gate.inFlight).toBe(1);
    release?.();
    expect(gate.inFlight).toBe(0);
  });
});

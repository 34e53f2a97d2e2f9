import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { decodeReply, herdKeys, type JobReply } from "@herd/jobs";
import { subscribeOn } from "@herd/redis";
import { countSocketWrites, deletePrefix, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { createLogger } from "@herd/logger";
import { JobClock, storeResult, type ResultDeps } from "../src/job-results.js";
import { InstanceMonitor } from "../src/instance-monitor.js";
import { onSlot } from "../src/processors.js";
import { SlotGate } from "../src/slot-gate.js";

/**
 * How a job's result, its reply to the waiting API process and BullMQ's completion leave the
 * worker: ahead of the completion when the binding is idle, together with it under a backlog.
 */
describe("storeResult on real Redis", () => {
  const prefix = uniquePrefix("job-results");
  const channel = herdKeys(prefix).replies("api-1");
  const redis = testRedis();
  const subscriber = testRedis();
  const queueConnection = testRedis();
  const queue = new Queue("results", { connection: queueConnection, prefix: `{${prefix}}` });
  const replies: JobReply[] = [];
  const errors: unknown[] = [];
  const deps: ResultDeps = {
    redis,
    keys: herdKeys(prefix),
    resultTtlMs: 60_000,
    monitor: { instance: { name: "emu-0" } },
    onStoreError: (_job, error) => errors.push(error),
    onReplyError: (_job, error) => errors.push(error),
  };

  beforeAll(async () => {
    await redis.ping();
    await subscribeOn(subscriber, channel, (message) => {
      const reply = decodeReply(message);
      if (reply) replies.push(reply);
    });
  });
  afterAll(async () => {
    await queue.close();
    await deletePrefix(redis, prefix);
    queueConnection.disconnect();
    subscriber.disconnect();
    redis.disconnect();
  });

  /** Stores `result` for a new job, with BullMQ's completion stood in by a PING in the same turn. */
  async function store(clock: JobClock, result: string) {
    const job = await queue.add("embed", { inputs: ["x"] });
    const writes = countSocketWrites(redis);
    let sentAtOnce: number[];
    try {
      const stored = storeResult(deps, job, result, channel, clock);
      sentAtOnce = [...writes.counts.batched];
      const completion = redis.ping();
      await stored;
      expect(await completion).toBe("PONG");
    } finally {
      writes.restore();
    }
    await waitFor(() => replies.some((reply) => reply.header.jobId === job.id));
    expect(await redis.get(deps.keys.result(job.id ?? ""))).toBe(result);
    return { jobId: job.id, sentAtOnce, writes: writes.counts };
  }

  it("sends an idle binding's reply at once, in its own write ahead of the completion", async () => {
    const { jobId, sentAtOnce, writes } = await store(new JobClock(), '{"model":"m","embeddings":[[1]]}');
    // The result and the reply left before the turn ended; the completion followed alone.
    expect(sentAtOnce).toEqual([2]);
    expect(writes).toEqual({ single: 1, batched: [2] });
    expect(replies.find((reply) => reply.header.jobId === jobId)?.result.toString()).toBe('{"model":"m","embeddings":[[1]]}');
    expect(errors).toEqual([]);
  });

  it("under a backlog (the slot went straight to a waiting job) sends result, reply and completion in one write", async () => {
    const clock = new JobClock();
    clock.markSlotHandedOn();
    const { jobId, sentAtOnce, writes } = await store(clock, '{"model":"m","embeddings":[[2]]}');
    expect(sentAtOnce).toEqual([]);
    expect(writes).toEqual({ single: 0, batched: [3] });
    expect(replies.find((reply) => reply.header.jobId === jobId)?.result.toString()).toBe('{"model":"m","embeddings":[[2]]}');
    expect(errors).toEqual([]);
  });
});

/** How a processor learns that its binding has a backlog: a waiting job took the slot it freed. */
describe("onSlot marks the job's clock when its slot goes straight to a waiting job", () => {
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
    const deps = { gate, monitor, onCall: () => undefined, shutdownSignal: new AbortController().signal };
    const { result } = await onSlot(deps, job, undefined, async (slotFree) => {
      during();
      return slotFree();
    }, { clock });
    return result;
  }

  it("stays unmarked when nothing waits for the slot", async () => {
    const clock = new JobClock();
    expect(await callFreeingSlot(new SlotGate(1), clock)).toBe(false);
    expect(clock.slotHandedOn).toBe(false);
  });

  it("is marked when a job fetched ahead waits at the gate", async () => {
    const gate = new SlotGate(1);
    const clock = new JobClock();
    let waiter: Promise<() => boolean> | undefined;
    // While the slot is held, the next job waits at the gate, as a prefetched one does.
    expect(await callFreeingSlot(gate, clock, () => (waiter = gate.acquire()))).toBe(true);
    expect(clock.slotHandedOn).toBe(true);
    const release = await waiter;
    expect(gate.inFlight).toBe(1);
    release?.();
    expect(gate.inFlight).toBe(0);
  });
});

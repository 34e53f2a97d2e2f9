import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { QueueActivity } from "../src/queue-activity.js";

describe("QueueActivity on a real BullMQ queue", () => {
  const prefix = uniquePrefix("queue-activity");
  let redis: Redis;
  let queue: Queue;
  const listeners: QueueActivity[] = [];
  const listener = () => {
    const activity = new QueueActivity(() => redis.duplicate(), queue.keys.events ?? "");
    listeners.push(activity);
    return activity;
  };

  beforeAll(async () => {
    redis = testRedis();
    queue = new Queue("embed", { connection: redis, prefix: `{${prefix}}` });
    await queue.waitUntilReady();
  });
  afterAll(async () => {
    for (const activity of listeners) activity.close();
    await queue.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("hears a job added while it waits, and times out when none is", async () => {
    const activity = listener();
    const since = await activity.mark();
    expect(await activity.waitAfter(since, 150)).toBe(false);
    const heard = activity.waitAfter(await activity.mark(), 10_000);
    await queue.add("job", { n: 1 });
    expect(await heard).toBe(true);
  });

  it("hears a job added between the mark and the wait (nothing falls between a count and a listen)", async () => {
    const activity = listener();
    const since = await activity.mark();
    await queue.add("job", { n: 2 }, { priority: 1 });
    expect(await activity.waitAfter(since, 10_000)).toBe(true);
  });

  it("is not woken by other events of the queue", async () => {
    const activity = listener();
    const since = await activity.mark();
    await redis.xadd(queue.keys.events ?? "", "*", "event", "progress", "jobId", "x", "data", "1");
    await redis.xadd(queue.keys.events ?? "", "*", "event", "completed", "jobId", "x", "returnvalue", "{}");
    expect(await activity.waitAfter(since, 200)).toBe(false);
  });

  it("close() ends a wait in progress", async () => {
    const activity = listener();
    const waiting = activity.waitAfter(await activity.mark(), 10_000);
    activity.close();
    await expect(waiting).rejects.toThrow();
  });
});

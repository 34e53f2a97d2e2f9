import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { deletePrefix, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { QueueDepth } from "../src/queue-depth.js";

const prefix = uniquePrefix("depth");
const redis = testRedis();
const bullPrefix = `{${prefix}}`;

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

/** A queue of its own per test, with `jobs` jobs waiting (no worker takes them). */
async function queueWith(name: string, jobs: number): Promise<Queue> {
  const queue = openQueue(name);
  await addJobs(queue, jobs);
  return queue;
}

const connections = new Map<Queue, ReturnType<typeof testRedis>>();

function openQueue(name: string): Queue {
  const connection = testRedis();
  const queue = new Queue(name, { connection, prefix: bullPrefix });
  connections.set(queue, connection);
  return queue;
}

async function addJobs(queue: Queue, jobs: number): Promise<void> {
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: "embed", data: { i }, opts: { priority: i % 2 === 0 ? 1 : undefined } })));
}

async function closeQueue(queue: Queue): Promise<void> {
  await queue.close();
  connections.get(queue)?.disconnect();
}

describe("QueueDepth", () => {
  it("reads Redis once, then counts its own adds until the reading is old", async () => {
    let now = 1_000_000;
    const depth = new QueueDepth(100, 1000, () => now);
    const queue = await queueWith("fresh", 3);
    const elsewhere = openQueue("fresh");
    try {
      expect(await depth.waiting(queue)).toBe(3);
      depth.added(queue);
      await addJobs(elsewhere, 2); // another API process: not seen until the next reading
      now += 100;
      expect(await depth.waiting(queue)).toBe(4);
    } finally {
      await closeQueue(elsewhere);
      await closeQueue(queue);
    }
  });

  it("answers an old reading at once while it refreshes in the background", async () => {
    let now = 1_000_000;
    const depth = new QueueDepth(100, 1000, () => now);
    const queue = await queueWith("stale", 2);
    try {
      expect(await depth.waiting(queue)).toBe(2);
      await addJobs(queue, 5);
      now += 500;
      // Old but within maxStale: the request goes on with the count it has.
      expect(await depth.waiting(queue)).toBe(2);
      await waitFor(async () => (await depth.waiting(queue)) === 7, { message: "background refresh landed" });
      await addJobs(queue, 1);
      now += 5000;
      // Older than maxStale: this request waits for Redis.
      expect(await depth.waiting(queue)).toBe(8);
    } finally {
      await closeQueue(queue);
    }
  });

  it("makes the next request wait for Redis, and hear its error, once a background refresh failed", async () => {
    let now = 1_000_000;
    const depth = new QueueDepth(100, 1000, () => now);
    const queue = await queueWith("failing", 1);
    expect(await depth.waiting(queue)).toBe(1);
    await closeQueue(queue);
    now += 500;
    expect(await depth.waiting(queue)).toBe(1);
    // The refresh that call started fails; from then on a request waits for Redis and gets its error.
    const error = await waitFor(async () => {
      try {
        await depth.waiting(queue);
        return undefined;
      } catch (caught) {
        return caught as Error;
      }
    }, { message: "the failure reaches a request" });
    expect(error.message).toMatch(/closed/i);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Worker } from "bullmq";
import { createJobId, encodeReply, herdKeys, queueName, type JobReply } from "@herd/jobs";
import { createLogger } from "@herd/logger";
import { deletePrefix, testEnv, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { QueueRegistry, type Outcome } from "../src/queues.js";
import { Replies } from "../src/replies.js";

/**
 * A client that submits and waits hears how its job ended from the worker's reply, which carries
 * the result. When this API process also reads the queue's events (a long poll started it), the
 * completion event must not wake that client first: it would then read the job back from Redis.
 */
describe("QueueRegistry: waiters that expect a reply", () => {
  const prefix = uniquePrefix("waiters");
  const logger = createLogger({ name: "test", level: testEnv.TEST_LOG_LEVEL, format: "json" });
  const redis = testRedis();
  const target = { url: testEnv.TEST_REDIS_URL };
  let replies: Replies;
  let registry: QueueRegistry;

  beforeAll(async () => {
    replies = new Replies(target, herdKeys(prefix), logger);
    registry = new QueueRegistry(redis, target, prefix, logger, replies);
    await redis.ping();
  });
  afterAll(async () => {
    await registry?.close();
    await replies?.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("wakes a reply waiter by the reply only, while an event waiter of the same job hears the event", async () => {
    const name = queueName("embed", "waiters-model");
    const id = createJobId("embed", "waiters-model");
    await registry.listen(name); // As after a long poll: this process reads the queue's events.
    const byReply = registry.subscribe(name, id, { viaReply: true });
    const byEvent = registry.subscribe(name, id);
    await byEvent.listening;
    let replyWaiterWoken: Outcome | JobReply | undefined;
    void byReply.finished.then((outcome) => (replyWaiterWoken = outcome));

    await registry.queue(name).add("embed", { input: "x" }, { jobId: id });
    // A worker that sends no reply: only the completion event tells of the end.
    const workerConnection = testRedis();
    const worker = new Worker(name, async () => "done", { connection: workerConnection, prefix: registry.bullPrefix });
    try {
      expect(await byEvent.finished).toBe("completed");
      // Both waiters are woken in the same call when an event wakes them at all.
      await new Promise((resolve) => setImmediate(resolve));
      expect(replyWaiterWoken).toBeUndefined();

      await waitFor(() => replies.replyTo !== undefined, { message: "reply channel subscribed" });
      const now = Date.now();
      await redis.publish(replies.channel, encodeReply({ jobId: id, attempts: 1, instance: "emu-0", timestamp: now, processedOn: now, finishedOn: now }, '{"embeddings":[]}'));
      const outcome = await byReply.finished;
      expect(typeof outcome === "object" ? outcome.header.jobId : outcome).toBe(id);
    } finally {
      byReply.cancel();
      byEvent.cancel();
      await worker.close();
      workerConnection.disconnect();
    }
  });
});

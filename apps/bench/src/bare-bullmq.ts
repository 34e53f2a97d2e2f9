import { fileURLToPath } from "node:url";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { Proc } from "./processes.js";

const workerEntry = () => fileURLToPath(new URL("./bare-bullmq-worker.js", import.meta.url));

/** BullMQ alone: a queue and its events in the benchmark process, a worker process calling `ollamaUrl`. */
export interface BareBullmq {
  queue: Queue<{ body: string }>;
  events: QueueEvents;
  stop: () => Promise<void>;
}

export async function startBareBullmq(redisUrl: string, prefix: string, ollamaUrl: string): Promise<BareBullmq> {
  // Braced like Herd's prefix, so the benchmark's cleanup of `{prefix*` removes these keys too.
  const bullPrefix = `{${prefix}}`;
  const queueName = "embed";
  const worker = Proc.start("bare-bullmq-worker", process.execPath, [workerEntry(), redisUrl, bullPrefix, queueName, ollamaUrl]);
  const connections = [new Redis(redisUrl, { maxRetriesPerRequest: null }), new Redis(redisUrl, { maxRetriesPerRequest: null })] as const;
  const queue = new Queue<{ body: string }>(queueName, { connection: connections[0], prefix: bullPrefix });
  const events = new QueueEvents(queueName, { connection: connections[1], prefix: bullPrefix });
  const stop = async () => {
    await worker.stop();
    await events.close();
    await queue.close();
    // BullMQ leaves connections it was given open.
    for (const connection of connections) connection.disconnect();
  };
  try {
    await Promise.all([worker.waitForOutput('"event":"ready"'), events.waitUntilReady(), queue.waitUntilReady()]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { queue, events, stop };
}

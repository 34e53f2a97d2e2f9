import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { Pool } from "undici";

// The overhead benchmark's floor: BullMQ alone, used the textbook way (no HTTP front, no cache,
// no slot gating, no reply channel of its own). One worker process, concurrency 1, whose job is the
// same Ollama call the direct row makes; the benchmark adds the job and waits with
// waitUntilFinished. Whatever Herd adds beyond this row is Herd's own; this row is what the queue
// engine costs on this machine.
const [redisUrl, prefix, queueName, ollamaUrl] = process.argv.slice(2);
if (!redisUrl || !prefix || !queueName || !ollamaUrl) {
  console.error("usage: bare-bullmq-worker <redis-url> <prefix> <queue> <ollama-url>");
  process.exit(2);
}

const ollama = new Pool(ollamaUrl, { connections: 1, keepAliveTimeout: 60_000 });
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker<{ body: string }, unknown>(
  queueName,
  async (job) => {
    const response = await ollama.request({ method: "POST", path: "/api/embed", body: job.data.body, headers: { "content-type": "application/json" } });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`ollama answered ${response.statusCode}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as unknown;
  },
  { connection, prefix, concurrency: 1 },
);
worker.on("error", (error) => console.error(`bare worker: ${error.message}`));
await worker.waitUntilReady();
console.log(JSON.stringify({ event: "ready" }));

process.once("SIGTERM", () => {
  void (async () => {
    await worker.close();
    await ollama.close();
    connection.disconnect();
    process.exit(0);
  })();
});

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { collectionFingerprint, findCollection } from "@herd/store";
import { PostgresServer, deletePrefix, testEnv, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { HerdProcesses } from "./processes.js";

const TOPICS = ["pump", "valve", "filter", "belt", "bearing", "seal", "hose", "motor", "sensor", "clamp", "ram", "tank"];

/** 24 documents of a few chunks each, different enough to get different vectors. */
function corpus() {
  return Array.from({ length: 24 }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length] as string;
    const sections = Array.from({ length: 3 }, (_, s) => `## Step ${s + 1}\n\n` + Array.from({ length: 5 }, (_, k) => `Check the ${topic} number ${i} in step ${s} and note reading ${k * 7 + i}.`).join(" "));
    return { id: `doc-${String(i).padStart(2, "0")}-${topic}.md`, text: `# ${topic} procedure ${i}\n\n${sections.join("\n\n")}`, mimeType: "text/markdown" };
  });
}

// Postgres restarted mid-ingestion is scenario 4 of the fault-injection suite (npm run test:faults).
describe.skipIf(!PostgresServer.available())("ingestion under faults ends with the same rows as an undisturbed run", () => {
  const prefix = uniquePrefix("ingfault");
  let postgres: PostgresServer;
  let ollama: EmulatorInstance;
  let herd: HerdProcesses;
  let db: pg.Pool;
  const documents = corpus();

  beforeAll(async () => {
    postgres = await PostgresServer.start();
    ollama = await new EmulatorInstance({ name: "emu", numParallel: 2, preload: true, latency: { embedMs: 15 } }).listen();
    herd = await HerdProcesses.start({
      REDIS_URL: testEnv.TEST_REDIS_URL,
      HERD_PREFIX: prefix,
      DATABASE_URL: postgres.url,
      HERD_INSTANCES: ollama.url,
      HERD_EMBED_BATCH: "4",
      // Every run must really embed (the runs share their text), so the embedding cache is off.
      HERD_CACHE_EMBEDDING_TTL: "off",
      HERD_INGEST_CONCURRENCY: "2",
      HERD_INGEST_LOCK_DURATION: "2s",
      HERD_LOCK_DURATION: "2s",
      HERD_STALLED_INTERVAL: "500ms",
      HERD_JOB_BACKOFF: "100ms",
      HERD_PROBE_INTERVAL: "200ms",
      HERD_FLEET_REFRESH: "200ms",
    });
    db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    // The restart test cuts this pool's idle connections too; the pool reconnects on next use.
    db.on("error", () => undefined);
    await ingest("reference");
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await herd?.close();
    await ollama?.close();
    postgres?.close();
    const redis = testRedis();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  async function start(collection: string): Promise<string> {
    expect((await herd.post("/v1/collections", { name: collection, model: "nomic-embed-text", chunkTokens: 48, chunkOverlap: 8 })).status).toBe(201);
    const accepted = await herd.post(`/v1/collections/${collection}/documents`, { documents });
    expect(accepted.status).toBe(202);
    return accepted.body.ingestionId as string;
  }

  async function finished(id: string) {
    return waitFor(async () => {
      const response = await herd.get(`/v1/ingestions/${id}`).catch(() => undefined);
      return response && response.body.status && response.body.status !== "running" ? response.body : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100, message: `ingestion ${id} (process output:\n${herd.output.slice(-3000)})` });
  }

  async function ingest(collection: string) {
    return finished(await start(collection));
  }

  async function fingerprint(name: string) {
    const collection = await findCollection(db, "local", name);
    if (!collection) throw new Error(`no collection ${name}`);
    return collectionFingerprint(db, collection.id);
  }

  async function progressed(id: string, share: number) {
    await waitFor(async () => {
      const { body } = await herd.get(`/v1/ingestions/${id}`);
      return body.chunks?.total > 0 && body.documents.done >= 2 && body.documents.done < body.documents.total * share;
    }, { intervalMs: 20, message: "the ingestion to be under way" });
  }

  it("the undisturbed run stores every document", async () => {
    const rows = await fingerprint("reference");
    expect(new Set(rows.map((row) => row.externalId)).size).toBe(documents.length);
    expect(rows.length).toBeGreaterThan(documents.length * 2);
  });

  it("a worker killed with SIGKILL mid-ingestion", { timeout: 120_000 }, async () => {
    const id = await start("worker-killed");
    // Kill it while it has an embedding request running, so a locked job is really lost with it.
    await waitFor(() => (ollama.stats().models["nomic-embed-text:latest"]?.inFlight ?? 0) > 0, { intervalMs: 1, message: "an embedding in flight" });
    await HerdProcesses.kill(herd.worker);
    herd.startWorker();
    const summary = await finished(id);
    expect(summary).toMatchObject({ status: "completed", documents: { done: documents.length, failed: 0 } });
    expect(await fingerprint("worker-killed")).toEqual(await fingerprint("reference"));
  });

  it("the API (and its ingest processor) killed with SIGKILL mid-ingestion", { timeout: 120_000 }, async () => {
    const id = await start("api-killed");
    await progressed(id, 0.6);
    await HerdProcesses.kill(herd.api);
    await herd.startApi();
    const summary = await finished(id);
    expect(summary).toMatchObject({ status: "completed", documents: { done: documents.length, failed: 0 } });
    expect(await fingerprint("api-killed")).toEqual(await fingerprint("reference"));
  });
});

import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { collectionFingerprint, findCollection } from "@herd/store";
import { PostgresServer, waitFor } from "@herd/testing";
import { record, Scenario, emulators, instancesEnv } from "./setup.js";

const TOPICS = ["pump", "valve", "filter", "belt", "bearing", "seal", "hose", "motor", "sensor", "clamp", "ram", "tank"];
const DOCUMENTS = 48;

/** Manuals of a few sections each, different enough to get different vectors. */
function corpus() {
  return Array.from({ length: DOCUMENTS }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length] as string;
    const sections = Array.from({ length: 3 }, (_, s) => `## Step ${s + 1}\n\n` + Array.from({ length: 5 }, (_, k) => `Check the ${topic} number ${i} in step ${s} and note reading ${k * 7 + i}.`).join(" "));
    return { id: `doc-${String(i).padStart(2, "0")}-${topic}.md`, text: `# ${topic} procedure ${i}\n\n${sections.join("\n\n")}`, mimeType: "text/markdown" };
  });
}

interface IngestionView {
  status: string;
  documents: { total: number; done: number; failed: number };
  errors?: Array<{ documentId: string; error: string }>;
}

const scenario = new Scenario("postgres");
afterAll(() => scenario.close());

it.skipIf(!PostgresServer.available())("4. Postgres restarted mid-ingestion: the ingestion completes with no duplicate or missing chunk", async () => {
  const postgres = await PostgresServer.start();
  scenario.closers.push(async () => postgres.close());
  const fleet = await emulators(1, 15);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const cluster = await scenario.start(
    { HERD_EMBED_BATCH: "4", HERD_INGEST_CONCURRENCY: "2", HERD_INGEST_LOCK_DURATION: "2s" },
    undefined,
    postgres.url,
  );
  cluster.startWorker("worker", instancesEnv(fleet));
  const api = await cluster.startApi("api");
  const db = new pg.Pool({ connectionString: postgres.url, max: 2 });
  // The restart cuts this pool's idle connections too; it reconnects on next use.
  db.on("error", () => undefined);
  scenario.closers.push(() => db.end());
  const documents = corpus();
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${api.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const view = async (id: string) => {
    const response = await fetch(`${api.url}/v1/ingestions/${id}`).catch(() => undefined);
    return response?.status === 200 ? ((await response.json()) as IngestionView) : undefined;
  };
  const start = async (collection: string) => {
    expect((await post("/v1/collections", { name: collection, model: "nomic-embed-text", chunkTokens: 48, chunkOverlap: 8 })).status).toBe(201);
    const accepted = await post(`/v1/collections/${collection}/documents`, { documents });
    expect(accepted.status).toBe(202);
    return accepted.body["ingestionId"] as string;
  };
  const finished = (id: string) =>
    waitFor(async () => {
      const current = await view(id);
      return current && current.status !== "running" ? current : undefined;
    }, { timeoutMs: 120_000, intervalMs: 100, message: `ingestion ${id}\n${cluster.output.slice(-3000)}` });
  const fingerprint = async (name: string) => {
    const collection = await findCollection(db, "local", name);
    if (!collection) throw new Error(`no collection ${name}`);
    return collectionFingerprint(db, collection.id);
  };

  await finished(await start("reference"));
  const id = await start("restarted");
  await waitFor(async () => {
    const current = await view(id);
    return current !== undefined && current.documents.done >= 2 && current.documents.done < current.documents.total * 0.6;
  }, { intervalMs: 20, message: "the ingestion to be under way" });
  postgres.stop();
  const unavailable = await waitFor(async () => {
    const response = await post("/v1/collections/reference/search", { query: "pump", mode: "keyword" });
    return response.status === 503 ? response.body : undefined;
  }, { message: "a 503 from search while Postgres is down" });
  const during = await view(id);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // Postgres stays down for 2 s (the fault itself).
  postgres.restart();
  const restartedAt = Date.now();
  const summary = await finished(id);
  const recoveryMs = Date.now() - restartedAt;
  const reference = await fingerprint("reference");
  const disturbed = await fingerprint("restarted");
  const key = (row: { externalId: string; ordinal: number }) => `${row.externalId}#${row.ordinal}`;
  const referenceKeys = new Set(reference.map(key));
  const duplicateRows = disturbed.length - new Set(disturbed.map(key)).size;
  const missingRows = [...referenceKeys].filter((k) => !disturbed.some((row) => key(row) === k)).length;
  const failed: Record<string, number> = {};
  for (const error of summary.errors ?? []) failed[error.error.slice(0, 60)] = (failed[error.error.slice(0, 60)] ?? 0) + 1;
  record({
    order: "4",
    scenario: "Postgres restarted mid-ingestion",
    load: `one ingestion of ${DOCUMENTS} Markdown manuals (${reference.length} chunks, embedded in batches of 4 on 1 instance); own PostgreSQL server`,
    fault: "PostgreSQL stopped (fast shutdown, connections cut) once 2+ documents were stored, started again 2 s later",
    accepted: summary.documents.total,
    completed: summary.documents.done,
    failed,
    lost: summary.documents.total - summary.documents.done - summary.documents.failed,
    duplicates: duplicateRows,
    recoveryMs,
    recoveryMeans: "from PostgreSQL accepting connections again until the ingestion reported completed",
    notes: [
      "Rows counted per document: accepted = documents in the ingestion; lost = documents neither stored nor failed; duplicates = chunk rows stored twice for the same (document, ordinal).",
      `Chunk rows compared with an undisturbed ingestion of the same documents in the same run: ${disturbed.length} vs ${reference.length}, ${missingRows} missing, vectors and hashes ${JSON.stringify(disturbed) === JSON.stringify(reference) ? "identical" : "DIFFERENT"}`,
      `While Postgres was down: search answered 503 ${String((unavailable["error"] as { code?: string } | undefined)?.code)}, the ingestion reported "${during?.status ?? "no answer"}"`,
    ],
  });
  expect(summary).toMatchObject({ status: "completed", documents: { done: DOCUMENTS, failed: 0 } });
  expect(during?.status).toBe("running");
  expect(duplicateRows).toBe(0);
  expect(missingRows).toBe(0);
  expect(disturbed).toEqual(reference);
});

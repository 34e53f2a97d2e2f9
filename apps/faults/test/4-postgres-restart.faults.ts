import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { PostgresServer, RedisServer, waitFor } from "@herd/testing";
import { DOCUMENTS, expectSameRows, ingestionClient, ingestionTally } from "./ingestion.js";
import { record, Scenario, emulators, instancesEnv } from "./setup.js";

const scenario = new Scenario("postgres");
const oomScenario = new Scenario("ingest-oom");
const amnesiaScenario = new Scenario("ingest-amnesia");
afterAll(async () => {
  await scenario.close();
  await oomScenario.close();
  await amnesiaScenario.close();
});

const INGEST_ENV = { HERD_EMBED_BATCH: "4", HERD_INGEST_CONCURRENCY: "2", HERD_INGEST_LOCK_DURATION: "2s" };

/** One emulated instance (15 ms embeddings), a worker and an API on `redisUrl`, and a pool on the scenario's database. */
async function ingestionHerd(target: Scenario, env: Record<string, string>, redisUrl?: string, databaseUrl?: string) {
  const fleet = await emulators(1, 15);
  target.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const cluster = await target.start({ ...INGEST_ENV, ...env }, redisUrl, databaseUrl);
  cluster.startWorker("worker", instancesEnv(fleet));
  const api = await cluster.startApi("api");
  const db = new pg.Pool({ connectionString: databaseUrl ?? target.database?.url, max: 2 });
  // A Postgres restart cuts this pool's idle connections too; it reconnects on next use.
  db.on("error", () => undefined);
  target.closers.push(() => db.end());
  return { cluster, ingestion: ingestionClient(api, db, () => cluster.output) };
}

it.skipIf(!PostgresServer.available())("4. Postgres restarted mid-ingestion: the ingestion completes with no duplicate or missing chunk", async () => {
  const postgres = await PostgresServer.start();
  scenario.closers.push(async () => postgres.close());
  const { ingestion } = await ingestionHerd(scenario, {}, undefined, postgres.url);

  await ingestion.finished(await ingestion.start("reference"));
  const id = await ingestion.start("restarted");
  await ingestion.underWay(id);
  postgres.stop();
  const unavailable = await waitFor(async () => {
    const response = await ingestion.post("/v1/collections/reference/search", { query: "pump", mode: "keyword" });
    return response.status === 503 ? response.body : undefined;
  }, { message: "a 503 from search while Postgres is down" });
  const during = await ingestion.view(id);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // Postgres stays down for 2 s (the fault itself).
  postgres.restart();
  const restartedAt = Date.now();
  const summary = await ingestion.finished(id);
  const recoveryMs = Date.now() - restartedAt;
  const reference = await ingestion.fingerprint("reference");
  const disturbed = await ingestion.fingerprint("restarted");
  const tally = ingestionTally(summary, reference, disturbed);
  record({
    order: "4",
    scenario: "Postgres restarted mid-ingestion",
    load: `one ingestion of ${DOCUMENTS} Markdown manuals (${reference.length} chunks, embedded in batches of 4 on 1 instance); own PostgreSQL server`,
    fault: "PostgreSQL stopped (fast shutdown, connections cut) once 2+ documents were stored, started again 2 s later",
    ...tally.columns,
    recoveryMs,
    recoveryMeans: "from PostgreSQL accepting connections again until the ingestion reported completed",
    notes: [
      "Rows counted per document: accepted = documents in the ingestion; lost = documents neither stored nor failed; duplicates = chunk rows stored twice for the same (document, ordinal).",
      tally.comparison,
      `While Postgres was down: search answered 503 ${String((unavailable["error"] as { code?: string } | undefined)?.code)}, the ingestion reported "${during?.status ?? "no answer"}"`,
    ],
  });
  expect(during?.status).toBe("running");
  expectSameRows(summary, reference, disturbed);
});

it("4b. queue Redis out of memory mid-ingestion: the ingestion completes with no duplicate or missing chunk", async () => {
  const redis = await RedisServer.start();
  oomScenario.closers.push(() => redis.close());
  const admin = new Redis(redis.url);
  oomScenario.closers.push(async () => admin.disconnect());
  const { ingestion } = await ingestionHerd(oomScenario, {}, redis.url);

  await ingestion.finished(await ingestion.start("reference"));
  const id = await ingestion.start("squeezed");
  await ingestion.underWay(id);
  // A limit below what Redis already holds: every write that needs memory is refused.
  await admin.config("SET", "maxmemory", "1");
  const refused = await waitFor(async () => {
    const response = await ingestion.post("/v1/collections/reference/documents", { documents: [{ id: "late.md", text: "# Late\n\nA manual sent while Redis is full.", mimeType: "text/markdown" }] });
    return response.status === 503 ? response.body : undefined;
  }, { message: "a 503 for an upload while Redis is full" });
  const during = await ingestion.view(id);
  // Redis stays full for 5 s (the fault itself): longer than a step's 5 attempts and their backoff
  // take, so a step that spent attempts on it would fail its document.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  await admin.config("SET", "maxmemory", "0");
  const liftedAt = Date.now();
  const summary = await ingestion.finished(id);
  const recoveryMs = Date.now() - liftedAt;
  const reference = await ingestion.fingerprint("reference");
  const disturbed = await ingestion.fingerprint("squeezed");
  const tally = ingestionTally(summary, reference, disturbed);
  record({
    order: "4b",
    scenario: "queue Redis out of memory mid-ingestion",
    load: `one ingestion of ${DOCUMENTS} Markdown manuals (${reference.length} chunks, embedded in batches of 4 on 1 instance); own redis-server, maxmemory-policy noeviction`,
    fault: "maxmemory set below what Redis holds (CONFIG SET maxmemory 1) once 2+ documents were stored, lifted 5 s later (longer than a step's 5 attempts with their backoff)",
    ...tally.columns,
    recoveryMs,
    recoveryMeans: "from the limit being lifted until the ingestion reported completed",
    notes: [
      "Rows counted per document, as in 4.",
      tally.comparison,
      `While Redis was full: an upload answered 503 ${String((refused["error"] as { code?: string } | undefined)?.code)}, the ingestion reported "${during?.status ?? "no answer"}"`,
    ],
  });
  expect((refused["error"] as { code?: string } | undefined)?.code).toBe("redis_out_of_memory");
  expectSameRows(summary, reference, disturbed);
});

it("4c. queue Redis restarted empty mid-ingestion: the ingestion completes with no duplicate or missing chunk", async () => {
  // No persistence at all (the machine's default Redis runs like this): a restart loses every job.
  const redis = await RedisServer.start(undefined, ["--appendonly", "no"]);
  amnesiaScenario.closers.push(() => redis.close());
  const { ingestion } = await ingestionHerd(amnesiaScenario, { HERD_INGEST_RECOVERY_INTERVAL: "1s", HERD_INGEST_RECOVERY_AFTER: "2s" }, redis.url);

  await ingestion.finished(await ingestion.start("reference"));
  const id = await ingestion.start("forgotten");
  await ingestion.underWay(id);
  await redis.stop(true);
  await redis.restart();
  const restartedAt = Date.now();
  const after = await ingestion.view(id);
  const summary = await ingestion.finished(id);
  const recoveryMs = Date.now() - restartedAt;
  const reference = await ingestion.fingerprint("reference");
  const disturbed = await ingestion.fingerprint("forgotten");
  const tally = ingestionTally(summary, reference, disturbed);
  record({
    order: "4c",
    scenario: "queue Redis restarted empty mid-ingestion",
    load: `one ingestion of ${DOCUMENTS} Markdown manuals (${reference.length} chunks, embedded in batches of 4 on 1 instance); own redis-server without persistence`,
    fault: "redis-server killed (SIGKILL) once 2+ documents were stored and started again at once with no data: every queued job, the ingestion's record and the fleet's heartbeats gone",
    ...tally.columns,
    recoveryMs,
    recoveryMeans: "from Redis answering again until the ingestion reported completed (its pending documents found by the API's recovery pass, run every 1 s here for documents pending over 2 s)",
    notes: [
      "Rows counted per document, as in 4.",
      tally.comparison,
      `Right after the restart, GET /v1/ingestions/${"{id}"} answered ${after ? `"${after.status}"` : "404 (the record was gone)"}; the recovery pass rebuilt it from the documents' rows.`,
    ],
  });
  expectSameRows(summary, reference, disturbed);
});

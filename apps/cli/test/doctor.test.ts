import { execFile } from "node:child_process";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetRegistry, type WorkerHeartbeat } from "@herd/fleet";
import { checkBindings } from "../src/doctor/bindings.js";
import { EmulatorFleet } from "@herd/ollama-emulator";
import { insertCollection, migrate } from "@herd/store";
import { createTestDatabase, freePort, RedisServer, uniquePrefix, type TestDatabase } from "@herd/testing";

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/**
 * Runs the CLI without blocking this process, which serves the emulated Ollama instances. A run
 * that hangs is killed well inside the test's own timeout, so the failure shows what it printed.
 */
function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env["PATH"], HERD_DOCTOR_TIMEOUT: "2s", ...env }, timeout: 12_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const killed = error?.killed === true ? `herd ${args.join(" ")} was killed after 12 s\n` : "";
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr: killed + stderr });
    });
  });
}

interface Finding {
  check: string;
  status: string;
  detail: string;
}

/** `herd doctor --json`, and the table of the same checks unless `table` is false (it costs another CLI start). */
async function doctor(env: Record<string, string>, { table: withTable = true } = {}): Promise<{ code: number; findings: Finding[]; table: string }> {
  const json = await run(["doctor", "--json"], env);
  expect(json.stderr).toBe("");
  const table = withTable ? await run(["doctor"], env) : { code: json.code, stdout: "" };
  expect(table.code).toBe(json.code);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; findings: Finding[] };
  expect(parsed.ok).toBe(json.code === 0);
  return { code: json.code, findings: parsed.findings, table: table.stdout };
}

function row(findings: Finding[], check: string): Omit<Finding, "check"> | undefined {
  const found = findings.find((finding) => finding.check === check);
  return found && { status: found.status, detail: found.detail };
}

describe("herd doctor", () => {
  let fleet: EmulatorFleet;
  let queueRedis: RedisServer;
  let cacheRedis: RedisServer;
  let evictingRedis: RedisServer;
  /** Only collections whose model the fleet has. */
  let sound: TestDatabase;
  /** Also a collection whose model no instance has. */
  let database: TestDatabase;
  const prefix = uniquePrefix("doctor");

  beforeAll(async () => {
    fleet = await EmulatorFleet.start({ instances: 2 });
    queueRedis = await RedisServer.start();
    cacheRedis = await RedisServer.start(undefined, ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]);
    evictingRedis = await RedisServer.start(undefined, ["--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]);
    sound = await createTestDatabase("cli_doctor_sound");
    database = await createTestDatabase("cli_doctor");
    for (const [db, models] of [[sound, ["nomic-embed-text"]], [database, ["nomic-embed-text", "mxbai-embed-large"]]] as const) {
      const pool = new pg.Pool({ connectionString: db.url, max: 1 });
      try {
        await migrate(pool);
        for (const model of models) {
          await insertCollection(pool, { tenant: "local", name: model === "nomic-embed-text" ? "manuals" : "legacy", model, dimensions: 768, chunkTokens: 256, chunkOverlap: 32 });
        }
        // Made before chunk sizes were limited: all-minilm reads 256 tokens of an input, so 256-token chunks (with their heading) lose their ends.
        if (db === database) await insertCollection(pool, { tenant: "local", name: "small", model: "all-minilm", dimensions: 384, chunkTokens: 256, chunkOverlap: 32 });
      } finally {
        await pool.end();
      }
    }
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
    await Promise.all([queueRedis?.close(), cacheRedis?.close(), evictingRedis?.close()]);
    await sound?.drop();
    await database?.drop();
  });

  const instancesEnv = () => JSON.stringify(fleet.instances.map((instance) => ({ url: instance.url, name: instance.ctx.name })));

  it("passes a sound deployment and prints what it found", async () => {
    const result = await doctor({ REDIS_URL: queueRedis.url, HERD_CACHE_REDIS_URL: cacheRedis.url, DATABASE_URL: sound.url, HERD_INSTANCES: instancesEnv(), HERD_MODEL_OPTIONS: '{"Llama3.2": {"num_ctx": 8192, "keep_alive": "24h"}}' });
    expect(row(result.findings, "pinned llama3.2:latest")).toEqual({ status: "ok", detail: 'pinned {"num_ctx":8192,"keep_alive":"24h"}; on ollama-0, ollama-1' });
    expect(row(result.findings, "queue Redis")).toEqual({ status: "ok", detail: expect.stringMatching(/^Redis \d+\.\d+\.\d+ at redis:\/\/127\.0\.0\.1:\d+\/?, maxmemory-policy noeviction, maxmemory unlimited \(\d+ MiB used\)$/) });
    expect(row(result.findings, "queue Redis memory")).toBeUndefined();
    expect(row(result.findings, "queue Redis persistence")).toBeUndefined();
    expect(row(result.findings, "clocks")).toEqual({ status: "ok", detail: expect.stringMatching(/^this machine and 0 live worker\(s\) within 100 ms of the queue Redis's clock \(largest: this machine, -?\d+ ms\)$/) });
    expect(row(result.findings, "cache Redis")).toEqual({ status: "ok", detail: expect.stringMatching(/maxmemory-policy allkeys-lru, maxmemory 64 MiB \(\d+% used\)$/) });
    expect(row(result.findings, "Postgres")?.status).toBe("ok");
    expect(row(result.findings, "pgvector")).toEqual({ status: "ok", detail: expect.stringMatching(/^pgvector 0\.(7|8|9|\d\d)\.\d+ in this database$/) });
    expect(row(result.findings, "migrations")?.status).toBe("ok");
    expect(row(result.findings, "Ollama ollama-0")).toEqual({ status: "ok", detail: expect.stringContaining("(HERD_INSTANCES): Ollama 0.") });
    expect(row(result.findings, "Ollama ollama-1")?.detail).toContain("nomic-embed-text:latest");
    for (const finding of result.findings) expect(result.table).toContain(finding.check);
    expect(row(result.findings, "model nomic-embed-text:latest")).toEqual({ status: "ok", detail: "needed by collection manuals; on ollama-0, ollama-1" });
    expect(row(result.findings, "chunk sizes")).toEqual({ status: "ok", detail: "the chunks of all 1 collection(s) fit what their model reads of an input" });
    expect(result.findings.filter((finding) => finding.status !== "ok")).toEqual([]);
    expect(result.table).toMatch(/all checks passed\n$/);
    expect(result.code).toBe(0);
  });

  it("fails with one clear line per problem and a non-zero exit", async () => {
    const closed = await freePort();
    const instances = JSON.stringify([{ url: fleet.instances[0]?.url, name: "gpu-1" }, { url: `http://127.0.0.1:${closed}`, name: "gpu-2" }]);
    // A typo in a pinned model's name pins nothing: a warning, since the model may simply not be pulled yet.
    const result = await doctor({ REDIS_URL: evictingRedis.url, HERD_CACHE_REDIS_URL: `redis://127.0.0.1:${closed}`, DATABASE_URL: database.url, HERD_INSTANCES: instances, HERD_MODEL_OPTIONS: '{"llama3.3": {"num_ctx": 8192}}' });
    expect(result.code).toBe(1);
    const failures = result.table.split("\n").filter((line) => line.startsWith("✗ "));
    expect(failures).toEqual([
      "✗ queue Redis eviction: maxmemory-policy is allkeys-lru: Redis may evict queue keys and lose jobs; set maxmemory-policy noeviction on REDIS_URL",
      expect.stringMatching(new RegExp(`^✗ cache Redis: cannot reach redis://127\\.0\\.0\\.1:${closed}/? \\(HERD_CACHE_REDIS_URL\\): connect ECONNREFUSED`)),
      expect.stringMatching(new RegExp(`^✗ Ollama gpu-2: http://127\\.0\\.0\\.1:${closed} \\(HERD_INSTANCES\\) is not reachable: connection`)),
      "✗ model mxbai-embed-large:latest: needed by collection legacy, but no reachable instance has it: ollama pull mxbai-embed-large:latest",
    ]);
    expect(row(result.findings, "queue Redis persistence")?.status).toBe("warn");
    expect(row(result.findings, "model nomic-embed-text:latest")?.detail).toBe("needed by collection manuals; on gpu-1");
    expect(row(result.findings, "pinned llama3.3:latest")).toEqual({
      status: "warn",
      detail: 'HERD_MODEL_OPTIONS pins llama3.3:latest (pinned {"num_ctx":8192}), but no reachable instance has it, so it pins nothing; the instances have all-minilm:latest, llama3.2:latest, nomic-embed-text:latest',
    });
    expect(row(result.findings, "collection small")).toEqual({
      status: "warn",
      detail: "chunks of up to 256 tokens, but all-minilm:latest reads at most 256 tokens of an input (its context length on gpu-1) and Ollama cuts the rest, so the ends of its chunks are missing from their vectors: create a collection with chunkTokens 204 or less and ingest its documents again",
    });
    expect(result.table).toMatch(/4 check\(s\) failed, 3 warning\(s\)\n$/);
  });

  it("warns when the queue Redis is nearly at its maxmemory and fails when it is full", async () => {
    const redis = new Redis(queueRedis.url);
    const env = { REDIS_URL: queueRedis.url, HERD_CACHE_REDIS_URL: cacheRedis.url, DATABASE_URL: sound.url, HERD_INSTANCES: instancesEnv() };
    try {
      // The doctor lists the fleet with a script; Redis's first script costs it some 70 KB, which
      // would tip this 1 MiB Redis over between the doctor's runs: pay it before measuring.
      await new FleetRegistry(redis, prefix).list();
      const used = Number(/^used_memory:(\d+)/m.exec(await redis.info("memory"))?.[1]);
      await redis.config("SET", "maxmemory", String(Math.round(used / 0.93)));
      // Its table is the first tests' concern: each CLI start is seconds on a loaded CI machine.
      const nearly = await doctor(env, { table: false });
      expect(row(nearly.findings, "queue Redis memory")).toEqual({ status: "warn", detail: expect.stringMatching(/^nearly full: \d+ MiB of \d+ MiB used; at maxmemory Redis refuses writes: new jobs answer 503 redis_out_of_memory/) });
      expect(row(nearly.findings, "queue Redis")?.detail).toMatch(/maxmemory \d+ MiB \(9\d% used\)$/);
      expect(nearly.code).toBe(0);
      await redis.config("SET", "maxmemory", "1");
      const full = await doctor(env, { table: false });
      expect(row(full.findings, "queue Redis memory")?.status).toBe("fail");
      expect(row(full.findings, "queue Redis memory")?.detail).toMatch(/^full: /);
      expect(full.code).toBe(1);
    } finally {
      await redis.config("SET", "maxmemory", "0");
      await redis.quit();
    }
  });

  it("without HERD_INSTANCES checks the instances live workers report", async () => {
    const redis = new Redis(queueRedis.url);
    const instance = fleet.instances[1];
    await new FleetRegistry(redis, prefix).publish(
      // A worker on this machine: the loopback URL it reports is one the doctor can call too.
      { workerId: "w-1", host: hostname(), pid: 1, startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), clockOffsetMs: 12_345, instances: [{ name: "box-ollama", url: instance?.url ?? "", healthy: true, weight: 1, models: [] }] },
      60_000,
    );
    // A second worker on this machine given the same instance: together they oversubscribe it.
    await new FleetRegistry(redis, prefix).publish(
      { workerId: "w-2", host: hostname(), pid: 2, startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), instances: [{ name: "box-ollama", url: instance?.url ?? "", healthy: true, weight: 1, models: [] }] },
      60_000,
    );
    // A worker on another GPU box, beside its Ollama (a loopback URL, where nothing listens here).
    const boxUrl = `http://127.0.0.1:${await freePort()}`;
    const boxModels = [{ model: "nomic-embed-text:latest", kinds: ["embed" as const], slots: 1, inFlight: 0, completed: 0, failed: 0 }];
    await new FleetRegistry(redis, prefix).publish(
      { workerId: "w-b", host: "gpu-box-b", pid: 1, startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), instances: [{ name: "gpu-box-b-11434", url: boxUrl, healthy: true, weight: 1, version: "0.13.5", models: boxModels }] },
      60_000,
    );
    await redis.quit();
    const result = await doctor({ REDIS_URL: queueRedis.url, HERD_PREFIX: prefix, HERD_CACHE_REDIS_URL: cacheRedis.url, DATABASE_URL: database.url });
    expect(row(result.findings, "Ollama gpu-box-b-11434")).toEqual({
      status: "ok",
      detail: `${boxUrl} on gpu-box-b (worker w-b; a loopback URL this machine cannot call, so as that worker sees it): Ollama 0.13.5; nomic-embed-text:latest`,
    });
    expect(row(result.findings, "Ollama box-ollama")).toEqual({ status: "ok", detail: expect.stringContaining("(worker heartbeat): Ollama") });
    expect(row(result.findings, "model mxbai-embed-large:latest")?.status).toBe("fail");
    expect(row(result.findings, "instance bindings")).toEqual({ status: "warn", detail: expect.stringMatching(new RegExp(`^${instance?.url ?? ""} is bound by 2 workers, w-1 \\(.+\\), w-2 \\(.+\\): each of them fills the instance's slots`)) });
    // The worker's clock lags the queue Redis's by 12.3 s (as its heartbeat reports).
    expect(row(result.findings, "clocks")).toEqual({ status: "warn", detail: expect.stringMatching(/^worker w-1 \(.+\) is 12\.3 s behind Redis's clock: BullMQ's retry delays .* \(NTP\)$/) });
    expect(result.code).toBe(1);
  });
});

describe("herd doctor's instance bindings check", () => {
  const beat = (workerId: string, host: string, url: string): WorkerHeartbeat => ({ workerId, host, pid: 1, startedAt: "", updatedAt: "", instances: [{ name: "x", url, healthy: true, weight: 1, models: [] }] });
  const clock = { offsetMs: 0, rttMs: 0 };

  it("passes when each instance has one worker (two machines' loopback servers are two), says nothing without workers", () => {
    const workers = [beat("w-a", "box-a", "http://127.0.0.1:11434"), beat("w-b", "box-b", "http://127.0.0.1:11434"), beat("w-c", "box-c", "http://gpu-1:11434")];
    expect(checkBindings({ workers, clock })).toEqual([{ check: "instance bindings", status: "ok", detail: "each of the 3 instance(s) live workers report is bound by one worker" }]);
    expect(checkBindings({ workers: [], clock })).toEqual([]);
    expect(checkBindings(new Error("unreachable"))).toEqual([]);
  });

  it("warns once per shared instance", () => {
    const workers = [beat("w-a", "box-a", "http://gpu-1:11434"), beat("w-b", "box-b", "http://gpu-1:11434"), beat("w-c", "box-c", "http://gpu-2:11434")];
    const findings = checkBindings({ workers, clock });
    expect(findings.map((finding) => finding.status)).toEqual(["warn"]);
    expect(findings[0]?.detail).toMatch(/^http:\/\/gpu-1:11434 is bound by 2 workers, w-a \(box-a\), w-b \(box-b\): each of them fills the instance's slots/);
  });
});

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { DEFAULT_REDIS_URL } from "@herd/config";
import { balancingScenario } from "./balancing.js";
import { cacheScenario } from "./cache-hits.js";
import { databaseVersions } from "./database.js";
import { ingestionScenario } from "./ingestion.js";
import { interactiveScenario } from "./interactive.js";
import { searchScenario } from "./search.js";
import { overheadScenario } from "./overhead.js";
import { ttftScenario } from "./ttft.js";
import { lightLoadScenario } from "./light-load.js";
import { nginxVersion, setChildBaseEnv } from "./processes.js";
import { renderReport, type Results } from "./report.js";
import { cpuidleDriver, wakeProbe } from "./wake-probe.js";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const ALL = "overhead,balancing,cache,ingestion,search,interactive,ttft,light";

const USAGE = `Usage: npm run bench -- [options]
  --only LIST     overhead,balancing,cache,ingestion,search,interactive,ttft,light (default: all)
  --jobs N        balancing jobs (default 3000)
  --clients N     balancing clients (default 40)
  --warmup N      balancing jobs run (unmeasured) before each mode's measured ones (default 1000)
  --rounds N      balancing runs of Herd and nginx least_conn, interleaved (default 3)
  --scale X       multiplies the overhead request counts (default 1)
  --seconds N     duration of each cache-hit round (default 3; 5 rounds per target)
  --out FILE      where to write the report (default BENCHMARKS.md; "-" prints only)
  --redis URL     Redis to use (default REDIS_URL or ${DEFAULT_REDIS_URL})
  --database URL  PostgreSQL (with pgvector) where the benchmark creates and drops its databases
                  (default ${DEFAULT_ADMIN_URL}); the search run starts a server of its
                  own from the machine's PostgreSQL binaries unless this is given
  --documents N   documents in the ingestion run (default 250, about 20 chunks each)
  --chunks N      chunks in the search run (default 100000)
  --queries N     search queries (default 200)`;

function wholeNumber(option: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${option}: expected a whole number ≥ 1, got ${JSON.stringify(value)}`);
  return number;
}

async function redisVersion(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "unknown";
  } finally {
    client.disconnect();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      jobs: { type: "string" },
      clients: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      scale: { type: "string" },
      seconds: { type: "string" },
      out: { type: "string" },
      redis: { type: "string" },
      database: { type: "string" },
      documents: { type: "string" },
      chunks: { type: "string" },
      queries: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  setChildBaseEnv({ PATH: process.env["PATH"] });
  const only = new Set((values.only ?? ALL).split(","));
  const adminUrl = values.database ?? DEFAULT_ADMIN_URL;
  const needsDatabase = ["ingestion", "search", "interactive"].some((name) => only.has(name));
  const redisUrl = values.redis ?? process.env["REDIS_URL"] ?? DEFAULT_REDIS_URL;
  const prefix = `bench-${Date.now().toString(36)}`;
  const results: Results = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    startedAt: new Date(),
    redisVersion: await redisVersion(redisUrl),
    nginxVersion: nginxVersion(),
    handOff: { ...(await wakeProbe(redisUrl)), cpuidle: cpuidleDriver() },
    ...(needsDatabase ? { databaseVersions: await databaseVersions(adminUrl) } : {}),
  };
  try {
    if (only.has("overhead")) {
      console.error("bench: orchestration overhead…");
      results.overhead = await overheadScenario(redisUrl, prefix, Number(values.scale ?? 1));
    }
    if (only.has("balancing")) {
      console.error("bench: balancing…");
      results.balancing = await balancingScenario(redisUrl, prefix, Number(values.jobs ?? 3000), Number(values.clients ?? 40), Number(values.warmup ?? 1000), wholeNumber("--rounds", values.rounds ?? "3"));
    }
    if (only.has("cache")) {
      console.error("bench: cache hits…");
      results.cache = await cacheScenario(redisUrl, prefix, Number(values.seconds ?? 3), 32);
    }
    if (only.has("ingestion")) {
      console.error("bench: ingestion throughput…");
      results.ingestion = await ingestionScenario(redisUrl, `${prefix}-ingest`, adminUrl, Number(values.documents ?? 250));
    }
    if (only.has("search")) {
      console.error("bench: search latency (loading and indexing takes a few minutes)…");
      results.search = await searchScenario(redisUrl, `${prefix}-search`, { adminUrl, privateServer: values.database === undefined }, Number(values.chunks ?? 100_000), Number(values.queries ?? 200));
    }
    if (only.has("interactive")) {
      console.error("bench: interactive latency during ingestion…");
      results.interactive = await interactiveScenario(redisUrl, prefix, adminUrl, 200, 100);
    }
    if (only.has("ttft")) {
      console.error("bench: time to first token…");
      results.ttft = await ttftScenario(redisUrl, `${prefix}-ttft`, Math.round(300 * Number(values.scale ?? 1)));
    }
    if (only.has("light")) {
      console.error("bench: light load on a mixed fleet…");
      results.light = await lightLoadScenario(redisUrl, prefix, Math.round(300 * Number(values.scale ?? 1)));
    }
  } finally {
    await cleanup(redisUrl, prefix);
  }
  const report = renderReport(results);
  console.log(report);
  const out = values.out ?? "BENCHMARKS.md";
  if (out !== "-") writeFileSync(out, report);
}

/** Removes every key the benchmark's Herd deployments wrote. */
async function cleanup(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `{${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});

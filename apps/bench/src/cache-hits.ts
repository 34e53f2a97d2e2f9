import { closedLoop, fmt } from "./load.js";
import { startHerd } from "./herd.js";
import { Proc, helloEntry, startEmulator } from "./processes.js";

export interface CacheRow {
  /** Herd rows are measured against the baselines: bare express as it ships, and on Herd's server construction. */
  role: "herd" | "herd-redis" | "baseline" | "baseline-prototypes";
  target: string;
  requests: number;
  rps: number;
  errors: number;
}

async function measureHerd(herdUrl: string, body: string, seconds: number, clients: number) {
  const warm = await fetch(`${herdUrl}/v1/jobs?wait=10000`, { method: "POST", headers: { "content-type": "application/json" }, body });
  if (warm.status !== 200) throw new Error(`warming the cache failed: ${warm.status}`);
  const cached = (status: number, text: string) => status === 200 && text.includes('"cached":true');
  const spec = () => ({ method: "POST" as const, path: "/v1/jobs", body });
  await closedLoop(herdUrl, clients, spec, cached, 1000);
  return closedLoop(herdUrl, clients, spec, cached, seconds * 1000);
}

export async function cacheScenario(redisUrl: string, prefix: string, seconds: number, clients: number): Promise<CacheRow[]> {
  const emulator = await startEmulator(["--instances", "1", "--latency", "zero"]);
  const instances = [{ url: emulator.urls[0] ?? "", name: "emu-0" }];
  try {
    const body = JSON.stringify({ type: "embed", model: "nomic-embed-text", input: "What is the torque for the pump housing bolts?" });
    const ok = (status: number) => status === 200;
    const helloSpec = () => ({ method: "GET" as const, path: "/hello" });
    const rows: CacheRow[] = [];
    for (const [role, label, memory] of [
      ["herd", "Herd: POST /v1/jobs, cached 768-d embedding (memory tier + Redis)", "64mb"],
      ["herd-redis", "Herd: same, memory tier off (every hit read from Redis)", "off"],
    ] as const) {
      const herd = await startHerd(instances, `${prefix}-cache-${memory}`, redisUrl, { HERD_CACHE_MEMORY: memory });
      try {
        const run = await measureHerd(herd.url, body, seconds, clients);
        rows.push({ role, target: label, requests: run.latenciesMs.length, rps: run.latenciesMs.length / (run.elapsedMs / 1000), errors: run.errors });
      } finally {
        await herd.stop();
      }
    }
    for (const [role, label, args] of [
      ["baseline", "bare express: GET /hello", []],
      ["baseline-prototypes", "bare express: GET /hello, on Herd's server construction (requests born with express's prototypes)", ["--app-prototypes"]],
    ] as const) {
      const hello = Proc.start("hello", process.execPath, [helloEntry(), ...args]);
      try {
        await hello.waitForOutput('"event":"ready"');
        const port = (JSON.parse(hello.output.split("\n").find((line) => line.includes("ready")) ?? "{}") as { port: number }).port;
        await closedLoop(`http://127.0.0.1:${port}`, clients, helloSpec, ok, 1000);
        const run = await closedLoop(`http://127.0.0.1:${port}`, clients, helloSpec, ok, seconds * 1000);
        rows.push({ role, target: label, requests: run.latenciesMs.length, rps: run.latenciesMs.length / (run.elapsedMs / 1000), errors: run.errors });
      } finally {
        await hello.stop();
      }
    }
    return rows;
  } finally {
    await emulator.proc.stop();
  }
}

export function cacheTable(rows: CacheRow[]): string {
  const lines = ["| target | requests | requests/s | errors |", "|---|---:|---:|---:|"];
  for (const row of rows) lines.push(`| ${row.target} | ${row.requests} | ${fmt(row.rps, 0)} | ${row.errors} |`);
  const bare = rows.find((row) => row.role === "baseline");
  const same = rows.find((row) => row.role === "baseline-prototypes");
  for (const row of rows.filter((candidate) => candidate.role.startsWith("herd"))) {
    if (bare) lines.push("", `${row.target}: **${fmt((100 * row.rps) / bare.rps, 0)}%** of the bare route's rate${same ? `, ${fmt((100 * row.rps) / same.rps, 0)}% of the bare route on Herd's server construction` : ""}.`);
  }
  return lines.join("\n");
}

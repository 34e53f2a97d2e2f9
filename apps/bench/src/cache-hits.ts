import { closedLoop, fmt } from "./load.js";
import { startHerd } from "./herd.js";
import { Proc, helloEntry, startEmulator } from "./processes.js";

export interface CacheRow {
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
  const hello = Proc.start("hello", process.execPath, [helloEntry()]);
  try {
    await hello.waitForOutput('"event":"ready"');
    const port = (JSON.parse(hello.output.split("\n").find((line) => line.includes("ready")) ?? "{}") as { port: number }).port;
    const body = JSON.stringify({ type: "embed", model: "nomic-embed-text", input: "What is the torque for the pump housing bolts?" });
    const ok = (status: number) => status === 200;
    const helloSpec = () => ({ method: "GET" as const, path: "/hello" });
    const rows: CacheRow[] = [];
    for (const [label, memory] of [["Herd: POST /v1/jobs, cached 768-d embedding (memory tier + Redis)", "64mb"], ["Herd: same, memory tier off (every hit read from Redis)", "off"]] as const) {
      const herd = await startHerd(instances, `${prefix}-cache-${memory}`, redisUrl, { HERD_CACHE_MEMORY: memory });
      try {
        const run = await measureHerd(herd.url, body, seconds, clients);
        rows.push({ target: label, requests: run.latenciesMs.length, rps: run.latenciesMs.length / (run.elapsedMs / 1000), errors: run.errors });
      } finally {
        await herd.stop();
      }
    }
    await closedLoop(`http://127.0.0.1:${port}`, clients, helloSpec, ok, 1000);
    const helloRun = await closedLoop(`http://127.0.0.1:${port}`, clients, helloSpec, ok, seconds * 1000);
    rows.push({ target: "bare express: GET /hello", requests: helloRun.latenciesMs.length, rps: helloRun.latenciesMs.length / (helloRun.elapsedMs / 1000), errors: helloRun.errors });
    return rows;
  } finally {
    await hello.stop();
    await emulator.proc.stop();
  }
}

export function cacheTable(rows: CacheRow[]): string {
  const lines = ["| target | requests | requests/s | errors |", "|---|---:|---:|---:|"];
  for (const row of rows) lines.push(`| ${row.target} | ${row.requests} | ${fmt(row.rps, 0)} | ${row.errors} |`);
  const hello = rows.at(-1);
  for (const row of rows.slice(0, -1)) if (hello) lines.push("", `${row.target}: **${fmt((100 * row.rps) / hello.rps, 0)}%** of the bare route's rate.`);
  return lines.join("\n");
}

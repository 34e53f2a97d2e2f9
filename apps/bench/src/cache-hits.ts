import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, fmt, percentile } from "./load.js";
import { startHerd } from "./herd.js";
import { Proc, helloEntry, startEmulator } from "./processes.js";

export interface CacheRow {
  /** Herd rows are measured against the baselines: bare express as it ships, and on Herd's server construction. */
  role: "herd" | "herd-redis" | "baseline" | "baseline-prototypes";
  target: string;
  requests: number;
  /** Median of the rounds, and the slowest and fastest round. */
  rps: number;
  spread: [number, number];
  errors: number;
}

/** Rounds per target: targets take turns, so a slow stretch of this shared machine hits them all. */
const ROUNDS = 5;

interface Target {
  role: CacheRow["role"];
  label: string;
  origin: string;
  spec: () => { method: "GET" | "POST"; path: string; body?: string };
  ok: (status: number, text: string) => boolean;
  stop: () => Promise<void>;
}

async function startHello(args: string[]): Promise<{ origin: string; stop: () => Promise<void> }> {
  const hello = Proc.start("hello", process.execPath, [helloEntry(), ...args]);
  try {
    await hello.waitForOutput('"event":"ready"');
  } catch (error) {
    await hello.stop();
    throw error;
  }
  const port = (JSON.parse(hello.output.split("\n").find((line) => line.includes("ready")) ?? "{}") as { port: number }).port;
  return { origin: `http://127.0.0.1:${port}`, stop: () => hello.stop() };
}

/**
 * All targets run side by side for the whole scenario and take turns, `ROUNDS` times for
 * `seconds` each, in a rotating order; each row reports the median round. Measured one after
 * the other instead, the rates of identical runs differed by half on this machine.
 */
export async function cacheScenario(redisUrl: string, prefix: string, seconds: number, clients: number): Promise<CacheRow[]> {
  const emulator = await startEmulator(["--instances", "1", "--latency", "zero"]);
  const instances = [{ url: emulator.urls[0] ?? "", name: "emu-0" }];
  const targets: Target[] = [];
  // Both Herd stacks run at once, each with its own embedded database.
  const dataDir = mkdtempSync(join(tmpdir(), "herd-bench-cache-"));
  try {
    const body = JSON.stringify({ type: "embed", model: "nomic-embed-text", input: "What is the torque for the pump housing bolts?" });
    const cached = (status: number, text: string) => status === 200 && text.includes('"cached":true');
    for (const [role, label, memory] of [
      ["herd", "Herd: POST /v1/jobs, cached 768-d embedding (memory tier + Redis)", "64mb"],
      ["herd-redis", "Herd: same, memory tier off (every hit read from Redis)", "off"],
    ] as const) {
      const herd = await startHerd(instances, `${prefix}-cache-${memory}`, redisUrl, { HERD_CACHE_MEMORY: memory, HERD_DATA_DIR: join(dataDir, memory) });
      targets.push({ role, label, origin: herd.url, spec: () => ({ method: "POST", path: "/v1/jobs", body }), ok: cached, stop: () => herd.stop() });
      const warm = await fetch(`${herd.url}/v1/jobs?wait=10000`, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (warm.status !== 200) throw new Error(`warming the cache failed: ${warm.status}`);
    }
    for (const [role, label, args] of [
      ["baseline", "bare express: GET /hello", []],
      ["baseline-prototypes", "bare express: GET /hello, on Herd's server construction (requests born with express's prototypes)", ["--app-prototypes"]],
    ] as const) {
      const hello = await startHello([...args]);
      targets.push({ role, label, origin: hello.origin, spec: () => ({ method: "GET", path: "/hello" }), ok: (status) => status === 200, stop: hello.stop });
    }
    for (const target of targets) await closedLoop(target.origin, clients, target.spec, target.ok, 1000);
    const rounds = new Map<Target, Array<{ requests: number; rps: number; errors: number }>>(targets.map((target) => [target, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let turn = 0; turn < targets.length; turn += 1) {
        const target = targets[(round + turn) % targets.length] as Target;
        const run = await closedLoop(target.origin, clients, target.spec, target.ok, seconds * 1000);
        rounds.get(target)?.push({ requests: run.latenciesMs.length, rps: run.latenciesMs.length / (run.elapsedMs / 1000), errors: run.errors });
      }
    }
    return targets.map((target) => {
      const runs = rounds.get(target) ?? [];
      return {
        role: target.role,
        target: target.label,
        requests: runs.reduce((sum, run) => sum + run.requests, 0),
        rps: percentile(runs.map((run) => run.rps), 50),
        spread: [Math.min(...runs.map((run) => run.rps)), Math.max(...runs.map((run) => run.rps))],
        errors: runs.reduce((sum, run) => sum + run.errors, 0),
      };
    });
  } finally {
    await Promise.allSettled(targets.map((target) => target.stop()));
    await emulator.proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function cacheTable(rows: CacheRow[]): string {
  const lines = ["| target | requests | requests/s (median round) | slowest–fastest round | errors |", "|---|---:|---:|---:|---:|"];
  for (const row of rows) lines.push(`| ${row.target} | ${row.requests} | ${fmt(row.rps, 0)} | ${fmt(row.spread[0], 0)}–${fmt(row.spread[1], 0)} | ${row.errors} |`);
  const bare = rows.find((row) => row.role === "baseline");
  const same = rows.find((row) => row.role === "baseline-prototypes");
  for (const row of rows.filter((candidate) => candidate.role.startsWith("herd"))) {
    if (bare) lines.push("", `${row.target}: **${fmt((100 * row.rps) / bare.rps, 0)}%** of the bare route's rate${same ? `, ${fmt((100 * row.rps) / same.rps, 0)}% of the bare route on Herd's server construction` : ""}.`);
  }
  return lines.join("\n");
}

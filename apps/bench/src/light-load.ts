import { closedLoop, fmt, percentile } from "./load.js";
import { freePort, startHerd } from "./herd.js";
import { emulatorStats, nginxAvailable, resetEmulatorStats, startEmulator, startNginx, type EmulatorProcess } from "./processes.js";

/** A fast box and one four times slower (an older GPU), both serving the same embedding model. */
const SPEEDS = [1, 0.25];
const MODEL = "nomic-embed-text:latest";

export interface LightLoadRow {
  mode: string;
  requests: number;
  p50: number;
  p95: number;
  /** Share of the measured requests the fast instance served (emulator counters). */
  fastShare: number;
  errors: number;
  skipped?: string;
}

/** Unmeasured requests before each mode's measured ones. */
const WARMUP = 30;
/**
 * With one worker per instance, the slow instance's worker learns of the fast one from its
 * heartbeats (every 2 s by default), so that mode warms up for this long.
 */
const FLEET_WARMUP_MS = 5000;

async function series(mode: string, origin: string, herd: boolean, emulator: EmulatorProcess, requests: number, warmupMs = 0): Promise<LightLoadRow> {
  const tag = mode.replace(/\W+/g, "");
  const run = (count: number, label: string) =>
    closedLoop(
      origin,
      1,
      (i) => {
        if (i >= count) return undefined;
        const input = `${label} ${i}: how do I bleed the hydraulic pump?`;
        return herd ? { method: "POST", path: "/v1/jobs?wait=30000", body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input }) } : { method: "POST", path: "/api/embed", body: JSON.stringify({ model: "nomic-embed-text", input }) };
      },
      (status, text) => status === 200 && (!herd || text.includes('"status":"completed"')),
    );
  // Warm: compiled code, and Herd's worker has timed calls on both instances.
  const warmUntil = performance.now() + warmupMs;
  let round = 0;
  do await run(WARMUP, `${tag}warm${round++}-`);
  while (performance.now() < warmUntil);
  await resetEmulatorStats(emulator);
  const result = await run(requests, tag);
  const counts = (await emulatorStats(emulator)).map((instance) => instance.models[MODEL]?.requests ?? 0);
  const total = counts.reduce((sum, count) => sum + count, 0);
  return { mode, requests, p50: percentile(result.latenciesMs, 50), p95: percentile(result.latenciesMs, 95), fastShare: total === 0 ? NaN : (counts[0] ?? 0) / total, errors: result.errors };
}

/**
 * Light load on a mixed fleet: one client, one embed at a time (every input new), two instances
 * of speed 1 and 0.25 with realistic latency. Every instance is idle when a request arrives, so
 * what matters is which one gets it. Herd with HERD_ROUTING=fastest-idle (the default) vs off, and
 * nginx least_conn (no weights) in front of the same instances, in one run.
 */
export async function lightLoadScenario(redisUrl: string, prefix: string, requests: number): Promise<LightLoadRow[]> {
  const emulator = await startEmulator(["--instances", String(SPEEDS.length), "--speed", SPEEDS.join(","), "--latency", "realistic"]);
  const instances = emulator.urls.map((url, i) => ({ url, name: `emu-${i}` }));
  const rows: LightLoadRow[] = [];
  try {
    for (const routing of ["fastest-idle", "off"] as const) {
      for (const workerPerInstance of [false, true]) {
        const herd = await startHerd(instances, `${prefix}-light-${routing}${workerPerInstance ? "-apart" : ""}`, redisUrl, { HERD_ROUTING: routing, HERD_CACHE_EMBEDDING_TTL: "off" }, { workerPerInstance });
        try {
          const mode = `Herd, HERD_ROUTING=${routing}, ${workerPerInstance ? "one worker per instance" : "one worker for both"}`;
          rows.push(await series(mode, herd.url, true, emulator, requests, workerPerInstance ? FLEET_WARMUP_MS : 0));
        } finally {
          await herd.stop();
        }
      }
    }
    if (nginxAvailable()) {
      const nginx = await startNginx("least_conn", emulator.urls, await freePort());
      try {
        rows.push(await series("nginx least_conn", nginx.url, false, emulator, requests));
      } finally {
        await nginx.proc.stop();
        nginx.cleanup();
      }
    } else rows.push({ mode: "nginx least_conn", requests, p50: NaN, p95: NaN, fastShare: NaN, errors: 0, skipped: "nginx not installed (apt-get install nginx-light)" });
    rows.push(await series("direct to the fast instance", emulator.urls[0] ?? "", false, emulator, requests));
  } finally {
    await emulator.proc.stop();
  }
  return rows;
}

export function lightLoadTable(rows: LightLoadRow[]): string {
  const lines = ["| mode | requests | p50 | p95 | served by the fast instance | errors |", "|---|---:|---:|---:|---:|---:|"];
  for (const row of rows) {
    if (row.skipped) lines.push(`| ${row.mode} | skipped: ${row.skipped} | | | | |`);
    else lines.push(`| ${row.mode} | ${row.requests} | ${fmt(row.p50, 2)} ms | ${fmt(row.p95, 2)} ms | ${fmt(100 * row.fastShare, 0)}% | ${row.errors} |`);
  }
  return lines.join("\n");
}

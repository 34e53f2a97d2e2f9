import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { cpuSampler, perJob, type ProcessCounts, type ProcessReading } from "./cpu.js";
import { closedLoop, fmt, percentile } from "./load.js";
import { freePort, startHerd } from "./herd.js";
import type { ModelStats } from "@herd/ollama-emulator";
import { emulatorStats, nginxAvailable, resetEmulatorStats, startEmulator, startNginx, type EmulatorProcess } from "./processes.js";

export const FLEET = {
  slots: [1, 1, 1, 1, 2, 2, 4, 4],
  speeds: [0.5, 1, 1, 2, 0.5, 1, 1, 2],
};
const MODEL = "bench-embed:latest";
/** Each job costs 19 ms + 1 ms per token at speed 1; inputs have 1–61 tokens: 20–80 ms. */
const EMBED_MS = 19;
const TOKEN_MS = 1;

export interface BalancingRow {
  mode: string;
  /** Which of the interleaved rounds this run belongs to (1-based). */
  round: number;
  jobs: number;
  clients: number;
  /** Jobs run before the measured ones, not measured. */
  warmup: number;
  makespanMs: number;
  boundMs: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  maxInFlight: number[];
  waitedInsideMs: number;
  /** Share of slot time spent working: Σ busy / (Σ slots × makespan). */
  utilization: number;
  /** Emulated work actually spent vs nominal (timer lateness and CPU contention on this machine). */
  stretch: number;
  /** How long a slot freed while its instance was full sat free before the next call took it (emulator's counters). */
  refillGap: RefillGap;
  /** CPU ms per measured job, by process (see cpu.ts). */
  cpuPerJob?: ProcessCounts;
  /** Write system calls per measured job, by process. */
  writesPerJob?: ProcessCounts;
  skipped?: string;
}

export interface RefillGap {
  refills: number;
  /** Over every instance: Σ gaps / Σ refills. */
  meanMs: number;
  /** The lowest and highest of the instances' medians, and of their 90th percentiles. */
  p50Ms: [number, number];
  p90Ms: [number, number];
}

const NO_REFILL_GAP: RefillGap = { refills: 0, meanMs: NaN, p50Ms: [NaN, NaN], p90Ms: [NaN, NaN] };

function refillGapOf(models: Array<ModelStats | undefined>): RefillGap {
  const measured = models.filter((stats): stats is ModelStats => stats !== undefined && stats.refills > 0);
  if (measured.length === 0) return NO_REFILL_GAP;
  const refills = measured.reduce((sum, stats) => sum + stats.refills, 0);
  const range = (pick: (stats: ModelStats) => number | null): [number, number] => {
    const values = measured.map((stats) => pick(stats) ?? NaN);
    return [Math.min(...values), Math.max(...values)];
  };
  return { refills, meanMs: measured.reduce((sum, stats) => sum + stats.refillGapMs, 0) / refills, p50Ms: range((stats) => stats.refillGapP50Ms), p90Ms: range((stats) => stats.refillGapP90Ms) };
}

function workload(jobs: number): number[] {
  let state = 0x9e3779b9;
  return Array.from({ length: jobs }, () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return 1 + (state % 61);
  });
}

async function run(mode: string, origin: string, emulator: EmulatorProcess, tokens: number[], clients: number, warmup: number, boundMs: number, herd: boolean, cpu: () => Promise<ProcessReading>): Promise<Omit<BalancingRow, "round">> {
  const nominalMs = tokens.reduce((sum, n) => sum + EMBED_MS + n * TOKEN_MS, 0);
  const tag = mode.replace(/\W+/g, "");
  const body = (text: string) => (herd ? JSON.stringify({ type: "embed", model: MODEL, input: text }) : JSON.stringify({ model: MODEL, input: text }));
  const load = (count: number, label: string) =>
    closedLoop(
      origin,
      clients,
      (i) => (i < count ? { method: "POST", path: herd ? "/v1/jobs?wait=60000" : "/api/embed", body: body(`${label}${i} ${"w ".repeat((tokens[i % tokens.length] ?? 1) - 1)}`.trim()) } : undefined),
      (status, text) => status === 200 && (!herd || text.includes('"status":"completed"')),
    );
  // Every mode runs warm: a fresh process compiles its hot code while the first jobs run, which
  // is not how a long-running balancer behaves.
  if (warmup > 0) await load(warmup, `${tag}warm`);
  await resetEmulatorStats(emulator);
  const cpuBefore = await cpu();
  const result = await load(tokens.length, tag);
  const cpuAfter = await cpu();
  const stats = await emulatorStats(emulator);
  return {
    mode,
    jobs: tokens.length,
    clients,
    warmup,
    makespanMs: result.elapsedMs,
    boundMs,
    p50: percentile(result.latenciesMs, 50),
    p95: percentile(result.latenciesMs, 95),
    p99: percentile(result.latenciesMs, 99),
    errors: result.errors,
    maxInFlight: stats.map((instance) => instance.models[MODEL]?.maxInFlight ?? 0),
    waitedInsideMs: stats.reduce((sum, instance) => sum + (instance.models[MODEL]?.totalQueueWaitMs ?? 0), 0),
    utilization: stats.reduce((sum, instance) => sum + (instance.models[MODEL]?.busyMs ?? 0), 0) / (FLEET.slots.reduce((a, b) => a + b, 0) * result.elapsedMs),
    stretch: stats.reduce((sum, instance, i) => sum + (instance.models[MODEL]?.busyMs ?? 0) * (FLEET.speeds[i] ?? 1), 0) / nominalMs,
    refillGap: refillGapOf(stats.map((instance) => instance.models[MODEL])),
    cpuPerJob: perJob(cpuBefore.cpuMs, cpuAfter.cpuMs, tokens.length),
    writesPerJob: perJob(cpuBefore.writes, cpuAfter.writes, tokens.length),
  };
}

type Mode = { label: string; herd: true; prefetch: "auto" | "off" } | { label: string; herd: false; nginx: "least_conn" | "round_robin" };

const HERD_MODES: Mode[] = [
  { label: "Herd", herd: true, prefetch: "auto" },
  { label: "Herd, prefetch off", herd: true, prefetch: "off" },
];
const LEAST_CONN: Mode = { label: "nginx least_conn", herd: false, nginx: "least_conn" };
const ROUND_ROBIN: Mode = { label: "nginx round-robin", herd: false, nginx: "round_robin" };

/**
 * Every mode's runs, `rounds` times for Herd and nginx least_conn (the close contenders), each
 * round in a rotated order so that no mode always runs first or last on a machine whose speed
 * drifts; round-robin (several times the bound) once at the end.
 */
export async function balancingScenario(redisUrl: string, prefix: string, jobs: number, clients: number, warmup: number, rounds = 3): Promise<BalancingRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "herd-bench-"));
  const catalog = join(dir, "models.json");
  // An embedding model on a parallel runner: it embeds with num_parallel slots (see the emulator README).
  writeFileSync(catalog, JSON.stringify([{ name: MODEL, kind: "embedding", capabilities: ["completion", "embedding"], embeddingLength: 768, contextLength: 8192 }]));
  const emulator = await startEmulator([
    "--instances", String(FLEET.slots.length),
    "--slots", FLEET.slots.join(","),
    "--speed", FLEET.speeds.join(","),
    "--models", catalog,
    "--latency", "zero",
    "--embed-ms", String(EMBED_MS),
    "--embed-token-ms", String(TOKEN_MS),
  ]);
  const tokens = workload(jobs);
  const capacity = FLEET.slots.reduce((sum, slots, i) => sum + slots * (FLEET.speeds[i] ?? 1), 0);
  const boundMs = tokens.reduce((sum, n) => sum + EMBED_MS + n * TOKEN_MS, 0) / capacity;
  const instances = emulator.urls.map((url, i) => ({ url, name: `emu-${i}`, slots: FLEET.slots[i] ?? 1 }));
  const rows: BalancingRow[] = [];
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const haveNginx = nginxAvailable();
  const runMode = async (mode: Mode, round: number): Promise<BalancingRow> => {
    if (mode.herd) {
      const herd = await startHerd(instances, `${prefix}-bal-${mode.prefetch}-${round}`, redisUrl, { HERD_PREFETCH: mode.prefetch, HERD_CACHE_EMBEDDING_TTL: "off" });
      try {
        const cpu = cpuSampler({ "Herd API": herd.pids.api, "Herd worker": herd.pids.worker, "emulated fleet": emulator.proc.child.pid }, redis);
        return { ...(await run(mode.label, herd.url, emulator, tokens, clients, warmup, boundMs, true, cpu)), round };
      } finally {
        await herd.stop();
      }
    }
    if (!haveNginx) {
      return { mode: mode.label, round, jobs, clients, warmup, makespanMs: NaN, boundMs, p50: NaN, p95: NaN, p99: NaN, errors: 0, maxInFlight: [], waitedInsideMs: NaN, utilization: NaN, stretch: NaN, refillGap: NO_REFILL_GAP, skipped: "nginx not installed (apt-get install nginx-light)" };
    }
    const nginx = await startNginx(mode.nginx, emulator.urls, await freePort());
    try {
      const cpu = cpuSampler({ nginx: nginx.proc.child.pid, "emulated fleet": emulator.proc.child.pid }, redis);
      return { ...(await run(mode.label, nginx.url, emulator, tokens, clients, warmup, boundMs, false, cpu)), round };
    } finally {
      await nginx.proc.stop();
      nginx.cleanup();
    }
  };
  try {
    const repeated = [...HERD_MODES, LEAST_CONN];
    for (let round = 1; round <= rounds; round += 1) {
      const order = repeated.map((_, i) => repeated[(i + round - 1) % repeated.length] as Mode);
      for (const mode of order) {
        // Without nginx there is nothing to interleave it with: one skipped row is enough.
        if (!mode.herd && round > 1 && !haveNginx) continue;
        rows.push(await runMode(mode, round));
      }
    }
    rows.push(await runMode(ROUND_ROBIN, 1));
  } finally {
    redis.disconnect();
    await emulator.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Per mode, the run with the median makespan (the lower middle one for an even count), in mode order. */
export function medianRuns(rows: BalancingRow[]): BalancingRow[] {
  const modes = [...new Set(rows.map((row) => row.mode))];
  return modes.map((mode) => {
    const runs = rows.filter((row) => row.mode === mode).sort((a, b) => a.makespanMs - b.makespanMs);
    return runs[Math.floor((runs.length - 1) / 2)] as BalancingRow;
  });
}

/** Makespan × bound of every run, a column per round. */
export function balancingRoundsTable(rows: BalancingRow[]): string {
  const rounds = Math.max(...rows.map((row) => row.round));
  const lines = [`| mode | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(" | ")} | median |`, `|---|${"---:|".repeat(rounds + 1)}`];
  for (const median of medianRuns(rows)) {
    if (median.skipped) continue;
    const cells = Array.from({ length: rounds }, (_, i) => {
      const run = rows.find((row) => row.mode === median.mode && row.round === i + 1);
      return run ? fmt(run.makespanMs / run.boundMs, 3) : "–";
    });
    lines.push(`| ${median.mode} | ${cells.join(" | ")} | **${fmt(median.makespanMs / median.boundMs, 3)}** |`);
  }
  return lines.join("\n");
}

export function balancingTable(rows: BalancingRow[]): string {
  const lines = [
    "| mode | makespan | × bound | p50 | p95 | p99 | errors | max in flight per instance (slots 1,1,1,1,2,2,4,4) | time queued inside Ollama | slot utilization | work stretch |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
  ];
  for (const row of rows) {
    if (row.skipped) {
      lines.push(`| ${row.mode} | skipped: ${row.skipped} | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${row.mode} | ${fmt(row.makespanMs / 1000, 2)} s | **${fmt(row.makespanMs / row.boundMs, 3)}** | ${fmt(row.p50, 0)} ms | ${fmt(row.p95, 0)} ms | ${fmt(row.p99, 0)} ms | ${row.errors} | ${row.maxInFlight.join(", ")} | ${fmt(row.waitedInsideMs / 1000, 1)} s | ${fmt(100 * row.utilization, 1)}% | ${fmt(row.stretch, 3)} |`,
    );
  }
  return lines.join("\n");
}

/** Per mode: how quickly a freed slot of a full instance got its next call. */
export function refillGapTable(rows: BalancingRow[]): string {
  const lines = ["| mode | refills | mean gap | median gap, by instance | 90th percentile, by instance |", "|---|---:|---:|---:|---:|"];
  const ms = (value: number) => `${fmt(value, 2)} ms`;
  const range = ([low, high]: [number, number]) => (low === high ? ms(low) : `${fmt(low, 2)}–${ms(high)}`);
  for (const row of rows) {
    if (row.skipped || row.refillGap.refills === 0) continue;
    const gap = row.refillGap;
    lines.push(`| ${row.mode} | ${gap.refills} | **${ms(gap.meanMs)}** | ${range(gap.p50Ms)} | ${range(gap.p90Ms)} |`);
  }
  return lines.join("\n");
}

const CPU_ROLES = ["load generator", "Herd API", "Herd worker", "nginx", "Redis", "emulated fleet"] as const;

/** CPU ms per measured job by process: what each balancer costs besides the work it balances. */
export function balancingCpuTable(rows: BalancingRow[]): string {
  return perProcessTable(rows, (row) => row.cpuPerJob, 2);
}

/** Write system calls per measured job by process: each one wakes the process at the other end. */
export function balancingWritesTable(rows: BalancingRow[]): string {
  return perProcessTable(rows, (row) => row.writesPerJob, 1);
}

function perProcessTable(rows: BalancingRow[], pick: (row: BalancingRow) => ProcessCounts | undefined, digits: number): string {
  const lines = [`| mode | ${CPU_ROLES.join(" | ")} | all |`, `|---|${CPU_ROLES.map(() => "---:").join("|")}|---:|`];
  for (const row of rows) {
    const values = row.skipped ? undefined : pick(row);
    if (!values) continue;
    const total = Object.values(values).reduce((sum, value) => sum + value, 0);
    lines.push(`| ${row.mode} | ${CPU_ROLES.map((role) => (values[role] === undefined ? "–" : fmt(values[role], digits))).join(" | ")} | **${fmt(total, digits)}** |`);
  }
  return lines.join("\n");
}

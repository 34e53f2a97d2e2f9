import { cpus, totalmem } from "node:os";
import type { BalancingRow } from "./balancing.js";
import { balancingTable, FLEET } from "./balancing.js";
import type { CacheRow } from "./cache-hits.js";
import { cacheTable } from "./cache-hits.js";
import { fmt } from "./load.js";
import type { OverheadRow } from "./overhead.js";
import { overheadTable } from "./overhead.js";

export interface Results {
  command: string;
  startedAt: Date;
  redisVersion: string;
  nginxVersion: string | undefined;
  overhead?: OverheadRow[];
  balancing?: BalancingRow[];
  cache?: CacheRow[];
}

const verdict = (ok: boolean) => (ok ? "✅ met" : "❌ not met");

function overheadGoals(rows: OverheadRow[]): string[] {
  return rows.map((row) => {
    const p50 = row.herd.p50 - row.direct.p50;
    const p99 = row.herd.p99 - row.direct.p99;
    return `- ${row.latency}: added p50 ${fmt(p50, 2)} ms (goal ≤ 3 ms: ${verdict(p50 <= 3)}), added p99 ${fmt(p99, 2)} ms (goal ≤ 15 ms: ${verdict(p99 <= 15)})`;
  });
}

function balancingGoals(rows: BalancingRow[]): string[] {
  const herd = rows.find((row) => row.mode === "Herd");
  const leastConn = rows.find((row) => row.mode === "nginx least_conn" && !row.skipped);
  const roundRobin = rows.find((row) => row.mode === "nginx round-robin" && !row.skipped);
  if (!herd) return [];
  const ratio = herd.makespanMs / herd.boundMs;
  const overSlots = herd.maxInFlight.some((value, i) => value > (FLEET.slots[i] ?? 1));
  const goals = [
    `- Herd makespan ${fmt(ratio, 3)}× the capacity lower bound (goal ≤ 1.05: ${verdict(ratio <= 1.05)})`,
    `- No instance above its slots: ${verdict(!overSlots)} (max in flight ${herd.maxInFlight.join(", ")})`,
  ];
  if (leastConn && roundRobin) {
    goals.push(`- Makespan below both nginx modes: ${verdict(herd.makespanMs < leastConn.makespanMs && herd.makespanMs < roundRobin.makespanMs)}`);
    goals.push(`- p95 ${fmt(herd.p95, 0)} ms vs nginx least_conn ${fmt(leastConn.p95, 0)} ms = ${fmt(herd.p95 / leastConn.p95, 2)}× (goal ≤ 0.6×: ${verdict(herd.p95 <= 0.6 * leastConn.p95)})`);
  } else goals.push("- nginx comparison skipped: nginx is not installed");
  return goals;
}

function cacheGoals(rows: CacheRow[]): string[] {
  const [herd, redisOnly] = rows;
  const hello = rows.at(-1);
  if (!herd || !hello || !redisOnly) return [];
  const share = herd.rps / hello.rps;
  return [
    `- Cache hits at ${fmt(100 * share, 0)}% of the bare express route with the default memory tier (goal ≥ 60%: ${verdict(share >= 0.6)})`,
    `- With the memory tier off, every hit costs a Redis round trip: ${fmt((100 * redisOnly.rps) / hello.rps, 0)}%`,
  ];
}

export function renderReport(results: Results): string {
  const cpu = cpus();
  const sections = [
    "# Benchmarks",
    "",
    "Produced by the benchmark itself; do not edit by hand. Every comparison is measured side by side in the same run.",
    "",
    `- Command: \`${results.command}\``,
    `- Date: ${results.startedAt.toISOString()}`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; Node.js ${process.version}; Redis ${results.redisVersion}; nginx ${results.nginxVersion ?? "not installed"}`,
    "- Everything (load generator, API, worker, Redis, emulated fleet, nginx) shares this one machine, so every row pays the same CPU contention.",
    "",
  ];
  if (results.overhead) {
    sections.push(
      "## 1. Orchestration overhead",
      "",
      "One client, one request at a time: `POST /api/embed` straight to an emulated instance vs `POST /v1/jobs?wait=30000` through Herd (API → Redis → BullMQ → worker → the same instance → back), every input distinct so nothing is a cache hit.",
      "",
      overheadTable(results.overhead),
      "",
      ...overheadGoals(results.overhead),
      "",
    );
  }
  if (results.balancing) {
    const jobs = results.balancing[0]?.jobs ?? 0;
    const clients = results.balancing[0]?.clients ?? 0;
    sections.push(
      "## 2. Balancing a heterogeneous fleet",
      "",
      `${jobs} embeddings of 20–80 ms (nominal), ${clients} closed-loop clients, 8 emulated instances with slots ${FLEET.slots.join(", ")} and speed factors ${FLEET.speeds.join(", ")}. ` +
        "The capacity lower bound is the total nominal work divided by the fleet's capacity (Σ slots × speed). Herd's clients use `POST /v1/jobs?wait=`; nginx's clients call `/api/embed` through the proxy. " +
        "\"Max in flight\" and \"time queued inside Ollama\" come from the emulator's own counters.",
      "",
      balancingTable(results.balancing),
      "",
      ...balancingGoals(results.balancing),
      "",
    );
  }
  if (results.cache) {
    sections.push("## 3. Cache hits", "", "Closed loop with the same number of connections against each target for the same duration.", "", cacheTable(results.cache), "", ...cacheGoals(results.cache), "");
  }
  return sections.join("\n");
}

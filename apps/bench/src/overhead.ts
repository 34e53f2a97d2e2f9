import { Pool } from "undici";
import { closedLoop, emptyResult, fmt, percentile, timedRequest, type LoadResult, type RequestSpec } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";

export interface OverheadRow {
  latency: string;
  requests: number;
  direct: { p50: number; p99: number };
  herd: { p50: number; p99: number };
  errors: number;
}

/** One client: request i straight to the instance, then request i through Herd, and so on. */
async function alternating(
  directOrigin: string,
  herdOrigin: string,
  requests: number,
  direct: (i: number) => RequestSpec | undefined,
  viaHerd: (i: number) => RequestSpec | undefined,
  okDirect: (status: number, body: string) => boolean,
  okHerd: (status: number, body: string) => boolean,
): Promise<{ direct: LoadResult; herd: LoadResult }> {
  const pools = [new Pool(directOrigin, { connections: 1, keepAliveTimeout: 60_000 }), new Pool(herdOrigin, { connections: 1, keepAliveTimeout: 60_000 })] as const;
  const results = { direct: emptyResult(), herd: emptyResult() };
  try {
    for (let i = 0; i < requests; i += 1) {
      const [toDirect, toHerd] = [direct(i), viaHerd(i)];
      if (toDirect) await timedRequest(pools[0], toDirect, okDirect, results.direct);
      if (toHerd) await timedRequest(pools[1], toHerd, okHerd, results.herd);
    }
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
  return results;
}

function assertClean(result: LoadResult, what: string): void {
  if (result.errors > 0) throw new Error(`${what}: ${result.errors} errors, first: ${result.firstError}`);
}

async function measure(latencyArgs: string[], label: string, requests: number, redisUrl: string, prefix: string): Promise<OverheadRow> {
  const emulator = await startEmulator(["--instances", "1", ...latencyArgs]);
  const herd = await startHerd([{ url: emulator.urls[0] ?? "", name: "emu-0" }], prefix, redisUrl);
  try {
    const direct = (tag: string) => (i: number) =>
      i < requests ? { method: "POST" as const, path: "/api/embed", body: JSON.stringify({ model: "nomic-embed-text", input: `overhead ${tag} ${i} pump seal` }) } : undefined;
    const viaHerd = (tag: string) => (i: number) =>
      i < requests ? { method: "POST" as const, path: "/v1/jobs?wait=30000", body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input: `overhead ${tag} ${i} pump seal` }) } : undefined;
    const okDirect = (status: number) => status === 200;
    const okHerd = (status: number, body: string) => status === 200 && body.includes('"status":"completed"');
    // Warm both paths (connections, JIT, BullMQ scripts) before measuring.
    await closedLoop(emulator.urls[0] ?? "", 1, (i) => (i < 100 ? direct("warm-d")(i) : undefined), okDirect);
    await closedLoop(herd.url, 1, (i) => (i < 100 ? viaHerd("warm-h")(i) : undefined), okHerd);
    // Request by request in turn, so both paths see the same moments of this shared machine.
    const { direct: directResult, herd: herdResult } = await alternating(emulator.urls[0] ?? "", herd.url, requests, direct("d"), viaHerd("h"), okDirect, okHerd);
    assertClean(directResult, "direct");
    assertClean(herdResult, "herd");
    return {
      latency: label,
      requests,
      direct: { p50: percentile(directResult.latenciesMs, 50), p99: percentile(directResult.latenciesMs, 99) },
      herd: { p50: percentile(herdResult.latenciesMs, 50), p99: percentile(herdResult.latenciesMs, 99) },
      errors: directResult.errors + herdResult.errors,
    };
  } finally {
    await herd.stop();
    await emulator.proc.stop();
  }
}

export async function overheadScenario(redisUrl: string, prefix: string, scale: number): Promise<OverheadRow[]> {
  return [
    await measure(["--latency", "zero"], "zero", Math.round(1000 * scale), redisUrl, `${prefix}-ovz`),
    await measure(["--latency", "realistic"], "realistic (≈10 ms embed)", Math.round(300 * scale), redisUrl, `${prefix}-ovr`),
  ];
}

export function overheadTable(rows: OverheadRow[]): string {
  const lines = [
    "| emulated latency | requests | direct p50 | Herd p50 | added p50 | direct p99 | Herd p99 | added p99 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.latency} | ${row.requests} | ${fmt(row.direct.p50, 2)} ms | ${fmt(row.herd.p50, 2)} ms | **${fmt(row.herd.p50 - row.direct.p50, 2)} ms** | ${fmt(row.direct.p99, 2)} ms | ${fmt(row.herd.p99, 2)} ms | **${fmt(row.herd.p99 - row.direct.p99, 2)} ms** |`,
    );
  }
  return lines.join("\n");
}

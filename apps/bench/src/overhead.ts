import type { IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";
import { parseServerTiming } from "@herd/api/server-timing";
import { closedLoop, emptyResult, fmt, percentile, timedRequest, type LoadResult, type RequestSpec } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";

export interface OverheadRow {
  latency: string;
  requests: number;
  direct: { p50: number; p99: number };
  herd: { p50: number; p99: number };
  /** Medians of the API's own Server-Timing parts of the Herd requests. */
  herdParts: { enqueue: number; wait: number };
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
  okHerd: (status: number, body: string, headers: IncomingHttpHeaders) => boolean,
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
    const parts = { enqueue: [] as number[], wait: [] as number[] };
    const okHerdRecordingParts = (status: number, body: string, headers: IncomingHttpHeaders) => {
      const header = headers["server-timing"];
      for (const entry of parseServerTiming(Array.isArray(header) ? header.join(",") : header)) {
        if (entry.name === "enqueue" || entry.name === "wait") parts[entry.name].push(entry.durationMs);
      }
      return okHerd(status, body);
    };
    // Warm both paths (connections, JIT, BullMQ scripts) before measuring.
    await closedLoop(emulator.urls[0] ?? "", 1, (i) => (i < 100 ? direct("warm-d")(i) : undefined), okDirect);
    await closedLoop(herd.url, 1, (i) => (i < 100 ? viaHerd("warm-h")(i) : undefined), okHerd);
    // Request by request in turn, so both paths see the same moments of this shared machine.
    const { direct: directResult, herd: herdResult } = await alternating(emulator.urls[0] ?? "", herd.url, requests, direct("d"), viaHerd("h"), okDirect, okHerdRecordingParts);
    assertClean(directResult, "direct");
    assertClean(herdResult, "herd");
    return {
      latency: label,
      requests,
      direct: { p50: percentile(directResult.latenciesMs, 50), p99: percentile(directResult.latenciesMs, 99) },
      herd: { p50: percentile(herdResult.latenciesMs, 50), p99: percentile(herdResult.latenciesMs, 99) },
      herdParts: { enqueue: percentile(parts.enqueue, 50), wait: percentile(parts.wait, 50) },
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

/**
 * Where a Herd request's time goes, from the API's Server-Timing header: its own work before the
 * job is queued, then the wait for the worker's answer (queue, worker, the same Ollama call the
 * direct row makes, the reply); the rest is outside the route (HTTP in and out, body parsing).
 * Medians of each part, so they add up only roughly.
 */
export function overheadPartsTable(rows: OverheadRow[]): string {
  const lines = [
    "| emulated latency | Herd p50 | API: validate, cache miss, enqueue | API: waiting for the worker's answer | of which beyond the direct call's p50 | outside the route (HTTP, body parsing, response) |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const { enqueue, wait } = row.herdParts;
    lines.push(`| ${row.latency} | ${fmt(row.herd.p50, 2)} ms | ${fmt(enqueue, 2)} ms | ${fmt(wait, 2)} ms | ${fmt(wait - row.direct.p50, 2)} ms | ${fmt(row.herd.p50 - enqueue - wait, 2)} ms |`);
  }
  return lines.join("\n");
}

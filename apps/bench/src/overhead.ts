import type { IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";
import { parseServerTiming } from "@herd/api/server-timing";
import { startBareBullmq, type BareBullmq } from "./bare-bullmq.js";
import { alternating, closedLoop, emptyResult, fmt, percentile, timedRequest, type LoadResult, type RequestSpec } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";

export interface OverheadRow {
  latency: string;
  requests: number;
  direct: { p50: number; p99: number };
  /** BullMQ alone: add → a worker making the same call → waitUntilFinished. */
  bare: { p50: number; p99: number };
  herd: { p50: number; p99: number };
  /** Medians of the Server-Timing parts of the Herd requests (the API's, and the wait's split by the worker). */
  herdParts: Record<TimedPart, number>;
  errors: number;
}

const TIMED_PARTS = ["enqueue", "wait", "slot", "ollama", "worker", "queue"] as const;
type TimedPart = (typeof TIMED_PARTS)[number];
const isTimedPart = (name: string): name is TimedPart => (TIMED_PARTS as readonly string[]).includes(name);


/** Times one add → worker → finished round trip of the bare BullMQ path. */
async function timedBareJob(bare: BareBullmq, body: string, into: LoadResult): Promise<void> {
  const sent = performance.now();
  try {
    const job = await bare.queue.add("embed", { body }, { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
    const result = (await job.waitUntilFinished(bare.events, 30_000)) as { embeddings?: unknown[] } | undefined;
    if (result?.embeddings?.length !== 1) throw new Error(`unexpected result ${JSON.stringify(result).slice(0, 200)}`);
    into.latenciesMs.push(performance.now() - sent);
  } catch (error) {
    into.errors += 1;
    into.firstError ??= (error as Error).message;
  }
}

function assertClean(result: LoadResult, what: string): void {
  if (result.errors > 0) throw new Error(`${what}: ${result.errors} errors, first: ${result.firstError}`);
}

const p50p99 = (result: LoadResult) => ({ p50: percentile(result.latenciesMs, 50), p99: percentile(result.latenciesMs, 99) });

async function measure(latencyArgs: string[], label: string, requests: number, redisUrl: string, prefix: string): Promise<OverheadRow> {
  const emulator = await startEmulator(["--instances", "1", ...latencyArgs]);
  const ollamaUrl = emulator.urls[0] ?? "";
  const herd = await startHerd([{ url: ollamaUrl, name: "emu-0" }], prefix, redisUrl);
  const bare = await startBareBullmq(redisUrl, `${prefix}-bare`, ollamaUrl);
  const pools = { direct: new Pool(ollamaUrl, { connections: 1, keepAliveTimeout: 60_000 }), herd: new Pool(herd.url, { connections: 1, keepAliveTimeout: 60_000 }) };
  try {
    const embedBody = (tag: string, i: number) => JSON.stringify({ model: "nomic-embed-text", input: `overhead ${tag} ${i} pump seal` });
    const direct = (tag: string, i: number): RequestSpec => ({ method: "POST", path: "/api/embed", body: embedBody(tag, i) });
    const viaHerd = (tag: string, i: number): RequestSpec => ({
      method: "POST",
      path: "/v1/jobs?wait=30000",
      body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input: `overhead ${tag} ${i} pump seal` }),
    });
    const okDirect = (status: number) => status === 200;
    const okHerd = (status: number, body: string) => status === 200 && body.includes('"status":"completed"');
    const parts = Object.fromEntries(TIMED_PARTS.map((name) => [name, [] as number[]])) as Record<TimedPart, number[]>;
    const okHerdRecordingParts = (status: number, body: string, headers: IncomingHttpHeaders) => {
      const header = headers["server-timing"];
      for (const entry of parseServerTiming(Array.isArray(header) ? header.join(",") : header)) {
        if (isTimedPart(entry.name)) parts[entry.name].push(entry.durationMs);
      }
      return okHerd(status, body);
    };
    // Warm every path (connections, JIT, BullMQ scripts) before measuring.
    await closedLoop(ollamaUrl, 1, (i) => (i < 100 ? direct("warm-d", i) : undefined), okDirect);
    await closedLoop(herd.url, 1, (i) => (i < 100 ? viaHerd("warm-h", i) : undefined), okHerd);
    const warmBare = emptyResult();
    for (let i = 0; i < 100; i += 1) await timedBareJob(bare, embedBody("warm-b", i), warmBare);
    assertClean(warmBare, "BullMQ alone (warm-up)");
    // Request by request in turn, so every path sees the same moments of this shared machine.
    const [directResult, bareResult, herdResult] = await alternating(requests, [
      (i, into) => timedRequest(pools.direct, direct("d", i), okDirect, into),
      (i, into) => timedBareJob(bare, embedBody("b", i), into),
      (i, into) => timedRequest(pools.herd, viaHerd("h", i), okHerdRecordingParts, into),
    ]);
    if (!directResult || !bareResult || !herdResult) throw new Error("overhead: a path returned no result");
    assertClean(directResult, "direct");
    assertClean(bareResult, "BullMQ alone");
    assertClean(herdResult, "herd");
    return {
      latency: label,
      requests,
      direct: p50p99(directResult),
      bare: p50p99(bareResult),
      herd: p50p99(herdResult),
      herdParts: Object.fromEntries(TIMED_PARTS.map((name) => [name, percentile(parts[name], 50)])) as Record<TimedPart, number>,
      errors: directResult.errors + bareResult.errors + herdResult.errors,
    };
  } finally {
    await Promise.all([pools.direct.close(), pools.herd.close()]);
    await bare.stop();
    await herd.stop();
    await emulator.proc.stop();
  }
}

export interface OverheadResult {
  rows: OverheadRow[];
}

export async function overheadScenario(redisUrl: string, prefix: string, scale: number): Promise<OverheadResult> {
  return {
    rows: [
      await measure(["--latency", "zero"], "zero", Math.round(1000 * scale), redisUrl, `${prefix}-ovz`),
      await measure(["--latency", "realistic"], "realistic (≈10 ms embed)", Math.round(1000 * scale), redisUrl, `${prefix}-ovr`),
    ],
  };
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

/** The floor under Herd's overhead on this machine: the textbook BullMQ round trip, measured in turn with the other two paths. */
export function overheadFloorTable(rows: OverheadRow[]): string {
  const lines = [
    "| emulated latency | direct p50 | BullMQ alone p50 | BullMQ alone added p50 | Herd added p50 | Herd added beyond BullMQ alone | BullMQ alone added p99 |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const bareAdded = row.bare.p50 - row.direct.p50;
    const herdAdded = row.herd.p50 - row.direct.p50;
    lines.push(
      `| ${row.latency} | ${fmt(row.direct.p50, 2)} ms | ${fmt(row.bare.p50, 2)} ms | ${fmt(bareAdded, 2)} ms | ${fmt(herdAdded, 2)} ms | ${fmt(herdAdded - bareAdded, 2)} ms | ${fmt(row.bare.p99 - row.direct.p99, 2)} ms |`,
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
    "| emulated latency | Herd p50 | API: validate, cache miss, enqueue | API: waiting for the worker's answer | of which: worker waiting for a slot | of which: Ollama call | of which: worker's own work | of which: queue and Redis, to the worker and back | outside the route (HTTP, body parsing, response) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const { enqueue, wait, slot, ollama, worker, queue } = row.herdParts;
    const ms = (value: number) => `${fmt(value, 2)} ms`;
    lines.push(`| ${row.latency} | ${ms(row.herd.p50)} | ${ms(enqueue)} | ${ms(wait)} | ${ms(slot)} | ${ms(ollama)} | ${ms(worker)} | ${ms(queue)} | ${ms(row.herd.p50 - enqueue - wait)} |`);
  }
  return lines.join("\n");
}

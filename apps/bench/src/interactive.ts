import { HerdClient, type UploadDocument } from "@herd/client";
import { createTestDatabase } from "@herd/testing";
import { closedLoop, fmt, percentile } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";
import { TextGenerator } from "./synthetic.js";

const MODEL = "nomic-embed-text";

export interface InteractiveRow {
  label: string;
  requests: number;
  p50: number;
  p95: number;
  /** Whether the ingestion was still running when the last interactive request finished. */
  overlapped: boolean | undefined;
}

async function interactive(url: string, tag: string, requests: number): Promise<number[]> {
  const body = (i: number) => JSON.stringify({ type: "embed", model: MODEL, input: `${tag} ${i}: what is the torque for the pump housing bolts?` });
  const result = await closedLoop(url, 1, (i) => (i < requests ? { method: "POST", path: "/v1/jobs?wait=30000", body: body(i) } : undefined), (status, text) => status === 200 && text.includes('"completed"'));
  if (result.errors > 0) throw new Error(`interactive requests failed: ${result.firstError}`);
  return result.latenciesMs;
}

async function measure(redisUrl: string, prefix: string, adminUrl: string, sliceTargetMs: number, documentCount: number, requests: number): Promise<{ idle: number[]; busy: number[]; overlapped: boolean }> {
  const database = await createTestDatabase("bench_prio", adminUrl);
  const emulator = await startEmulator(["--instances", "2", "--latency", "realistic"]);
  const instances = emulator.urls.map((url, i) => ({ url, name: `emu-${i}` }));
  const herd = await startHerd(instances, prefix, redisUrl, { DATABASE_URL: database.url, HERD_BATCH_SLICE_TARGET: String(sliceTargetMs) });
  try {
    const client = new HerdClient({ baseUrl: herd.url });
    await interactive(herd.url, "warm", 20);
    const idle = await interactive(herd.url, "idle", requests);
    await client.createCollection({ name: "bulk", model: MODEL });
    const text = new TextGenerator(3);
    const docs: UploadDocument[] = Array.from({ length: documentCount }, (_, i) => ({ id: `manual-${i}.md`, data: text.markdown(`Manual ${i}`, 20, 3), mimeType: "text/markdown" }));
    const ingestionId = await client.ingest("bulk", docs);
    const started = Date.now();
    while ((await client.ingestion(ingestionId)).chunks.embedded === 0) {
      if (Date.now() - started > 60_000) throw new Error("the ingestion did not start embedding within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const busy = await interactive(herd.url, "busy", requests);
    const overlapped = (await client.ingestion(ingestionId)).status === "running";
    return { idle, busy, overlapped };
  } finally {
    await herd.stop();
    await emulator.proc.stop();
    await database.drop();
  }
}

/**
 * Interactive embeds (one client, one at a time, every input new) on an idle fleet, then while a
 * large ingestion keeps both instances busy: with batch slicing (the default, calls of about
 * 50 ms), and with slicing off (each 32-chunk batch one /api/embed call) as the baseline.
 */
export async function interactiveScenario(redisUrl: string, prefix: string, adminUrl: string, documentCount: number, requests: number): Promise<InteractiveRow[]> {
  const sliced = await measure(redisUrl, `${prefix}-prio-s`, adminUrl, 50, documentCount, requests);
  const unsliced = await measure(redisUrl, `${prefix}-prio-u`, adminUrl, 0, documentCount, requests);
  const entry = (label: string, latencies: number[], overlapped: boolean | undefined): InteractiveRow => ({
    label,
    requests: latencies.length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    overlapped,
  });
  return [
    entry("idle fleet", sliced.idle, undefined),
    entry("during ingestion, batch calls sliced to ≈ 50 ms (default HERD_BATCH_SLICE_TARGET)", sliced.busy, sliced.overlapped),
    entry("baseline: during ingestion, slicing off (HERD_BATCH_SLICE_TARGET=0: one call per 32-chunk batch)", unsliced.busy, unsliced.overlapped),
  ];
}

export function interactiveTable(rows: InteractiveRow[]): string {
  const lines = ["| interactive embeds | requests | p50 | p95 | ingestion still running at the end |", "|---|---:|---:|---:|---|"];
  for (const row of rows) lines.push(`| ${row.label} | ${row.requests} | ${fmt(row.p50, 1)} ms | ${fmt(row.p95, 1)} ms | ${row.overlapped === undefined ? "—" : row.overlapped ? "yes" : "**no: comparison void**"} |`);
  return lines.join("\n");
}

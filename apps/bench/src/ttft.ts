import { Pool } from "undici";
import { alternating, fmt, percentile, type Send } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";

export interface TtftRow {
  requests: number;
  direct: { p50: number; p99: number };
  herd: { p50: number; p99: number };
}

/** Milliseconds from sending a streaming chat until the first piece of its body arrives. */
async function firstPieceMs(pool: Pool, body: string): Promise<number> {
  const started = performance.now();
  const response = await pool.request({ method: "POST", path: "/api/chat", body, headers: { "content-type": "application/json" } });
  let first: number | undefined;
  let text = "";
  for await (const chunk of response.body) {
    first ??= performance.now();
    text += (chunk as Buffer).toString("utf8");
  }
  if (response.statusCode !== 200 || first === undefined || !text.includes('"done":true')) throw new Error(`streaming chat failed: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
  return first - started;
}

function chatBody(tag: string, i: number): string {
  return JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: `${tag} ${i}: how do I bleed the hydraulic pump?` }], options: { num_predict: 8 } });
}

/**
 * The two paths take turns request by request (see alternating), as in the overhead section: run
 * one after the other, each series saw a different stretch of this machine's drifting speed, and
 * Herd's processes stayed awake between its own requests.
 */
async function alternatingSeries(paths: ReadonlyArray<{ url: string; tag: string }>, requests: number): Promise<number[][]> {
  const pools = paths.map(({ url }) => new Pool(url, { connections: 1 }));
  try {
    const sends = paths.map(({ tag }, index): Send => async (i, into) => {
      const pool = pools[index];
      if (pool) into.latenciesMs.push(await firstPieceMs(pool, chatBody(tag, i)));
    });
    return (await alternating(requests, sends)).map((result) => result.latenciesMs);
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

/**
 * Time to first token of a streaming `/api/chat`, one request at a time: straight to an emulated
 * instance (realistic latency) vs through Herd's Ollama-compatible endpoint (API → queue → worker
 * → instance, and the tokens back through the queue's event stream), the two paths taking turns.
 */
export async function ttftScenario(redisUrl: string, prefix: string, requests: number): Promise<TtftRow> {
  const emulator = await startEmulator(["--instances", "1", "--latency", "realistic"]);
  const herd = await startHerd([{ url: emulator.urls[0] ?? "", name: "emu-0" }], prefix, redisUrl);
  const directUrl = emulator.urls[0] ?? "";
  try {
    await alternatingSeries([{ url: directUrl, tag: "warm-d" }, { url: herd.url, tag: "warm-h" }], 30);
    const [direct = [], viaHerd = []] = await alternatingSeries([{ url: directUrl, tag: "d" }, { url: herd.url, tag: "h" }], requests);
    return {
      requests,
      direct: { p50: percentile(direct, 50), p99: percentile(direct, 99) },
      herd: { p50: percentile(viaHerd, 50), p99: percentile(viaHerd, 99) },
    };
  } finally {
    await herd.stop();
    await emulator.proc.stop();
  }
}

export function ttftTable(row: TtftRow): string {
  return [
    "| requests | direct p50 | Herd p50 | added p50 | direct p99 | Herd p99 | added p99 |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    `| ${row.requests} | ${fmt(row.direct.p50, 2)} ms | ${fmt(row.herd.p50, 2)} ms | **${fmt(row.herd.p50 - row.direct.p50, 2)} ms** | ${fmt(row.direct.p99, 2)} ms | ${fmt(row.herd.p99, 2)} ms | **${fmt(row.herd.p99 - row.direct.p99, 2)} ms** |`,
  ].join("\n");
}

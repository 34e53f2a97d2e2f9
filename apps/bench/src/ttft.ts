import { Pool } from "undici";
import { fmt, percentile } from "./load.js";
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

async function series(url: string, requests: number, tag: string): Promise<number[]> {
  const pool = new Pool(url, { connections: 1 });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < requests; i++) {
      const body = JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: `${tag} ${i}: how do I bleed the hydraulic pump?` }], options: { num_predict: 8 } });
      latencies.push(await firstPieceMs(pool, body));
    }
    return latencies;
  } finally {
    await pool.close();
  }
}

/**
 * Time to first token of a streaming `/api/chat`, one request at a time: straight to an emulated
 * instance (realistic latency) vs through Herd's Ollama-compatible endpoint (API → queue → worker
 * → instance, and the tokens back through the queue's event stream).
 */
export async function ttftScenario(redisUrl: string, prefix: string, requests: number): Promise<TtftRow> {
  const emulator = await startEmulator(["--instances", "1", "--latency", "realistic"]);
  const herd = await startHerd([{ url: emulator.urls[0] ?? "", name: "emu-0" }], prefix, redisUrl);
  try {
    await series(emulator.urls[0] ?? "", 30, "warm-d");
    await series(herd.url, 30, "warm-h");
    const direct = await series(emulator.urls[0] ?? "", requests, "d");
    const viaHerd = await series(herd.url, requests, "h");
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

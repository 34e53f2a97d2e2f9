import type { IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  body?: string;
}

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
}

/** Sends one request on `pool` and records its latency (when `check` accepts the answer) or the error into `into`. */
export async function timedRequest(pool: Pool, spec: RequestSpec, check: (status: number, body: string, headers: IncomingHttpHeaders) => boolean, into: LoadResult): Promise<void> {
  const sent = performance.now();
  try {
    const response = await pool.request({
      method: spec.method,
      path: spec.path,
      ...(spec.body === undefined ? {} : { body: spec.body, headers: { "content-type": "application/json" } }),
    });
    const text = await response.body.text();
    if (!check(response.statusCode, text, response.headers)) {
      into.errors += 1;
      into.firstError ??= `${response.statusCode} ${text.slice(0, 200)}`;
    } else into.latenciesMs.push(performance.now() - sent);
  } catch (error) {
    into.errors += 1;
    into.firstError ??= (error as Error).message;
  }
}

export function emptyResult(): LoadResult {
  return { latenciesMs: [], errors: 0, firstError: undefined, elapsedMs: 0 };
}

/**
 * A closed-loop load: `clients` loops, each sending its next request when the previous answer
 * is back, until the shared list of requests is used up (or the duration passes).
 */
export async function closedLoop(
  origin: string,
  clients: number,
  next: (index: number) => RequestSpec | undefined,
  check: (status: number, body: string, headers: IncomingHttpHeaders) => boolean,
  durationMs?: number,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
  const result = emptyResult();
  let cursor = 0;
  const started = performance.now();
  const stopAt = durationMs === undefined ? Number.POSITIVE_INFINITY : started + durationMs;
  const loop = async () => {
    for (;;) {
      if (performance.now() >= stopAt) return;
      const spec = next(cursor);
      cursor += 1;
      if (!spec) return;
      await timedRequest(pool, spec, check, result);
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  result.elapsedMs = performance.now() - started;
  await pool.close();
  return result;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

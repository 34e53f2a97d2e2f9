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

/** Every order of `0 … n-1` (n! of them), each once. */
export function orderings(n: number): number[][] {
  if (n <= 1) return [Array.from({ length: n }, (_, i) => i)];
  return orderings(n - 1).flatMap((rest) => Array.from({ length: n }, (_, at) => [...rest.slice(0, at), n - 1, ...rest.slice(at)]));
}

/**
 * Every order of `0 … n-1`, arranged so that each one starts with the path the previous one
 * (cyclically) ended with. Run one after another, every path then comes right after each path,
 * itself included, equally often: within an order each ordered pair of distinct paths is adjacent
 * in the same number of orders, and every seam between two orders repeats a path.
 */
export function balancedOrders(n: number): number[][] {
  if (n > 4) throw new Error(`balancedOrders: ${n} paths make ${n}! orders to chain; at most 4 paths`);
  const all = orderings(n);
  const used = new Set<number>();
  const chain: number[][] = [];
  const extend = (): boolean => {
    if (chain.length === all.length) return chain[0]?.[0] === chain.at(-1)?.at(-1);
    const last = chain.at(-1)?.at(-1);
    for (const [index, order] of all.entries()) {
      if (used.has(index) || (last !== undefined && order[0] !== last)) continue;
      used.add(index);
      chain.push(order);
      if (extend()) return true;
      used.delete(index);
      chain.pop();
    }
    return false;
  };
  if (!extend()) throw new Error(`balancedOrders: no chain of the orders of ${n} paths`);
  return chain;
}

/** One request on one path of an alternating run: request `i`, its latency or error recorded into `into`. */
export type Send = (i: number, into: LoadResult) => Promise<void>;

/**
 * One client: request i on each path in turn, then request i + 1, and so on, the turns cycling
 * through every order of the paths so that each path follows each path equally often. A path's
 * leftovers (a worker still recording the job it just answered) slow whichever request comes
 * next: measured on a 2-core AMD EPYC, a direct call took 1.04 ms after a direct call and 1.38 ms
 * after a Herd request, and a Herd request 6.88 ms after a direct call and 7.34 ms after BullMQ
 * alone. In one fixed order those costs would fall on the same path every time.
 */
export async function alternating(requests: number, paths: Send[]): Promise<LoadResult[]> {
  const results = paths.map(() => emptyResult());
  const orders = balancedOrders(paths.length);
  for (let i = 0; i < requests; i += 1) {
    for (const index of orders[i % orders.length] ?? []) await paths[index]?.(i, results[index] ?? emptyResult());
  }
  return results;
}
